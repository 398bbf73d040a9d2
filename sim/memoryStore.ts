/**
 * The simulator's disk: a SnapshotStore and a RecoveryLog in memory, owned by the run rather
 * than by the host, so they survive the host's crashes exactly as files would. Store faults
 * (a failed write, a write torn by a crash) are injected here. A disk can be copied (a backup,
 * a VM snapshot, a second host's copy): the copy shares no mutable state with it.
 */
import type { RecoveryEntry, RecoveryLog } from '../src/store/recoveryLog.ts';
import {
  assertRecordId,
  type MachineRecord,
  type RecordPlace,
  type SnapshotStore,
  type StoreHistory,
} from '../src/store/snapshotStore.ts';
import { SimulatedCrash } from '../src/engine/crashpoints.ts';
import { acceptedVersions, type KnownMachines } from '../src/store/recordValidation.ts';
import type { FaultSource } from './faults.ts';

/** The simulated store's identity: one store per run (its copies keep it, as copied files do). */
export const SIM_STORE_ID = '5'.repeat(32);

export class MemoryDisk {
  readonly live = new Map<string, MachineRecord>();
  readonly archived = new Map<string, MachineRecord>();
  readonly recovery: RecoveryEntry[] = [];
  /** Incremented by the runner at each restart: a write that failed is not failed again forever. */
  generation = 0;
  /** Writes made since the store was created (records and archives): the store's history. */
  position = 0;

  /** A copy as the disk is now: records are immutable, so the maps are copied, not the records. */
  copy(): MemoryDisk {
    const copy = new MemoryDisk();
    for (const [id, record] of this.live) copy.live.set(id, record);
    for (const [id, record] of this.archived) copy.archived.set(id, record);
    copy.recovery.push(...this.recovery);
    copy.generation = this.generation;
    copy.position = this.position;
    return copy;
  }
}

export class MemorySnapshotStore implements SnapshotStore {
  constructor(
    private readonly disk: MemoryDisk,
    private readonly knownMachines: KnownMachines,
    private readonly faults: FaultSource | null = null,
  ) {}

  async loadLive(): Promise<MachineRecord[]> {
    const records = [...this.disk.live.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const record of records) {
      const known = this.knownMachines[record.machine.name];
      const accepted = known === undefined ? null : acceptedVersions(known);
      if (accepted === null || record.machine.version < accepted.oldest || record.machine.version > accepted.current) {
        throw new Error(`memory store: ${record.id} written by ${record.machine.name} v${record.machine.version}`);
      }
    }
    return records;
  }

  placeOf(id: string): RecordPlace | null {
    if (this.disk.live.has(id)) return 'live';
    return this.disk.archived.has(id) ? 'archived' : null;
  }

  async put(record: MachineRecord): Promise<void> {
    this.write(record);
  }

  /** One record at a time, each with its own fault decisions: a torn commit leaves a prefix. */
  async putMany(records: readonly MachineRecord[]): Promise<void> {
    // Written in one synchronous loop, not an awaited put each: a throw still stops it after
    // the records before it, exactly as a disk that dies mid-commit.
    for (const record of records) this.write(record);
  }

  private write(record: MachineRecord): void {
    assertRecordId(record.id);
    if (this.disk.archived.has(record.id)) throw new Error(`put: '${record.id}' is archived`);
    const expected = (this.disk.live.get(record.id)?.seq ?? 0) + 1;
    if (record.seq !== expected) throw new Error(`put: '${record.id}' seq ${record.seq}, expected ${expected}`);
    const site = `put:${record.id}:${record.seq}:g${this.disk.generation}`;
    if (this.faults?.decide('failed-write', site) === true) throw new Error(`EIO: write of ${record.id} failed`);
    if (this.faults?.decide('torn-write', site) === true) throw new SimulatedCrash('before-persist', record.id);
    this.disk.live.set(record.id, record);
    this.disk.position += 1;
  }

  history(): StoreHistory {
    return { storeId: SIM_STORE_ID, position: this.disk.position };
  }

  async archive(id: string): Promise<void> {
    const record = this.disk.live.get(id);
    if (record === undefined) throw new Error(`archive: '${id}' is not live`);
    this.disk.live.delete(id);
    this.disk.archived.set(id, record);
    this.disk.position += 1;
  }

  async readArchived(id: string): Promise<MachineRecord> {
    const record = this.disk.archived.get(id);
    if (record === undefined) throw new Error(`no archived record for '${id}'`);
    return record;
  }

  get archivedIds(): Iterable<string> {
    return this.disk.archived.keys();
  }
}

export class MemoryRecoveryLog implements RecoveryLog {
  private readonly keys: Set<string>;

  constructor(
    private readonly disk: MemoryDisk,
    private readonly faults: FaultSource | null = null,
  ) {
    this.keys = new Set(disk.recovery.map((e) => e.key));
  }

  async record(entry: RecoveryEntry): Promise<'recorded' | 'already-recorded'> {
    if (this.keys.has(entry.key)) return 'already-recorded';
    if (this.faults?.decide('torn-write', `record:${entry.key}:g${this.disk.generation}`) === true) {
      throw new SimulatedCrash('after-effect', entry.key);
    }
    this.disk.recovery.push(entry);
    this.keys.add(entry.key);
    return 'recorded';
  }

  entries(): readonly RecoveryEntry[] {
    return this.disk.recovery;
  }
}
