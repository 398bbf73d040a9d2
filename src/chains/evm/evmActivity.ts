/**
 * An EVM account's transactions as the chain shows them, for `settle reconcile`: found by
 * hash, or by nonce in the blocks from the head back (the node's pending block first). EVM
 * nodes keep no index from an account to its transactions, so a search by nonce reads blocks,
 * at most `maxBlocks` of them, and stops as soon as every nonce asked for is found.
 */
import { getAddress, Interface, Transaction, type JsonRpcProvider, type TransactionResponse } from 'ethers';
import type { ActivityQuery, ChainActivity } from '../../host/ports.ts';

const ERC20 = new Interface(['function transfer(address to, uint256 amount) returns (bool)']);
const TRANSFER_SELECTOR = ERC20.getFunction('transfer')!.selector;

export async function evmActivity(
  provider: JsonRpcProvider,
  account: string,
  token: string | null,
  query: ActivityQuery,
): Promise<ChainActivity[]> {
  const found = new Map<string, ChainActivity>();
  for (const id of query.ids ?? []) {
    const tx = await provider.getTransaction(id);
    if (tx !== null && tx.from.toLowerCase() === account.toLowerCase()) found.set(tx.hash, describe(tx, token));
  }
  const nonces = query.nonces;
  if (nonces === undefined || nonces.to <= nonces.from) return [...found.values()];
  const wanted = new Set<number>();
  for (let n = nonces.from; n < nonces.to; n += 1) wanted.add(n);
  const take = (txs: readonly TransactionResponse[]): void => {
    for (const tx of txs) {
      if (tx.from.toLowerCase() !== account.toLowerCase() || !wanted.has(tx.nonce)) continue;
      found.set(tx.hash, describe(tx, token));
      wanted.delete(tx.nonce);
    }
  };
  take(await pendingOf(provider, account, wanted));
  const head = await provider.getBlockNumber();
  for (let n = head; n >= 0 && n > head - query.maxBlocks && wanted.size > 0; n -= 1) {
    take((await provider.getBlock(n, true))?.prefetchedTransactions ?? []);
  }
  return [...found.values()].sort((a, b) => (a.nonce ?? 0) - (b.nonce ?? 0));
}

/**
 * The account's transactions in the node's pending block (what its pool would mine next). Read
 * raw: ethers refuses a pending block without a number, as some nodes (hardhat) serve it. A
 * node without a pending block says so with an error: nothing pending is found then.
 */
async function pendingOf(
  provider: JsonRpcProvider,
  account: string,
  wanted: ReadonlySet<number>,
): Promise<TransactionResponse[]> {
  const block = (await provider.send('eth_getBlockByNumber', ['pending', true]).catch(() => null)) as {
    transactions?: Array<{ hash?: string; from?: string; nonce?: string }>;
  } | null;
  const ours = (block?.transactions ?? []).filter(
    (tx) => tx.from?.toLowerCase() === account.toLowerCase() && tx.nonce !== undefined && wanted.has(Number(tx.nonce)),
  );
  const found: TransactionResponse[] = [];
  for (const { hash } of ours) {
    const tx = hash === undefined ? null : await provider.getTransaction(hash);
    if (tx !== null) found.push(tx);
  }
  return found;
}

function describe(tx: TransactionResponse, token: string | null): ChainActivity {
  const base = { id: tx.hash, nonce: tx.nonce, block: tx.blockNumber, raw: rawOf(tx) };
  const where = tx.blockNumber === null ? 'pending' : `block ${tx.blockNumber}`;
  if (tx.to === null) return { ...base, to: null, amount: null, note: `a contract creation (${where})` };
  if (token === null && tx.data === '0x')
    return { ...base, to: getAddress(tx.to), amount: tx.value, note: `a coin transfer (${where})` };
  if (token !== null && getAddress(tx.to) === token && tx.data.startsWith(TRANSFER_SELECTOR)) {
    const [to, amount] = ERC20.decodeFunctionData('transfer', tx.data) as unknown as [string, bigint];
    return { ...base, to: getAddress(to), amount, note: `a transfer of token ${token} (${where})` };
  }
  return {
    ...base,
    to: null,
    amount: null,
    note: `a call to ${getAddress(tx.to)}${tx.value > 0n ? ` with ${tx.value} wei` : ''} (${where})`,
  };
}

/** The signed bytes, rebuilt from the node's answer; null when they do not hash to the same transaction. */
function rawOf(tx: TransactionResponse): string | null {
  try {
    const raw = Transaction.from(tx).serialized;
    return Transaction.from(raw).hash === tx.hash ? raw : null;
  } catch {
    return null;
  }
}
