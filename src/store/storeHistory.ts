/**
 * What a store knows of its own past, so that a log that lost lines is recognised at open.
 *
 * Crash consistency is not enough: operators restore backups, roll back VM snapshots and copy
 * data directories, and a file system can lose a segment. A store that opens as if nothing had
 * happened could send twice, so each store carries:
 *   - an identity (`storeId`, random, made when the store is created), and
 *   - a position: the number of log lines ever appended since the store was created (every
 *     commit appends at least one line, so it only grows). Checkpoints copy lines without
 *     moving it. Whatever the store tells the outside world (a witness journal records the
 *     position after which a transfer was broadcast) can be compared with it later.
 *
 * The manifest records, at every checkpoint and every open by a writer:
 *   - `segment`, `copies`, `position`: the checkpoint segment begins with `copies` lines
 *     copied from the older log, which had then reached `position`; the store's position is
 *     `position` plus the lines appended to that segment after its copies;
 *   - `archived`: how many archive files existed then (archive markers after the checkpoint
 *     account for the rest);
 *   - `seen`: the position the log had reached when a writer last opened or checkpointed it.
 * A log shorter than its manifest says (an emptied or truncated segment, a segment from an
 * older copy) and an archive holding records the log does not account for are refused,
 * naming the files and the counts, touching nothing.
 *
 * What a crash leaves: the manifest is written after the checkpoint segment is durable and
 * before the older segments are removed. A crash between the two leaves a newest segment
 * beyond the manifest's, holding only copies; `positionOf` reads it so and the next writer
 * records it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { segmentFileName } from './segmentLog.ts';
import { StoreBehind, StoreError } from '../errors.ts';

export interface HistoryManifest {
  readonly storeId: string;
  readonly segment: number;
  readonly copies: number;
  readonly position: number;
  readonly archived: number;
  readonly seen: number;
}

export type { StoreHistory } from './snapshotStore.ts';

const STORE_ID = /^[0-9a-f]{32}$/;

export function newStoreId(): string {
  return randomBytes(16).toString('hex');
}

export function freshHistory(storeId: string = newStoreId()): HistoryManifest {
  return { storeId, segment: 1, copies: 0, position: 0, archived: 0, seen: 0 };
}

export function validateHistory(file: string, data: unknown): HistoryManifest {
  const h = data as Partial<Record<keyof HistoryManifest, unknown>> | null;
  if (h === null || typeof h !== 'object') throw new StoreError(file, 'layout 3 manifest without its history');
  if (typeof h.storeId !== 'string' || !STORE_ID.test(h.storeId))
    throw new StoreError(file, `history.storeId ${JSON.stringify(h.storeId)} is not 32 hex digits`);
  for (const key of ['segment', 'copies', 'position', 'archived', 'seen'] as const) {
    const value = h[key];
    if (!Number.isSafeInteger(value) || (value as number) < 0)
      throw new StoreError(file, `history.${key} ${JSON.stringify(value)} is not a count`);
  }
  return h as HistoryManifest;
}

/** What a scan of the log counted, per segment. */
export interface SegmentTally {
  lines: number;
  markers: number;
}

export type LogTally = ReadonlyMap<number, SegmentTally>;

/** The store's position: the checkpoint's, plus the lines appended to its segment since. */
export function positionOf(history: HistoryManifest, tally: LogTally): number {
  const lines = tally.get(history.segment)?.lines ?? 0;
  return history.position + Math.max(0, lines - history.copies);
}

export interface HistoryCheck {
  readonly dir: string;
  readonly history: HistoryManifest;
  readonly tally: LogTally;
  /** Archive files (renamed into place), and how many of them are also live (a crash before the marker). */
  readonly archiveFiles: number;
  readonly alsoLive: number;
  /** A reader's open (status, reconcile): said so in the refusal. */
  readonly readOnly?: boolean;
}

/** Throws StoreBehind when the log is shorter than the manifest or the archive say it was. */
export function checkHistory({ dir, history, tally, archiveFiles, alsoLive, readOnly }: HistoryCheck): void {
  const behind = (file: string, evidence: string): StoreBehind => new StoreBehind(file, evidence, readOnly === true);
  const manifest = join(dir, 'store.json');
  const logDir = join(dir, 'log');
  const segments = [...tally.keys()].sort((a, b) => a - b);
  const newest = segments.at(-1) ?? 0;
  const checkpoint = join(logDir, segmentFileName(history.segment));
  if (!tally.has(history.segment)) {
    throw behind(
      newest < history.segment ? logDir : checkpoint,
      `the manifest ${manifest} says segment ${segmentFileName(history.segment)} holds the log since its last checkpoint, ` +
        `but the log directory holds ${segments.map(segmentFileName).join(', ') || 'no segment'}`,
    );
  }
  const lines = tally.get(history.segment)!.lines;
  if (lines < history.copies) {
    throw behind(
      checkpoint,
      `holds ${lines} lines, but the checkpoint that wrote it copied ${history.copies} (manifest ${manifest})`,
    );
  }
  const position = positionOf(history, tally);
  if (position < history.seen) {
    throw behind(
      checkpoint,
      `the log ends at position ${position} (lines appended since store ${history.storeId} was created), ` +
        `but it had reached position ${history.seen} when it was last opened (manifest ${manifest}): ${history.seen - position} acknowledged lines are gone`,
    );
  }
  let markers = 0;
  for (const segment of segments) if (segment >= history.segment) markers += tally.get(segment)!.markers;
  const expected = history.archived + markers + alsoLive;
  if (archiveFiles !== expected) {
    const accounted = `${history.archived} archived before the last checkpoint (manifest ${manifest}) and ${markers} archive markers in the log since${alsoLive > 0 ? `, ${alsoLive} archived as it stopped` : ''}`;
    throw behind(
      join(dir, 'archive'),
      archiveFiles > expected
        ? `holds ${archiveFiles} archived records, but the log accounts for ${expected} (${accounted}): the log lost the lines of ${archiveFiles - expected}`
        : `holds ${archiveFiles} archived records, but the log accounts for ${expected} (${accounted}): ${expected - archiveFiles} archive files are missing`,
    );
  }
}
