/**
 * A Solana cluster in a test process, served as JSON-RPC over HTTP on 127.0.0.1: accounts,
 * slots, a Clock sysvar, blockhashes with their last valid block height, a mempool, fees, the
 * System program's transfer, and any program model a test plugs in (the swap manager's is
 * swapManagerProgram.ts). Transactions are checked as the runtime would: every required
 * signature verified with ed25519 over the message bytes, the blockhash known and not expired,
 * the fee payer able to pay, instructions run in order and all-or-nothing (a failure reverts
 * everything but the fee). Durable nonces: a transaction whose first instruction advances a nonce
 * account is valid while that account still stores the nonce it names, whatever its age.
 *
 * One bank: state changes when a transaction is included (at the next slot), and reads at any
 * commitment see it. Statuses report `processed`, `confirmed` a slot later and `finalized` 32
 * slots later. This is a model of what the adapters rely on, not of forks.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  address as toAddress,
  getBase58Decoder,
  getBase58Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
} from '@solana/kit';
import { getNonceDecoder, getNonceEncoder, getNonceSize, NonceState, NonceVersion } from '@solana-program/system';

export const SYSTEM_PROGRAM = '11111111111111111111111111111111';
export const CLOCK_SYSVAR = 'SysvarC1ock11111111111111111111111111111111';
export const FEE_LAMPORTS_PER_SIGNATURE = 5_000n;
const ADVANCE_NONCE = 4; // SystemInstruction::AdvanceNonceAccount
/** Blocks a blockhash stays valid for (the runtime's 150 plus the RPC's margin). */
export const BLOCKHASH_VALID_BLOCKS = 151;

const b58e = getBase58Encoder();
const b58d = getBase58Decoder();

export interface Account {
  lamports: bigint;
  owner: string;
  data: Uint8Array;
  executable: boolean;
}

/** An instruction failed: the runtime's InstructionError, e.g. { Custom: 6028 } or 'MissingRequiredSignature'. */
export class InstructionFailure extends Error {
  constructor(
    readonly error: { Custom: number } | string,
    readonly logs: readonly string[] = [],
  ) {
    super(typeof error === 'string' ? error : `custom program error: 0x${error.Custom.toString(16)}`);
  }
}

export interface AccountMeta {
  readonly address: string;
  readonly signer: boolean;
  readonly writable: boolean;
}

export interface InstructionContext {
  readonly programId: string;
  readonly accounts: readonly AccountMeta[];
  readonly data: Uint8Array;
  readonly cluster: FakeCluster;
  /** Reads an account as the transaction sees it so far (null: does not exist). */
  get(address: string): Account | null;
  set(address: string, account: Account | null): void;
  log(line: string): void;
  /** Emits an Anchor event: a `Program data: <base64>` line. */
  emit(bytes: Uint8Array): void;
}

export type ProgramModel = (ctx: InstructionContext) => void;

interface TxRecord {
  signature: string;
  slot: number;
  blockTime: number;
  err: unknown;
  logs: string[];
  fee: bigint;
  accountKeys: string[];
  header: { numSignerAccounts: number; numReadonlySignerAccounts: number; numReadonlyNonSignerAccounts: number };
  recentBlockhash: string;
  instructions: Array<{ programIdIndex: number; accounts: number[]; data: string }>;
  preBalances: bigint[];
  postBalances: bigint[];
  signatures: string[];
}

interface Pending {
  readonly wire: Uint8Array;
  readonly signature: string;
}

/** A refusal of a whole request, as the RPC's JSON-RPC error. */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type RequestHook = (method: string, params: unknown[]) => 'fail-before' | 'fail-after' | undefined;

