/**
 * The embedded SnapshotStore: one lowdb document per machine, so persisting a transition
 * rewrites one small file whatever the number of live machines.
 *
 *   <dir>/store.json        manifest: this directory is a settle store, and which format
 *   <dir>/live/<id>.json    one record per live machine
 *   <dir>/archive/<id>.json records of finished machines
 *
 * Opening validates every live record (format, checksum, id, machine name and version) and
 * refuses the whole store on the first doubt, touching nothing.
 */
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { ChecksummedJsonFile } from './checksummedJsonFile.ts';
import { fsyncDirectory, TEMP_SUFFIX } from './durableFile.ts';
import {
  fileNameOf,
  idOfFileName,
  type MachineRecord,
  type RecordPlace,
  type SnapshotStore,
} from './snapshotStore.ts';
import { StoreError } from './storeError.ts';

export const STORE_FORMAT = 'settle/store';
export const RECORD_FORMAT = 'settle/machine-record';
export const STORE_LAYOUT_VERSION = 1;
/** Record files read at once while restoring. */
const LOAD_CONCURRENCY = 32;

interface Manifest {
  readonly layoutVersion: number;
}

export interface OpenStoreOptions {
  /** Create the store when the directory is absent or empty. Never implied. */
  readonly create: boolean;
  /** name -> version this release understands. */
  readonly knownMachines: Readonly<Record<string, number>>;
}

export async function openLowdbSnapshotStore(dir: string, options: OpenStoreOptions): Promise<LowdbSnapshotStore> {
  const manifestPath = join(dir, 'store.json');
  const manifestFile = new ChecksummedJsonFile(manifestPath, STORE_FORMAT, validateManifest);
  const entries = await listDirectory(dir);
  if (entries === null || entries.length === 0 || (await interruptedCreation(dir, entries))) {
    if (!options.create) {
      throw new StoreError(
        dir,
        'no settle store here. A daemon never starts from an empty store by accident (it could send twice); ' +
          'create one explicitly (--init) after reconciling with the chain',
      );
    }
    await mkdir(join(dir, 'live'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'archive'), { recursive: true, mode: 0o700 });
    await new Low<Manifest>(manifestFile, { layoutVersion: STORE_LAYOUT_VERSION }).write();
  } else if ((await manifestFile.read()) === null) {
    throw new StoreError(manifestPath, `missing, but ${dir} is not empty: not a settle store, or damaged; refusing to start`);
  }
  const store = new LowdbSnapshotStore(dir, options.knownMachines);
  await store.index();
  return store;
}

/**
 * A creation killed before its manifest was written leaves only empty live/ and archive/: no
 * record was ever written (records need the manifest first), so it is still an empty store.
 */
async function interruptedCreation(dir: string, entries: readonly string[]): Promise<boolean> {
  if (!entries.every((name) => name === 'live' || name === 'archive')) return false;
  for (const name of entries) {
    if ((await readdir(join(dir, name)).catch(() => ['?'])).length > 0) return false;
  }
  return true;
}

