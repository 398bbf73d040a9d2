/**
 * The host: owns one flat machine per obligation (its snapshot, stepped by the machine's own
 * transition function), and is the only place effects happen.
 *
 * The rule it exists to keep: a snapshot is on disk before any effect it asks for starts.
 * Every event goes through `dispatch` (send, persist if changed), every effect through
 * `settle` (which asserts the current snapshot is the persisted one before performing it).
 * After a crash, `restore` rebuilds the machines from the store and the first tick performs the
 * effect each persisted state still asks for; every effect is idempotent or reads the chain
 * first, so performing it again is safe.
 */
import type { AnyMachineSnapshot, InspectionEvent } from 'xstate';
import {
  DECIMAL_INTEGER,
  machineCatalog,
  swapFulfillment,
  type JobContext,
  type JobEvent,
  type JobTerms,
  type MachineEntry,
  type SwapContext,
  type SwapEvent,
  type SwapTerms,
} from '../../machines/index.ts';
import type { MachineRecord, SnapshotStore } from '../store/snapshotStore.ts';
import type { RecoveryLog } from '../store/recoveryLog.ts';
import { ClaimSchedule, DEFAULT_CLAIM_SCHEDULE, type ClaimScheduleOptions } from './claimSchedule.ts';
import { isSimulatedCrash, type CrashHook, type CrashPoint } from './crashpoints.ts';
import { cancelInBatches, claimInBatches, claimTaskOf, type ClaimTask } from './batchClaimer.ts';
import type {
  AssignedSwap,
  Clock,
  Escrow,
  JobObservation,
  JobSource,
  Logger,
  SwapContract,
  TransferSender,
} from './ports.ts';
import { jobRecoveryEntry, swapRecoveryEntry } from './recoveryEntries.ts';
import { stepperFor, type MachineStepper } from './machineStepper.ts';
import { markFulfilled, readSwap, sendTransfer, type SwapEffectPorts } from './swapEffects.ts';

export interface HostOptions {
  readonly store: SnapshotStore;
  readonly recoveryLog: RecoveryLog;
  readonly swapContract: SwapContract | null;
  readonly senders: ReadonlyMap<string, TransferSender>;
  readonly escrows: ReadonlyMap<string, Escrow>;
  readonly clock: Clock | null;
  readonly jobSource: JobSource | null;
  readonly log: Logger;
  readonly marginBlocks?: number;
  readonly claimSchedule?: ClaimScheduleOptions;
  /** Tests and the simulator kill the host at named points through this. */
  readonly crashHook?: CrashHook;
  /** Effects one machine may perform in one tick: a bound on any retry loop. */
  readonly maxEffectStepsPerTick?: number;
  /** XState inspection of every machine's microsteps (transition coverage). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** Told of every durable transition, after it is on disk (metrics). Must not throw. */
  readonly onTransition?: (transition: DurableTransition) => void;
}

export interface DurableTransition {
  readonly id: string;
  readonly kind: Kind;
  /** Null for a machine just created. */
  readonly from: string | null;
  readonly to: string;
  readonly event: string;
}

export type Kind = 'swap' | 'job';

