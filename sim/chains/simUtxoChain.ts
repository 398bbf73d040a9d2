/**
 * A UTXO destination chain for the simulator (BTC): transactions spend outputs and make new
 * ones, so two payouts of one swap can both land only if they spend different outputs, and a
 * payout can never land once another transaction spending one of its inputs is mined. Kept in
 * a destination ledger's `utxo` part (plain JSON, committed with the world); each of our
 * payouts is also listed in the ledger's `transfers` (its first output: to and amount) so the
 * validators and the invariants judge it as any other transfer.
 *
 * Per block: pending transactions (in txid order) whose inputs are all unspent outputs of mined
 * transactions are mined; one whose input another mined transaction spends leaves the mempool.
 * A depth-1 reorganisation drops the newest block's transactions, mempool included (as the
 * account ledgers do), and whatever spent their outputs.
 */
import { Transaction } from '@scure/btc-signer';
import { inputsOf } from '../../src/chains/bitcoin/btcBuild.ts';
import type { BtcJournalEntry } from '../../src/chains/bitcoin/btcJournal.ts';
import { hexToBytes } from '../../src/chains/bitcoin/btcTx.ts';
import { assert } from '../../src/errors.ts';
import { sha256Hex } from '../sha256.ts';
import type { Ledger, World } from '../world.ts';

export interface UtxoTx {
  readonly txid: string;
  /** "txid:vout" of each output spent; none for the funding transactions made at genesis. */
  readonly inputs: readonly string[];
  readonly outputs: readonly { readonly address: string; readonly value: string }[];
  readonly raw: string;
  readonly includeFrom: number;
  includedBlock: number | null;
}

export interface UtxoState {
  readonly txs: Record<string, UtxoTx>;
  /**
   * The miner's BTC payout journal: a file of the miner's disk, kept here so it outlives host
   * deaths as the file does (the simulator's host store is in memory too).
   */
  readonly payoutJournal: BtcJournalEntry[];
}

export interface UtxoView {
  /** Every output of a known transaction, by "txid:vout". */
  readonly outputs: Map<string, { readonly address: string; readonly value: bigint; readonly height: number | null }>;
  /** The transaction spending each spent output. */
  readonly spentBy: Map<string, UtxoTx>;
}

export function utxoOf(ledger: Ledger): UtxoState {
  assert(ledger.utxo !== undefined, `ledger ${ledger.chain} is not a UTXO chain`);
  return ledger.utxo;
}

/** A UTXO ledger whose `owner` holds `coins` mined outputs of `value` each. */
export function newUtxoLedger(
  chain: string,
  owner: string,
  coins: number,
  value: bigint,
): Ledger & { utxo: UtxoState } {
  const txs: Record<string, UtxoTx> = {};
  for (let i = 0; i < coins; i++) {
    const txid = (i + 1).toString(16).padStart(64, 'f');
    txs[txid] = {
      txid,
      inputs: [],
      outputs: [{ address: owner, value: value.toString() }],
      raw: '',
      includeFrom: 0,
      includedBlock: 0,
    };
  }
  return {
    chain,
    height: 1,
    confirmations: 2,
    balances: {},
    nonces: {},
    frozenUntil: {},
    transfers: {},
    utxo: { txs, payoutJournal: [] },
  };
}

export function utxoView(utxo: UtxoState): UtxoView {
  const view: UtxoView = { outputs: new Map(), spentBy: new Map() };
  for (const tx of Object.values(utxo.txs)) {
    tx.outputs.forEach((o, vout) => {
      view.outputs.set(`${tx.txid}:${vout}`, { address: o.address, value: BigInt(o.value), height: tx.includedBlock });
    });
    for (const input of tx.inputs) view.spentBy.set(input, tx);
  }
  return view;
}

