/**
 * A small Bitcoin for tests: a best chain of blocks, a mempool and the UTXO set they make,
 * replayed from the blocks each time it is read (tests hold tens of transactions). A broadcast
 * is checked as a node checks it: every input exists and is unspent (a double spend is refused:
 * against a block, "missing or spent"; against the mempool, "txn-mempool-conflict"), every
 * input's script and signature verify (scriptCheck.ts), outputs do not exceed inputs, no output
 * is dust, and the fee pays the minimum relay rate. Blocks are mined on demand, the newest can
 * be reorganised away (its transactions back to the mempool, or dropped), and a mempool
 * transaction can be evicted.
 *
 * Funding transactions are made by hand with a single input from nowhere (as a coinbase) and
 * are not checked; every other transaction is.
 */
import { createHash } from 'node:crypto';
import { buildTx, hexOf, parseTx, type ParsedTx, type RawOutput } from './rawTx.ts';
import { inputProblem } from './scriptCheck.ts';

export interface FakeBlock {
  readonly hash: string;
  readonly height: number;
  readonly time: number;
  readonly txids: readonly string[];
}

/** The node's refusal of a broadcast: bitcoind's RPC error code and reason. */
export class BroadcastRefusal extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`sendrawtransaction RPC error: ${JSON.stringify({ code, message: reason })}`);
  }
}

export interface Coin {
  readonly txid: string;
  readonly vout: number;
  readonly output: RawOutput;
  /** Null while in the mempool. */
  readonly height: number | null;
}

export interface Spend {
  readonly txid: string;
  readonly vin: number;
  readonly height: number | null;
}

interface View {
  readonly unspent: Map<string, Coin>;
  readonly spentBy: Map<string, Spend>;
  /** Every transaction of the chain (its height) and of the mempool (null). */
  readonly where: Map<string, number | null>;
}

const NOWHERE = '00'.repeat(32);
const op = (txid: string, vout: number): string => `${txid}:${vout}`;
const isFunding = (tx: ParsedTx): boolean => tx.inputs.length === 1 && tx.inputs[0]!.txid === NOWHERE;

export class FakeBitcoin {
  readonly txs = new Map<string, ParsedTx>();
  chain: FakeBlock[] = [];
  /** Blocks reorganised away: Esplora still answers for them, not in the best chain. */
  readonly stale: FakeBlock[] = [];
  mempool: string[] = [];
  feeEstimates: Record<string, number> = { '1': 3, '2': 2, '3': 1.5, '6': 1 };
  minRelaySatVb = 1;
  private made = 0;

  constructor() {
    this.chain.push(this.block([]));
  }

  get tip(): number {
    return this.chain.length - 1;
  }

  /** An output of `value` paying `script`, from nowhere; mined in a new block unless told not to. */
  fund(script: Uint8Array, value: bigint, options: { confirmed?: boolean } = {}): { txid: string; vout: number } {
    const hex = buildTx(
      [
        {
          txid: NOWHERE,
          vout: 0xffffffff,
          scriptSig: Uint8Array.of(4, ...Buffer.from(String(++this.made).padStart(4, '0'))),
          sequence: 0xffffffff,
        },
      ],
      [{ value, script }],
    );
    const tx = parseTx(hex);
    this.txs.set(tx.txid, tx);
    if (options.confirmed === false) this.mempool.push(tx.txid);
    else this.chain.push(this.block([tx.txid]));
    return { txid: tx.txid, vout: 0 };
  }

  view(): View {
    const view: View = { unspent: new Map(), spentBy: new Map(), where: new Map() };
    for (const block of this.chain) for (const txid of block.txids) apply(view, this.txs.get(txid)!, block.height);
    for (const txid of this.mempool) apply(view, this.txs.get(txid)!, null);
    return view;
  }

  /** Checks and pools a transaction; the txid, or a BroadcastRefusal. */
  accept(hex: string): string {
    let tx: ParsedTx;
    try {
      tx = parseTx(hex);
    } catch (error) {
      throw new BroadcastRefusal(-22, `TX decode failed (${(error as Error).message})`);
    }
    const view = this.view();
    if (view.where.has(tx.txid)) {
      if (view.where.get(tx.txid) !== null) throw new BroadcastRefusal(-27, 'Transaction already in block chain');
      return tx.txid; // bitcoind answers a pooled transaction's txid again
    }
    this.check(tx, view, false);
    this.txs.set(tx.txid, tx);
    this.mempool.push(tx.txid);
    return tx.txid;
  }

  /** Mines the pooled transactions given (all by default) into a new block. */
  mine(txids: readonly string[] = this.mempool): FakeBlock {
    const chosen = this.mempool.filter((t) => txids.includes(t));
    this.mempool = this.mempool.filter((t) => !chosen.includes(t));
    const block = this.block(chosen);
    this.chain.push(block);
    return block;
  }