export interface LiveMachine {
  readonly id: string;
  readonly kind: Kind;
  readonly entry: MachineEntry;
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

/** Swaps holding a signed transfer first (see sortedLive), then by id. */
const signedFirst = (m: LiveMachine): number =>
  m.kind === 'swap' && (m.snapshot.context as SwapContext).transfer !== null ? 0 : 1;
const liveOrder = (a: LiveMachine, b: LiveMachine): number =>
  signedFirst(a) - signedFirst(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Whether two snapshots of a flat machine would persist the same: same state, same status,
 * and contexts whose fields are the same values. An assign that writes back what was there
 * makes a new snapshot object with nothing new to write (a read failing twice the same way).
 */
function sameContent(a: AnyMachineSnapshot, b: AnyMachineSnapshot): boolean {
  if (a.value !== b.value || a.status !== b.status) return false;
  const left = a.context as Record<string, unknown>;
  const right = b.context as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.is(left[key], right[key]));
}

export interface TickSummary {
  readonly height: number | null;
  readonly now: number | null;
  readonly created: number;
  readonly archived: number;
  readonly live: number;
}

export const swapMachineId = (swapId: string): string => `swap:${swapId}`;
export const jobMachineId = (terms: JobTerms): string => `job:${terms.chain}:${terms.jobId}`;

const DEFAULT_MAX_EFFECT_STEPS = 8;

/**
 * What persistAll and dispatchAll return when given nothing to do. They are called several
 * times per machine per poll and most calls are empty; an async function would make, resolve
 * and return a promise of its own for each (3 to 6% of the simulator's CPU per job lifecycle).
 */
const NOTHING_TO_DO: Promise<void> = Promise.resolve();

/** Effects performed for many machines at once, one transaction per chain. */
const BATCHED_EFFECTS: Readonly<Record<string, typeof claimInBatches>> = {
  claimLock: claimInBatches,
  cancelExpiredLock: cancelInBatches,
};
/** The same, as the list settleBatches walks at every tick (in the record's order). */
const BATCHED_EFFECT_RUNS = Object.entries(BATCHED_EFFECTS);

/**
 * A snapshot could not be made durable. The in-memory machine is now ahead of the disk, so
 * the host stops (the process exits, the supervisor restarts it from the store): no effect
 * runs on the strength of a write that did not happen.
 */
export class StoreWriteFailed extends Error {
  override readonly name = 'StoreWriteFailed';
  constructor(
    readonly machineId: string,
    cause: unknown,
  ) {
    super(`could not persist ${machineId}: ${String(cause)}`, { cause });
  }
}

/** A write to the store; a failure becomes StoreWriteFailed (a simulated crash stays itself). */
async function storeWrite(machineIds: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    throw new StoreWriteFailed(machineIds, error);
  }
}

/** Errors that end the host's life: anything else is contained to one machine. */
export function isFatalToHost(error: unknown): boolean {
  return isSimulatedCrash(error) || error instanceof StoreWriteFailed;
}

export class Host {
  protected readonly live = new Map<string, LiveMachine>();
  private readonly schedule: ClaimSchedule;
  private readonly swapPorts: SwapEffectPorts | null;
  private readonly maxSteps: number;

  /** Use `Host.restore`: a host without its restored machines would start them again. */
  constructor(protected readonly options: HostOptions) {
    this.schedule = new ClaimSchedule(options.claimSchedule ?? DEFAULT_CLAIM_SCHEDULE);
    this.swapPorts =
      options.swapContract === null
        ? null
        : { contract: options.swapContract, senders: options.senders, log: options.log };
    this.maxSteps = options.maxEffectStepsPerTick ?? DEFAULT_MAX_EFFECT_STEPS;
  }

  /** Builds a host and its machines from every live record in the store. */
  static async restore<H extends Host>(this: new (options: HostOptions) => H, options: HostOptions): Promise<H> {
    const host = new this(options);
    const rewrites: Change[] = [];
    for (const record of await options.store.loadLive()) {
      const rewrite = host.revive(record);
      if (rewrite !== null) rewrites.push(rewrite);
    }
    await host.persistAll(rewrites);
    return host;
  }

  /**
   * A live machine from its record. Returns the rewrite it needs when its snapshot does not
   * restore to itself: that must be on disk before any effect reads it (restore commits them).
   */
  protected revive(record: MachineRecord): Change | null {
    const entry = (machineCatalog as Record<string, MachineEntry>)[record.machine.name];
    if (entry === undefined) throw new Error(`${record.id}: no machine named '${record.machine.name}'`);
    const kind: Kind = entry.machine === swapFulfillment ? 'swap' : 'job';
    const stepper = this.stepperOf(entry);
    const stored = record.snapshot as { value: unknown; status: unknown; context: unknown };
    const snapshot = stepper.restore(stored);
    const machine: LiveMachine = {
      id: record.id,
      kind,
      entry,
      stepper,
      snapshot,
      persistedSnapshot: snapshot,
      seq: record.seq,
    };
    this.live.set(record.id, machine);
    if (kind === 'swap') {
      const context = snapshot.context as SwapContext;
      if (context.transfer !== null) this.options.senders.get(context.terms.destChain)?.adopt?.(context.transfer);
    }
    // Resolving keeps the stored context object; a snapshot whose state or status resolves
    // to something else must be rewritten before any effect reads it.
    const restoresToItself =
      snapshot.value === stored.value && snapshot.status === stored.status && snapshot.context === stored.context;
    return restoresToItself ? null : this.changeOf(machine, 'restored', null, snapshot);
  }

