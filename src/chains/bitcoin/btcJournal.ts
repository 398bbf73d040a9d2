/**
 * The durable journal of the BTC payouts one pinned address has signed: each signed
 * transaction, its swap and the outputs it spends are written here (fsynced) before `sign`
 * returns, so before the host can persist or broadcast them. What the journal holds is
 * reserved: no other payout spends those outputs while the transaction may still land.
 *
 * A crash leaves either no entry (nothing was signed that anyone can broadcast) or a complete
 * one (written to a temp file, fsynced, renamed). An entry leaves only when its transaction is
 * buried deep enough, when another transaction spending one of its inputs is (it can never
 * land), or when no machine holds its bytes and no Esplora knows it (signed, then the process
 * died before the host persisted it: never broadcast).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { ChecksummedJsonFile } from '../../store/checksummedJsonFile.ts';
import { StoreError } from '../../errors.ts';

export interface BtcJournalEntry {
  readonly swapId: string;
  readonly txid: string;
  /** The signed transaction, hex. */
  readonly raw: string;
  readonly to: string;
  /** Satoshis, as a decimal string. */
  readonly amount: string;
  readonly fee: string;
  /** Every output it spends, as "txid:vout". */
  readonly inputs: readonly string[];
}

interface JournalData {
  readonly address: string;
  readonly network: string;
  readonly entries: readonly BtcJournalEntry[];
}

export const BTC_JOURNAL_FORMAT = 'settle/btc-payout-journal';

/** Past this many payouts in flight, signing stops: something keeps them from confirming. */
export const MAX_JOURNAL_ENTRIES = 500;

/** The journal as the sender uses it: the file below, or the simulator's memory. */
export interface PayoutJournal {
  readonly entries: readonly BtcJournalEntry[];
  bySwap(swapId: string): BtcJournalEntry | undefined;
  /** Durable before it resolves. */
  add(entry: BtcJournalEntry): Promise<void>;
  remove(txids: ReadonlySet<string>): Promise<void>;
}

export class BtcJournal implements PayoutJournal {
  private constructor(
    private readonly db: Low<JournalData>,
    readonly path: string,
  ) {}

  static async open(dir: string, chain: string, address: string, network: string): Promise<BtcJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `btc-${chain}-${address}.json`);
    const file = new ChecksummedJsonFile<JournalData>(path, BTC_JOURNAL_FORMAT, (f, data) => {
      const d = data as Partial<JournalData> | null;
      if (d === null || typeof d !== 'object' || !Array.isArray(d.entries))
        throw new StoreError(f, 'not a BTC payout journal');
      if (d.address !== address) throw new StoreError(f, `journal of address ${String(d.address)}, not ${address}`);
      if (d.network !== network) throw new StoreError(f, `journal of network ${String(d.network)}, not ${network}`);
      return d as JournalData;
    });
    const db = new Low<JournalData>(file, { address, network, entries: [] });
    await db.read();
    return new BtcJournal(db, path);
  }

  get entries(): readonly BtcJournalEntry[] {
    return this.db.data.entries;
  }

  bySwap(swapId: string): BtcJournalEntry | undefined {
    return this.entries.find((e) => e.swapId === swapId);
  }

  async add(entry: BtcJournalEntry): Promise<void> {
    if (this.entries.some((e) => e.swapId === entry.swapId || e.txid === entry.txid)) {
      throw new Error(
        `BTC journal ${this.path}: swap ${entry.swapId} or transaction ${entry.txid} is already journaled`,
      );
    }
    this.db.data = { ...this.db.data, entries: [...this.entries, entry] };
    await this.db.write();
  }

  async remove(txids: ReadonlySet<string>): Promise<void> {
    if (txids.size === 0) return;
    this.db.data = { ...this.db.data, entries: this.entries.filter((e) => !txids.has(e.txid)) };
    await this.db.write();
  }
}
