/**
 * What the chain shows of the Solana paying account, for the witness (src/witness/) and
 * `settle reconcile`. Solana has no account nonce; what the account has done is the set of
 * transactions it paid the fee of (validators take the fee payer as the sender, and every
 * transfer settle signs is fee-paid by the pinned key and advances one of its durable nonce
 * accounts). `getSignaturesForAddress` lists every transaction touching the account, newest
 * first at `confirmed`, receipts included (a user's deposit to the same address); each one not
 * seen before is fetched once (`getTransaction`) to learn its fee payer, and only those the
 * account paid for and that call the System or Token program (a payment) are reported. Every such transaction must be one this data directory knows.
 *
 * Bounds: the newest SOLANA_WITNESS_LIMIT signatures are judged (a store put back behind more
 * than that is recognised through the witness journal only; README, "Restoring a backup"); the
 * fee payers learned are kept for at most MAX_CLASSIFIED signatures (the oldest forgotten
 * first). Reads only; nothing here signs. Cost: one call per check, plus one per signature not
 * seen before (at most the limit at a start, usually none before a signature).
 */
import {
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
  type Rpc,
  type Signature,
  type SolanaRpcApi,
  type Transaction,
} from '@solana/kit';
import { SYSTEM_PROGRAM_ADDRESS } from '@solana-program/system';
import { ASSOCIATED_TOKEN_PROGRAM_ADDRESS, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import type { ActivityQuery, ChainActivity, WitnessReport } from '../../host/ports.ts';

/** Signatures of the account judged at each check (getSignaturesForAddress's limit). */
export const SOLANA_WITNESS_LIMIT = 25;
/** Fee payers remembered, by signature. */
export const MAX_CLASSIFIED = 1_000;
/** Transactions looked up for `settle reconcile` at most. */
export const MAX_ACTIVITY_LOOKUPS = 200;

const SYSTEM_TRANSFER = 2;
const TOKEN_TRANSFER_CHECKED = 12;

type Message = ReturnType<ReturnType<typeof getCompiledTransactionMessageDecoder>['decode']>;

interface Fetched {
  readonly raw: string;
  readonly slot: number;
  readonly failed: boolean;
  readonly message: Message;
}

export class SolanaActivity {
  /** signature -> whether the account paid its fee (learned once: a transaction never changes). */
  private readonly paidByUs = new Map<string, boolean>();

  constructor(
    private readonly rpc: Rpc<SolanaRpcApi>,
    private readonly account: Address,
  ) {}

  /** The witness: the signatures of the newest transactions the account paid for. */
  async witness(): Promise<WitnessReport> {
    const listed = await this.rpc
      .getSignaturesForAddress(this.account, { limit: SOLANA_WITNESS_LIMIT, commitment: 'confirmed' })
      .send();
    const ids: string[] = [];
    for (const { signature } of listed) if (await this.paid(signature)) ids.push(signature);
    return { kind: 'ids', account: this.account, ids };
  }

  /** The transactions asked for by signature, as the chain shows them (nonces mean nothing here). */
  async activity(query: ActivityQuery): Promise<ChainActivity[]> {
    const found: ChainActivity[] = [];
    for (const id of (query.ids ?? []).slice(0, MAX_ACTIVITY_LOOKUPS)) {
      const tx = await this.fetch(id);
      if (tx !== null) found.push(describe(id, tx));
    }
    return found;
  }

  private async paid(signature: string): Promise<boolean> {
    const known = this.paidByUs.get(signature);
    if (known !== undefined) return known;
    const tx = await this.fetch(signature);
    // Listed, yet not served (a node pruning its history): counted as the account's, to be safe.
    if (tx === null) return true;
    // The account's payments only: a transaction it paid the fee of that calls neither the
    // System nor the Token program (the miner's own mark_fulfilled to the swap manager, signed
    // by the same key) moves nothing but its fee, and no store journals it.
    const ours = tx.message.staticAccounts[0] === this.account && movesFunds(tx.message);
    this.paidByUs.set(signature, ours);
    if (this.paidByUs.size > MAX_CLASSIFIED) this.paidByUs.delete(this.paidByUs.keys().next().value!);
    return ours;
  }

  private async fetch(signature: string): Promise<Fetched | null> {
    const answer = (await this.rpc
      .getTransaction(signature as Signature, {
        encoding: 'base64',
        commitment: 'confirmed',
        maxSupportedTransactionVersion: 0,
      })
      .send()) as { slot: bigint; transaction: readonly [string, string]; meta: { err: unknown } | null } | null;
    if (answer === null) return null;
    const raw = answer.transaction[0];
    const tx = getTransactionDecoder().decode(Buffer.from(raw, 'base64')) as Transaction;
    return {
      raw,
      slot: Number(answer.slot),
      failed: answer.meta?.err != null,
      message: getCompiledTransactionMessageDecoder().decode(tx.messageBytes),
    };
  }
}

/** A SOL transfer (System Transfer) or an SPL one (TransferChecked to the ATA its CreateIdempotent names the owner of). */
function describe(id: string, tx: Fetched): ChainActivity {
  const where = `slot ${tx.slot}${tx.failed ? ', failed' : ''}`;
  const base = { id, nonce: null, block: tx.slot, raw: tx.raw };
  const other = { ...base, to: null, amount: null, note: `a transaction paid by the account (${where})` };
  if (tx.message.version === 1) return other; // settle signs legacy messages only
  const keys = tx.message.staticAccounts;
  let owner: Address | null = null;
  for (const ix of tx.message.instructions) {
    const program = keys[ix.programAddressIndex];
    const data = Buffer.from(ix.data ?? new Uint8Array());
    const account = (i: number): Address | null => keys[ix.accountIndices?.[i] ?? -1] ?? null;
    if (program === ASSOCIATED_TOKEN_PROGRAM_ADDRESS) owner = account(2);
    if (tx.failed) continue;
    if (program === SYSTEM_PROGRAM_ADDRESS && data.length === 12 && u32(data, 0) === SYSTEM_TRANSFER)
      return { ...base, to: account(1), amount: u64(data, 4), note: `a SOL transfer (${where})` };
    if (program === TOKEN_PROGRAM_ADDRESS && data.length === 10 && data[0] === TOKEN_TRANSFER_CHECKED)
      return {
        ...base,
        to: owner ?? account(2),
        amount: u64(data, 1),
        note: `a token transfer of mint ${account(1)} (${where})`,
      };
  }
  return other;
}

/** Whether any instruction calls the System or the Token program (every payout settle signs does). */
function movesFunds(message: Message): boolean {
  if (message.version === 1) return true; // not a message settle signs: counted, to be safe
  const keys = message.staticAccounts;
  return message.instructions.some((ix) => {
    const program = keys[ix.programAddressIndex];
    return program === SYSTEM_PROGRAM_ADDRESS || program === TOKEN_PROGRAM_ADDRESS;
  });
}

function u32(data: Buffer, at: number): number {
  return data.readUInt32LE(at);
}

function u64(data: Buffer, at: number): bigint {
  return data.readBigUInt64LE(at);
}
