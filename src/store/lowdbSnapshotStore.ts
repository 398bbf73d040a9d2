/**
 * The embedded SnapshotStore. Live records are lines of an append-only log; archived records
 * are lowdb documents, one per finished machine; the manifest is a lowdb document too.
 *
 *   <dir>/store.json        manifest: this directory is a settle store, which layout, and
 *                           what the store knows of its own past (storeHistory.ts)
 *   <dir>/log/*.jsonl       live records, newest line of each machine wins (segmentLog.ts)
 *   <dir>/archive/<id>.json records of finished machines
 *
 * Why a log: a transition appends one line and fsyncs once, and every record written
 * together (a commit) shares that fsync, so many machines' transitions cost about one disk
 * flush (group commit). A restart reads a few large files instead of one per machine. The
 * log is checkpointed (live lines copied to a new segment, older ones removed) once it holds
 * more than twice what is live, so its size, and a restart, stay proportional to the live set.
 *
 * Opening validates every line (envelope, checksum, id, machine name and version, sequence)
 * and refuses the whole store on the first doubt, touching nothing; the only repairs a writer
 * makes are the ones a crash leaves by design (a torn, unacknowledged last line; a checkpoint
 * temp file; an archive whose log marker was not yet written). A writer also refuses a log
 * shorter than its manifest and archive say it was (storeHistory.ts).
 *
 * Why over 300 lines: the store's open, its commit queue and its checkpoint share the live
 * index and the position; split, each half would reach into the other's fields.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { ChecksummedJsonFile, encodeEnvelope } from './checksummedJsonFile.ts';
import { TEMP_SUFFIX, writeFileDurably } from './durableFile.ts';
import { migrateFromLayout1, removeLayout1Leftovers } from './layout1Migration.ts';
import { checkLogLine, decodeLogLine, decodeLogLineAt, encodeLogLine } from './logLine.ts';
import { type LineLocation, SegmentLog, type TornTail } from './segmentLog.ts';
import { fileNameOf, idOfFileName, type MachineRecord, type RecordPlace, type SnapshotStore } from './snapshotStore.ts';
import { assert, StoreError, StoreMissing } from '../errors.ts';
import {
  checkHistory,
  freshHistory,
  newStoreId,
  positionOf,
  validateHistory,
  type HistoryManifest,
  type SegmentTally,
  type StoreHistory,
} from './storeHistory.ts';
import { validateRecord, type KnownMachines } from './recordValidation.ts';

export const STORE_FORMAT = 'settle/store';
export const RECORD_FORMAT = 'settle/machine-record';
/** A log line saying the record of `id` at `seq` is now in the archive. */
export const ARCHIVED_FORMAT = 'settle/archived';
/** 3: the manifest carries the store's history (layout 2 is upgraded in place by a writer). */
export const STORE_LAYOUT_VERSION = 3;
/** The log is never checkpointed below this size: small stores are not rewritten for nothing. */
export const DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024;

interface Manifest {
  readonly layoutVersion: number;
  /** Layout 3 and later. */
  readonly history?: HistoryManifest;
}

/** The manifest a new store is created with. */
export function freshManifest(storeId: string = newStoreId()): Manifest {
  return { layoutVersion: STORE_LAYOUT_VERSION, history: freshHistory(storeId) };
}

export interface OpenStoreOptions {
  /** Create the store when the directory is absent or empty. Never implied. */
  readonly create: boolean;
  /** name -> version this release understands. */
  readonly knownMachines: KnownMachines;
  /**
   * Read beside a running daemon (status, recovery commands): repairs nothing, writes nothing.
   * A torn last line is skipped rather than cut off, since it may be an append in progress.
   */
  readonly readOnly?: boolean;
  /** The log is checkpointed when larger than this and than twice the live records. */
  readonly checkpointBytes?: number;
}

