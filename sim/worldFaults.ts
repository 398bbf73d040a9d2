/** Faults of the product's chains themselves, applied once per block after the block is made. */
import { addressFor } from './addresses.ts';
import { undoSolanaTransfer } from './chains/simSolana.ts';
import { reorgUtxoBlock } from './chains/simUtxoChain.ts';
import type { FaultSource } from './faults.ts';
import { minerAddressOn, type World } from './world.ts';

export const OTHER_MINER = addressFor('tao', 'another-miner');
export const OPERATOR = addressFor('eth', 'operator');
export const OPERATOR_BTC = addressFor('btc', 'operator');

/** Reorgs and frozen funds on the destination ledgers, swaps reassigned to another miner. */
export function applySwapChainFaults(world: World, faults: FaultSource): void {
  const s = world.state;
  for (const ledger of Object.values(s.ledgers)) {
    if (faults.decide('reorg', `${ledger.chain}:b${ledger.height}`)) reorgNewestBlock(world, ledger.chain);
    const miner = minerAddressOn(ledger.chain);
    if (faults.decide('insufficient-balance', `freeze:${ledger.chain}:b${ledger.height}`)) {
      ledger.frozenUntil[miner] = ledger.height + 1 + faults.pick(`freeze:${ledger.chain}:b${ledger.height}`, 6);
    }
  }
  for (const id of Object.keys(s.subtensor.swaps).sort()) {
    const swap = s.subtensor.swaps[id]!;
    if (
      swap.status === 'Active' &&
      swap.miner === s.miner &&
      faults.decide('swap-reassigned', `${id}:b${s.subtensor.height}`)
    ) {
      swap.miner = OTHER_MINER;
    }
  }
  world.commit();
}

/**
 * Drops the newest block of a destination chain with its transfers, as a depth-1 reorg does.
 * Transfers there have one confirmation, fewer than any sender waits for, so the host never
 * saw them as included; they are gone from the chain, mempool included.
 */
export function reorgNewestBlock(world: World, chain: string): void {
  const ledger = world.state.ledgers[chain]!;
  if (ledger.utxo !== undefined) {
    reorgUtxoBlock(world, ledger);
    return;
  }
  const dropped = Object.values(ledger.transfers)
    .filter((t) => t.includedBlock === ledger.height)
    .sort((a, b) => b.nonce - a.nonce);
  for (const t of dropped) {
    ledger.balances[t.to] = (BigInt(ledger.balances[t.to] ?? '0') - BigInt(t.amount)).toString();
    ledger.balances[t.from] = (BigInt(ledger.balances[t.from] ?? '0') + BigInt(t.amount)).toString();
    if (ledger.solana === undefined) ledger.nonces[t.from] = t.nonce;
    else undoSolanaTransfer(ledger, t);
    // An operator's own transaction (no raw bytes of ours) goes back to the mempool and is mined
    // again, as a reorged transaction is: dropped for good it would leave a nonce gap that no
    // transaction of ours could ever fill. Ours are dropped: the host must broadcast them again.
    if (t.raw === '' && ledger.solana === undefined) {
      t.includedBlock = null;
      (t as { includeFrom: number }).includeFrom = ledger.height;
      continue;
    }
    delete ledger.transfers[t.hash];
    world.state.observations.reorgedOut.push(t.hash);
  }
}

/** Another transaction from the same account takes `nonce` (an operator's manual transfer). */
export function takeNonce(world: World, chain: string, from: string, nonce: number): void {
  const ledger = world.state.ledgers[chain]!;
  if ((ledger.nonces[from] ?? 0) !== nonce) return;
  const hash = `0xforeign-${chain}-${from.slice(0, 8)}-${nonce}`;
  ledger.transfers[hash] = {
    hash,
    raw: '',
    chain,
    from,
    to: OPERATOR,
    amount: '1',
    nonce,
    swapId: '',
    includeFrom: ledger.height,
    includedBlock: ledger.height,
  };
  ledger.balances[from] = (BigInt(ledger.balances[from] ?? '0') - 1n).toString();
  ledger.nonces[from] = nonce + 1;
  world.commit();
}
