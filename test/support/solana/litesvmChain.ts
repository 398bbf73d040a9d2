/**
 * A Solana ledger for the tests: LiteSVM runs the real System, SPL Token and Associated Token
 * Account programs in-process; this file adds what a cluster adds around them and LiteSVM does
 * not model: a pool of received transactions, blocks the test produces one at a time (one per
 * slot, so block height = slot), commitment levels (processed = the newest block, confirmed and
 * finalized a fixed number of blocks behind), the state of every account as of each
 * commitment, a window of recent blockhashes (a transaction is valid while the blockhash it
 * names is at most `blockhashValidBlocks` blocks old, or, for a durable-nonce transaction,
 * while the nonce account still stores its nonce), and the status of every included signature.
 *
 * Balances, rent, fees, ATA creation, token decimals and frozen accounts are the programs' own:
 * this file only decides which transactions reach LiteSVM and when. LiteSVM's own blockhash
 * check only knows the newest blockhash, so it is turned off and the runtime's age rule
 * (recent blockhash or durable nonce) is applied here, before LiteSVM sees the transaction.
 *
 * LiteSVM does not advance the nonce of a durable-nonce transaction whose instructions fail (a
 * cluster does); the senders under test never rely on either behaviour.
 *
 * Everything is in memory; a test's crash leaves nothing behind.
 */
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import {
  getBase58Decoder,
  getCompiledTransactionMessageDecoder,
  getSignatureFromTransaction,
  getTransactionDecoder,
  getTransactionEncoder,
  type Address,
  type EncodedAccount,
  type Transaction,
} from '@solana/kit';
import { getNonceDecoder, SYSTEM_PROGRAM_ADDRESS } from '@solana-program/system';
import { rpcTransactionError, type RpcTransactionError } from './litesvmErrors.ts';

export type Commitment = 'processed' | 'confirmed' | 'finalized';

export interface LitesvmChainOptions {
  /** Blocks between the newest block and the confirmed one (default 1). */
  readonly confirmedDepth?: number;
  /** Blocks between the newest block and the finalized one (default 3). */
  readonly finalizedDepth?: number;
  /** How many blocks a recent blockhash stays valid (a cluster: 150). */
  readonly blockhashValidBlocks?: number;
}

export interface SignatureStatus {
  readonly slot: bigint;
  /** The transaction error as the RPC encodes it, or null when it succeeded. */
  readonly err: RpcTransactionError | null;
}

/** An included transaction as getTransaction shows it: its keys and their states around it. */
export interface IncludedTx {
  readonly slot: bigint;
  readonly err: RpcTransactionError | null;
  readonly accountKeys: readonly Address[];
  readonly numSigners: number;
  readonly pre: readonly (EncodedAccount | null)[];
  readonly post: readonly (EncodedAccount | null)[];
  /** The transaction as sent (getTransaction's base64 encoding). */
  readonly wire: Uint8Array;
}

/** A transaction the pool dropped instead of including, and why. */
export interface Dropped {
  readonly signature: string;
  readonly slot: bigint;
  readonly reason: string;
}

interface Pending {
  readonly signature: string;
  readonly tx: Transaction;
}

/** The AdvanceNonceAccount instruction's index in the System program's enum. */
const ADVANCE_NONCE_INDEX = 4;
const FIRST_SLOT = 100n;
/** Ceilings: a runaway test loop fails loudly instead of growing the heap. */
const MAX_POOL = 10_000;
const MAX_BLOCKS_PER_CALL = 10_000;
const MAX_DROPPED = 1_000;
const MAX_INCLUDED = 10_000;

export class LitesvmChain {
  readonly svm: LiteSVM;
  private head = FIRST_SLOT;
  private readonly confirmedDepth: bigint;
  private readonly finalizedDepth: bigint;
  private readonly validBlocks: bigint;
  /** The blockhash new transactions name after each block, by slot. */
  private readonly blockhashes = new Map<bigint, string>();
  private readonly slotOfBlockhash = new Map<string, bigint>();
  private pool: Pending[] = [];
  private readonly statuses = new Map<string, SignatureStatus>();
  /** Included transactions by signature (what getTransaction serves), at most MAX_INCLUDED. */
  private readonly included = new Map<string, IncludedTx>();
  /** Each account's states, oldest first: slot -1 is its state before the first block that touched it. */
  private readonly history = new Map<string, { slot: bigint; account: EncodedAccount | null }[]>();
  /** The newest drops, at most MAX_DROPPED. */
  readonly dropped: Dropped[] = [];