  /**
   * Mines a transaction that spends what a pooled one spends (another wallet of the same key):
   * checked against the chain alone; the pooled conflicts and their children leave the mempool.
   */
  mineConflicting(hex: string): string {
    const tx = parseTx(hex);
    const view = this.view();
    this.check(tx, view, true);
    this.txs.set(tx.txid, tx);
    this.chain.push(this.block([tx.txid]));
    this.purgeMempool();
    return tx.txid;
  }

  /** Drops the newest block; its transactions go back to the mempool unless `dropTxs`. */
  reorg(options: { dropTxs?: boolean } = {}): FakeBlock {
    if (this.chain.length < 2) throw new Error('nothing to reorganise');
    const block = this.chain.pop()!;
    this.stale.push(block);
    if (options.dropTxs !== true) this.mempool = [...block.txids, ...this.mempool];
    this.purgeMempool();
    return block;
  }

  /** Removes a pooled transaction and its pooled children (a full mempool, a restarted node). */
  evict(txid: string): void {
    if (!this.mempool.includes(txid)) throw new Error(`${txid} is not in the mempool`);
    this.mempool = this.mempool.filter((t) => t !== txid);
    this.purgeMempool();
  }

  blockOf(hash: string): { block: FakeBlock; best: boolean } | null {
    const best = this.chain.find((b) => b.hash === hash);
    if (best !== undefined) return { block: best, best: true };
    const stale = this.stale.find((b) => b.hash === hash);
    return stale === undefined ? null : { block: stale, best: false };
  }

  private check(tx: ParsedTx, view: View, chainOnly: boolean): void {
    if (isFunding(tx)) throw new BroadcastRefusal(-26, 'coinbase');
    let inSats = 0n;
    tx.inputs.forEach((input, i) => {
      const coin = view.unspent.get(op(input.txid, input.vout));
      const spend = view.spentBy.get(op(input.txid, input.vout));
      const usable = coin !== undefined ? !(chainOnly && coin.height === null) : chainOnly && spend?.height === null;
      if (!usable) {
        if (spend !== undefined && spend.height === null) throw new BroadcastRefusal(-26, 'txn-mempool-conflict');
        throw new BroadcastRefusal(-25, 'bad-txns-inputs-missingorspent');
      }
      const output = coin?.output ?? this.txs.get(input.txid)!.outputs[input.vout]!;
      const problem = inputProblem(tx, i, output);
      if (problem !== null) throw new BroadcastRefusal(-26, problem);
      inSats += output.value;
    });
    const outSats = tx.outputs.reduce((s, o) => s + o.value, 0n);
    if (outSats > inSats) throw new BroadcastRefusal(-26, 'bad-txns-in-belowout');
    if (tx.outputs.some((o) => o.value < dustOf(o.script))) throw new BroadcastRefusal(-26, 'dust');
    if (inSats - outSats < BigInt(this.minRelaySatVb * tx.vsize))
      throw new BroadcastRefusal(-26, 'min relay fee not met');
  }

  /** Keeps the pooled transactions whose inputs still exist, in order. */
  private purgeMempool(): void {
    const pooled = this.mempool;
    this.mempool = [];
    for (const txid of pooled) {
      const view = this.view();
      const tx = this.txs.get(txid)!;
      if (isFunding(tx) || tx.inputs.every((i) => view.unspent.has(op(i.txid, i.vout)))) this.mempool.push(txid);
    }
  }

  private block(txids: readonly string[]): FakeBlock {
    const height = this.chain.length;
    const hash = createHash('sha256')
      .update(`block ${height} ${++this.made} ${txids.join(',')}`)
      .digest('hex');
    return { hash, height, time: 1_767_225_600 + height * 600, txids: [...txids] };
  }
}

function apply(view: View, tx: ParsedTx, height: number | null): void {
  if (!isFunding(tx)) {
    tx.inputs.forEach((input, vin) => {
      view.unspent.delete(op(input.txid, input.vout));
      view.spentBy.set(op(input.txid, input.vout), { txid: tx.txid, vin, height });
    });
  }
  tx.outputs.forEach((output, vout) => {
    view.unspent.set(op(tx.txid, vout), { txid: tx.txid, vout, output, height });
  });
  view.where.set(tx.txid, height);
}

/** Bitcoin Core's dust threshold at 3 sat/vB, computed here from its definition. */
export function dustOf(script: Uint8Array): bigint {
  const witnessProgram =
    script.length >= 4 &&
    script.length <= 42 &&
    (script[0] === 0 || (script[0]! >= 0x51 && script[0]! <= 0x60)) &&
    script[1] === script.length - 2;
  const outputSize = 8 + 1 + script.length;
  return BigInt(3 * (outputSize + (witnessProgram ? 67 : 148)));
}

export { hexOf };