/** One block: mine what can be mined, drop what never can. */
export function includeUtxoTransfers(ledger: Ledger): void {
  const utxo = utxoOf(ledger);
  ledger.height += 1;
  const pending = Object.values(utxo.txs)
    .filter((t) => t.includedBlock === null && t.includeFrom <= ledger.height)
    .sort((a, b) => (a.txid < b.txid ? -1 : 1));
  for (const tx of pending) {
    const from = fundingAddress(utxo, tx);
    if (from !== null && (ledger.frozenUntil[from] ?? 0) > ledger.height) continue;
    if (!tx.inputs.every((input) => isMinedUnspentFor(utxo, input, tx))) continue;
    tx.includedBlock = ledger.height;
    const transfer = ledger.transfers[tx.txid];
    if (transfer !== undefined) transfer.includedBlock = ledger.height;
  }
  dropDead(ledger);
}

/** Drops the newest block's transactions (and their descendants) from chain and mempool. */
export function reorgUtxoBlock(world: World, ledger: Ledger): void {
  const utxo = utxoOf(ledger);
  for (const tx of Object.values(utxo.txs)) {
    if (tx.includedBlock !== ledger.height || tx.inputs.length === 0) continue;
    forget(ledger, tx.txid);
    world.state.observations.reorgedOut.push(tx.txid);
  }
  dropDead(ledger);
}

/**
 * Another transaction of the miner's key (an operator's own wallet) spends `input` and is
 * mined at once: a payout spending it can never land.
 */
export function spendForeign(world: World, ledger: Ledger, input: string, to: string): void {
  const utxo = utxoOf(ledger);
  const view = utxoView(utxo);
  const coin = view.outputs.get(input);
  if (coin === undefined || coin.height === null) return;
  const mined = view.spentBy.get(input);
  if (mined !== undefined && mined.includedBlock !== null) return;
  const txid = sha256Hex(`foreign spend of ${input} at ${ledger.height}`);
  utxo.txs[txid] = {
    txid,
    inputs: [input],
    outputs: [{ address: to, value: coin.value.toString() }],
    raw: '',
    includeFrom: ledger.height,
    includedBlock: ledger.height,
  };
  dropDead(ledger);
  world.commit();
}

/** Pending transactions whose inputs a mined transaction spends, or that no longer exist. */
function dropDead(ledger: Ledger): void {
  const utxo = utxoOf(ledger);
  for (let changed = true; changed; ) {
    changed = false;
    const view = utxoView(utxo);
    for (const tx of Object.values(utxo.txs)) {
      if (tx.includedBlock !== null) continue;
      const dead = tx.inputs.some((input) => {
        const spender = view.spentBy.get(input);
        return !view.outputs.has(input) || (spender !== undefined && spender !== tx && spender.includedBlock !== null);
      });
      if (dead) {
        forget(ledger, tx.txid);
        changed = true;
      }
    }
  }
}

function forget(ledger: Ledger, txid: string): void {
  delete utxoOf(ledger).txs[txid];
  delete ledger.transfers[txid];
}

function isMinedUnspentFor(utxo: UtxoState, input: string, spender: UtxoTx): boolean {
  const [txid, vout] = input.split(':') as [string, string];
  const funding = utxo.txs[txid];
  if (funding === undefined || funding.includedBlock === null || funding.outputs[Number(vout)] === undefined)
    return false;
  return !Object.values(utxo.txs).some((t) => t !== spender && t.includedBlock !== null && t.inputs.includes(input));
}

/** The address the first input spends from (whose funds a freeze holds), or null. */
function fundingAddress(utxo: UtxoState, tx: UtxoTx): string | null {
  const first = tx.inputs[0];
  if (first === undefined) return null;
  const [txid, vout] = first.split(':') as [string, string];
  return utxo.txs[txid]?.outputs[Number(vout)]?.address ?? null;
}

/** The txid and inputs of signed payout bytes. */
export function payoutShape(raw: string): { txid: string; inputs: string[] } {
  const tx = Transaction.fromRaw(hexToBytes(raw), { allowUnknownOutputs: true });
  return { txid: tx.id, inputs: inputsOf(tx) };
}