  constructor(options: LitesvmChainOptions = {}) {
    this.confirmedDepth = BigInt(options.confirmedDepth ?? 1);
    this.finalizedDepth = BigInt(options.finalizedDepth ?? 3);
    this.validBlocks = BigInt(options.blockhashValidBlocks ?? 150);
    this.svm = new LiteSVM().withBlockhashCheck(false).withTransactionHistory(0n);
    this.svm.warpToSlot(FIRST_SLOT);
    this.noteBlockhash(FIRST_SLOT);
  }

  slotAt(commitment: Commitment = 'finalized'): bigint {
    const depth =
      commitment === 'processed' ? 0n : commitment === 'confirmed' ? this.confirmedDepth : this.finalizedDepth;
    return this.head - depth < FIRST_SLOT ? FIRST_SLOT : this.head - depth;
  }

  /** The blockhash of the block at a commitment, and the last block height it is valid at. */
  latestBlockhash(commitment: Commitment = 'finalized'): { blockhash: string; lastValidBlockHeight: bigint } {
    const slot = this.slotAt(commitment);
    return { blockhash: this.blockhashes.get(slot)!, lastValidBlockHeight: slot + this.validBlocks };
  }

  isBlockhashValid(blockhash: string, commitment: Commitment = 'finalized'): boolean {
    const slot = this.slotOfBlockhash.get(blockhash);
    return slot !== undefined && slot <= this.slotAt(commitment) && this.head <= slot + this.validBlocks;
  }

  /** An account as of a commitment (null when it does not exist there). */
  account(address: Address, commitment: Commitment = 'finalized'): EncodedAccount | null {
    const states = this.history.get(address);
    if (states === undefined) return this.current(address);
    const at = this.slotAt(commitment);
    let found = states[0]!;
    for (const state of states) if (state.slot <= at) found = state;
    return found.account;
  }

  /** An included transaction as of a commitment, or null (not included, or not yet at that commitment). */
  transaction(signature: string, commitment: Commitment = 'processed'): IncludedTx | null {
    const tx = this.included.get(signature);
    return tx !== undefined && tx.slot <= this.slotAt(commitment) ? tx : null;
  }

  status(signature: string, commitment: Commitment = 'processed'): SignatureStatus | null {
    const status = this.statuses.get(signature);
    return status !== undefined && status.slot <= this.slotAt(commitment) ? status : null;
  }

