/**
 * A live machine from its record in the store, at restore. A record written by an older
 * version of its machine is migrated by the obligation's `migrate`; a snapshot that does not
 * restore to itself (migrated, or resolved to another state) is rewritten before any effect
 * reads it: the caller commits the change this returns before the first tick.
 */
import type { MachineRecord } from '../store/snapshotStore.ts';
import type { Change } from './live.ts';
import type { MachineTable } from './machineTable.ts';
import type { AnyObligation } from './obligation.ts';

type StoredSnapshot = { value: unknown; status: unknown; context: unknown };

export function reviveRecord(table: MachineTable, obligation: AnyObligation, record: MachineRecord): Change | null {
  const { definition } = obligation;
  const stored = storedSnapshot(obligation, record);
  const snapshot = table.stepperOf(obligation).restore(stored);
  const machine = table.restored(obligation, record.id, snapshot, record.seq);
  obligation.revived?.(record.id, snapshot.context);
  // Resolving keeps the stored context object; a snapshot whose state or status resolves
  // to something else must be rewritten before any effect reads it.
  const restoresToItself =
    snapshot.value === stored.value && snapshot.status === stored.status && snapshot.context === stored.context;
  if (restoresToItself && record.machine.version === definition.version) return null;
  return table.changeOf(
    machine,
    record.machine.version === definition.version ? 'restored' : 'migrated',
    null,
    snapshot,
  );
}

function storedSnapshot(obligation: AnyObligation, record: MachineRecord): StoredSnapshot {
  const { definition } = obligation;
  const version = record.machine.version;
  if (version === definition.version) return record.snapshot as StoredSnapshot;
  if (
    version > definition.version ||
    definition.migrate === undefined ||
    version < (definition.migratesFrom ?? definition.version)
  ) {
    throw new Error(
      `${record.id}: written by ${definition.name} version ${version}; this engine runs version ${definition.version} and has no migration from it`,
    );
  }
  return definition.migrate(record.snapshot, version) as StoredSnapshot;
}
