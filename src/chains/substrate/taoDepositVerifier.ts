/**
 * The TAO deposit check (allways/assets/tao.py as the reference miner runs it), through
 * @polkadot/api: Substrate keeps no index from extrinsic hash to block, so the best chain's
 * blocks `hint - 3 .. hint + 3` are scanned (the last 150 when the contract holds no hint) for
 * the extrinsic hash; its `Balances.Transfer` event to the recipient gives the credit and the
 * sender (the event's `from`); an `ExtrinsicFailed` makes it a failed transaction; confirmations
 * are `head - block` (no +1, as the reference counts them).
 *
 * Invariant: a node that cannot be read is a wait, never a pass; a deposit reorganised out of the
 * best chain is no longer found (a wait). State: a bounded cache of scanned blocks by hash (a
 * block's content never changes under its hash); a crash loses only the cache.
 * Also the funds gate's view of a TAO account: its free balance.
 */
import type { FrameSystemEventRecord } from '@polkadot/types/lookup';
import { decodeAddress } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import type { DepositClaim, DepositVerdict, SourceVerifier } from '../../host/sourceVerifier.ts';
import { readAndJudge, type Sighting } from '../depositRules.ts';
import type { SubstrateChain } from './substrateChain.ts';

/** Blocks either side of the hint, and blocks back from the head without one (the reference's). */
export const HINT_SPAN_BLOCKS = 3;
export const NO_HINT_LOOKBACK_BLOCKS = 150;
const CACHE_BLOCKS = 1_024;

/** SS58 addresses compare by public key, whatever prefix they are written with. */
export function normaliseSs58(address: string): string {
  try {
    return u8aToHex(decodeAddress(address));
  } catch {
    return address;
  }
}

export class TaoDepositVerifier implements SourceVerifier {
  readonly chains: readonly string[];
  /** Block hash -> its extrinsic hashes, lower case. */
  private readonly scanned = new Map<string, readonly string[]>();

  constructor(
    private readonly chain: SubstrateChain,
    private readonly required: number,
    chainId = 'tao',
  ) {
    this.chains = [chainId];
  }

  verify(claim: DepositClaim): Promise<DepositVerdict> {
    return readAndJudge(claim, this.required, () => this.sighting(claim), normaliseSs58);
  }

  private async sighting(claim: DepositClaim): Promise<Sighting | null> {
    const wanted = claim.txHash.toLowerCase();
    if (!/^0x[0-9a-f]{64}$/.test(wanted)) return null; // no such extrinsic can exist
    const head = (await this.chain.best()).number;
    const [from, to] =
      claim.blockHint > 0
        ? [claim.blockHint - HINT_SPAN_BLOCKS, Math.min(head, claim.blockHint + HINT_SPAN_BLOCKS)]
        : [head - NO_HINT_LOOKBACK_BLOCKS + 1, head];
    for (let number = Math.max(0, from); number <= to; number += 1) {
      const hash = await this.chain.blockHash(number);
      if (hash === null) continue;
      const index = (await this.extrinsics(hash)).indexOf(wanted);
      if (index >= 0) return this.read(claim, number, hash, index, head);
    }
    return null;
  }

  private async extrinsics(hash: string): Promise<readonly string[]> {
    const cached = this.scanned.get(hash);
    if (cached !== undefined) return cached;
    const signed = await this.chain.block(hash);
    const hashes = signed.block.extrinsics.map((e) => e.hash.toHex().toLowerCase());
    this.scanned.set(hash, hashes);
    if (this.scanned.size > CACHE_BLOCKS) this.scanned.delete(this.scanned.keys().next().value!);
    return hashes;
  }

  /** The extrinsic's own events: its failure, or its Transfer to the recipient. */
  private async read(claim: DepositClaim, block: number, hash: string, index: number, head: number): Promise<Sighting> {
    const records = await this.chain.eventsAt(hash);
    const own = records.filter((r) => r.phase.isApplyExtrinsic && r.phase.asApplyExtrinsic.toNumber() === index);
    const events = this.chain.api.events;
    const failed = own.find((r) => events.system.ExtrinsicFailed.is(r.event));
    const transfer = transferTo(own, claim, this.chain);
    return {
      block,
      confirmations: Math.max(0, head - block),
      failed:
        failed === undefined
          ? null
          : this.chain.describeDispatchError(
              (failed.event.data as unknown as [import('@polkadot/types/interfaces').DispatchError])[0],
            ),
      credited: transfer?.amount ?? null,
      sender: transfer?.from ?? '',
    };
  }
}

/** The Balances.Transfer events paying the recipient: the first paying the claim, else the largest. */
function transferTo(
  records: readonly FrameSystemEventRecord[],
  claim: DepositClaim,
  chain: SubstrateChain,
): { from: string; amount: bigint } | null {
  const recipient = normaliseSs58(claim.recipient);
  const paying = records
    .filter((r) => chain.api.events.balances.Transfer.is(r.event))
    .map((r) => {
      const [from, to, amount] = r.event.data as unknown as [
        { toString(): string },
        { toString(): string },
        { toBigInt(): bigint },
      ];
      return { from: from.toString(), to: to.toString(), amount: amount.toBigInt() };
    })
    .filter((t) => normaliseSs58(t.to) === recipient);
  if (paying.length === 0) return null;
  return paying.find((t) => t.amount >= claim.minAmount) ?? paying.reduce((a, b) => (b.amount > a.amount ? b : a));
}

/** The funds gate's view of a TAO account: its free balance (rejects when the node cannot be read). */
export function taoFreeBalance(chain: SubstrateChain, address: string): Promise<bigint> {
  return chain.freeBalance(address);
}