  /** The signatures of included transactions naming `address`, newest first, at a commitment. */
  signaturesFor(
    address: string,
    commitment: Commitment,
    limit: number,
  ): { signature: string; status: SignatureStatus }[] {
    const found: { signature: string; status: SignatureStatus }[] = [];
    for (const [signature, { accountKeys }] of [...this.included].reverse()) {
      const status = this.status(signature, commitment);
      if (status === null || !accountKeys.includes(address as Address)) continue;
      found.push({ signature, status });
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * The error the runtime would refuse this transaction with before running it, or null. As a
   * bank does: the age first (a durable-nonce transaction whose nonce has moved, even by itself,
   * is BlockhashNotFound), then the status cache (AlreadyProcessed).
   */
  ageProblem(tx: Transaction): RpcTransactionError | null {
    const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
    const age = this.lifetimeValid(message) ? null : 'BlockhashNotFound';
    if (age !== null) return age;
    return this.statuses.has(getSignatureFromTransaction(tx)) ? 'AlreadyProcessed' : null;
  }

  private lifetimeValid(
    message: ReturnType<ReturnType<typeof getCompiledTransactionMessageDecoder>['decode']>,
  ): boolean {
    const token = message.lifetimeToken;
    if (this.isBlockhashValid(token, 'processed')) return true;
    if (message.version === 1) return false; // no durable-nonce rule is modelled for v1 messages
    const first = message.instructions[0];
    const program = first === undefined ? undefined : message.staticAccounts[first.programAddressIndex];
    const isAdvance =
      program === SYSTEM_PROGRAM_ADDRESS &&
      first?.data !== undefined &&
      first.data.length >= 4 &&
      first.data[0] === ADVANCE_NONCE_INDEX;
    if (!isAdvance || first.accountIndices === undefined) return false;
    const nonceAccount = this.current(message.staticAccounts[first.accountIndices[0]!]!);
    if (
      nonceAccount === null ||
      nonceAccount.programAddress !== SYSTEM_PROGRAM_ADDRESS ||
      nonceAccount.data.length !== 80
    )
      return false;
    const stored = getNonceDecoder().decode(nonceAccount.data);
    return stored.state === 1 && stored.blockhash === token;
  }

  /** Runs a transaction against the newest state without keeping anything (sendTransaction's preflight). */
  simulate(tx: Transaction): { err: RpcTransactionError; logs: string[] } | null {
    const age = this.ageProblem(tx);
    if (age !== null) return { err: age, logs: [] };
    const result = this.svm.simulateTransaction(tx);
    return result instanceof FailedTransactionMetadata
      ? { err: rpcTransactionError(result.err()), logs: result.meta().logs() }
      : null;
  }

  /** A transaction into the pool; it is tried when the next block is produced. */
  submit(tx: Transaction): string {
    if (this.pool.length >= MAX_POOL) throw new Error(`transaction pool full (${MAX_POOL})`);
    const signature = getSignatureFromTransaction(tx);
    if (!this.pool.some((p) => p.signature === signature)) this.pool.push({ signature, tx });
    return signature;
  }

  submitWire(bytes: Uint8Array): { tx: Transaction; signature: string } {
    const tx = getTransactionDecoder().decode(bytes) as Transaction;
    return { tx, signature: getSignatureFromTransaction(tx) };
  }

  /** Forgets the pool without including anything (a node that restarted, a broadcast lost on the way). */
  dropPool(): number {
    const n = this.pool.length;
    for (const p of this.pool)
      this.noteDrop({ signature: p.signature, slot: this.head, reason: 'dropped from the pool' });
    this.pool = [];
    return n;
  }

  get poolSize(): number {
    return this.pool.length;
  }

  /** Produces `count` blocks; the first includes what the pool holds that is still valid. */
  produceBlocks(count = 1): void {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BLOCKS_PER_CALL)
      throw new RangeError(`block count ${count}: 1 to ${MAX_BLOCKS_PER_CALL}`);
    for (let i = 0; i < count; i++) this.produceBlock();
  }

  private produceBlock(): void {
    this.head += 1n;
    this.svm.warpToSlot(this.head);
    const pool = this.pool;
    this.pool = [];
    for (const { signature, tx } of pool) this.include(signature, tx);
    this.svm.expireBlockhash();
    this.noteBlockhash(this.head);
  }

  private include(signature: string, tx: Transaction): void {
    const age = this.ageProblem(tx);
    if (age !== null) {
      this.noteDrop({ signature, slot: this.head, reason: String(age) });
      return;
    }
    const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
    const keys = message.staticAccounts;
    for (const key of keys) this.keepOriginal(key);
    const pre = keys.map((key) => this.current(key));
    const result = this.svm.sendTransaction(tx);
    const err = result instanceof FailedTransactionMetadata ? rpcTransactionError(result.err()) : null;
    // Errors before execution (no fee payer funds, a bad signature) never reach a block.
    if (err !== null && typeof err === 'string') {
      this.noteDrop({ signature, slot: this.head, reason: err });
      return;
    }
    this.statuses.set(signature, { slot: this.head, err });
    for (const key of keys) this.history.get(key)!.push({ slot: this.head, account: this.current(key) });
    const post = keys.map((key) => this.current(key));
    this.included.set(signature, {
      slot: this.head,
      err,
      accountKeys: keys,
      numSigners: message.header.numSignerAccounts,
      pre,
      post,
      wire: new Uint8Array(getTransactionEncoder().encode(tx)),
    });
    if (this.included.size > MAX_INCLUDED) this.included.delete(this.included.keys().next().value!);
  }

  /** Changes an account outside any transaction (test setup), as if in the newest block. */
  change(address: Address, apply: (svm: LiteSVM) => void): void {
    this.keepOriginal(address);
    apply(this.svm);
    this.history.get(address)!.push({ slot: this.head, account: this.current(address) });
  }

  private noteDrop(drop: Dropped): void {
    this.dropped.push(drop);
    if (this.dropped.length > MAX_DROPPED) this.dropped.shift();
  }

  private keepOriginal(address: Address): void {
    if (!this.history.has(address)) this.history.set(address, [{ slot: -1n, account: this.current(address) }]);
  }

  private current(address: Address): EncodedAccount | null {
    const account = this.svm.getAccount(address);
    return account.exists ? account : null;
  }

  private noteBlockhash(slot: bigint): void {
    const blockhash = this.svm.latestBlockhash();
    this.blockhashes.set(slot, blockhash);
    this.slotOfBlockhash.set(blockhash, slot);
  }
}

/** Base58 of bytes (signatures, hashes). */
export function base58(bytes: Uint8Array): string {
  return getBase58Decoder().decode(bytes);
}