export async function openLowdbSnapshotStore(dir: string, options: OpenStoreOptions): Promise<LowdbSnapshotStore> {
  const manifestPath = join(dir, 'store.json');
  const manifestFile = new ChecksummedJsonFile(manifestPath, STORE_FORMAT, validateManifest);
  const entries = await listDirectory(dir);
  let createdNow = false;
  if (entries === null || entries.length === 0 || (await interruptedCreation(dir, entries))) {
    if (!options.create || options.readOnly === true) {
      throw new StoreMissing(
        dir,
        'no settle store here. A daemon never starts from an empty store by accident (it could send twice); ' +
          'create one explicitly (--init) after reconciling with the chain',
      );
    }
    await mkdir(join(dir, 'log'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'archive'), { recursive: true, mode: 0o700 });
    if ((await readdir(join(dir, 'log'))).length === 0) await SegmentLog.create(join(dir, 'log'));
    await new Low<Manifest>(manifestFile, freshManifest()).write();
    createdNow = true;
  } else {
    const manifest = await manifestFile.read();
    if (manifest === null)
      throw new StoreError(
        manifestPath,
        `missing, but ${dir} is not empty: not a settle store, or damaged; refusing to start`,
      );
    if (manifest.layoutVersion === 1) {
      if (options.readOnly === true) {
        throw new StoreError(
          manifestPath,
          'store layout 1 (an earlier release): `settle daemon` converts it at its next start; start it once, then ask again',
        );
      }
      await migrateFromLayout1(dir, options.knownMachines, (records) => writeLayout3(dir, manifestFile, records));
    } else if (entries.includes('live') && options.readOnly !== true) {
      await removeLayout1Leftovers(dir);
    }
  }
  const manifest = (await manifestFile.read())!;
  const store = new LowdbSnapshotStore(
    dir,
    options.knownMachines,
    options.readOnly === true,
    options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES,
    manifestFile,
    manifest,
  );
  store.createdNow = createdNow;
  await store.open();
  return store;
}

/** The second half of a migration: the records as a checkpoint segment, then the new manifest. */
async function writeLayout3(
  dir: string,
  manifestFile: ChecksummedJsonFile<Manifest>,
  records: readonly MachineRecord[],
): Promise<void> {
  const logDir = join(dir, 'log');
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { mode: 0o700 });
  await SegmentLog.create(logDir);
  const log = await SegmentLog.open(logDir);
  await log.checkpoint(records.map((record) => encodeLogLine(RECORD_FORMAT, record)));
  await log.close();
  const archived = (await readdir(join(dir, 'archive'))).filter((name) => name.endsWith('.json')).length;
  const history = { ...freshHistory(), segment: log.newest, copies: records.length, archived };
  await new Low<Manifest>(manifestFile, { layoutVersion: STORE_LAYOUT_VERSION, history }).write();
}

/**
 * A creation killed before its manifest was written leaves only empty log/ and archive/ (or a
 * log with its one empty segment; an earlier release left an empty live/): no record was
 * ever written, so it is still an empty store.
 */
async function interruptedCreation(dir: string, entries: readonly string[]): Promise<boolean> {
  if (!entries.every((name) => name === 'log' || name === 'archive' || name === 'live')) return false;
  for (const name of entries) {
    const inside = await readdir(join(dir, name)).catch(() => ['?']);
    for (const file of inside) {
      const info = await stat(join(dir, name, file)).catch(() => null);
      if (info === null || info.size > 0) return false;
    }
  }
  return true;
}

function validateManifest(file: string, data: unknown): Manifest {
  const layoutVersion = (data as Partial<Manifest> | null)?.layoutVersion;
  if (layoutVersion === STORE_LAYOUT_VERSION)
    return { layoutVersion, history: validateHistory(file, (data as Manifest).history) };
  if (layoutVersion !== 2 && layoutVersion !== 1) {
    throw new StoreError(
      file,
      typeof layoutVersion === 'number' && layoutVersion > STORE_LAYOUT_VERSION
        ? `store layout version ${layoutVersion} was written by a newer release; this release reads ${STORE_LAYOUT_VERSION}: upgrade settle`
        : `store layout version ${String(layoutVersion)}; this release reads ${STORE_LAYOUT_VERSION}`,
    );
  }
  return { layoutVersion };
}

async function listDirectory(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoreError(dir, `cannot be listed: ${(error as Error).message}`);
  }
}

/** Where the newest record of a live machine is, and what it says. */
interface LiveEntry extends LineLocation {
  readonly seq: number;
}

/** Writes wait here, in order; puts next to each other are committed together. */
interface Settles {
  resolve(): void;
  reject(error: unknown): void;
}
interface PutWork {
  readonly records: readonly MachineRecord[];
  readonly lines: Buffer[];
}
type Work = PutWork | { readonly archive: string };
type PutCommit = Settles & PutWork;
type PendingCommit = Settles & Work;

