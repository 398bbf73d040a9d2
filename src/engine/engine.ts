/**
 * The engine: owns one flat machine per obligation (its snapshot, stepped by the machine's own
 * transition function), and is the only place effects happen. It names no obligation: each
 * kind is a plug-in (obligation.ts) that brings its machine, observer and effect handlers.
 *
 * The rule it exists to keep: a snapshot is on disk before any effect it asks for starts.
 * Every event goes through the machine table (send, persist if changed), every effect through
 * `runEffects` (which asserts the current snapshot is the persisted one before performing it).
 * After a crash, `restore` rebuilds the machines from the store and the first tick performs the
 * effect each persisted state still asks for; every effect is idempotent or reads the chain
 * first, so performing it again is safe. Crash points: after-effect (the effect happened, its
 * result not yet fed back), after-record (recovery entry written, not archived), after-archive.
 *
 * Size (over 300 lines): the tick, the effect loop, the batches and restore all keep one rule
 * over the live table (a snapshot on disk before its effect; back to the disk's snapshot on an
 * error), so they stay together; what does not share it is already beside it (machineTable.ts,
 * revive.ts, scope.ts, live.ts).
 */
import { errorField } from '../errors.ts';
import type { InspectionEvent } from 'xstate';
import type { Logger } from '../host/ports.ts';
import type { RecoveryEntry, RecoveryLog } from '../store/recoveryLog.ts';
import type { KnownMachines } from '../store/recordValidation.ts';
import type { MachineRecord, SnapshotStore } from '../store/snapshotStore.ts';
import type { CrashHook } from './crashpoints.ts';
import { chain, type BatchCall, type CreateCall, type EngineInterceptor, type ObserveCall } from './interceptors.ts';
import { isFatalToHost, storeWrite, type Change, type LiveMachine } from './live.ts';
import { MachineTable } from './machineTable.ts';
import {
  checkHandlers,
  isBatched,
  type AnyObligation,
  type BatchedEffect,
  type EffectCall,
  type EventLike,
  type ObligationScope,
  type ObserveResult,
} from './obligation.ts';
import { reviveRecord } from './revive.ts';
import { scopeFor, type AmendFn } from './scope.ts';

export interface EngineOptions {
  readonly store: SnapshotStore;
  readonly recoveryLog: RecoveryLog;
  readonly log: Logger;
  /** Observed, performed and batched in this order at every tick. */
  readonly obligations: readonly AnyObligation[];
  /** Outermost first. */
  readonly interceptors?: readonly EngineInterceptor[];
  /** Tests and the simulator kill the engine at named points through this. */
  readonly crashHook?: CrashHook;
  /** Effects one machine may perform in one tick: a bound on any retry loop. */
  readonly maxEffectStepsPerTick?: number;
  /** XState inspection of every machine's microsteps (transition coverage). */
  readonly inspect?: (event: InspectionEvent) => void;
}

export interface TickSummary {
  readonly created: number;
  readonly archived: number;
  readonly live: number;
  /** Each obligation's observation, by kind. */
  readonly observed: Readonly<Record<string, ObserveResult>>;
}

const DEFAULT_MAX_EFFECT_STEPS = 8;

type Batched = ReadonlyArray<readonly [string, BatchedEffect<unknown, EventLike>]>;

export class Engine {
  private readonly table: MachineTable;
  private readonly maxSteps: number;
  private readonly byMachineName = new Map<string, AnyObligation>();
  private readonly scopes = new Map<AnyObligation, ObligationScope>();
  private readonly batched = new Map<AnyObligation, Batched>();
  private readonly performChain: (call: EffectCall) => Promise<EventLike | null>;
  private readonly batchChain: (call: BatchCall) => Promise<ReadonlyMap<string, EventLike> | null>;
  private readonly observeChain: (call: ObserveCall) => Promise<ObserveResult>;
  private readonly createChain: (call: CreateCall & { amend?: AmendFn }) => Change;
  private readonly reviveChain: (record: MachineRecord) => Change | null;

  /** Use `Engine.restore`: an engine without its restored machines would start them again. */
  private constructor(private readonly options: EngineOptions) {
    const interceptors = options.interceptors ?? [];
    const listeners = interceptors.filter((i) => i.transitioned !== undefined);
    this.table = new MachineTable({
      store: options.store,
      log: options.log,
      crashHook: options.crashHook,
      inspect: options.inspect,
      transitioned:
        listeners.length === 0
          ? undefined
          : (t) => {
              for (const i of listeners) i.transitioned!(t);
            },
    });
    this.maxSteps = options.maxEffectStepsPerTick ?? DEFAULT_MAX_EFFECT_STEPS;
    for (const obligation of options.obligations) this.register(obligation);
    const batchOf = (call: BatchCall) =>
      this.batched.get(call.obligation)!.find(([effect]) => effect === call.effect)![1];
    this.performChain = chain(
      interceptors.map((i) => i.performEffect?.bind(i)),
      (call) => this.perform(call),
    );
    this.batchChain = chain(
      interceptors.map((i) => i.runBatch?.bind(i)),
      (call) => batchOf(call).run(call.group, call.items),
    );
    this.observeChain = chain(
      interceptors.map((i) => i.observe?.bind(i)),
      (call) => call.obligation.observe(this.scopes.get(call.obligation)!),
    );
    this.createChain = chain(
      interceptors.map((i) => i.create?.bind(i)),
      (call) => this.createTerminal(call),
    );
    this.reviveChain = chain(
      interceptors.map((i) => i.revive?.bind(i)),
      (record) => this.reviveTerminal(record),
    );
  }

