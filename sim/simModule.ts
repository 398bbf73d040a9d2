/**
 * A simulated obligation: what the simulator, the crash-point explorer and the model-based
 * property need to run one kind of obligation against simulated chains. The simulator is
 * given a list of these (the product's are sim/modules/; a test may bring its own) and
 * names none of them: chains, scripts, faults of the chains, the engine plug-in over the
 * simulated ports, and the invariants checked against what the chains hold.
 *
 * Every decision a module makes is a pure function of the world's seed and state, and every
 * fault it asks for goes through the FaultSource with a key naming the site (never a count).
 */
import type { AnyObligation } from '../src/engine/obligation.ts';
import type { Logger, TransferSender } from '../src/host/ports.ts';
import type { RecordPlace } from '../src/store/snapshotStore.ts';
import type { FaultKind, FaultSource } from './faults.ts';
import type { InvariantResult, RunOutcome } from './invariants.ts';
import type { SimNetwork } from './network.ts';
import type { World } from './world.ts';

/** A module's ports over one world (made once per simulated system: they outlive host deaths). */
export interface SimConnection {
  /** The engine plug-in for one host's life, over these ports. */
  obligation(log: Logger, life?: SimLife): AnyObligation;
}

/**
 * What one host's life puts around a module's ports, as the daemon does around its own: the
 * witness around every transfer sender (src/witness/), over that life's store and journal.
 */
export interface SimLife {
  readonly wrapSender?: (sender: TransferSender) => TransferSender;
}

export interface SimModule {
  /** The obligation's kind: the prefix of its machine ids. */
  readonly kind: string;
  /** Its machine's name (end states are counted by it). */
  readonly machineName: string;
  /** Final states that must be in the recovery log exactly once. */
  readonly recordStates: ReadonlySet<string>;
  /** Adds this module's chains to a new world's state. */
  init(world: World): void;
  /** One block of this module's chains, before any script runs. */
  advance(world: World): void;
  /** The script: perhaps a new obligation this block (draws from world.random). */
  script(world: World): void;
  scriptDone(world: World): boolean;
  /** Faults of the chains themselves, once per block after it is made. */
  applyFaults(world: World, faults: FaultSource): void;
  /** The module's ports over the world; behind the faulty network when one is given. */
  connect(world: World, net: SimNetwork | null): SimConnection;
  /** The names of `invariants`' results, in their order. */
  readonly invariantNames: readonly string[];
  invariants(world: World, outcome: RunOutcome): InvariantResult[];
  /** What the chains hold at the end, by machine id, without timing: restart must not change it. */
  outcome(world: World): Record<string, string>;
  /** Machine ids a deadline decided: a restart may legitimately change how those end. */
  deadlineBound(world: World): Set<string>;
  /** Whether the host has met every obligation of this module it still can. */
  allSeen(world: World, placeOf: (id: string) => RecordPlace | null): boolean;
  /** Hostile obligations its script made, counted as the fault kinds they stand for. */
  injected?(world: World): Partial<Record<FaultKind, number>>;
  /** Lines that explain a run that did not end, for its trace. */
  stuckReport?(world: World): string[];
}

/** The final states of a machine whose meta says they write the recovery log. */
export function recordStatesOf(machine: { readonly config: { readonly states?: object } }): ReadonlySet<string> {
  const states = (machine.config.states ?? {}) as Record<string, { type?: string; meta?: { record?: string } }>;
  return new Set(
    Object.entries(states)
      .filter(([, node]) => node.type === 'final' && node.meta?.record !== undefined)
      .map(([name]) => name),
  );
}
