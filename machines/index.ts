/**
 * The catalogue of obligations: each machine with the name and version its snapshots carry.
 * A snapshot written by another version is migrated here or refused by the store.
 */
import type { AnyStateMachine } from 'xstate';
import { JOB_MACHINE_NAME, JOB_MACHINE_VERSION, jobSettlement } from './jobSettlement.ts';
import type { StateMeta } from './stateMeta.ts';
import { SWAP_MACHINE_NAME, SWAP_MACHINE_VERSION, swapFulfillment } from './swapFulfillment.ts';

export interface MachineEntry<M extends AnyStateMachine = AnyStateMachine> {
  readonly name: string;
  readonly version: number;
  readonly machine: M;
}

export const machineCatalog = {
  [SWAP_MACHINE_NAME]: { name: SWAP_MACHINE_NAME, version: SWAP_MACHINE_VERSION, machine: swapFulfillment },
  [JOB_MACHINE_NAME]: { name: JOB_MACHINE_NAME, version: JOB_MACHINE_VERSION, machine: jobSettlement },
} as const satisfies Record<string, MachineEntry>;

export type MachineName = keyof typeof machineCatalog;

/** name -> version, the form the store checks every snapshot against. */
export const knownMachineVersions: Readonly<Record<string, number>> = Object.fromEntries(
  Object.values(machineCatalog).map((entry) => [entry.name, entry.version]),
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
