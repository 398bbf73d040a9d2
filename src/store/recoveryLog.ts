/**
 * The append-only recovery log: one JSON line per stuck obligation (funds that left and cannot
 * be finalized, claims that can no longer be made), fsynced, written exactly once per
 * obligation even across crashes: the host writes the entry after the snapshot that asks for
 * it is durable, and `record` is idempotent by key.
 *
 * A crash in the middle of an append leaves a torn last line without its newline. That tail is
 * moved aside to `<file>.torn-<n>` (kept, never deleted) and the log is cut back to its last
 * whole line; the obligation's snapshot still asks for the entry, so it is written again.
 * A damaged line anywhere else is refused with its line number.
 */
import { appendFile, open, readFile, truncate } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256Hex } from './checksummedJsonFile.ts';
import { fsyncDirectory, writeFileDurably } from './durableFile.ts';
import { StoreError } from '../errors.ts';

export interface RecoveryEntry {
  /** One per obligation: its machine id ("swap:<id>", "job:<chain>:<jobId>"). */
  readonly key: string;
  /** The obligation's kind (`swap`, `job`): the prefix of its key. */
  readonly obligation: string;
  readonly kind: 'stuck-funds' | 'lost-revenue' | 'unsettled-claim';
  readonly reason: string;
  /** The machine state the obligation ended in. */
  readonly state: string;
  readonly chains: Readonly<Record<string, string>>;
  /** Integer amounts, as decimal strings. */
  readonly amounts: Readonly<Record<string, string>>;
  readonly txHashes: Readonly<Record<string, string>>;
  readonly block: number | null;
  readonly time: number | null;
}

export interface RecoveryLog {
  /** Appends the entry durably unless its key is already recorded; says which happened. */
  record(entry: RecoveryEntry): Promise<'recorded' | 'already-recorded'>;
  entries(): readonly RecoveryEntry[];
}

interface Line extends RecoveryEntry {
  readonly check: string;
}

function checkOf(entry: RecoveryEntry): string {
  return sha256Hex(JSON.stringify(entry)).slice(0, 16);
}

export interface OpenedRecoveryLog {
  readonly log: JsonlRecoveryLog;
  /** Where a torn tail was moved, if the last append had been cut by a crash. */
  readonly tornTailSavedTo: string | null;
}

export async function openRecoveryLog(path: string): Promise<OpenedRecoveryLog> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StoreError(path, `cannot be read: ${(error as Error).message}`);
    }
  }
  let tornTailSavedTo: string | null = null;
  const lastNewline = text.lastIndexOf('\n');
  if (text.length > 0 && lastNewline !== text.length - 1) {
    tornTailSavedTo = await saveTornTail(path, text.slice(lastNewline + 1));
    await truncate(path, Buffer.byteLength(text.slice(0, lastNewline + 1)));
    text = text.slice(0, lastNewline + 1);
  }
  const entries: RecoveryEntry[] = [];
  const lines = text.split('\n').slice(0, -1);
  for (const [index, line] of lines.entries()) entries.push(parseLine(path, index + 1, line));
  return { log: new JsonlRecoveryLog(path, entries), tornTailSavedTo };
}

/**
 * The entries, for a reader beside a running daemon (`settle recovery`, `settle status`):
 * nothing is written, and an unfinished last line (an append in progress, or torn by a crash
 * the daemon will repair) is left out and reported.
 */
export async function readRecoveryLog(path: string): Promise<{ entries: RecoveryEntry[]; unfinishedTail: boolean }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unfinishedTail: false };
    throw new StoreError(path, `cannot be read: ${(error as Error).message}`);
  }
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  const entries = whole
    .split('\n')
    .slice(0, -1)
    .map((line, index) => parseLine(path, index + 1, line));
  return { entries, unfinishedTail: whole.length < text.length };
}

async function saveTornTail(path: string, tail: string): Promise<string> {
  let n = 1;
  while (existsSync(`${path}.torn-${n}`)) n += 1;
  const aside = `${path}.torn-${n}`;
  await writeFileDurably(aside, tail);
  return aside;
}

function parseLine(path: string, lineNumber: number, line: string): RecoveryEntry {
  let parsed: Line;
  try {
    parsed = JSON.parse(line) as Line;
  } catch {
    throw new StoreError(path, `line ${lineNumber} is not valid JSON: the recovery log is damaged`);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof parsed.key !== 'string' ||
    typeof parsed.check !== 'string'
  ) {
    throw new StoreError(path, `line ${lineNumber} is not a recovery entry (no key or check)`);
  }
  const { check, ...entry } = parsed;
  if (checkOf(entry) !== check) throw new StoreError(path, `line ${lineNumber} (${entry.key}) fails its checksum`);
  return entry;
}

export class JsonlRecoveryLog implements RecoveryLog {
  private readonly keys: Set<string>;

  constructor(
    readonly path: string,
    private readonly recorded: RecoveryEntry[],
  ) {
    this.keys = new Set(recorded.map((e) => e.key));
  }

  async record(entry: RecoveryEntry): Promise<'recorded' | 'already-recorded'> {
    if (this.keys.has(entry.key)) return 'already-recorded';
    const isNew = !existsSync(this.path);
    const line = `${JSON.stringify({ ...entry, check: checkOf(entry) })}\n`;
    await appendFile(this.path, line, { mode: 0o600 });
    const handle = await open(this.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (isNew) await fsyncDirectory(dirname(this.path));
    this.keys.add(entry.key);
    this.recorded.push(entry);
    return 'recorded';
  }

  entries(): readonly RecoveryEntry[] {
    return this.recorded;
  }
}