function nextArchive(queue: readonly PendingCommit[]): number {
  const index = queue.findIndex((commit) => 'archive' in commit);
  return index < 0 ? queue.length : index;
}

export class LowdbSnapshotStore implements SnapshotStore {
  private readonly logDir: string;
  private readonly archiveDir: string;
  private log!: SegmentLog;
  /** id -> the newest record's place in the log: a few dozen bytes per machine. */
  private readonly live = new Map<string, LiveEntry>();
  private liveBytes = 0;
  private readonly archived = new Set<string>();
  /** The records read at open, handed to the first loadLive (unless written since) and let go. */
  private opened: MachineRecord[] | null = null;
  /** Ids with a write queued or in flight, and the seq it will leave on disk. */
  private readonly queuedSeq = new Map<string, number>();
  /** Ids with an archive queued or in flight: nothing more may be written for them. */
  private readonly archiving = new Set<string>();
  private queue: PendingCommit[] = [];
  private committing: Promise<void> | null = null;
  /** Set once a write failed: the disk's state is unknown, so nothing more is written. */
  private failure: Error | null = null;
  private commitCount = 0;
  /** Lines appended since the store was created (storeHistory.ts); null for a layout-2 store read as it is. */
  private position: number | null = null;
  /** What opening found and repaired, for the daemon's log. */
  tornTail: TornTail | null = null;
  /** The store's identity and position as opened, before any repair appended to it. */
  openedHistory: StoreHistory | null = null;
  /** True when this open gave a layout-2 store its history: nothing older can be compared. */
  historyBegins = false;
  /**
   * True when this open created the store. Not "position 0": an older copy of a store that
   * had written nothing yet, put back later, is not new (it must not take what the chains
   * show now as what it knows).
   */
  createdNow = false;

  constructor(
    readonly dir: string,
    private readonly knownMachines: KnownMachines,
    private readonly readOnly: boolean,
    private readonly checkpointBytes: number,
    private readonly manifestFile: ChecksummedJsonFile<Manifest>,
    private manifest: Manifest,
  ) {
    this.logDir = join(dir, 'log');
    this.archiveDir = join(dir, 'archive');
  }