export class FakeCluster {
  readonly accounts = new Map<string, Account>();
  readonly programs = new Map<string, ProgramModel>();
  readonly transactions = new Map<string, TxRecord>();
  /** The wire bytes of every landed transaction (getTransaction in base64 encoding). */
  private readonly wires = new Map<string, Uint8Array>();
  /** Per address, the signatures that touched it, oldest first. */
  readonly history = new Map<string, string[]>();
  readonly mempool: Pending[] = [];
  readonly blockhashes = new Map<string, number>();
  slot = 1;
  blockHeight = 1;
  /** Cluster time in seconds (fractional; the Clock sysvar holds its floor). */
  time: number;
  secsPerSlot = 0.4;
  /** Transactions accepted by sendTransaction but never included (a leader that drops them). */
  dropIncoming = false;
  hook: RequestHook | undefined;
  readonly calls: string[] = [];
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private blockhashSeq = 0;

  constructor(
    readonly genesisHash: string,
    startTime: number,
  ) {
    this.time = startTime;
    this.newBlockhash();
    this.writeClock();
  }

  // --- ledger -----------------------------------------------------------------------------

  account(address: string): Account | null {
    return this.accounts.get(address) ?? null;
  }

  fund(address: string, lamports: bigint): void {
    const existing = this.accounts.get(address);
    if (existing !== undefined) existing.lamports += lamports;
    else this.accounts.set(address, { lamports, owner: SYSTEM_PROGRAM, data: new Uint8Array(0), executable: false });
  }

  balance(address: string): bigint {
    return this.accounts.get(address)?.lamports ?? 0n;
  }

  /** A durable nonce account owned by the System program, its authority `authority`. */
  createNonceAccount(address: string, authority: string): void {
    const data = getNonceEncoder().encode({
      version: NonceVersion.Current,
      state: NonceState.Initialized,
      authority: toAddress(authority),
      blockhash: this.durableValue() as never,
      lamportsPerSignature: FEE_LAMPORTS_PER_SIGNATURE,
    });
    this.accounts.set(address, {
      lamports: 1_447_680n,
      owner: SYSTEM_PROGRAM,
      data: Uint8Array.from(data),
      executable: false,
    });
  }

  /** The value a nonce advanced now takes (the runtime hashes the newest blockhash). */
  durableValue(): string {
    return b58d.decode(createHash('sha256').update('DURABLE_NONCE').update(this.latestBlockhash.blockhash).digest());
  }

  /** The value a nonce account stores, or null when it is not one. */
  nonceValue(address: string): { value: string; authority: string } | null {
    const account = this.accounts.get(address);
    if (account === undefined || account.owner !== SYSTEM_PROGRAM || account.data.length !== getNonceSize())
      return null;
    const nonce = getNonceDecoder().decode(account.data);
    return { value: nonce.blockhash as string, authority: nonce.authority as string };
  }

  get clockSecs(): number {
    return Math.floor(this.time);
  }

  private newBlockhash(): string {
    this.blockhashSeq += 1;
    const bytes = new Uint8Array(32);
    new DataView(bytes.buffer).setUint32(0, this.blockhashSeq, true);
    bytes[31] = 0xbb;
    const hash = b58d.decode(bytes);
    this.blockhashes.set(hash, this.blockHeight + BLOCKHASH_VALID_BLOCKS);
    return hash;
  }

  get latestBlockhash(): { blockhash: string; lastValidBlockHeight: number } {
    const entries = [...this.blockhashes.entries()];
    const [blockhash, lastValidBlockHeight] = entries[entries.length - 1]!;
    return { blockhash, lastValidBlockHeight };
  }

  private writeClock(): void {
    const data = Buffer.alloc(40);
    data.writeBigUInt64LE(BigInt(this.slot), 0);
    data.writeBigInt64LE(BigInt(this.clockSecs), 32);
    this.accounts.set(CLOCK_SYSVAR, {
      lamports: 1_169_280n,
      owner: 'Sysvar1111111111111111111111111111111111111',
      data: Uint8Array.from(data),
      executable: false,
    });
  }