function validateManifest(file: string, data: unknown): Manifest {
  const layoutVersion = (data as Partial<Manifest> | null)?.layoutVersion;
  if (layoutVersion !== STORE_LAYOUT_VERSION) {
    throw new StoreError(file, `store layout version ${String(layoutVersion)}; this release reads ${STORE_LAYOUT_VERSION}`);
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

export class LowdbSnapshotStore implements SnapshotStore {
  private readonly liveDir: string;
  private readonly archiveDir: string;
  /** id -> seq of the record on disk; the in-memory index is a few bytes per machine. */
  private readonly liveSeq = new Map<string, number>();
  private readonly archived = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly knownMachines: Readonly<Record<string, number>>,
  ) {
    this.liveDir = join(dir, 'live');
    this.archiveDir = join(dir, 'archive');
  }

  /** Learns which ids exist, without reading archived contents. */
  async index(): Promise<void> {
    for (const sub of [this.liveDir, this.archiveDir]) {
      const info = await stat(sub).catch(() => null);
      if (info === null || !info.isDirectory()) throw new StoreError(sub, 'missing: the store is incomplete; refusing to start');
    }
    for (const name of await readdir(this.archiveDir)) {
      if (name.endsWith('.json')) this.archived.add(idOfFileName(name));
    }
  }

  async loadLive(): Promise<MachineRecord[]> {
    const names = (await readdir(this.liveDir)).filter((n) => !n.endsWith(TEMP_SUFFIX)).sort();
    for (const name of names) {
      if (!name.endsWith('.json')) throw new StoreError(join(this.liveDir, name), 'unexpected file in the live directory');
    }
    // Several reads in flight: a restart reads every live record, and one at a time the
    // latencies add up. The checks that relate records to names run after, in name order.
    const read = new Array<MachineRecord | null>(names.length);
    let next = 0;
    const reader = async (): Promise<void> => {
      for (let i = next++; i < names.length; i = next++) read[i] = await this.recordFile(join(this.liveDir, names[i]!)).read();
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, names.length) }, reader));
    const records: MachineRecord[] = [];
    for (const [index, name] of names.entries()) {
      const path = join(this.liveDir, name);
      const record = read[index] ?? null;
      if (record === null) throw new StoreError(path, 'vanished while the store was being opened');
      if (record.id !== idOfFileName(name)) {
        throw new StoreError(path, `holds the record of '${record.id}', not of '${idOfFileName(name)}' (moved or copied by hand?)`);
      }
      if (this.archived.has(record.id)) {
        throw new StoreError(path, `'${record.id}' is both live and archived; refusing to guess which is true`);
      }
      this.liveSeq.set(record.id, record.seq);
      records.push(record);
    }
    return records;
  }

  placeOf(id: string): RecordPlace | null {
    if (this.liveSeq.has(id)) return 'live';
    if (this.archived.has(id)) return 'archived';
    return null;
  }

  async put(record: MachineRecord): Promise<void> {
    if (this.archived.has(record.id)) throw new Error(`put: '${record.id}' is archived and can never be written again`);
    const previous = this.liveSeq.get(record.id);
    const expected = previous === undefined ? 1 : previous + 1;
    if (record.seq !== expected) throw new Error(`put: '${record.id}' seq ${record.seq}, expected ${expected}`);
    const db = new Low<MachineRecord>(this.recordFile(join(this.liveDir, fileNameOf(record.id))), record);
    await db.write();
    this.liveSeq.set(record.id, record.seq);
  }

  async archive(id: string): Promise<void> {
    if (!this.liveSeq.has(id)) throw new Error(`archive: '${id}' is not live`);
    await rename(join(this.liveDir, fileNameOf(id)), join(this.archiveDir, fileNameOf(id)));
    await fsyncDirectory(this.archiveDir);
    await fsyncDirectory(this.liveDir);
    this.liveSeq.delete(id);
    this.archived.add(id);
  }

  async readArchived(id: string): Promise<MachineRecord> {
    const path = join(this.archiveDir, fileNameOf(id));
    const record = await this.recordFile(path).read();
    if (record === null) throw new StoreError(path, `no archived record for '${id}'`);
    return record;
  }

  get liveCount(): number {
    return this.liveSeq.size;
  }

  get archivedIds(): ReadonlySet<string> {
    return this.archived;
  }

  private recordFile(path: string): ChecksummedJsonFile<MachineRecord> {
    return new ChecksummedJsonFile(path, RECORD_FORMAT, (file, data) => this.validateRecord(file, data));
  }

  private validateRecord(file: string, data: unknown): MachineRecord {
    const record = data as Partial<MachineRecord> | null;
    if (record === null || typeof record !== 'object') throw new StoreError(file, 'record is not an object');
    if (typeof record.id !== 'string') throw new StoreError(file, 'record has no id');
    if (!Number.isSafeInteger(record.seq) || (record.seq ?? 0) < 1) throw new StoreError(file, `record seq ${String(record.seq)} is not a positive integer`);
    const machine = record.machine;
    if (machine === undefined || typeof machine.name !== 'string' || typeof machine.version !== 'number') {
      throw new StoreError(file, 'record does not say which machine wrote it');
    }
    const known = this.knownMachines[machine.name];
    if (known === undefined) {
      throw new StoreError(file, `written by unknown machine '${machine.name}' (this release knows ${Object.keys(this.knownMachines).join(', ')})`);
    }
    if (machine.version !== known) {
      throw new StoreError(
        file,
        machine.version > known
          ? `written by ${machine.name} version ${machine.version}, newer than this release's version ${known}: upgrade settle`
          : `written by ${machine.name} version ${machine.version}; this release (version ${known}) has no migration from it`,
      );
    }
    const snapshot = record.snapshot as { status?: unknown; value?: unknown; context?: unknown } | undefined;
    if (snapshot === undefined || typeof snapshot.value !== 'string' || typeof snapshot.context !== 'object') {
      throw new StoreError(file, 'record carries no machine snapshot (value and context)');
    }
    return record as MachineRecord;
  }
}