  /**
   * Reads every line of the log, then the archive's names, validating all of it. In that
   * order: an archive file is durable before its marker is appended, so a listing made after
   * the scan sees the file of every marker the scan saw, even beside a daemon archiving.
   */
  async open(): Promise<void> {
    const info = await stat(this.archiveDir).catch(() => null);
    if (info === null || !info.isDirectory())
      throw new StoreError(this.archiveDir, 'missing: the store is incomplete; refusing to start');
    this.log = await SegmentLog.open(this.logDir);
    const records = new Map<string, MachineRecord>();
    const markers = new Map<string, number>();
    const tally = new Map<number, SegmentTally>();
    this.tornTail = await this.log.scan(({ file, segment, base, buffer, text }, start, end, lineNumber) => {
      const counts = tally.get(segment) ?? { lines: 0, markers: 0 };
      tally.set(segment, counts);
      counts.lines += 1;
      const decoded = decodeLogLineAt(file, lineNumber, buffer, start, end, text);
      if (decoded.format === ARCHIVED_FORMAT) {
        counts.markers += 1;
        const { id, seq } = decoded.data as { id?: unknown; seq?: unknown };
        const entry = typeof id === 'string' ? this.live.get(id) : undefined;
        if (entry === undefined || entry.seq !== seq)
          throw new StoreError(
            file,
            `line ${lineNumber}: archive marker for ${String(id)} seq ${String(seq)}, which is not the machine's newest record`,
          );
        this.forgetLive(id as string);
        records.delete(id as string);
        markers.set(id as string, seq);
        return;
      }
      if (decoded.format !== RECORD_FORMAT)
        throw new StoreError(
          file,
          `line ${lineNumber}: foreign line: format is ${JSON.stringify(decoded.format)}, expected "${RECORD_FORMAT}"`,
        );
      const record = validateRecord(file, decoded.data, this.knownMachines, lineNumber);
      if (markers.has(record.id))
        throw new StoreError(
          file,
          `line ${lineNumber}: '${record.id}' was archived earlier in the log and is written again`,
        );
      const previous = this.live.get(record.id);
      if (previous !== undefined && record.seq < previous.seq) {
        throw new StoreError(
          file,
          `line ${lineNumber}: '${record.id}' seq ${record.seq} after seq ${previous.seq}: the log goes backwards (damaged)`,
        );
      }
      // The same seq twice is a checkpoint's copy (a crash kept the segment it replaced): it must be the same record.
      if (
        previous !== undefined &&
        record.seq === previous.seq &&
        JSON.stringify(record) !== JSON.stringify(records.get(record.id))
      ) {
        throw new StoreError(
          file,
          `line ${lineNumber}: two different records of '${record.id}' with seq ${record.seq}; refusing to guess which is true`,
        );
      }
      this.setLive(record.id, { segment, offset: base + start, length: end - start, seq: record.seq });
      records.set(record.id, record);
    });
    const archiveTemps: string[] = [];
    for (const name of await readdir(this.archiveDir)) {
      if (name.endsWith('.json')) this.archived.add(idOfFileName(name));
      else if (name.endsWith(TEMP_SUFFIX)) archiveTemps.push(join(this.archiveDir, name));
    }
    for (const [id, seq] of markers) {
      if (!this.archived.has(id))
        throw new StoreError(
          join(this.archiveDir, fileNameOf(id)),
          `missing: the log says '${id}' (seq ${seq}) was archived here`,
        );
    }
    const archivedAfterAll: string[] = [];
    for (const id of this.live.keys()) {
      if (!this.archived.has(id)) continue;
      // A crash between writing the archive file and the log's marker: the same record in both.
      const path = join(this.archiveDir, fileNameOf(id));
      const archivedRecord = await this.archiveFile(path).read();
      if (
        archivedRecord === null ||
        archivedRecord.seq !== this.live.get(id)!.seq ||
        JSON.stringify(archivedRecord) !== JSON.stringify(records.get(id))
      ) {
        throw new StoreError(
          path,
          `'${id}' is both live and archived, with different records; refusing to guess which is true`,
        );
      }
      archivedAfterAll.push(id);
    }
    const markersOwed = archivedAfterAll.map((id) =>
      encodeLogLine(ARCHIVED_FORMAT, { id, seq: this.live.get(id)!.seq }),
    );
    for (const id of archivedAfterAll) {
      this.forgetLive(id);
      records.delete(id);
    }
    for (const segment of this.log.segmentNumbers)
      if (!tally.has(segment)) tally.set(segment, { lines: 0, markers: 0 });
    const history = this.manifest.history;
    if (history !== undefined) {
      // A reader compares too (a status of a shortened log must say so); one beside a daemon may
      // catch a checkpoint in progress and is refused the same way: its caller reads again.
      checkHistory({
        dir: this.dir,
        history,
        tally,
        archiveFiles: this.archived.size,
        alsoLive: archivedAfterAll.length,
        readOnly: this.readOnly,
      });
      this.position = positionOf(history, tally);
      this.openedHistory = { storeId: history.storeId, position: this.position };
    }
    // Everything checked: only now the repairs a crash leaves by design.
    if (!this.readOnly) {
      if (this.tornTail !== null) await this.log.cutTornTail(this.tornTail);
      if (markersOwed.length > 0) await this.log.append(markersOwed);
      await this.log.removeTempFiles();
      // An archive file's temp never renamed: the record is still live in the log.
      for (const temp of archiveTemps) await rm(temp, { force: true });
      await this.recordHistoryAtOpen(tally, markersOwed.length);
    }
    this.opened = [...records.values()];
  }

  /**
   * Writes down how far the log goes now, so that a log found shorter later is refused. A
   * layout-2 store gets its history here (its position counts from the newest segment's
   * first line); a checkpoint a crash interrupted before its manifest is recorded.
   */
  private async recordHistoryAtOpen(tally: Map<number, SegmentTally>, appended: number): Promise<void> {
    const newest = this.log.newest;
    let history = this.manifest.history;
    if (history === undefined) {
      const lines = (tally.get(newest)?.lines ?? 0) + appended;
      const markers = (tally.get(newest)?.markers ?? 0) + appended;
      history = { ...freshHistory(), segment: newest, archived: this.archived.size - markers };
      this.position = lines;
      this.openedHistory = { storeId: history.storeId, position: this.position };
      this.historyBegins = true;
    } else {
      // The checkpoint segment beyond the manifest's holds only copies (and the markers just appended).
      if (newest !== history.segment)
        history = {
          ...history,
          segment: newest,
          copies: tally.get(newest)!.lines,
          position: this.position!,
          archived: this.archived.size - appended,
        };
      this.position! += appended;
      if (history.seen === this.position && this.manifest.history === history) return;
    }
    await this.writeManifest({ ...history, seen: this.position! });
  }

