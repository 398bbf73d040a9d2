/**
 * The live machines and the one way they change: an event applied in memory, then the changed
 * snapshots written in one commit (group commit) before anything reads them as current.
 *
 * Crash points: before-persist (a transition in memory, not on disk) and after-persist (on
 * disk, the effect it asks for not started). A crash between them may leave any prefix of a
 * commit on disk, never a torn record; the restored machines redo what is missing.
 */
import type { AnyMachineSnapshot, InspectionEvent } from 'xstate';
import type { SnapshotStore } from '../store/snapshotStore.ts';
import type { CrashHook, CrashPoint } from './crashpoints.ts';
import {
  liveOrder,
  NOTHING_TO_DO,
  sameContent,
  storeWrite,
  type Change,
  type DurableTransition,
  type LiveMachine,
} from './live.ts';
import { stepperFor, type MachineStepper } from './machineStepper.ts';
import type { AnyObligation, EventLike } from './obligation.ts';

export interface TableOptions {
  readonly store: SnapshotStore;
  readonly log: { info(fields: object, message?: string): void };
  readonly crashHook?: CrashHook | undefined;
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
  /** Absent when nobody listens: the transition object is then never made. */
  readonly transitioned?: ((transition: DurableTransition) => void) | undefined;
}

export class MachineTable {
  private readonly live = new Map<string, LiveMachine>();

  constructor(private readonly options: TableOptions) {}

  get size(): number {
    return this.live.size;
  }

  get(id: string): LiveMachine | undefined {
    return this.live.get(id);
  }

  isLive(machine: LiveMachine): boolean {
    return this.live.get(machine.id) === machine;
  }

  /** Live machines in the engine's order (see liveOrder). */
  sorted(): LiveMachine[] {
    return [...this.live.values()].sort(liveOrder);
  }

  /** One stepper per machine, shared by every obligation of that machine. */
  stepperOf(obligation: AnyObligation): MachineStepper {
    return stepperFor(obligation.definition.machine, this.options.inspect);
  }

  /** A new machine, live but not yet on disk. */
  create(obligation: AnyObligation, id: string, input: unknown): LiveMachine {
    const stepper = this.stepperOf(obligation);
    const snapshot = stepper.initial(input);
    // XState turns a guard that throws during the first eventless transitions into an error status.
    if (snapshot.status === 'error') throw new Error(`${id}: machine failed to start: ${String(snapshot.error)}`);
    const machine: LiveMachine = {
      id,
      kind: obligation.kind,
      obligation,
      stepper,
      snapshot,
      persistedSnapshot: null,
      seq: 0,
    };
    this.live.set(id, machine);
    return machine;
  }

  /** A machine restored from a record: on disk as it is. */
  restored(obligation: AnyObligation, id: string, snapshot: AnyMachineSnapshot, seq: number): LiveMachine {
    const machine: LiveMachine = {
      id,
      kind: obligation.kind,
      obligation,
      stepper: this.stepperOf(obligation),
      snapshot,
      persistedSnapshot: snapshot,
      seq,
    };
    this.live.set(id, machine);
    return machine;
  }

  /**
   * After an unexpected error, the machine may be ahead of its record on disk (an event
   * applied, its snapshot never written): it goes back to the snapshot on disk, the truth.
   */
  rewind(machine: LiveMachine): void {
    if (machine.persistedSnapshot === null) {
      this.live.delete(machine.id);
      return;
    }
    machine.snapshot = machine.persistedSnapshot;
  }

  /** Forgets a machine in memory (archived, or dropped by an interceptor). */
  evict(id: string): void {
    this.live.delete(id);
  }

  /** The machine's next snapshot on `event`; a machine that throws is a bug, named. */
  step(machine: LiveMachine, event: EventLike): AnyMachineSnapshot {
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
  async dispatch(machine: LiveMachine, event: EventLike): Promise<boolean> {
    const change = this.apply(machine, event);
    if (change === null) return false;
    await this.persistAll([change]);
    return true;
  }

  /** Sends each machine its event, then makes every changed snapshot durable in one commit. */
  dispatchAll(events: ReadonlyArray<readonly [LiveMachine, EventLike]>): Promise<void> {
    // Most polls have no event of a given kind for any machine: see NOTHING_TO_DO.
    return events.length === 0 ? NOTHING_TO_DO : this.dispatchEach(events);
  }

  /** dispatchAll of at least one event. */
  private async dispatchEach(events: ReadonlyArray<readonly [LiveMachine, EventLike]>): Promise<void> {
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
  private apply(machine: LiveMachine, event: EventLike): Change | null {
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

  changeOf(machine: LiveMachine, event: string, from: string | null, snapshot: AnyMachineSnapshot): Change {
    // XState's snapshots and contexts are immutable: the store may keep this object as it is.
    return { machine, event, from, snapshot, persisted: machine.stepper.persisted(snapshot) };
  }

  /**
   * Makes every change durable in one commit, then marks each machine's snapshot as the one
   * on disk. Each machine has at most one change per commit.
   */
  persistAll(changes: readonly Change[]): Promise<void> {
    // Most events change nothing to write: see NOTHING_TO_DO.
    return changes.length === 0 ? NOTHING_TO_DO : this.commit(changes);
  }

  /** persistAll of at least one change. */
  private async commit(changes: readonly Change[]): Promise<void> {
    for (const change of changes) this.crash('before-persist', change.machine.id);
    const records = changes.map(({ machine, persisted }) => ({
      id: machine.id,
      machine: { name: machine.obligation.definition.name, version: machine.obligation.definition.version },
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
      this.options.transitioned?.({ id: machine.id, kind: machine.kind, from, to, event });
    }
    for (const change of changes) this.crash('after-persist', change.machine.id);
  }

  crash(point: CrashPoint, machineId: string): void {
    this.options.crashHook?.(point, machineId);
  }
}