  private register(obligation: AnyObligation): void {
    checkHandlers(obligation);
    // A kind is an id prefix and a machine name a record's key: each must name one obligation.
    if (this.byMachineName.has(obligation.definition.name))
      throw new Error(`two obligations run machine '${obligation.definition.name}'`);
    if ([...this.byMachineName.values()].some((o) => o.kind === obligation.kind))
      throw new Error(`two obligations of kind '${obligation.kind}'`);
    this.byMachineName.set(obligation.definition.name, obligation);
    this.scopes.set(
      obligation,
      scopeFor(this.table, obligation, {
        log: this.options.log,
        store: this.options.store,
        create: (call) => this.createChain(call),
      }),
    );
    const handlers = Object.entries(obligation.handlers) as Array<[string, Parameters<typeof isBatched>[0]]>;
    this.batched.set(obligation, handlers.filter(([, h]) => isBatched(h)) as unknown as Batched);
  }

  /** Builds an engine and its machines from every live record in the store. */
  static async restore(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    const rewrites: Change[] = [];
    for (const record of await options.store.loadLive()) {
      const rewrite = engine.reviveChain(record);
      if (rewrite !== null) rewrites.push(rewrite);
    }
    await engine.table.persistAll(rewrites);
    return engine;
  }

  /** The versions of every machine this engine runs, and migrates from: what its store must accept. */
  static knownMachines(obligations: readonly AnyObligation[]): KnownMachines {
    return Object.fromEntries(
      obligations.map(({ definition: d }) => [
        d.name,
        d.migrate === undefined || d.migratesFrom === undefined
          ? d.version
          : { version: d.version, migratesFrom: d.migratesFrom, migrate: d.migrate },
      ]),
    );
  }

  private reviveTerminal(record: MachineRecord): Change | null {
    const obligation = this.byMachineName.get(record.machine.name);
    if (obligation === undefined) throw new Error(`${record.id}: no machine named '${record.machine.name}'`);
    return reviveRecord(this.table, obligation, record);
  }

  get liveCount(): number {
    return this.table.size;
  }

  /** Each live machine's id, kind and state, for progress and status. */
  machines(): Array<{ id: string; kind: string; state: string }> {
    return this.table.sorted().map((m) => ({ id: m.id, kind: m.kind, state: String(m.snapshot.value) }));
  }

  /** The live machines of one kind, in the engine's order. */
  machinesOf(kind: string): LiveMachine[] {
    return this.table.sorted().filter((m) => m.kind === kind);
  }

  /** Forgets a live machine in memory (its record stays as it is on disk). For interceptors. */
  evict(id: string): void {
    this.table.evict(id);
  }

  get store(): SnapshotStore {
    return this.options.store;
  }

  /**
   * Everything in memory that decides what this engine does next, as one string: the live
   * machines (their snapshots, and whether each is on disk) and each obligation's own memory.
   * The crash-point explorer compares engines by it.
   */
  memoryImage(): string {
    const machines = this.table
      .sorted()
      .map((m) => [m.id, JSON.stringify(m.stepper.persisted(m.snapshot)), m.snapshot === m.persistedSnapshot]);
    const obligations = this.options.obligations.map((o) => [o.kind, o.memoryImage?.() ?? null]);
    return JSON.stringify({ machines, obligations });
  }

  /** One round: each obligation observes its chains and feeds its machines, then effects run. */
  async tick(): Promise<TickSummary> {
    let created = 0;
    const observed: Record<string, ObserveResult> = {};
    for (const obligation of this.options.obligations) {
      const result = await this.observeChain({ kind: obligation.kind, obligation, engine: this });
      observed[obligation.kind] = result;
      created += result.created;
    }
    let archived = 0;
    for (const machine of this.table.sorted()) {
      // Inline, not through runEffectsContained: this runs for every live machine at every tick,
      // and most have nothing to do; one more async frame each was measurable.
      try {
        if (await this.runEffects(machine)) archived += 1;
      } catch (error) {
        this.contain(machine, error, 'effect failed unexpectedly; machine back to its state on disk');
      }
    }
    archived += await this.runBatches();
    return { created, archived, live: this.table.size, observed };
  }

  /** runEffects; an error that is not fatal rewinds this machine alone. */
  private async runEffectsContained(
    machine: LiveMachine,
    whenFailed: string,
    before?: () => Promise<unknown>,
  ): Promise<boolean> {
    try {
      if (before !== undefined) await before();
      return await this.runEffects(machine);
    } catch (error) {
      this.contain(machine, error, whenFailed);
      return false;
    }
  }