  /** Produces `n` slots: the mempool is included in the first, time moves on. */
  advance(n = 1, secs?: number): void {
    for (let i = 0; i < n; i += 1) {
      this.slot += 1;
      this.blockHeight += 1;
      this.time += secs ?? this.secsPerSlot;
      this.writeClock();
      this.newBlockhash();
      for (const pending of this.mempool.splice(0)) this.include(pending);
    }
  }

  /** Moves the cluster's clock without producing slots (skipped slots). */
  warp(secs: number): void {
    this.time += secs;
    this.writeClock();
  }

  /** Runs transactions as a one-instruction-per-call helper for test-side actors (validators). */
  runAsProgram(programId: string, accounts: AccountMeta[], data: Uint8Array): TxRecord {
    const signature = b58d.decode(
      Uint8Array.from({ length: 64 }, (_, i) => (i + this.transactions.size * 7 + 13) % 256),
    );
    const record = this.execute(
      signature,
      [programId, ...accounts.map((a) => a.address)],
      { numSignerAccounts: 0, numReadonlySignerAccounts: 0, numReadonlyNonSignerAccounts: 0 },
      '',
      [{ programIdIndex: 0, accounts: accounts.map((_, i) => i + 1), data: b58d.decode(data) }],
      [signature],
      accounts,
      0n,
    );
    return record;
  }

  // --- transactions -----------------------------------------------------------------------

  private decode(wire: Uint8Array) {
    const tx = getTransactionDecoder().decode(wire);
    const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
    return { tx, message };
  }

  /** Checks a wire transaction as the runtime would before running it; the failure, or null. */
  private admit(wire: Uint8Array): { signature: string; error: unknown } {
    let decoded: ReturnType<FakeCluster['decode']>;
    try {
      decoded = this.decode(wire);
    } catch {
      throw new RpcError(-32602, 'failed to deserialize transaction');
    }
    const { tx, message } = decoded;
    const keys = message.staticAccounts as string[];
    const signers = keys.slice(0, message.header.numSignerAccounts);
    const signature = b58d.decode(tx.signatures[signers[0]! as never] ?? new Uint8Array(64));
    for (const signer of signers) {
      const sig = tx.signatures[signer as never] as Uint8Array | null;
      if (sig === null || sig === undefined || !verifyEd25519(signer, tx.messageBytes as unknown as Uint8Array, sig)) {
        throw new RpcError(-32003, 'Transaction signature verification failure');
      }
    }
    if (this.transactions.has(signature)) return { signature, error: 'AlreadyProcessed' };
    if (!this.lifetimeValid(keys, message)) return { signature, error: 'BlockhashNotFound' };
    const fee = FEE_LAMPORTS_PER_SIGNATURE * BigInt(signers.length);
    if (this.balance(keys[0]!) < fee)
      return { signature, error: this.accounts.has(keys[0]!) ? 'InsufficientFundsForFee' : 'AccountNotFound' };
    return { signature, error: null };
  }

  /** A recent blockhash not yet expired, or the nonce a durable-nonce transaction's first instruction advances. */
  private lifetimeValid(keys: readonly string[], message: { lifetimeToken: unknown }): boolean {
    type Ix = { programAddressIndex: number; accountIndices?: number[]; data?: Uint8Array };
    const first = ((message as { instructions?: Ix[] }).instructions ?? [])[0];
    const advances =
      first !== undefined &&
      keys[first.programAddressIndex] === SYSTEM_PROGRAM &&
      first.data !== undefined &&
      first.data.length >= 4 &&
      Buffer.from(first.data).readUInt32LE(0) === ADVANCE_NONCE;
    if (advances) {
      const account = keys[first.accountIndices?.[0] ?? -1];
      return account !== undefined && this.nonceValue(account)?.value === message.lifetimeToken;
    }
    const lastValid = this.blockhashes.get(message.lifetimeToken as string);
    return lastValid !== undefined && lastValid >= this.blockHeight;
  }

