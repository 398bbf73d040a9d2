/**
 * What every machine record read from disk must be, wherever it is read from (a log line, an
 * archive file, a layout-1 file): a refusal names the place and the problem.
 */
import type { MachineRecord } from './snapshotStore.ts';
import { StoreError } from '../errors.ts';

/**
 * name -> version this release writes, or that version and the oldest one its engine migrates
 * from (a record of a version in between is read, migrated and written back at restore).
 */
export type KnownMachines = Readonly<Record<string, number | MachineVersions>>;

export interface MachineVersions {
  readonly version: number;
  readonly migratesFrom: number;
  /**
   * The obligation's own migration (its definition's `migrate`): given, an older record is read
   * as this version wherever it is read, archived ones included (settle status, the simulator's
   * final states), and written back at this version with its next transition.
   */
  readonly migrate?: (snapshot: unknown, fromVersion: number) => unknown;
}

/** The versions of a known machine a record may carry: [oldest, current]. */
export function acceptedVersions(known: number | MachineVersions): {
  readonly oldest: number;
  readonly current: number;
} {
  return typeof known === 'number'
    ? { oldest: known, current: known }
    : { oldest: known.migratesFrom, current: known.version };
}

/** `file` (and `line`, in a log) name where the record was read. */
export function validateRecord(
  file: string,
  data: unknown,
  knownMachines: KnownMachines,
  line?: number,
): MachineRecord {
  const record = data as Partial<MachineRecord> | null;
  if (record === null || typeof record !== 'object') throw refusal(file, line, 'record is not an object');
  if (typeof record.id !== 'string') throw refusal(file, line, 'record has no id');
  if (!Number.isSafeInteger(record.seq) || (record.seq ?? 0) < 1)
    throw refusal(file, line, `record seq ${String(record.seq)} is not a positive integer`);
  const machine = record.machine;
  if (machine === undefined || typeof machine.name !== 'string' || typeof machine.version !== 'number') {
    throw refusal(file, line, 'record does not say which machine wrote it');
  }
  const known = knownMachines[machine.name];
  if (known === undefined) {
    throw refusal(
      file,
      line,
      `written by unknown machine '${machine.name}' (this release knows ${Object.keys(knownMachines).join(', ')})`,
    );
  }
  const { oldest, current } = acceptedVersions(known);
  if (machine.version < oldest || machine.version > current) {
    throw refusal(
      file,
      line,
      machine.version > current
        ? `written by ${machine.name} version ${machine.version}, newer than this release's version ${current}: upgrade settle`
        : `written by ${machine.name} version ${machine.version}; this release (version ${current}) has no migration from it`,
    );
  }
  const snapshot = record.snapshot as { status?: unknown; value?: unknown; context?: unknown } | undefined;
  if (
    snapshot === undefined ||
    snapshot === null ||
    typeof snapshot.value !== 'string' ||
    typeof snapshot.context !== 'object' ||
    snapshot.context === null
  ) {
    throw refusal(file, line, 'record carries no machine snapshot (value and context)');
  }
  if (typeof known !== 'number' && known.migrate !== undefined && machine.version < known.version)
    return migrated(file, line, record as MachineRecord, known);
  return record as MachineRecord;
}

/** An older record read as this release's version, by the obligation's migration. */
function migrated(
  file: string,
  line: number | undefined,
  record: MachineRecord,
  known: MachineVersions,
): MachineRecord {
  try {
    const snapshot = known.migrate!(record.snapshot, record.machine.version);
    return { ...record, machine: { name: record.machine.name, version: known.version }, snapshot };
  } catch (error) {
    throw refusal(
      file,
      line,
      `written by ${record.machine.name} version ${record.machine.version}; its migration to version ${known.version} failed: ${(error as Error).message}`,
    );
  }
}

function refusal(file: string, line: number | undefined, problem: string): StoreError {
  return new StoreError(line === undefined ? file : `${file}, line ${line}`, problem);
}
