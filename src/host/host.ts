/**
 * The host: owns one flat actor per obligation, and is the only place effects happen.
 *
 * The rule it exists to keep: a snapshot is on disk before any effect it asks for starts.
 * Every event goes through `dispatch` (send, persist if changed), every effect through
 * `settle` (which asserts the current snapshot is the persisted one before performing it).
 * After a crash, `restore` rebuilds the actors from the store and the first tick performs the
 * effect each persisted state still asks for; every effect is idempotent or reads the chain
 * first, so performing it again is safe.
 */
import { createActor, type AnyActorRef, type InspectionEvent } from 'xstate';
import {
  DECIMAL_INTEGER,
  jobSettlement,
  machineCatalog,
  metaOfState,
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
import { cancelInBatches, claimInBatches, type ClaimTask } from './batchClaimer.ts';
import type { AssignedSwap, Clock, Escrow, JobSource, Logger, SwapContract, TransferSender } from './ports.ts';
import { jobRecoveryEntry, swapRecoveryEntry } from './recoveryEntries.ts';
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
  /** XState inspection of every actor (transition coverage). */
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
  readonly actor: AnyActorRef;
  /** JSON of the snapshot on disk; null before the first write. */
  persistedJson: string | null;
  /** The actor snapshot that JSON was taken from: effects run only while it is current. */
  persistedSnapshot: unknown;
  seq: number;
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

/** Effects performed for many machines at once, one transaction per chain. */
const BATCHED_EFFECTS: Readonly<Record<string, typeof claimInBatches>> = {
  claimLock: claimInBatches,
  cancelExpiredLock: cancelInBatches,
};

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
      options.swapContract === null ? null : { contract: options.swapContract, senders: options.senders, log: options.log };
    this.maxSteps = options.maxEffectStepsPerTick ?? DEFAULT_MAX_EFFECT_STEPS;
  }

  /** Builds a host and its actors from every live record in the store. */
  static async restore<H extends Host>(this: new (options: HostOptions) => H, options: HostOptions): Promise<H> {
    const host = new this(options);
    for (const record of await options.store.loadLive()) await host.revive(record);
    return host;
  }

  protected async revive(record: MachineRecord): Promise<void> {
    const entry = (machineCatalog as Record<string, MachineEntry>)[record.machine.name];
    if (entry === undefined) throw new Error(`${record.id}: no machine named '${record.machine.name}'`);
    const kind: Kind = entry.machine === swapFulfillment ? 'swap' : 'job';
    const actor = createActor(entry.machine, { snapshot: record.snapshot as never, ...this.inspection() }).start();
    const machine: LiveMachine = {
      id: record.id,
      kind,
      entry,
      actor,
      persistedJson: JSON.stringify(record.snapshot),
      persistedSnapshot: actor.getSnapshot(),
      seq: record.seq,
    };
    this.live.set(record.id, machine);
    if (kind === 'swap') {
      const context = actor.getSnapshot().context as SwapContext;
      if (context.transfer !== null) this.options.senders.get(context.terms.destChain)?.adopt?.(context.transfer);
    }
    // A snapshot that does not restore to itself must be rewritten before any effect reads it.
    if (this.currentJson(machine) !== machine.persistedJson) await this.persist(machine, 'restored');
  }

  /**
   * After an unexpected error, the actor may be ahead of its record on disk (an event applied,
   * its snapshot never written): it is rebuilt from the record, which is the truth.
   */
  private rewind(machine: LiveMachine): void {
    if (machine.persistedJson === null) {
      machine.actor.stop();
      this.live.delete(machine.id);
      return;
    }
    if (machine.actor.getSnapshot() === machine.persistedSnapshot) return;
    machine.actor.stop();
    const actor = createActor(machine.entry.machine, { snapshot: JSON.parse(machine.persistedJson) as never, ...this.inspection() }).start();
    const rebuilt: LiveMachine = { ...machine, actor, persistedSnapshot: actor.getSnapshot() };
    this.live.set(machine.id, rebuilt);
  }

  private inspection(): { inspect?: (event: InspectionEvent) => void } {
    return this.options.inspect === undefined ? {} : { inspect: this.options.inspect };
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Each live machine's id, kind and state, for progress and status. */
  machines(): Array<{ id: string; kind: Kind; state: string }> {
    return [...this.live.values()].map((m) => ({ id: m.id, kind: m.kind, state: String(m.actor.getSnapshot().value) }));
  }

  /**
   * Everything in memory that decides what this host does next, as one string: the live
   * machines (their snapshots, and whether each is on disk) and the claim schedule. The
   * crash-point explorer compares hosts by it.
   */
  memoryImage(): string {
    const machines = this.sortedLive().map((m) => [m.id, this.currentJson(m), m.actor.getSnapshot() === m.persistedSnapshot]);
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
        this.options.log.error({ machine: machine.id, err: String(error) }, 'effect failed unexpectedly; machine back to its state on disk');
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
    const rank = (m: LiveMachine): number => (m.kind === 'swap' && (m.actor.getSnapshot().context as SwapContext).transfer !== null ? 0 : 1);
    return [...this.live.values()].sort((a, b) => rank(a) - rank(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private async observeSwaps(countCreated: (n: number) => void): Promise<number | null> {
    const contract = this.options.swapContract;
    if (contract === null) return null;
    const height = await this.readOrNull(() => contract.currentBlock(), 'swap contract unreachable; swaps wait for the next tick');
    if (height === null) return null;
    const listed = await this.listSwaps(contract);
    let created = 0;
    for (const { terms, status } of listed ?? []) {
      const id = swapMachineId(terms.swapId);
      if (this.live.has(id) || this.options.store.placeOf(id) !== null) continue;
      if (status !== 'Active') {
        // Only a store that lost records could meet one of our swaps already Fulfilled.
        this.options.log.error({ machine: id, status }, 'swap assigned to us is unknown to the store and not Active; not touching it');
        continue;
      }
      await this.createSwap(terms, height);
      created += 1;
    }
    countCreated(created);
    const listedIds = listed === null ? null : new Set(listed.map((s) => s.terms.swapId));
    for (const machine of this.sortedLive()) {
      if (machine.kind !== 'swap') continue;
      await this.dispatch(machine, { type: 'BLOCK', height });
      const swapId = (machine.actor.getSnapshot().context as SwapContext).terms.swapId;
      if (listedIds !== null && !listedIds.has(swapId)) await this.dispatch(machine, { type: 'SWAP_GONE' });
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

  private async createSwap(terms: SwapTerms, height: number): Promise<void> {
    const margin = this.marginBlocks();
    const actor = createActor(swapFulfillment, {
      input: { terms, block: height, ...(margin === undefined ? {} : { marginBlocks: margin }) },
      ...this.inspection(),
    }).start();
    const machine = this.adopt(swapMachineId(terms.swapId), 'swap', machineCatalog.swapFulfillment, actor);
    const problem = this.chainProblem(terms, height);
    if (problem !== null && machine.actor.getSnapshot().value === 'Pending') actor.send({ type: 'REJECT', reason: problem });
    await this.persist(machine, 'created');
    const created = machine.actor.getSnapshot();
    if (created.value === 'Rejected') {
      this.options.log.warn({ machine: machine.id, reason: (created.context as SwapContext).reason }, 'swap rejected: nothing will be sent');
    }
  }

  /** What this miner's chains say is wrong with a swap: no sender, a bad address, too late. */
  private chainProblem(terms: SwapTerms, height: number): string | null {
    const sender = this.options.senders.get(terms.destChain);
    if (sender === undefined) return `no transfer sender is configured for destination chain '${terms.destChain}'`;
    const addressProblem = sender.addressProblem(terms.userDestAddress);
    if (addressProblem !== null) return addressProblem;
    if (terms.timeoutBlock <= height) return `timeout_block ${terms.timeoutBlock} is already past (current block ${height})`;
    return null;
  }

  private async observeJobs(countCreated: (n: number) => void): Promise<number | null> {
    const { jobSource, clock } = this.options;
    const now = clock === null ? null : await this.readOrNull(() => clock.now(), 'escrow chain clock unreachable; no claim runs this tick');
    if (jobSource !== null) {
      const observations = (await this.readOrNull(() => jobSource.poll(), 'job source unreachable; jobs wait for the next tick')) ?? [];
      let created = 0;
      for (const observation of observations) {
        const id = jobMachineId(observation.terms);
        if (!this.live.has(id)) {
          if (this.options.store.placeOf(id) !== null) continue;
          const actor = createActor(jobSettlement, { input: { terms: observation.terms, now: now ?? 0 }, ...this.inspection() }).start();
          await this.persist(this.adopt(id, 'job', machineCatalog.jobSettlement, actor), 'created');
          created += 1;
        }
        await this.advanceJob(this.live.get(id)!, observation.phase, observation.cost);
      }
      countCreated(created);
    }
    if (now === null) return null;
    const waiting = this.sortedLive().filter((m) => m.kind === 'job' && m.actor.getSnapshot().value === 'JobSettle');
    const expiries = waiting.flatMap((m) => {
      const lock = (m.actor.getSnapshot().context as JobContext).terms.lock;
      return lock === null ? [] : [lock.expiry];
    });
    if (this.schedule.due(now, expiries)) {
      for (const machine of waiting) await this.dispatch(machine, { type: 'SETTLE_DUE', now });
    }
    return now;
  }

  private async advanceJob(machine: LiveMachine, phase: 'running' | 'ended' | 'published', cost: string | null): Promise<void> {
    const state = machine.actor.getSnapshot().value;
    if (state === 'Running' && phase !== 'running') {
      if (cost === null || !DECIMAL_INTEGER.test(cost)) {
        this.options.log.error({ machine: machine.id, cost }, 'job ended with a cost that is not a non-negative integer; left Running');
        return;
      }
      await this.dispatch(machine, { type: 'RUN_ENDED', cost });
    }
    if (machine.actor.getSnapshot().value === 'PublishingResults' && phase === 'published') {
      await this.dispatch(machine, { type: 'RESULTS_PUBLISHED' });
    }
  }

  protected adopt(id: string, kind: Kind, entry: MachineEntry, actor: AnyActorRef): LiveMachine {
    const machine: LiveMachine = { id, kind, entry, actor, persistedJson: null, persistedSnapshot: null, seq: 0 };
    this.live.set(id, machine);
    return machine;
  }

  private currentJson(machine: LiveMachine): string {
    return JSON.stringify(machine.actor.getPersistedSnapshot());
  }

  /** Sends an event and makes the resulting snapshot durable. Returns whether it changed. */
  protected async dispatch(machine: LiveMachine, event: SwapEvent | JobEvent): Promise<boolean> {
    // A final machine awaiting its record and archive takes no more events.
    if (machine.actor.getSnapshot().status !== 'active') return false;
    const before = machine.actor.getSnapshot();
    machine.actor.send(event);
    const snapshot = machine.actor.getSnapshot();
    // XState hands back the very same snapshot when an event changes nothing: no write.
    if (snapshot === before) return false;
    if (snapshot.status === 'error') throw new Error(`${machine.id}: machine failed on ${event.type}: ${String(snapshot.error)}`);
    const persisted = machine.actor.getPersistedSnapshot();
    const json = JSON.stringify(persisted);
    if (json === machine.persistedJson) {
      machine.persistedSnapshot = snapshot;
      return false;
    }
    await this.persist(machine, event.type, String(before.value), String(snapshot.value), persisted, json);
    return true;
  }

  private async persist(
    machine: LiveMachine,
    event: string,
    from?: string,
    to?: string,
    // XState's snapshots and contexts are immutable: the store may keep this object as it is.
    snapshot: unknown = machine.actor.getPersistedSnapshot(),
    json: string = JSON.stringify(snapshot),
  ): Promise<void> {
    this.crash('before-persist', machine.id);
    const seq = machine.seq + 1;
    try {
      await this.options.store.put({
        id: machine.id,
        machine: { name: machine.entry.name, version: machine.entry.version },
        seq,
        snapshot,
      });
    } catch (error) {
      if (isSimulatedCrash(error)) throw error;
      throw new StoreWriteFailed(machine.id, error);
    }
    machine.seq = seq;
    machine.persistedJson = json;
    machine.persistedSnapshot = machine.actor.getSnapshot();
    const state = String(machine.actor.getSnapshot().value);
    this.options.log.info({ machine: machine.id, from: from ?? null, to: to ?? state, event }, 'transition');
    this.options.onTransition?.({ id: machine.id, kind: machine.kind, from: from ?? null, to: to ?? state, event });
    this.crash('after-persist', machine.id);
  }

  /**
   * Performs the effects the machine's state asks for, feeding each result back, until it
   * waits or the per-tick bound is reached. Archives a final machine. Returns true if archived.
   */
  private async settle(machine: LiveMachine, height: number | null): Promise<boolean> {
    for (let step = 0; step < this.maxSteps; step += 1) {
      const snapshot = machine.actor.getSnapshot();
      const effect = metaOfState(snapshot).effect;
      if (effect !== undefined && Object.hasOwn(BATCHED_EFFECTS, effect)) return false;
      if (effect !== undefined) {
        if (machine.actor.getSnapshot() !== machine.persistedSnapshot) {
          throw new Error(`${machine.id}: effect '${effect}' requested by a snapshot that is not on disk`);
        }
        const event = await this.perform(machine, effect, height);
        this.crash('after-effect', machine.id);
        if (event !== null) {
          if (await this.dispatch(machine, event)) continue;
          return false;
        }
      }
      if (machine.actor.getSnapshot().status !== 'done') return false;
      if (machine.actor.getSnapshot() !== machine.persistedSnapshot) {
        throw new Error(`${machine.id}: final state '${String(machine.actor.getSnapshot().value)}' is not on disk; not archiving`);
      }
      await this.options.store.archive(machine.id);
      this.live.delete(machine.id);
      machine.actor.stop();
      this.crash('after-archive', machine.id);
      return true;
    }
    return false;
  }

  /** Claims and cancels for every job that asks for one, a batch per chain. */
  private async settleBatches(height: number | null): Promise<number> {
    let archived = 0;
    for (const [effect, run] of Object.entries(BATCHED_EFFECTS)) {
      const byChain = new Map<string, LiveMachine[]>();
      for (const machine of this.sortedLive()) {
        if (machine.kind !== 'job' || metaOfState(machine.actor.getSnapshot()).effect !== effect) continue;
        const chain = (machine.actor.getSnapshot().context as JobContext).terms.chain;
        byChain.set(chain, [...(byChain.get(chain) ?? []), machine]);
      }
      for (const [chain, machines] of byChain) {
        const escrow = this.options.escrows.get(chain);
        if (escrow === undefined) {
          this.options.log.error({ chain, machines: machines.map((m) => m.id) }, `no escrow client for chain '${chain}'; jobs wait`);
          continue;
        }
        const tasks: ClaimTask[] = machines.map((machine) => {
          if (machine.actor.getSnapshot() !== machine.persistedSnapshot) {
            throw new Error(`${machine.id}: effect '${effect}' requested by a snapshot that is not on disk`);
          }
          const context = machine.actor.getSnapshot().context as JobContext;
          return { id: machine.id, terms: context.terms, amount: BigInt(context.claimAmount ?? '0') };
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
            this.options.log.error({ machine: machine.id, err: String(error) }, 'settling a batch result failed; machine back to its state on disk');
            this.rewind(machine);
          }
        }
      }
    }
    return archived;
  }

  /** One batched effect on one chain; the results by machine id. */
  protected runBatch(_effect: string, run: typeof claimInBatches, escrow: Escrow, tasks: readonly ClaimTask[]): Promise<Map<string, SwapEvent | JobEvent>> {
    return run(escrow, tasks, this.options.log);
  }

  protected async perform(machine: LiveMachine, effect: string, height: number | null): Promise<SwapEvent | JobEvent | null> {
    const snapshot = machine.actor.getSnapshot();
    const state = String(snapshot.value);
    if (machine.kind === 'swap') {
      const context = snapshot.context as SwapContext;
      const ports = this.swapPorts;
      if (effect === 'recordRecovery') return this.record(machine, () => swapRecoveryEntry(machine.id, state, metaOfState(snapshot).record ?? 'stuck-funds', context));
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
          return this.record(machine, () => jobRecoveryEntry(machine.id, state, metaOfState(snapshot).record ?? 'unsettled-claim', context));
      }
    }
    throw new Error(`${machine.id}: no host implementation for effect '${effect}'`);
  }

  private async record(machine: LiveMachine, build: () => Parameters<RecoveryLog['record']>[0]): Promise<null> {
    const entry = build();
    const outcome = await this.options.recoveryLog.record(entry);
    this.options.log.warn({ machine: machine.id, recovery: outcome, kind: entry.kind, reason: entry.reason }, 'recovery entry');
    this.crash('after-record', machine.id);
    return null;
  }

  private crash(point: CrashPoint, machineId: string): void {
    this.options.crashHook?.(point, machineId);
  }
}