  /** One stepper per machine, shared by every obligation of that machine. */
  private stepperOf(entry: MachineEntry): MachineStepper {
    return stepperFor(entry.machine, this.options.inspect);
  }

  /**
   * After an unexpected error, the machine may be ahead of its record on disk (an event
   * applied, its snapshot never written): it goes back to the snapshot on disk, the truth.
   */
  private rewind(machine: LiveMachine): void {
    if (machine.persistedSnapshot === null) {
      this.live.delete(machine.id);
      return;
    }
    machine.snapshot = machine.persistedSnapshot;
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Each live machine's id, kind and state, for progress and status. */
  machines(): Array<{ id: string; kind: Kind; state: string }> {
    return [...this.live.values()].map((m) => ({ id: m.id, kind: m.kind, state: String(m.snapshot.value) }));
  }

  /**
   * Everything in memory that decides what this host does next, as one string: the live
   * machines (their snapshots, and whether each is on disk) and the claim schedule. The
   * crash-point explorer compares hosts by it.
   */
  memoryImage(): string {
    const machines = this.sortedLive().map((m) => [
      m.id,
      JSON.stringify(m.stepper.persisted(m.snapshot)),
      m.snapshot === m.persistedSnapshot,
    ]);
    return JSON.stringify({ machines, schedule: this.schedule.image() });
  }

  /** One round: observe the chains, feed time and observations to the machines, perform effects. */
  async tick(): Promise<TickSummary> {
    let created = 0;
    const height = await this.observeSwaps((n) => (created += n));
    const now = await this.observeJobs((n) => (created += n));
    let archived = 0;
    for (const machine of this.sortedLive()) {
      try {
        if (await this.settle(machine, height)) archived += 1;
      } catch (error) {
        if (isFatalToHost(error)) throw error;
        this.options.log.error(
          { machine: machine.id, err: String(error) },
          'effect failed unexpectedly; machine back to its state on disk',
        );
        this.rewind(machine);
      }
    }
    archived += await this.settleBatches(height);
    return { height, now, created, archived, live: this.live.size };
  }

  /**
   * Live machines in a deterministic order, those holding a signed transfer first: bytes
   * signed before a crash are broadcast before anything new is signed, so a restart never
   * hands their nonce to another transfer.
   */
  protected sortedLive(): LiveMachine[] {
    return [...this.live.values()].sort(liveOrder);
  }

  private async observeSwaps(countCreated: (n: number) => void): Promise<number | null> {
    const contract = this.options.swapContract;
    if (contract === null) return null;
    const height = await this.readOrNull(
      () => contract.currentBlock(),
      'swap contract unreachable; swaps wait for the next tick',
    );
    if (height === null) return null;
    const listed = await this.listSwaps(contract);
    const created: Change[] = [];
    for (const { terms, status } of listed ?? []) {
      const id = swapMachineId(terms.swapId);
      if (this.live.has(id) || this.options.store.placeOf(id) !== null) continue;
      if (status !== 'Active') {
        // Only a store that lost records could meet one of our swaps already Fulfilled.
        this.options.log.error(
          { machine: id, status },
          'swap assigned to us is unknown to the store and not Active; not touching it',
        );
        continue;
      }
      created.push(this.createSwap(terms, height));
    }
    // Each step below is one commit for every machine it changes (group commit).
    await this.persistAll(created);
    for (const change of created) {
      if (change.snapshot.value === 'Rejected') {
        this.options.log.warn(
          { machine: change.machine.id, reason: (change.snapshot.context as SwapContext).reason },
          'swap rejected: nothing will be sent',
        );
      }
    }
    countCreated(created.length);
    const swaps = this.sortedLive().filter((m) => m.kind === 'swap');
    await this.dispatchAll(swaps.map((machine) => [machine, { type: 'BLOCK', height }]));
    if (listed !== null) {
      const listedIds = new Set(listed.map((s) => s.terms.swapId));
      const gone = swaps.filter(
        (m) => this.live.has(m.id) && !listedIds.has((m.snapshot.context as SwapContext).terms.swapId),
      );
      await this.dispatchAll(gone.map((machine) => [machine, { type: 'SWAP_GONE' }]));
    }
    return height;
  }

  /** The swaps assigned to us, or null when the poll failed. */
  protected listSwaps(contract: SwapContract): Promise<AssignedSwap[] | null> {
    // A failed poll says nothing about which swaps exist: nothing is treated as gone (#353).
    return this.readOrNull(() => contract.listAssigned(), 'listing swaps failed; no swap is treated as gone this tick');
  }

  /** A read from a chain, or null (logged) when it fails: the tick goes on without it. */
  private async readOrNull<T>(read: () => Promise<T>, whenFailed: string): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      if (isSimulatedCrash(error)) throw error;
      this.options.log.warn({ err: String(error) }, whenFailed);
      return null;
    }
  }

  /** The margin the machines of new swaps are given. */
  protected marginBlocks(): number | undefined {
    return this.options.marginBlocks;
  }

  /** A new swap's machine, rejected at once if this miner cannot serve it; not yet on disk. */
  private createSwap(terms: SwapTerms, height: number): Change {
    const margin = this.marginBlocks();
    const machine = this.adopt(swapMachineId(terms.swapId), 'swap', machineCatalog.swapFulfillment, {
      terms,
      block: height,
      ...(margin === undefined ? {} : { marginBlocks: margin }),
    });
    const problem = this.chainProblem(terms, height);
    if (problem !== null && machine.snapshot.value === 'Pending')
      machine.snapshot = this.step(machine, { type: 'REJECT', reason: problem });
    return this.changeOf(machine, 'created', null, machine.snapshot);
  }

  /** What this miner's chains say is wrong with a swap: no sender, a bad address, too late. */
  private chainProblem(terms: SwapTerms, height: number): string | null {
    const sender = this.options.senders.get(terms.destChain);
    if (sender === undefined) return `no transfer sender is configured for destination chain '${terms.destChain}'`;
    const addressProblem = sender.addressProblem(terms.userDestAddress);
    if (addressProblem !== null) return addressProblem;
    if (terms.timeoutBlock <= height)
      return `timeout_block ${terms.timeoutBlock} is already past (current block ${height})`;
    return null;
  }

  private async observeJobs(countCreated: (n: number) => void): Promise<number | null> {
    const { jobSource, clock } = this.options;
    const now =
      clock === null
        ? null
        : await this.readOrNull(() => clock.now(), 'escrow chain clock unreachable; no claim runs this tick');
    if (jobSource !== null) {
      const observations =
        (await this.readOrNull(() => jobSource.poll(), 'job source unreachable; jobs wait for the next tick')) ?? [];
      const created: Change[] = [];
      const observed: Array<[LiveMachine, JobObservation]> = [];
      for (const observation of observations) {
        const id = jobMachineId(observation.terms);
        if (!this.live.has(id)) {
          if (this.options.store.placeOf(id) !== null) continue;
          const machine = this.adopt(id, 'job', machineCatalog.jobSettlement, {
            terms: observation.terms,
            now: now ?? 0,
          });
          created.push(this.changeOf(machine, 'created', null, machine.snapshot));
        }
        observed.push([this.live.get(id)!, observation]);
      }
      await this.persistAll(created);
      countCreated(created.length);
      // filter then map, not flatMap: this runs at every poll, and V8 optimizes filter and map
      // but not flatMap, whose one-element arrays are garbage too.
      const ended = observed.filter(([machine, { phase, cost }]) => this.runEnded(machine, phase, cost));
      await this.dispatchAll(
        ended.map(([machine, o]) => [
          machine,
          { type: 'RUN_ENDED', cost: o.cost!, durationSecs: o.durationSecs ?? null, resultHash: o.resultHash ?? null },
        ]),
      );
      const published = observed.filter(
        ([machine, { phase }]) => machine.snapshot.value === 'PublishingResults' && phase === 'published',
      );
      await this.dispatchAll(published.map(([machine]) => [machine, { type: 'RESULTS_PUBLISHED' }]));
    }
    if (now === null) return null;
    const waiting = this.sortedLive().filter((m) => m.kind === 'job' && m.snapshot.value === 'JobSettle');
    const locks = waiting.map((m) => (m.snapshot.context as JobContext).terms.lock);
    const expiries = locks.filter((lock) => lock !== null).map((lock) => lock.expiry);
    if (this.schedule.due(now, expiries))
      await this.dispatchAll(waiting.map((machine) => [machine, { type: 'SETTLE_DUE', now }]));
    return now;
  }

  /** Whether a running job's run has ended with a cost the machine can take. */
  private runEnded(machine: LiveMachine, phase: JobObservation['phase'], cost: string | null): boolean {
    if (machine.snapshot.value !== 'Running' || phase === 'running') return false;
    if (cost === null || !DECIMAL_INTEGER.test(cost)) {
      this.options.log.error(
        { machine: machine.id, cost },
        'job ended with a cost that is not a non-negative integer; left Running',
      );
      return false;
    }
    return true;
  }

  /** A new machine, live but not yet on disk. */
  protected adopt(id: string, kind: Kind, entry: MachineEntry, input: unknown): LiveMachine {
    const stepper = this.stepperOf(entry);
    const snapshot = stepper.initial(input);
    // XState turns a guard that throws during the first eventless transitions into an error status.
    if (snapshot.status === 'error') throw new Error(`${id}: machine failed to start: ${String(snapshot.error)}`);
    const machine: LiveMachine = { id, kind, entry, stepper, snapshot, persistedSnapshot: null, seq: 0 };
    this.live.set(id, machine);
    return machine;
  }

  /** The machine's next snapshot on `event`; a machine that throws is a bug, named. */
  private step(machine: LiveMachine, event: SwapEvent | JobEvent): AnyMachineSnapshot {
    let next: AnyMachineSnapshot;
    try {
      next = machine.stepper.next(machine.snapshot, event);
    } catch (error) {
      throw new Error(`${machine.id}: machine failed on ${event.type}: ${String(error)}`, { cause: error });
    }
    if (next.status === 'error')
      throw new Error(`${machine.id}: machine failed on ${event.type}: ${String(next.error)}`);
    return next;
  }

  /** Sends an event and makes the resulting snapshot durable. Returns whether it changed. */
  protected async dispatch(machine: LiveMachine, event: SwapEvent | JobEvent): Promise<boolean> {
    const change = this.apply(machine, event);
    if (change === null) return false;
    await this.persistAll([change]);
    return true;
  }

  /** Sends each machine its event, then makes every changed snapshot durable in one commit. */
  protected dispatchAll(events: ReadonlyArray<readonly [LiveMachine, SwapEvent | JobEvent]>): Promise<void> {
    // Most polls have no event of a given kind for any machine: see NOTHING_TO_DO.
    return events.length === 0 ? NOTHING_TO_DO : this.dispatchEach(events);
  }

  /** dispatchAll of at least one event. */
  private async dispatchEach(events: ReadonlyArray<readonly [LiveMachine, SwapEvent | JobEvent]>): Promise<void> {
    let changes: Change[] = [];
    const changed = new Set<LiveMachine>();
    for (const [machine, event] of events) {
      // A second event for one machine waits for the first to be on disk: one record each.
      if (changed.has(machine)) {
        await this.persistAll(changes);
        changes = [];
        changed.clear();
      }
      const change = this.apply(machine, event);
      if (change !== null) {
        changes.push(change);
        changed.add(machine);
      }
    }
    await this.persistAll(changes);
  }

  /** Applies an event in memory; the change to write, or null when there is nothing to write. */
  private apply(machine: LiveMachine, event: SwapEvent | JobEvent): Change | null {
    // A final machine awaiting its record and archive takes no more events.
    if (machine.snapshot.status !== 'active') return null;
    const before = machine.snapshot;
    const snapshot = this.step(machine, event);
    // XState hands back the very same snapshot when an event changes nothing: no write.
    if (snapshot === before) return null;
    machine.snapshot = snapshot;
    if (machine.persistedSnapshot !== null && sameContent(snapshot, machine.persistedSnapshot)) {
      machine.persistedSnapshot = snapshot;
      return null;
    }
    return this.changeOf(machine, event.type, String(before.value), snapshot);
  }

  private changeOf(machine: LiveMachine, event: string, from: string | null, snapshot: AnyMachineSnapshot): Change {
    // XState's snapshots and contexts are immutable: the store may keep this object as it is.
    return { machine, event, from, snapshot, persisted: machine.stepper.persisted(snapshot) };
  }

  /**
   * Makes every change durable in one commit, then marks each machine's snapshot as the one
   * on disk. Each machine has at most one change per commit.
   */
  protected persistAll(changes: readonly Change[]): Promise<void> {
    // Most events change nothing to write: see NOTHING_TO_DO.
    return changes.length === 0 ? NOTHING_TO_DO : this.commit(changes);
  }

  /** persistAll of at least one change. */
  private async commit(changes: readonly Change[]): Promise<void> {
    for (const change of changes) this.crash('before-persist', change.machine.id);
    const records = changes.map(({ machine, persisted }) => ({
      id: machine.id,
      machine: { name: machine.entry.name, version: machine.entry.version },
      seq: machine.seq + 1,
      snapshot: persisted,
    }));
    if (new Set(records.map((r) => r.id)).size !== records.length)
      throw new Error('persistAll: two changes of one machine in one commit');
    await storeWrite(changes.map((c) => c.machine.id).join(', '), () => this.options.store.putMany(records));
    for (const [i, { machine, event, from, snapshot }] of changes.entries()) {
      machine.seq = records[i]!.seq;
      machine.persistedSnapshot = snapshot;
      const to = String(snapshot.value);
      this.options.log.info({ machine: machine.id, from, to, event }, 'transition');
      this.options.onTransition?.({ id: machine.id, kind: machine.kind, from, to, event });
    }
    for (const change of changes) this.crash('after-persist', change.machine.id);
  }

  /**
   * Performs the effects the machine's state asks for, feeding each result back, until it
   * waits or the per-tick bound is reached. Archives a final machine. Returns true if archived.
   */
  private async settle(machine: LiveMachine, height: number | null): Promise<boolean> {
    for (let step = 0; step < this.maxSteps; step += 1) {
      const snapshot = machine.snapshot;
      const effect = machine.stepper.meta(snapshot).effect;
      if (effect !== undefined && Object.hasOwn(BATCHED_EFFECTS, effect)) return false;
      if (effect !== undefined) {
        if (machine.snapshot !== machine.persistedSnapshot) {
          throw new Error(`${machine.id}: effect '${effect}' requested by a snapshot that is not on disk`);
        }
        const event = await this.perform(machine, effect, height);
        this.crash('after-effect', machine.id);
        if (event !== null) {
          if (await this.dispatch(machine, event)) continue;
          return false;
        }
      }
      if (machine.snapshot.status !== 'done') return false;
      if (machine.snapshot !== machine.persistedSnapshot) {
        throw new Error(`${machine.id}: final state '${String(machine.snapshot.value)}' is not on disk; not archiving`);
      }
      await storeWrite(machine.id, () => this.options.store.archive(machine.id));
      this.live.delete(machine.id);
      this.crash('after-archive', machine.id);
      return true;
    }
    return false;
  }

  /** Claims and cancels for every job that asks for one, a batch per chain. */
  private async settleBatches(height: number | null): Promise<number> {
    let archived = 0;
    // Jobs sort by id alone (holding a signed transfer is a swap's), and no machine is created
    // here: one sorted list serves every effect, less the jobs an earlier effect archived or
    // rewound out of the live set.
    const jobs = this.sortedLive().filter((m) => m.kind === 'job');
    for (const [effect, run] of BATCHED_EFFECT_RUNS) {
      const byChain = new Map<string, LiveMachine[]>();
      for (const machine of jobs) {
        if (this.live.get(machine.id) !== machine || machine.stepper.meta(machine.snapshot).effect !== effect) continue;
        const chain = (machine.snapshot.context as JobContext).terms.chain;
        const batch = byChain.get(chain);
        if (batch === undefined) byChain.set(chain, [machine]);
        else batch.push(machine);
      }
      for (const [chain, machines] of byChain) {
        const escrow = this.options.escrows.get(chain);
        if (escrow === undefined) {
          this.options.log.error(
            { chain, machines: machines.map((m) => m.id) },
            `no escrow client for chain '${chain}'; jobs wait`,
          );
          continue;
        }
        const tasks: ClaimTask[] = machines.map((machine) => {
          if (machine.snapshot !== machine.persistedSnapshot) {
            throw new Error(`${machine.id}: effect '${effect}' requested by a snapshot that is not on disk`);
          }
          return claimTaskOf(machine.id, machine.snapshot.context as JobContext);
        });
        const events = await this.runBatch(effect, run, escrow, tasks);
        this.crash('after-effect', `batch:${chain}:${effect}`);
        for (const machine of machines) {
          try {
            const event = events.get(machine.id);
            if (event !== undefined) await this.dispatch(machine, event);
            if (await this.settle(machine, height)) archived += 1;
          } catch (error) {
            if (isFatalToHost(error)) throw error;
            this.options.log.error(
              { machine: machine.id, err: String(error) },
              'settling a batch result failed; machine back to its state on disk',
            );
            this.rewind(machine);
          }
        }
      }
    }
    return archived;
  }

  /** One batched effect on one chain; the results by machine id. */
  protected runBatch(
    _effect: string,
    run: typeof claimInBatches,
    escrow: Escrow,
    tasks: readonly ClaimTask[],
  ): Promise<Map<string, SwapEvent | JobEvent>> {
    return run(escrow, tasks, this.options.log);
  }

  protected async perform(
    machine: LiveMachine,
    effect: string,
    height: number | null,
  ): Promise<SwapEvent | JobEvent | null> {
    const snapshot = machine.snapshot;
    const state = String(snapshot.value);
    if (machine.kind === 'swap') {
      const context = snapshot.context as SwapContext;
      const ports = this.swapPorts;
      if (effect === 'recordRecovery')
        return this.record(machine, () =>
          swapRecoveryEntry(machine.id, state, machine.stepper.meta(snapshot).record ?? 'stuck-funds', context),
        );
      if (ports === null) return null; // restored without a swap contract: wait for one
      switch (effect) {
        case 'sendTransfer':
          return sendTransfer(ports, machine.id, context);
        case 'markFulfilled':
          return height === null ? null : markFulfilled(ports, machine.id, context, height);
        case 'readSwap':
          return readSwap(ports, machine.id, context);
      }
    } else {
      const context = snapshot.context as JobContext;
      switch (effect) {
        case 'recordRecovery':
          return this.record(machine, () =>
            jobRecoveryEntry(machine.id, state, machine.stepper.meta(snapshot).record ?? 'unsettled-claim', context),
          );
      }
    }
    throw new Error(`${machine.id}: no host implementation for effect '${effect}'`);
  }

  private async record(machine: LiveMachine, build: () => Parameters<RecoveryLog['record']>[0]): Promise<null> {
    const entry = build();
    const outcome = await this.options.recoveryLog.record(entry);
    this.options.log.warn(
      { machine: machine.id, recovery: outcome, kind: entry.kind, reason: entry.reason },
      'recovery entry',
    );
    this.crash('after-record', machine.id);
    return null;
  }

  private crash(point: CrashPoint, machineId: string): void {
    this.options.crashHook?.(point, machineId);
  }
}
