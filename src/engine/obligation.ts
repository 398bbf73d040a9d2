/**
 * The plug-in interface: everything the engine needs to know about one kind of obligation,
 * and nothing it may assume. The engine persists, orders, performs and archives; the
 * obligation says what its machine is, how new obligations are found, which function performs
 * each effect its machine can ask for, and which of them run for many machines at once.
 *
 * The handler table is keyed by the machine's own effect union (`SWAP_EFFECTS`...), declared
 * `satisfies Record<Effect, EffectHandler>` by each obligation module: an effect without a
 * handler fails the type check, and `checkHandlers` refuses one at start-up as well.
 */
import type { AnyStateMachine } from 'xstate';
import type { StateMeta } from '../../machines/index.ts';
import type { Logger } from '../host/ports.ts';
import type { RecoveryEntry } from '../store/recoveryLog.ts';
import type { Change, LiveMachine } from './live.ts';

export interface EventLike {
  readonly type: string;
}

/** A machine as the engine runs it: every record carries its name and version. */
export interface MachineDefinition {
  readonly name: string;
  readonly version: number;
  readonly machine: AnyStateMachine;
  /**
   * A persisted snapshot written by an older version of the machine (`migratesFrom` or later),
   * as this version reads it; the result is written back before any effect. Without it, such
   * records are refused by the store.
   */
  readonly migrate?: (snapshot: unknown, fromVersion: number) => unknown;
  readonly migratesFrom?: number;
}

/** One effect to perform for one machine, whose snapshot asking for it is on disk. */
export interface EffectCall<Context = unknown> {
  readonly kind: string;
  readonly id: string;
  readonly effect: string;
  readonly state: string;
  readonly context: Context;
  readonly meta: StateMeta;
  readonly obligation: AnyObligation;
  /** Writes a recovery entry (at most once per key), logs it; the effect reports nothing. */
  readonly record: (entry: RecoveryEntry) => Promise<null>;
}

/** Performed for one machine: the event reporting its outcome, or null (tried next tick). */
export interface SingleEffect<Context, Event> {
  readonly perform: (call: EffectCall<Context>) => Promise<Event | null>;
}

export interface BatchItem<Context = unknown> {
  readonly id: string;
  readonly context: Context;
}

/** Performed for every machine asking for it in one tick, one batch per group (a chain). */
export interface BatchedEffect<Context, Event> {
  readonly group: (context: Context) => string;
  /** The events by machine id; null when the batch could not run at all (nothing happened). */
  readonly run: (group: string, items: ReadonlyArray<BatchItem<Context>>) => Promise<ReadonlyMap<string, Event> | null>;
}

export type EffectHandler<Context, Event> = SingleEffect<Context, Event> | BatchedEffect<Context, Event>;

export function isBatched<C, E>(handler: EffectHandler<C, E>): handler is BatchedEffect<C, E> {
  return !('perform' in handler);
}

/** What one observation found: how many obligations it started, and whether its chains answered. */
export interface ObserveResult {
  readonly created: number;
  /** `partial`: reachable, but a listing failed (nothing is concluded from it); `off`: no port configured. */
  readonly status: 'ok' | 'partial' | 'unreachable' | 'off';
}

/** What the engine lends an obligation's observer: its machines, and how to start and feed them. */
export interface ObligationScope<Event extends EventLike = EventLike> {
  readonly log: Logger;
  /** The live machine of this id, if any. */
  get(id: string): LiveMachine | undefined;
  /** Whether the store knows the id (live or archived): an obligation is never started twice. */
  onDisk(id: string): boolean;
  /**
   * A new machine, live but not yet on disk (commit it). `amend` may give it one event in
   * memory before its first write (a swap this miner cannot serve is rejected at once).
   */
  create(id: string, input: unknown, amend?: (machine: LiveMachine) => Event | null): Change;
  /** Makes changes durable in one commit. */
  commit(changes: readonly Change[]): Promise<void>;
  /** This obligation's live machines, in the engine's order. */
  live(): LiveMachine[];
  isLive(machine: LiveMachine): boolean;
  /** Sends each machine its event, then one commit for every changed snapshot. */
  dispatchAll(events: ReadonlyArray<readonly [LiveMachine, Event]>): Promise<void>;
}

export interface Obligation<Context, Event extends EventLike, Effect extends string> {
  /** The prefix of its ids and its label in logs, metrics and summaries. */
  readonly kind: string;
  readonly definition: MachineDefinition;
  readonly handlers: { readonly [E in Effect]: EffectHandler<Context, Event> };
  /** Finds new obligations and feeds the live ones what the chains say, once per tick. */
  observe(scope: ObligationScope<Event>): Promise<ObserveResult>;
  /** Told of each machine restored from the store, before any effect runs. */
  revived?(id: string, context: Context): void;
  /** Lower runs first (ties by id); 0 when absent. */
  priority?(context: Context): number;
  /** What of the obligation's own memory decides what it does next, for comparing engines. */
  memoryImage?(): unknown;
}

// The engine holds obligations of every context and event type: it never reads either.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: the engine holds obligations of every context and event; each is typed where it is built
export type AnyObligation = Obligation<any, any, string>;

/** Refuses an obligation whose machine asks for an effect its table has no handler for. */
export function checkHandlers(obligation: AnyObligation): void {
  const states = (obligation.definition.machine.config.states ?? {}) as Record<string, { meta?: Partial<StateMeta> }>;
  for (const [state, node] of Object.entries(states)) {
    const effect = node.meta?.effect;
    if (effect !== undefined && !Object.hasOwn(obligation.handlers, effect)) {
      throw new Error(
        `obligation '${obligation.kind}': state ${state} asks for effect '${effect}', which has no handler`,
      );
    }
  }
}
