/**
 * A Substrate account's signed extrinsics as the chain shows them, for `settle reconcile`:
 * the node's pool first, then the blocks from the best one back, at most `maxBlocks` of them,
 * stopping once every nonce and id asked for is found (Substrate keeps no index by account).
 */
import type { GenericExtrinsic } from '@polkadot/types';
import type { ActivityQuery, ChainActivity } from '../../host/ports.ts';
import type { SubstrateChain } from './substrateChain.ts';

const TRANSFER_METHODS = new Set(['transferKeepAlive', 'transfer', 'transferAllowDeath']);

export async function substrateActivity(
  chain: SubstrateChain,
  account: string,
  query: ActivityQuery,
): Promise<ChainActivity[]> {
  const wantedNonces = new Set<number>();
  if (query.nonces !== undefined) for (let n = query.nonces.from; n < query.nonces.to; n += 1) wantedNonces.add(n);
  const wantedIds = new Set((query.ids ?? []).map((id) => id.toLowerCase()));
  const found = new Map<string, ChainActivity>();
  const take = (extrinsics: readonly GenericExtrinsic[], block: number | null): void => {
    for (const extrinsic of extrinsics) {
      if (!extrinsic.isSigned || extrinsic.signer.toString() !== account) continue;
      const id = extrinsic.hash.toHex();
      const nonce = extrinsic.nonce.toNumber();
      if (!wantedNonces.has(nonce) && !wantedIds.has(id.toLowerCase())) continue;
      found.set(id, describe(extrinsic, id, nonce, block));
      wantedNonces.delete(nonce);
      wantedIds.delete(id.toLowerCase());
    }
  };
  take([...(await chain.api.rpc.author.pendingExtrinsics())] as unknown as GenericExtrinsic[], null);
  const best = await chain.best();
  for (
    let n = best.number;
    n >= 0 && n > best.number - query.maxBlocks && wantedNonces.size + wantedIds.size > 0;
    n -= 1
  ) {
    const hash = await chain.blockHash(n);
    if (hash === null) continue;
    take([...(await chain.block(hash)).block.extrinsics] as unknown as GenericExtrinsic[], n);
  }
  return [...found.values()].sort((a, b) => (a.nonce ?? 0) - (b.nonce ?? 0));
}

function describe(extrinsic: GenericExtrinsic, id: string, nonce: number, block: number | null): ChainActivity {
  const where = block === null ? 'in the pool' : `block ${block}`;
  const { section, method } = extrinsic.method;
  const base = { id, nonce, block, raw: extrinsic.toHex() };
  if (section === 'balances' && TRANSFER_METHODS.has(method)) {
    const [dest, value] = extrinsic.method.args as unknown as [{ toString(): string }, { toBigInt(): bigint }];
    return { ...base, to: dest.toString(), amount: value.toBigInt(), note: `balances.${method} (${where})` };
  }
  return { ...base, to: null, amount: null, note: `${section}.${method} (${where})` };
}