  /** sendTransaction: preflight (a dry run on the current state), then the mempool. */
  send(wire: Uint8Array, preflight: boolean): string {
    const { signature, error } = this.admit(wire);
    if (preflight) {
      const failure: { err: unknown; logs?: string[] } | null = error !== null ? { err: error } : this.simulate(wire);
      if (failure !== null) {
        const logs = failure.logs ?? [];
        throw new RpcError(-32002, `Transaction simulation failed: ${JSON.stringify(failure.err)}`, {
          err: failure.err,
          logs,
          accounts: null,
          unitsConsumed: 0,
          returnData: null,
        });
      }
    } else if (error !== null) {
      // Without preflight the leader drops what it cannot process: the signature never lands.
      return signature;
    }
    if (!this.dropIncoming && !this.mempool.some((p) => p.signature === signature))
      this.mempool.push({ wire, signature });
    return signature;
  }

  private simulate(wire: Uint8Array): { err: unknown; logs?: string[] } | null {
    const saved = new Map([...this.accounts].map(([k, v]) => [k, { ...v, data: Uint8Array.from(v.data) }]));
    const sizeBefore = this.transactions.size;
    let record: TxRecord;
    try {
      record = this.run(wire, 'simulation');
    } finally {
      this.accounts.clear();
      for (const [k, v] of saved) this.accounts.set(k, v);
    }
    if (this.transactions.size !== sizeBefore) throw new Error('simulation recorded a transaction');
    return record.err === null ? null : { err: record.err, logs: record.logs };
  }

  private include(pending: Pending): void {
    const { error } = this.admit(pending.wire);
    if (error !== null) return; // expired or unpayable by now: dropped, never lands
    const record = this.run(pending.wire, pending.signature);
    this.transactions.set(record.signature, record);
    this.wires.set(record.signature, pending.wire);
    for (const key of record.accountKeys) {
      const list = this.history.get(key) ?? [];
      list.push(record.signature);
      this.history.set(key, list);
    }
  }

  private run(wire: Uint8Array, signature: string): TxRecord {
    const { message } = this.decode(wire);
    const keys = message.staticAccounts as string[];
    const { header } = message;
    const metas: AccountMeta[] = keys.map((address, i) => ({
      address,
      signer: i < header.numSignerAccounts,
      writable:
        i < header.numSignerAccounts - header.numReadonlySignerAccounts ||
        (i >= header.numSignerAccounts && i < keys.length - header.numReadonlyNonSignerAccounts),
    }));
    const instructions = (
      (message as unknown as { instructions: unknown }).instructions as Array<{
        programAddressIndex: number;
        accountIndices?: number[];
        data?: Uint8Array;
      }>
    ).map((ix) => ({
      programIdIndex: ix.programAddressIndex,
      accounts: ix.accountIndices ?? [],
      data: b58d.decode(ix.data ?? new Uint8Array(0)),
    }));
    const fee = FEE_LAMPORTS_PER_SIGNATURE * BigInt(header.numSignerAccounts);
    return this.execute(
      signature,
      keys,
      header,
      message.lifetimeToken as string,
      instructions,
      [signature],
      metas,
      fee,
    );
  }

  private execute(
    signature: string,
    keys: string[],
    header: TxRecord['header'],
    recentBlockhash: string,
    instructions: TxRecord['instructions'],
    signatures: string[],
    metas: AccountMeta[],
    fee: bigint,
  ): TxRecord {
    const preBalances = keys.map((k) => this.balance(k));
    if (fee > 0n) this.accounts.get(keys[0]!)!.lamports -= fee;
    const saved = new Map([...this.accounts].map(([k, v]) => [k, { ...v, data: Uint8Array.from(v.data) }]));
    const logs: string[] = [];
    let err: unknown = null;
    for (const [index, ix] of instructions.entries()) {
      const programId = keys[ix.programIdIndex]!;
      logs.push(`Program ${programId} invoke [1]`);
      try {
        const accounts = ix.accounts.map((i) => metas[i] ?? { address: keys[i]!, signer: false, writable: false });
        this.invoke(programId, accounts, Uint8Array.from(b58e.encode(ix.data)), logs);
        logs.push(`Program ${programId} success`);
      } catch (error) {
        if (!(error instanceof InstructionFailure)) throw error;
        logs.push(...error.logs, `Program ${programId} failed: ${error.message}`);
        err = { InstructionError: [index, error.error] };
        this.accounts.clear();
        for (const [k, v] of saved) this.accounts.set(k, v);
        break;
      }
    }
    return {
      signature,
      slot: this.slot,
      blockTime: this.clockSecs,
      err,
      logs,
      fee,
      accountKeys: keys,
      header,
      recentBlockhash,
      instructions,
      preBalances,
      postBalances: keys.map((k) => this.balance(k)),
      signatures,
    };
  }

