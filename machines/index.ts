/**
 * The catalogue of obligations: each machine with the name and version its snapshots carry.
 * A snapshot written by another version is migrated here or refused by the store.
 */
import type { AnyStateMachine } from 'xstate';
import { JOB_MACHINE_NAME, JOB_MACHINE_VERSION, jobSettlement, migrateJobSnapshotV1 } from './jobSettlement.ts';
import type { StateMeta } from './stateMeta.ts';
import { SWAP_MACHINE_NAME, SWAP_MACHINE_VERSION, swapFulfillment } from './swapFulfillment.ts';
import { migrateSwapSnapshot } from './swapFulfillmentMigration.ts';

/** Turns a persisted snapshot of version N into one of version N + 1; pure, deterministic. */
export type SnapshotMigration = (snapshot: unknown) => unknown;

export interface MachineEntry<M extends AnyStateMachine = AnyStateMachine> {
  readonly name: string;
  readonly version: number;
  readonly machine: M;
  /** from-version -> the migration to from-version + 1. */
  readonly migrations?: Readonly<Record<number, SnapshotMigration>>;
}

export const machineCatalog = {
  [SWAP_MACHINE_NAME]: {
    name: SWAP_MACHINE_NAME,
    version: SWAP_MACHINE_VERSION,
    machine: swapFulfillment,
    migrations: { 1: (snapshot: unknown) => migrateSwapSnapshot(snapshot, 1) },
  },
  [JOB_MACHINE_NAME]: {
    name: JOB_MACHINE_NAME,
    version: JOB_MACHINE_VERSION,
    machine: jobSettlement,
    migrations: { 1: migrateJobSnapshotV1 },
  },
} as const satisfies Record<string, MachineEntry>;

/**
 * A snapshot of `name` written at version `from`, migrated step by step to version `to`;
 * null when a step is missing (the store then refuses the record with its reason).
 */
export function migrateSnapshot(name: string, from: number, to: number, snapshot: unknown): unknown {
  const entry = (machineCatalog as Record<string, MachineEntry>)[name];
  let current = snapshot;
  for (let version = from; version < to; version += 1) {
    const step = entry?.migrations?.[version];
    if (step === undefined) return null;
    current = step(current);
  }
  return current;
}

export type MachineName = keyof typeof machineCatalog;

/**
 * name -> version (or the version and the oldest one it migrates from), the form the store
 * checks every snapshot against, with the migration that reads an older one.
 */
export const knownMachineVersions: Readonly<
  Record<
    string,
    number | { version: number; migratesFrom: number; migrate: (snapshot: unknown, fromVersion: number) => unknown }
  >
> = Object.fromEntries(
  Object.values(machineCatalog).map((entry: MachineEntry) => {
    const from = Object.keys(entry.migrations ?? {}).map(Number);
    // The same migration the job obligation's definition runs (src/obligations/jobSettlement).
    const migrate = (snapshot: unknown, fromVersion: number): unknown => {
      const to = migrateSnapshot(entry.name, fromVersion, entry.version, snapshot);
      if (to === null) throw new Error(`no migration from version ${fromVersion}`);
      return to;
    };
    return [
      entry.name,
      from.length === 0 ? entry.version : { version: entry.version, migratesFrom: Math.min(...from), migrate },
    ];
  }),
);

/** The meta of the (flat) state a snapshot is in. */
export function metaOfState(snapshot: { getMeta(): Record<string, unknown>; value: unknown }): StateMeta {
  const value = String(snapshot.value);
  const found = Object.entries(snapshot.getMeta()).find(([id]) => id.endsWith(`.${value}`));
  if (found === undefined) throw new Error(`state '${value}' declares no meta`);
  return found[1] as StateMeta;
}

export * from './defaults.ts';
export * from './ids.ts';
export * from './invariants.ts';
export * from './jobSettlement.ts';
export * from './markFulfilledErrors.ts';
export * from './stateMeta.ts';
export * from './swapFulfillment.ts';
export * from './solanaMarkFulfilledErrors.ts';
export * from './swapFulfillmentMigration.ts';
export * from './swapRules.ts';
