/**
 * The witness journal: what this data directory told the chains, written before it told them.
 * One fsynced line per first broadcast of a signed transfer (or of a transaction of another
 * sender of the same account), carrying the store's identity and position at that moment:
 * the store held the signed bytes by then, so a store found later at a smaller position (an
 * older copy put back, lost writes) is recognised as not knowing that transfer, even where the
 * chain cannot tell (a transfer still unconfirmed, or signed at a nonce the chain then reused).
 *
 * It also holds the baseline of each account (what the chain showed when this store began, so
 * older activity is not taken for unknown), and every unknown activity the witness found (so
 * a hold survives the store's position growing past the numbers it was compared with).
 *
 *   <dataDir>/witness.jsonl   written by the daemon only
 *
 * What a crash leaves: a torn last line, set aside by the next append (checkedJsonl.ts). An
 * entry written and its broadcast never made is harmless: the journal may know more than the
 * chain, never less.
 */
import { CheckedJsonlWriter, readCheckedJsonl, rewriteCheckedJsonl } from '../store/checkedJsonl.ts';
import { StoreError } from '../errors.ts';

interface EntryBase {
  /** The chain's name in settle's configuration (a swap's destination chain). */
  readonly chain: string;
  readonly account: string;
  readonly storeId: string;
  /** When it was written: ISO 8601 for the daemon, a block for the simulator. */
  readonly at: string;
}

export interface BaselineEntry extends EntryBase {
  readonly kind: 'baseline';
  /** What the chain showed: the account's next nonce, or its most recent ids. */
  readonly next: number | null;
  readonly ids: readonly string[];
  readonly why: string;
}

export interface BroadcastEntry extends EntryBase {
  readonly kind: 'broadcast';
  readonly id: string;
  readonly nonce: number | null;
  /** What it pays: "swap:<id>", an escrow call's purpose, or null when not known (restored bytes). */
  readonly ref: string | null;
  /** The store's position when it was broadcast: the store held the signed bytes at or before it. */
  readonly position: number;
}

export interface UnknownEntry extends EntryBase {
  readonly kind: 'unknown';
  readonly id: string | null;
  readonly nonce: number | null;
  /** The store's position when found (null without a history). */
  readonly position: number | null;
  readonly evidence: string;
}

export type WitnessEntry = BaselineEntry | BroadcastEntry | UnknownEntry;

export interface WitnessJournal {
  entries(): readonly WitnessEntry[];
  /** Durable when it resolves. */
  append(entry: WitnessEntry): Promise<void>;
}

export const WITNESS_JOURNAL_FILE = 'witness.jsonl';

export class FileWitnessJournal implements WitnessJournal {
  private readonly writer: CheckedJsonlWriter;

  private constructor(
    readonly path: string,
    private readonly all: WitnessEntry[],
  ) {
    this.writer = new CheckedJsonlWriter(path);
  }

  static async open(path: string): Promise<FileWitnessJournal> {
    return new FileWitnessJournal(path, await readWitnessJournal(path));
  }

  entries(): readonly WitnessEntry[] {
    return this.all;
  }

  async append(entry: WitnessEntry): Promise<void> {
    await this.writer.append(entry);
    this.all.push(entry);
  }

  /** Rewrites the journal as `kept` (witnessCompaction.ts), crash-safe; the entries in memory follow once it is durable. */
  async rewrite(kept: readonly WitnessEntry[]): Promise<void> {
    await rewriteCheckedJsonl(this.path, kept);
    this.all.splice(0, this.all.length, ...kept);
  }
}

/** The entries, for a reader beside the daemon (status, reconcile): nothing written. */
export function readWitnessJournal(path: string): Promise<WitnessEntry[]> {
  return readCheckedJsonl(path, validateEntry);
}

export class MemoryWitnessJournal implements WitnessJournal {
  private readonly all: WitnessEntry[] = [];

  entries(): readonly WitnessEntry[] {
    return this.all;
  }

  async append(entry: WitnessEntry): Promise<void> {
    this.all.push(entry);
  }

  /** A copy as it is now (the simulator's backups of a data directory). */
  copy(): MemoryWitnessJournal {
    const copy = new MemoryWitnessJournal();
    copy.all.push(...this.all);
    return copy;
  }
}

function validateEntry(value: unknown, where: string): WitnessEntry {
  const e = value as Partial<Record<string, unknown>> | null;
  const text = (key: string): boolean => typeof e?.[key] === 'string';
  const count = (key: string): boolean =>
    e?.[key] === null || (Number.isSafeInteger(e?.[key]) && (e?.[key] as number) >= 0);
  const ok =
    e !== null &&
    typeof e === 'object' &&
    text('chain') &&
    text('account') &&
    text('storeId') &&
    text('at') &&
    ((e['kind'] === 'baseline' && count('next') && Array.isArray(e['ids']) && text('why')) ||
      (e['kind'] === 'broadcast' && text('id') && count('nonce') && count('position') && e['position'] !== null) ||
      (e['kind'] === 'unknown' && count('nonce') && count('position') && text('evidence')));
  if (!ok) throw new StoreError(where, `not a witness journal entry: ${JSON.stringify(value).slice(0, 200)}`);
  return value as WitnessEntry;
}