  private invoke(programId: string, accounts: AccountMeta[], data: Uint8Array, logs: string[]): void {
    const ctx: InstructionContext = {
      programId,
      accounts,
      data,
      cluster: this,
      get: (address) => this.accounts.get(address) ?? null,
      set: (address, account) =>
        account === null ? this.accounts.delete(address) : this.accounts.set(address, account),
      log: (line) => logs.push(`Program log: ${line}`),
      emit: (bytes) => logs.push(`Program data: ${Buffer.from(bytes).toString('base64')}`),
    };
    if (programId === SYSTEM_PROGRAM) {
      systemProgram(ctx);
      return;
    }
    const model = this.programs.get(programId);
    if (model === undefined) throw new InstructionFailure('UnsupportedProgramId');
    model(ctx);
  }

  /** Every System Transfer in a transaction that succeeded: fee payer, from, to, lamports the recipient gained. */
  systemTransfers(): Array<{
    signature: string;
    slot: number;
    feePayer: string;
    from: string;
    to: string;
    received: bigint;
  }> {
    const out = [];
    for (const tx of this.transactions.values()) {
      if (tx.err !== null) continue;
      for (const ix of tx.instructions) {
        const data = Buffer.from(b58e.encode(ix.data));
        if (tx.accountKeys[ix.programIdIndex] !== SYSTEM_PROGRAM || data.length < 12 || data.readUInt32LE(0) !== 2)
          continue;
        const [from, to] = ix.accounts.map((i) => tx.accountKeys[i]!);
        const at = tx.accountKeys.indexOf(to!);
        out.push({
          signature: tx.signature,
          slot: tx.slot,
          feePayer: tx.accountKeys[0]!,
          from: from!,
          to: to!,
          received: tx.postBalances[at]! - tx.preBalances[at]!,
        });
      }
    }
    return out;
  }

  statusOf(
    signature: string,
  ): { slot: number; confirmations: number | null; err: unknown; confirmationStatus: string } | null {
    const tx = this.transactions.get(signature);
    if (tx === undefined) return null;
    const depth = this.slot - tx.slot;
    const confirmationStatus = depth >= 32 ? 'finalized' : depth >= 1 ? 'confirmed' : 'processed';
    return { slot: tx.slot, confirmations: depth >= 32 ? null : depth, err: tx.err, confirmationStatus };
  }