  private async writeManifest(history: HistoryManifest): Promise<void> {
    this.manifest = { layoutVersion: STORE_LAYOUT_VERSION, history };
    await new Low<Manifest>(this.manifestFile, this.manifest).write();
  }

  /** The store's identity and its position now (lines appended since it was created). */
  history(): StoreHistory | null {
    const history = this.manifest.history;
    return history === undefined || this.position === null
      ? null
      : { storeId: history.storeId, position: this.position };
  }

  async loadLive(): Promise<MachineRecord[]> {
    if (this.opened !== null) {
      const records = this.opened;
      this.opened = null;
      return records;
    }
    const records: MachineRecord[] = [];
    for (const [id, entry] of this.live) records.push(await this.readLive(id, entry));
    return records;
  }

  /** A live record read back from the log by its position, checked again. */
  private async readLive(id: string, entry: LiveEntry): Promise<MachineRecord> {
    const file = this.log.pathOf(entry.segment);
    const where = `byte ${entry.offset}`;
    const record = validateRecord(
      `${file}, ${where}`,
      decodeLogLine(file, where, await this.log.read(entry)).data,
      this.knownMachines,
    );
    if (record.id !== id || record.seq !== entry.seq)
      throw new StoreError(
        file,
        `${where}: not the record of '${id}' seq ${entry.seq} (the log changed under the store)`,
      );
    return record;
  }

  placeOf(id: string): RecordPlace | null {
    if (this.live.has(id) || this.queuedSeq.has(id)) return 'live';
    if (this.archived.has(id)) return 'archived';
    return null;
  }

  put(record: MachineRecord): Promise<void> {
    return this.putMany([record]);
  }