  /** A fatal error ends the engine; any other is logged and rewinds this machine alone. */
  private contain(machine: LiveMachine, error: unknown, whenFailed: string): void {
    if (isFatalToHost(error)) throw error;
    this.options.log.error({ machine: machine.id, err: errorField(error) }, whenFailed);
    this.table.rewind(machine);
  }

  /**
   * Performs the effects the machine's state asks for, feeding each result back, until it
   * waits or the per-tick bound is reached. Archives a final machine. Returns true if archived.
   */
  private async runEffects(machine: LiveMachine): Promise<boolean> {
    for (let step = 0; step < this.maxSteps; step += 1) {
      const snapshot = machine.snapshot;
      const meta = machine.stepper.meta(snapshot);
      const effect = meta.effect;
      if (effect !== undefined) {
        const handler = machine.obligation.handlers[effect]!;
        if (isBatched(handler)) return false;
        if (machine.snapshot !== machine.persistedSnapshot) {
          throw new Error(`${machine.id}: effect '${effect}' requested by a snapshot that is not on disk`);
        }
        const call: EffectCall = {
          kind: machine.kind,
          id: machine.id,
          effect,
          state: String(snapshot.value),
          context: snapshot.context,
          meta,
          obligation: machine.obligation,
          record: this.record,
        };
        const event = await this.performChain(call);
        this.table.crash('after-effect', machine.id);
        if (event !== null) {
          if (await this.table.dispatch(machine, event)) continue;
          return false;
        }
      }
      if (machine.snapshot.status !== 'done') return false;
      if (machine.snapshot !== machine.persistedSnapshot) {
        throw new Error(`${machine.id}: final state '${String(machine.snapshot.value)}' is not on disk; not archiving`);
      }
      await storeWrite(machine.id, () => this.options.store.archive(machine.id));
      this.table.evict(machine.id);
      this.table.crash('after-archive', machine.id);
      return true;
    }
    return false;
  }

  /** The engine's own step of performEffect: the obligation's handler. */
  private perform(call: EffectCall): Promise<EventLike | null> {
    const handler = call.obligation.handlers[call.effect]!;
    if (isBatched(handler)) throw new Error(`${call.id}: effect '${call.effect}' is batched`);
    return handler.perform(call);
  }

  /** Writes a recovery entry; the after-record crash point follows it. */
  private readonly record = async (entry: RecoveryEntry): Promise<null> => {
    const outcome = await this.options.recoveryLog.record(entry);
    this.options.log.warn(
      { machine: entry.key, recovery: outcome, kind: entry.kind, reason: entry.reason },
      'recovery entry',
    );
    this.table.crash('after-record', entry.key);
    return null;
  };

  /** Every batched effect of every obligation: one batch per group for the machines asking. */
  private async runBatches(): Promise<number> {
    let archived = 0;
    for (const obligation of this.options.obligations) {
      const batched = this.batched.get(obligation)!;
      if (batched.length === 0) continue;
      // No machine is created here: one sorted list serves every effect, less the machines an
      // earlier effect archived or rewound out of the live set.
      const machines = this.table.sorted().filter((m) => m.obligation === obligation);
      for (const [effect, handler] of batched) {
        const groups = new Map<string, LiveMachine[]>();
        for (const machine of machines) {
          if (!this.table.isLive(machine) || machine.stepper.meta(machine.snapshot).effect !== effect) continue;
          const group = handler.group(machine.snapshot.context);
          const members = groups.get(group);
          if (members === undefined) groups.set(group, [machine]);
          else members.push(machine);
        }
        for (const [group, members] of groups) archived += await this.runBatch(obligation, effect, group, members);
      }
    }
    return archived;
  }

  /** One batch: performed, then each member fed its result and run on. Returns how many archived. */
  private async runBatch(
    obligation: AnyObligation,
    effect: string,
    group: string,
    members: readonly LiveMachine[],
  ): Promise<number> {
    const items = members.map((machine) => {
      if (machine.snapshot !== machine.persistedSnapshot) {
        throw new Error(`${machine.id}: effect '${effect}' requested by a snapshot that is not on disk`);
      }
      return { id: machine.id, context: machine.snapshot.context as unknown };
    });
    const events = await this.batchChain({ kind: obligation.kind, effect, group, items, obligation });
    if (events === null) return 0;
    this.table.crash('after-effect', `batch:${group}:${effect}`);
    let archived = 0;
    for (const machine of members) {
      const event = events.get(machine.id);
      const feed = event === undefined ? undefined : () => this.table.dispatch(machine, event);
      if (
        await this.runEffectsContained(
          machine,
          'settling a batch result failed; machine back to its state on disk',
          feed,
        )
      )
        archived += 1;
    }
    return archived;
  }

  /** The engine's own step of create: the machine, amended in memory, as a change to commit. */
  private createTerminal(call: CreateCall & { amend?: AmendFn }): Change {
    const obligation = this.options.obligations.find((o) => o.kind === call.kind)!;
    const machine = this.table.create(obligation, call.id, call.input);
    const event = call.amend?.(machine) ?? null;
    if (event !== null) machine.snapshot = this.table.step(machine, event);
    return this.table.changeOf(machine, 'created', null, machine.snapshot);
  }
}