  // --- JSON-RPC -----------------------------------------------------------------------------

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const request = JSON.parse(body) as { id: unknown; method: string; params?: unknown[] };
        const params = request.params ?? [];
        this.calls.push(request.method);
        const fault = this.hook?.(request.method, params);
        if (fault === 'fail-before') {
          res.writeHead(503).end('unavailable');
          return;
        }
        let reply: object;
        try {
          reply = { jsonrpc: '2.0', id: request.id, result: this.handle(request.method, params) };
        } catch (error) {
          if (!(error instanceof RpcError)) throw error;
          reply = {
            jsonrpc: '2.0',
            id: request.id,
            error: {
              code: error.code,
              message: error.message,
              ...(error.data === undefined ? {} : { data: error.data }),
            },
          };
        }
        if (fault === 'fail-after') {
          res.writeHead(503).end('lost');
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(reply, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Produces a slot every `ms` until stopped. */
  autoAdvance(ms: number): void {
    this.timer = setInterval(() => this.advance(1), ms);
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await new Promise<void>((resolve) => (this.server === null ? resolve() : this.server.close(() => resolve())));
  }

  private context() {
    return { slot: this.slot, apiVersion: '2.2.0' };
  }

  private accountJson(account: Account | null) {
    if (account === null) return null;
    return {
      data: [Buffer.from(account.data).toString('base64'), 'base64'],
      executable: account.executable,
      lamports: account.lamports,
      owner: account.owner,
      rentEpoch: 0,
      space: account.data.length,
    };
  }

  private handle(method: string, params: unknown[]): unknown {
    switch (method) {
      case 'getGenesisHash':
        return this.genesisHash;
      case 'getSlot':
        return this.slot;
      case 'getBlockHeight':
        return this.blockHeight;
      case 'getLatestBlockhash':
        return { context: this.context(), value: this.latestBlockhash };
      case 'isBlockhashValid': {
        const lastValid = this.blockhashes.get(params[0] as string);
        return { context: this.context(), value: lastValid !== undefined && lastValid >= this.blockHeight };
      }
      case 'getBalance':
        return { context: this.context(), value: this.balance(params[0] as string) };
      case 'getAccountInfo':
        return { context: this.context(), value: this.accountJson(this.account(params[0] as string)) };
      case 'getMultipleAccounts':
        return {
          context: this.context(),
          value: (params[0] as string[]).map((a) => this.accountJson(this.account(a))),
        };
      case 'getProgramAccounts':
        return this.programAccounts(params[0] as string, (params[1] ?? {}) as { filters?: Filter[] });
      case 'getMinimumBalanceForRentExemption':
        return 890_880 + 6_960 * Number(params[0] ?? 0);
      case 'sendTransaction': {
        const config = (params[1] ?? {}) as { encoding?: string; skipPreflight?: boolean };
        const wire =
          config.encoding === 'base64'
            ? Buffer.from(params[0] as string, 'base64')
            : Buffer.from(b58e.encode(params[0] as string));
        return this.send(Uint8Array.from(wire), config.skipPreflight !== true);
      }
      case 'getSignatureStatuses':
        return { context: this.context(), value: (params[0] as string[]).map((s) => this.statusOf(s)) };
      case 'getSignaturesForAddress':
        return this.signaturesFor(params[0] as string, (params[1] ?? {}) as { limit?: number; before?: string });
      case 'getTransaction':
        return this.transactionAnswer(params[0] as string, (params[1] ?? {}) as { encoding?: string });
      default:
        throw new RpcError(-32601, `Method not found: ${method}`);
    }
  }

  private programAccounts(programId: string, config: { filters?: Filter[] }) {
    const out = [];
    for (const [pubkey, account] of this.accounts) {
      if (account.owner !== programId) continue;
      if (!(config.filters ?? []).every((f) => matches(account.data, f))) continue;
      out.push({ pubkey, account: this.accountJson(account) });
    }
    return out;
  }

  private signaturesFor(address: string, config: { limit?: number; before?: string }) {
    let list = [...(this.history.get(address) ?? [])].reverse();
    if (config.before !== undefined) list = list.slice(list.indexOf(config.before) + 1);
    return list.slice(0, config.limit ?? 1000).map((signature) => {
      const tx = this.transactions.get(signature)!;
      return {
        signature,
        slot: tx.slot,
        err: tx.err,
        memo: null,
        blockTime: tx.blockTime,
        confirmationStatus: this.statusOf(signature)!.confirmationStatus,
      };
    });
  }

  /** As a node answers: `json` (the default) or `base64`, the transaction as it was sent. */
  private transactionAnswer(signature: string, config: { encoding?: string }) {
    const json = this.transactionJson(signature);
    if (json === null || config.encoding !== 'base64') return json;
    return { ...json, transaction: [Buffer.from(this.wires.get(signature)!).toString('base64'), 'base64'] };
  }

  private transactionJson(signature: string) {
    const tx = this.transactions.get(signature);
    if (tx === undefined) return null;
    return {
      slot: tx.slot,
      blockTime: tx.blockTime,
      version: 'legacy',
      meta: {
        err: tx.err,
        fee: tx.fee,
        preBalances: tx.preBalances,
        postBalances: tx.postBalances,
        logMessages: tx.logs,
        innerInstructions: [],
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
        computeUnitsConsumed: 1_000,
        status: tx.err === null ? { Ok: null } : { Err: tx.err },
      },
      transaction: {
        signatures: tx.signatures,
        message: {
          accountKeys: tx.accountKeys,
          header: tx.header,
          recentBlockhash: tx.recentBlockhash,
          instructions: tx.instructions,
        },
      },
    };
  }
}

type Filter = { memcmp?: { offset: number; bytes: string; encoding?: string }; dataSize?: number };

function matches(data: Uint8Array, filter: Filter): boolean {
  if (filter.dataSize !== undefined) return data.length === filter.dataSize;
  if (filter.memcmp !== undefined) {
    const { offset, bytes, encoding } = filter.memcmp;
    const wanted = encoding === 'base64' ? Buffer.from(bytes, 'base64') : Buffer.from(b58e.encode(bytes));
    return Buffer.from(data.subarray(offset, offset + wanted.length)).equals(wanted);
  }
  return true;
}

function verifyEd25519(address: string, message: Uint8Array, signature: Uint8Array): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(b58e.encode(address))]);
  return verify(null, message, createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature);
}

