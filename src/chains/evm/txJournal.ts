/**
 * The durable journal of an account's transactions in flight: each signed transaction is
 * written here (fsynced) before it is broadcast, and leaves only once its receipt is known.
 * After a crash the same bytes are re-broadcast or looked up; a nonce is never reused for a
 * new purpose while a transaction with it may still land.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { ChecksummedJsonFile } from '../../store/checksummedJsonFile.ts';
import { StoreError } from '../../errors.ts';

export interface TxAttempt {
  readonly hash: string;
  readonly raw: string;
  /** Wei, as a decimal string. */
  readonly maxFeePerGas: string;
  readonly maxPriorityFeePerGas: string;
  readonly sentAtBlock: number;
}

export interface JournalEntry {
  readonly nonce: number;
  readonly purpose: string;
  /** The first attempt and each fee-bumped replacement, all with this nonce. */
  readonly attempts: readonly TxAttempt[];
}

interface JournalData {
  readonly account: string;
  readonly chainId: string;
  readonly entries: readonly JournalEntry[];
}

export const TX_JOURNAL_FORMAT = 'settle/evm-tx-journal';

export class TxJournal {
  private constructor(
    private readonly db: Low<JournalData>,
    readonly path: string,
  ) {}

  static async open(dir: string, chain: string, account: string, chainId: bigint): Promise<TxJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `evm-tx-${chain}-${account.toLowerCase()}.json`);
    const file = new ChecksummedJsonFile<JournalData>(path, TX_JOURNAL_FORMAT, (f, data) => {
      const d = data as Partial<JournalData> | null;
      if (d === null || typeof d !== 'object' || !Array.isArray(d.entries))
        throw new StoreError(f, 'not a transaction journal');
      if (d.account?.toLowerCase() !== account.toLowerCase())
        throw new StoreError(f, `journal of account ${String(d.account)}, not ${account}`);
      if (d.chainId !== chainId.toString())
        throw new StoreError(f, `journal of chain id ${String(d.chainId)}, not ${chainId}`);
      return d as JournalData;
    });
    const db = new Low<JournalData>(file, { account, chainId: chainId.toString(), entries: [] });
    await db.read();
    return new TxJournal(db, path);
  }

  get entries(): readonly JournalEntry[] {
    return this.db.data.entries;
  }

  /** The next nonce no transaction of the journal uses. */
  nextNonce(): number | null {
    const nonces = this.entries.map((e) => e.nonce);
    return nonces.length === 0 ? null : Math.max(...nonces) + 1;
  }

  async addAttempt(nonce: number, purpose: string, attempt: TxAttempt): Promise<void> {
    const existing = this.entries.find((e) => e.nonce === nonce);
    const entries =
      existing === undefined
        ? [...this.entries, { nonce, purpose, attempts: [attempt] }]
        : this.entries.map((e) => (e.nonce === nonce ? { ...e, attempts: [...e.attempts, attempt] } : e));
    this.db.data = { ...this.db.data, entries };
    await this.db.write();
  }

  async settle(nonce: number): Promise<void> {
    this.db.data = { ...this.db.data, entries: this.entries.filter((e) => e.nonce !== nonce) };
    await this.db.write();
  }
}
