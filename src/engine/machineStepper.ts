/**
 * Steps a machine's snapshot without an actor: the host holds one immutable XState snapshot
 * per obligation and computes the next with the machine's own transition function, so an idle
 * machine costs its snapshot (a few hundred bytes) rather than a running actor (several KB), and
 * restoring one is resolving its snapshot, not starting an actor.
 *
 * This is XState's `transition()` with one actor scope made once per machine instead of per
 * call (`transition()` builds an actor each time). The machines declare no side-effect
 * actions (effects are the host's, named in state meta), so nothing is deferred or dropped:
 * an action that would need executing is a bug in a machine, and fails loudly.
 */
import {
  createActor,
  type AnyActorScope,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type InspectionEvent,
} from 'xstate';
import { metaOfState, type StateMeta } from '../../machines/index.ts';

export class MachineStepper {
  private readonly scope: AnyActorScope;
  /** State -> status -> XState's resolution of it, context aside. */
  private readonly resolvedStates = new Map<string, Map<string, AnyMachineSnapshot>>();
  /** State -> the meta it declares. */
  private readonly metas = new Map<string, StateMeta>();

  constructor(
    readonly machine: AnyStateMachine,
    inspect?: (event: InspectionEvent) => void,
  ) {
    // Never started: its system carries the inspection (transition coverage) to every step.
    const self = createActor(machine, inspect === undefined ? {} : { inspect });
    this.scope = {
      self,
      id: machine.id,
      sessionId: '',
      logger: () => undefined,
      defer: () => undefined,
      system: self.system,
      stopChild: () => undefined,
      emit: () => undefined,
      actionExecutor: (action) => {
        throw new Error(
          `${machine.id}: action '${action.type}' has an effect; machines must declare none (effects belong to the host)`,
        );
      },
    };
  }

  /** A new machine's first snapshot, its eventless transitions taken. */
  initial(input: unknown): AnyMachineSnapshot {
    return this.machine.getInitialSnapshot(this.scope, input) as AnyMachineSnapshot;
  }

  /**
   * A snapshot read back from disk, resolved against the machine's states. The machines are
   * flat (no children, which is what XState's restoreSnapshot walks the context for), so
   * resolving is all a restore needs; a snapshot with children is refused.
   *
   * Resolving works out the state's nodes, value and tags, the same for every snapshot in
   * that state: a restart of 100,000 machines spent a third of its time doing it again for
   * each. So it is done once per state (and status), and each snapshot is that resolution
   * with its own context and history. A test holds this equal to `resolveState` for every
   * state of both machines.
   */
  restore(persisted: unknown): AnyMachineSnapshot {
    const stored = persisted as {
      value?: unknown;
      status?: unknown;
      children?: object;
      context?: unknown;
      historyValue?: unknown;
      output?: unknown;
      error?: unknown;
    };
    if (stored.children !== undefined && Object.keys(stored.children).length > 0) {
      throw new Error(`${this.machine.id}: a persisted snapshot with child actors; the machines have none`);
    }
    if (typeof stored.value !== 'string') return this.machine.resolveState(persisted as never) as AnyMachineSnapshot;
    // Looked up by state, then status, rather than by a key made of both: that key was a new
    // string to build and hash for each of 100,000 machines at a restart.
    let byStatus = this.resolvedStates.get(stored.value);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.resolvedStates.set(stored.value, byStatus);
    }
    const status = String(stored.status);
    let resolved = byStatus.get(status);
    if (resolved === undefined) {
      resolved = this.machine.resolveState({
        value: stored.value,
        status: stored.status,
        context: {},
      } as never) as AnyMachineSnapshot;
      byStatus.set(status, resolved);
    }
    return {
      ...resolved,
      context: stored.context ?? {},
      children: {},
      historyValue: stored.historyValue ?? {},
      output: stored.output,
      error: stored.error,
    } as AnyMachineSnapshot;
  }

  /**
   * The meta of the state a snapshot is in. The host asks for it several times per machine per
   * poll, and `metaOfState` builds XState's meta record and searches it each time; a state's
   * meta is part of the machine's definition, so it is looked up once per state.
   */
  meta(snapshot: AnyMachineSnapshot): StateMeta {
    const state = String(snapshot.value);
    let meta = this.metas.get(state);
    if (meta === undefined) {
      meta = metaOfState(snapshot);
      this.metas.set(state, meta);
    }
    return meta;
  }

  /** The snapshot after `event`; the very same object when the event changes nothing. */
  next(snapshot: AnyMachineSnapshot, event: { type: string }): AnyMachineSnapshot {
    return this.machine.transition(snapshot, event, this.scope) as AnyMachineSnapshot;
  }

  /**
   * The JSON-safe form written to disk: XState's persisted snapshot. For a flat machine that is
   * the snapshot's own fields, in XState's order; building it directly skips XState's generic
   * rest-copy and context walk (looking for child actors a flat machine cannot hold), about 7%
   * of a simulated run. A test holds it equal to `getPersistedSnapshot` in every state.
   */
  persisted(snapshot: AnyMachineSnapshot): unknown {
    if (!isEmpty(snapshot.children) || !isEmpty(snapshot.historyValue))
      return this.machine.getPersistedSnapshot(snapshot);
    return {
      status: snapshot.status,
      output: snapshot.output,
      error: snapshot.error,
      value: snapshot.value,
      historyValue: {},
      context: snapshot.context,
      children: {},
    };
  }
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

/**
 * Steppers hold no state of their own between steps, so every host in a process (the simulator
 * opens one per run and per restart) shares one per machine and inspection.
 */
const shared = new WeakMap<AnyStateMachine, Map<((event: InspectionEvent) => void) | undefined, MachineStepper>>();

export function stepperFor(machine: AnyStateMachine, inspect?: (event: InspectionEvent) => void): MachineStepper {
  let byInspect = shared.get(machine);
  if (byInspect === undefined) {
    byInspect = new Map();
    shared.set(machine, byInspect);
  }
  let stepper = byInspect.get(inspect);
  if (stepper === undefined) {
    stepper = new MachineStepper(machine, inspect);
    byInspect.set(inspect, stepper);
  }
  return stepper;
}