/** The System program's Transfer (instruction 2): from (signer, writable) to (writable). */
function systemProgram(ctx: InstructionContext): void {
  const data = Buffer.from(ctx.data);
  if (data.length >= 4 && data.readUInt32LE(0) === ADVANCE_NONCE) {
    advanceNonce(ctx);
    return;
  }
  if (data.length < 12 || data.readUInt32LE(0) !== 2) throw new InstructionFailure('InvalidInstructionData');
  const lamports = data.readBigUInt64LE(4);
  const [from, to] = ctx.accounts;
  if (from === undefined || to === undefined) throw new InstructionFailure('NotEnoughAccountKeys');
  if (!from.signer) throw new InstructionFailure('MissingRequiredSignature');
  if (!from.writable || !to.writable) throw new InstructionFailure('ReadonlyLamportChange');
  const source = ctx.get(from.address);
  if (source === null || source.lamports < lamports) {
    ctx.log(`Transfer: insufficient lamports ${source?.lamports ?? 0n}, need ${lamports}`);
    throw new InstructionFailure({ Custom: 1 });
  }
  source.lamports -= lamports;
  const target = ctx.get(to.address) ?? {
    lamports: 0n,
    owner: SYSTEM_PROGRAM,
    data: new Uint8Array(0),
    executable: false,
  };
  target.lamports += lamports;
  ctx.set(to.address, target);
}

/** AdvanceNonceAccount: [nonce (writable), recent blockhashes sysvar, authority (signer)]. */
function advanceNonce(ctx: InstructionContext): void {
  const [nonceMeta, , authority] = ctx.accounts;
  if (nonceMeta === undefined || authority === undefined) throw new InstructionFailure('NotEnoughAccountKeys');
  const current = ctx.cluster.nonceValue(nonceMeta.address);
  if (current === null) throw new InstructionFailure('InvalidAccountData');
  if (!authority.signer || authority.address !== current.authority)
    throw new InstructionFailure('MissingRequiredSignature');
  const next = ctx.cluster.durableValue();
  // SystemError::NonceBlockhashNotExpired: advanced twice within one blockhash.
  if (next === current.value) throw new InstructionFailure({ Custom: 6 });
  const account = ctx.get(nonceMeta.address)!;
  const decoded = getNonceDecoder().decode(account.data);
  account.data = Uint8Array.from(getNonceEncoder().encode({ ...decoded, blockhash: next as never }));
}
