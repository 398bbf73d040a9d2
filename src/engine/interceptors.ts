/**
 * Interceptors: behaviour composed around the engine's steps, as Temporal's worker
 * interceptors are around a workflow's. Each hook receives the call and `next`, the rest of
 * the chain ending in the engine's own step; it may look at the call, change it, call `next`
 * or not, and look at or change the result. The first interceptor given is the outermost.
 *
 * Metrics (the daemon) and the planted bugs the proofs must catch are interceptors; nothing
 * subclasses the engine. An interceptor runs inside the engine's durability rules: perform
 * and runBatch see only snapshots already on disk, `transitioned` only writes already done.
 * An interceptor must not swallow a SimulatedCrash or a StoreWriteFailed (isFatalToHost).
 */
import type { MachineRecord } from '../store/snapshotStore.ts';
import type { Change, DurableTransition, LiveMachine } from './live.ts';
import type { AnyObligation, BatchItem, EffectCall, EventLike, ObserveResult } from './obligation.ts';

export interface BatchCall {
  readonly kind: string;
  readonly effect: string;
  /** The batch's group (the chain). */
  readonly group: string;
  readonly items: readonly BatchItem[];
  readonly obligation: AnyObligation;
}

/** The engine as an observe interceptor may touch it (tests plant bugs through `evict`). */
export interface EngineControl {
  readonly store: { archive(id: string): Promise<void> };
  machinesOf(kind: string): LiveMachine[];
  /** Forgets a live machine in memory; its record stays as it is on disk. */
  evict(id: string): void;
}

export interface ObserveCall {
  readonly kind: string;
  readonly obligation: AnyObligation;
  readonly engine: EngineControl;
}

export interface CreateCall {
  readonly kind: string;
  readonly id: string;
  /** The machine's input: an interceptor may hand `next` another. */
  readonly input: unknown;
}

export type EffectResult = Promise<EventLike | null>;
export type BatchResult = Promise<ReadonlyMap<string, EventLike> | null>;

export interface EngineInterceptor {
  /** Around one effect performed for one machine. */
  performEffect?(call: EffectCall, next: (call: EffectCall) => EffectResult): EffectResult;
  /** Around one batched effect for one group. */
  runBatch?(call: BatchCall, next: (call: BatchCall) => BatchResult): BatchResult;
  /** Around one obligation's observation in a tick. */
  observe?(call: ObserveCall, next: (call: ObserveCall) => Promise<ObserveResult>): Promise<ObserveResult>;
  /** Around the creation of a new machine (not yet on disk). */
  create?(call: CreateCall, next: (call: CreateCall) => Change): Change;
  /** Around the revival of a record read from the store at restore. */
  revive?(record: MachineRecord, next: (record: MachineRecord) => Change | null): Change | null;
  /** Told of every durable transition, after it is on disk. Must not throw. */
  transitioned?(transition: DurableTransition): void;
}

type Hook<C, R> = (call: C, next: (call: C) => R) => R;

/** `terminal` wrapped by every interceptor that has the hook, the first outermost. */
export function chain<C, R>(hooks: ReadonlyArray<Hook<C, R> | undefined>, terminal: (call: C) => R): (call: C) => R {
  let next = terminal;
  for (const hook of [...hooks].reverse()) {
    if (hook === undefined) continue;
    const inner = next;
    next = (call) => hook(call, inner);
  }
  return next;
}