  /** Durable, every one of them, when the promise resolves: one append and one fdatasync. */
  putMany(records: readonly MachineRecord[]): Promise<void> {
    let commit: PutWork;
    try {
      commit = this.prepare(records);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(commit);
  }

  /** Moves a live record to the archive: its file first, then a marker in the log. */
  archive(id: string): Promise<void> {
    try {
      this.assertWritable();
      assert(!this.archiving.has(id) && !this.archived.has(id), `archive: '${id}' is archived already`);
      assert(this.live.has(id) || this.queuedSeq.has(id), `archive: '${id}' is not live`);
    } catch (error) {
      return Promise.reject(error);
    }
    this.archiving.add(id);
    return this.enqueue({ archive: id });
  }

  /** Checks a write against the store and the writes queued before it; encodes its lines. */
  private prepare(records: readonly MachineRecord[]): PutWork {
    this.assertWritable();
    const seen = new Map<string, number>();
    for (const record of records) {
      assert(
        !this.archived.has(record.id) && !this.archiving.has(record.id),
        `put: '${record.id}' is archived and can never be written again`,
      );
      fileNameOf(record.id); // asserts the id's form
      const previous = seen.get(record.id) ?? this.queuedSeq.get(record.id) ?? this.live.get(record.id)?.seq;
      const expected = previous === undefined ? 1 : previous + 1;
      assert(record.seq === expected, `put: '${record.id}' seq ${record.seq}, expected ${expected}`);
      seen.set(record.id, record.seq);
    }
    const lines = records.map((record) => encodeLogLine(RECORD_FORMAT, record));
    for (const [id, seq] of seen) this.queuedSeq.set(id, seq);
    return { records, lines };
  }

  private enqueue(work: Work): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...work, resolve, reject });
      this.committing ??= this.commitQueued();
    });
  }

  /**
   * Runs the queue in order, again and again while more arrives. Puts queued together share
   * one append and one fdatasync (group commit); an archive runs on its own.
   */
  private async commitQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      const group = 'archive' in first ? [first] : this.queue.slice(0, nextArchive(this.queue));
      this.queue = this.queue.slice(group.length);
      try {
        this.assertWritable();
        if ('archive' in first) await this.archiveNow(first.archive);
        else await this.appendRecords(group as PutCommit[]);
        for (const commit of group) commit.resolve();
        await this.checkpointIfDue();
      } catch (error) {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        for (const commit of [...group, ...this.queue]) commit.reject(error);
        this.queue = [];
      }
    }
    this.committing = null;
  }

  private async appendRecords(group: readonly PutCommit[]): Promise<void> {
    this.opened = null;
    const lines = group.flatMap((commit) => commit.lines);
    const locations = await this.log.append(lines);
    this.commitCount += 1;
    if (this.position !== null) this.position += lines.length;
    let index = 0;
    for (const commit of group) {
      for (const record of commit.records) {
        this.setLive(record.id, { ...locations[index]!, seq: record.seq });
        if (this.queuedSeq.get(record.id) === record.seq) this.queuedSeq.delete(record.id);
        index += 1;
      }
    }
  }

  private async archiveNow(id: string): Promise<void> {
    const entry = this.live.get(id);
    assert(entry !== undefined, `archive: '${id}' is not live`);
    this.opened = null;
    // The archive file first: a crash before the marker leaves the same record in both
    // places, which opening recognises; a marker without its file would lose the record.
    const record = await this.readLive(id, entry);
    await writeFileDurably(join(this.archiveDir, fileNameOf(id)), encodeEnvelope(RECORD_FORMAT, record));
    this.archived.add(id);
    await this.log.append([encodeLogLine(ARCHIVED_FORMAT, { id, seq: entry.seq })]);
    if (this.position !== null) this.position += 1;
    this.forgetLive(id);
    this.archiving.delete(id);
  }

  async readArchived(id: string): Promise<MachineRecord> {
    const path = join(this.archiveDir, fileNameOf(id));
    const record = await this.archiveFile(path).read();
    if (record === null) throw new StoreError(path, `no archived record for '${id}'`);
    return record;
  }

  get liveCount(): number {
    return this.live.size;
  }

  get archivedIds(): ReadonlySet<string> {
    return this.archived;
  }

  /** Appends of records made by this store object (each one fdatasync): group commit's measure. */
  get commits(): number {
    return this.commitCount;
  }

  /** Bytes a restart would read now. */
  get logBytes(): number {
    return this.log.totalBytes;
  }

  async close(): Promise<void> {
    await this.committing;
    await this.log.close();
  }

  /** Copies the live lines to a new segment once the log is mostly superseded records. */
  private async checkpointIfDue(): Promise<void> {
    if (this.log.totalBytes <= Math.max(this.checkpointBytes, 2 * this.liveBytes)) return;
    const ids = [...this.live.keys()];
    const entries = ids.map((id) => this.live.get(id)!);
    const lines = await this.log.readMany(entries);
    // Checked before the segments they come from are removed: a copy is the only copy after.
    for (const [i, line] of lines.entries())
      checkLogLine(this.log.pathOf(entries[i]!.segment), `byte ${entries[i]!.offset}`, line);
    const position = this.position;
    const history = this.manifest.history;
    const locations = await this.log.checkpoint(lines, async (segment) => {
      if (history !== undefined && position !== null) {
        await this.writeManifest({
          ...history,
          segment,
          copies: lines.length,
          position,
          archived: this.archived.size,
          seen: position,
        });
      }
    });
    for (const [i, id] of ids.entries()) this.setLive(id, { ...locations[i]!, seq: this.live.get(id)!.seq });
  }

  private setLive(id: string, entry: LiveEntry): void {
    this.liveBytes += entry.length - (this.live.get(id)?.length ?? 0);
    this.live.set(id, entry);
  }

  private forgetLive(id: string): void {
    this.liveBytes -= this.live.get(id)?.length ?? 0;
    this.live.delete(id);
  }

  private assertWritable(): void {
    assert(!this.readOnly, `${this.dir}: a write to a store opened read-only`);
    if (this.failure !== null)
      throw new StoreError(
        this.dir,
        `an earlier write failed (${this.failure.message}); the store takes no more writes until reopened`,
      );
  }

  private archiveFile(path: string): ChecksummedJsonFile<MachineRecord> {
    return new ChecksummedJsonFile(path, RECORD_FORMAT, (file, data) => validateRecord(file, data, this.knownMachines));
  }
}
