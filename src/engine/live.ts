/**
 * What the engine holds per obligation in memory, and the rules for when it may trust it.
 *
 * A live machine's `snapshot` may run ahead of `persistedSnapshot` only between an event and
 * the commit that writes it; effects run only while the two are the same object. A write that
 * fails ends the engine's life (StoreWriteFailed): memory ahead of the disk is never acted on.
 */
import { SettleError } from '../errors.ts';
import type { AnyMachineSnapshot } from 'xstate';
import { isSimulatedCrash } from './crashpoints.ts';
import type { MachineStepper } from './machineStepper.ts';
import type { AnyObligation } from './obligation.ts';

export interface LiveMachine {
  readonly id: string;
  /** Its obligation's kind (`swap`, `job`...): the prefix of its id. */
  readonly kind: string;
  readonly obligation: AnyObligation;
  readonly stepper: MachineStepper;
  /** The machine's current snapshot (immutable: every event yields a new one or the same). */
  snapshot: AnyMachineSnapshot;
  /** The snapshot on disk, null before the first write: effects run only while it is current. */
  persistedSnapshot: AnyMachineSnapshot | null;
  seq: number;
}

/** A machine's snapshot changed by an event, not yet on disk. */
export interface Change {
  readonly machine: LiveMachine;
  readonly event: string;
  readonly from: string | null;
  readonly snapshot: AnyMachineSnapshot;
  readonly persisted: unknown;
}

/** A transition made durable: told to interceptors after it is on disk (metrics, traces). */
export interface DurableTransition {
  readonly id: string;
  readonly kind: string;
  /** Null for a machine just created. */
  readonly from: string | null;
  readonly to: string;
  readonly event: string;
}

/**
 * Lower first, then by id: an obligation may put some of its machines ahead of everything
 * (the swap puts those holding a signed transfer first, so bytes signed before a crash are
 * broadcast before anything new is signed and a restart never hands their nonce to another).
 */
const priorityOf = (m: LiveMachine): number =>
  m.obligation.priority === undefined ? 0 : m.obligation.priority(m.snapshot.context);
export const liveOrder = (a: LiveMachine, b: LiveMachine): number =>
  priorityOf(a) - priorityOf(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Whether two snapshots of a flat machine would persist the same: same state, same status,
 * and contexts whose fields are the same values. An assign that writes back what was there
 * makes a new snapshot object with nothing new to write (a read failing twice the same way).
 */
export function sameContent(a: AnyMachineSnapshot, b: AnyMachineSnapshot): boolean {
  if (a.value !== b.value || a.status !== b.status) return false;
  const left = a.context as Record<string, unknown>;
  const right = b.context as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.is(left[key], right[key]));
}

/**
 * What persistAll and dispatchAll return when given nothing to do. They are called several
 * times per machine per poll and most calls are empty; an async function would make, resolve
 * and return a promise of its own for each (3 to 6% of the simulator's CPU per job lifecycle).
 */
export const NOTHING_TO_DO: Promise<void> = Promise.resolve();

/**
 * A snapshot could not be made durable. The in-memory machine is now ahead of the disk, so
 * the engine stops (the process exits, the supervisor restarts it from the store): no effect
 * runs on the strength of a write that did not happen.
 */
export class StoreWriteFailed extends SettleError {
  constructor(
    readonly machineId: string,
    cause: unknown,
  ) {
    super(`could not persist ${machineId}: ${String(cause)}`, { cause });
  }
}

/** A write to the store; a failure becomes StoreWriteFailed (a simulated crash stays itself). */
export async function storeWrite(machineIds: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    throw new StoreWriteFailed(machineIds, error);
  }
}

/** Errors that end the engine's life: anything else is contained to one machine. */
export function isFatalToHost(error: unknown): boolean {
  return isSimulatedCrash(error) || error instanceof StoreWriteFailed;
}
