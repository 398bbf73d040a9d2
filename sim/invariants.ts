/**
 * The invariants of DESIGN.md, checked against what the simulated chains hold (not against
 * what the host believes): each module checks its own (sim/simModule.ts) from its chains,
 * compared with the final machines and the recovery log; one is every module's: a final state
 * that writes the recovery log does so exactly once, and no other does.
 */
import { INVARIANT } from '../machines/invariants.ts';
import { kindOfMachineId } from '../machines/index.ts';
import type { RecoveryEntry } from '../src/store/recoveryLog.ts';
import type { World } from './world.ts';

export interface InvariantResult {
  readonly name: string;
  checked: number;
  readonly violations: string[];
}

export interface FinalMachine {
  readonly state: string;
  readonly context: unknown;
}

export interface RunOutcome {
  /** id -> final state of every archived machine. */
  readonly finals: ReadonlyMap<string, FinalMachine>;
  /** Ids still live; at the end of a complete run there are none. */
  readonly live: ReadonlySet<string>;
  readonly recovery: readonly RecoveryEntry[];
  readonly marginBlocks: number;
  /**
   * Whether the run is over. Before the end, an obligation may still be live or not yet seen,
   * and a recovery entry may still be due: those are checked only at the end. Everything
   * else holds at every instant.
   */
  readonly final?: boolean;
  /**
   * Machines an older copy of the data directory, put back, forgot (sim/dataDirFaults.ts):
   * what they did meanwhile is on the chains only. The witness bounds that harm to "never
   * paid twice"; a forgotten swap that then ends without its transfer (too late to start, as
   * far as the put-back store knows) is that harm, not a lost send.
   */
  readonly forgotten?: ReadonlySet<string>;
}

export const RECOVERY_ONCE = INVARIANT.recoveryEntryExactlyOnce;
export const RESTART_INVISIBLE = INVARIANT.restartIsInvisible;

/** Every invariant's name in the order results come: each module's, then the shared ones. */
export function invariantNames(world: World): string[] {
  return [...world.modules.flatMap((m) => m.invariantNames), RESTART_INVISIBLE, RECOVERY_ONCE];
}

/** How many recovery entries each key has. */
export function recoveryCounts(outcome: RunOutcome): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of outcome.recovery) counts.set(entry.key, (counts.get(entry.key) ?? 0) + 1);
  return counts;
}

export function checkInvariants(world: World, outcome: RunOutcome): InvariantResult[] {
  return [...world.modules.flatMap((m) => m.invariants(world, outcome)), recoveryEntryOnce(world, outcome)];
}

function recoveryEntryOnce(world: World, outcome: RunOutcome): InvariantResult {
  const recoveryKeys = recoveryCounts(outcome);
  const recordStates = new Map(world.modules.map((m) => [m.kind, m.recordStates]));
  const recordedOnce: InvariantResult = { name: RECOVERY_ONCE, checked: 0, violations: [] };
  for (const [id, final] of outcome.finals) {
    const needsEntry = recordStates.get(kindOfMachineId(id))?.has(final.state) === true;
    recordedOnce.checked += 1;
    const count = recoveryKeys.get(id) ?? 0;
    if (needsEntry ? count !== 1 : count !== 0)
      recordedOnce.violations.push(`${id}: ended ${final.state} with ${count} recovery entries`);
  }
  // Live machines: one that writes the log may be between its entry and its archive.
  for (const id of outcome.live) {
    if ((recoveryKeys.get(id) ?? 0) > 1)
      recordedOnce.violations.push(`${id}: live with ${recoveryKeys.get(id)} recovery entries`);
  }
  return recordedOnce;
}

/**
 * What the chains hold at the end, without timing, by machine id: every module's outcome. Two
 * runs that differ only by crashes and restarts must produce the same outcome.
 */
export function chainOutcome(world: World): Record<string, string> {
  return Object.assign({}, ...world.modules.map((m) => m.outcome(world))) as Record<string, string>;
}
