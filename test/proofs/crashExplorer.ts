/**
 * An explicit-state model checker over crash points and RPC faults.
 *
 * Every time the simulated system asks "does a fault happen here?" (a host crash point: before
 * or after a write, after an effect, after a record or an archive; a chain call: fails before
 * reaching the chain, or takes effect and loses its answer), that is a choice point. A path is
 * the set of choice points answered "yes", within bounds (crashes, faults). The explorer runs
 * the system from scratch for each path, depth first: at every choice point of a run it
 * enqueues the paths that say "yes" there, and it fingerprints the whole state (chains, disk,
 * the host's memory, the code position within the poll, the budgets left). A state seen before
 * has had its future explored already: the run stops there. Every run that reaches the end
 * has its invariants checked.
 *
 * With `rollbacks`, between two polls is a choice point too: "restore an older store here"
 * (the whole data directory put back as it was one poll earlier, while the chains keep what
 * they hold; the operator then reconciles what the witness holds on, as in the simulator).
 */
import { createHash } from 'node:crypto';
import { advanceBlock } from '../../sim/advance.ts';
import type { FaultKind, FaultSource } from '../../sim/faults.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import type { InvariantResult } from '../../sim/invariants.ts';
import { everyObligationSeen } from '../../sim/runner.ts';
import { lifeImage } from '../../sim/simWitness.ts';
import { SimulatedSystem } from '../../sim/system.ts';
import type { World } from '../../sim/world.ts';

export interface ExploreBounds {
  readonly crashes: number;
  readonly faults: number;
  /** Blocks a run may take before it is declared stuck. */
  readonly maxBlocks: number;
  /** Older data directories put back, at most, per path (0: the choice is never offered). */
  readonly rollbacks?: number;
  /** Composed around the engine: a planted bug the exploration must find. */
  readonly interceptors?: readonly EngineInterceptor[];
}

export interface ExploreReport {
  readonly statesExplored: number;
  readonly pathsRun: number;
  readonly pathsCompleted: number;
  readonly pathsMerged: number;
  readonly choicePointsSeen: number;
  readonly violations: Array<{ path: string; invariants: InvariantResult[] }>;
}

const FAULT_KINDS_EXPLORED: ReadonlySet<FaultKind> = new Set(['rpc-before', 'rpc-after', 'rollback']);
const isCrash = (kind: FaultKind): boolean => kind === 'crash';
const isRollback = (kind: FaultKind): boolean => kind === 'rollback';

type Path = ReadonlyMap<number, FaultKind>;

/** Answers one path's questions, and records the run's choice points. */
class PathFaults implements FaultSource {
  index = 0;
  crashesUsed = 0;
  faultsUsed = 0;
  rollbacksUsed = 0;
  /** Labels of the choice points since the current poll began: the code position. */
  positionInPoll: string[] = [];
  onChoice: ((index: number, kind: FaultKind, key: string) => void) | null = null;
  /**
   * Set when the run reached a state explored before. The run cannot be stopped from inside a
   * decision (the host would take the exception for an RPC failure), so it goes on without
   * faults and without new choice points, and the explorer stops it after the current poll.
   */
  merged = false;

  constructor(private readonly path: Path) {}

  decide(kind: FaultKind, key: string): boolean {
    if (this.merged || (!isCrash(kind) && !FAULT_KINDS_EXPLORED.has(kind))) return false;
    const index = this.index;
    this.index += 1;
    this.positionInPoll.push(`${kind}@${key.split(':b')[0]}`);
    this.onChoice?.(index, kind, key);
    if (this.path.get(index) !== kind) return false;
    if (isCrash(kind)) this.crashesUsed += 1;
    else if (isRollback(kind)) this.rollbacksUsed += 1;
    else this.faultsUsed += 1;
    return true;
  }

  pick(): number {
    return 0;
  }
}

export async function explore(makeWorld: () => World, bounds: ExploreBounds): Promise<ExploreReport> {
  const visited = new Set<string>();
  const stack: Path[] = [new Map()];
  let pathsRun = 0;
  let pathsCompleted = 0;
  let pathsMerged = 0;
  let choicePointsSeen = 0;
  const violations: ExploreReport['violations'] = [];

  while (stack.length > 0) {
    const path = stack.pop()!;
    pathsRun += 1;
    const lastForced = Math.max(-1, ...path.keys());
    const world = makeWorld();
    const faults = new PathFaults(path);
    const rollbacks = bounds.rollbacks ?? 0;
    const system = new SimulatedSystem(world, faults, {
      backups: rollbacks > 0 ? 2 : 0,
      ...(bounds.interceptors === undefined ? {} : { interceptors: bounds.interceptors }),
    });
    faults.onChoice = (index, kind) => {
      if (index <= lastForced) return;
      if (isRollback(kind) && rollbacks === 0) return;
      choicePointsSeen += 1;
      const budgets = `${bounds.crashes - faults.crashesUsed}/${bounds.faults - faults.faultsUsed}/${rollbacks - faults.rollbacksUsed}`;
      const fingerprint = createHash('sha256')
        .update(
          JSON.stringify([
            kind,
            faults.positionInPoll,
            budgets,
            world.state,
            world.random.state(),
            [...system.disk.live],
            [...system.disk.archived.keys()],
            system.disk.recovery.map((e) => e.key),
          ]),
        )
        .update(system.dir.image())
        .update(system.backupsImage())
        .update(system.current?.host.memoryImage() ?? 'no host')
        .update(system.current === null ? '' : lifeImage(system.current.life))
        .digest('hex');
      if (visited.has(fingerprint)) {
        faults.merged = true;
        return;
      }
      visited.add(fingerprint);
      const allowed = isCrash(kind)
        ? faults.crashesUsed < bounds.crashes
        : isRollback(kind)
          ? faults.rollbacksUsed < rollbacks
          : faults.faultsUsed < bounds.faults;
      if (allowed) stack.push(new Map([...path, [index, kind]]));
    };
    let blocks = 0;
    for (; blocks < bounds.maxBlocks && !faults.merged && !everyObligationSeen(world, system.current); blocks += 1) {
      faults.positionInPoll = [];
      await system.tickSurviving();
      await system.betweenPolls();
      advanceBlock(world);
    }
    if (!faults.merged) {
      faults.positionInPoll = [];
      await system.tickSurviving();
    }
    if (faults.merged) {
      pathsMerged += 1;
      continue;
    }
    pathsCompleted += 1;
    const invariants = await system.invariants(true);
    const stuck =
      system.current!.host.liveCount > 0
        ? [{ name: 'every obligation ends', checked: 1, violations: [`still live after ${blocks} blocks`] }]
        : [];
    if (stuck.length > 0 || invariants.some((i) => i.violations.length > 0)) {
      violations.push({
        path: describe(path),
        invariants: [...stuck, ...invariants.filter((i) => i.violations.length > 0)],
      });
    }
  }
  return { statesExplored: visited.size, pathsRun, pathsCompleted, pathsMerged, choicePointsSeen, violations };
}

function describe(path: Path): string {
  return [...path].map(([index, kind]) => `${kind}@${index}`).join(', ') || '(no fault)';
}

/** Runs one path (as `describe` prints it) with a trace, to read what a violation did. */
export async function replayPath(makeWorld: () => World, spec: string, maxBlocks: number): Promise<string[]> {
  const path: Path = new Map(
    spec === '(no fault)'
      ? []
      : spec.split(', ').map((p) => {
          const [kind, index] = p.split('@');
          return [Number(index), kind as FaultKind] as const;
        }),
  );
  const world = makeWorld();
  const trace: string[] = [];
  const line = (text: string): void => void trace.push(`[${world.height}] ${text}`);
  const faults = new PathFaults(path);
  faults.onChoice = (index, kind, key) => {
    if (path.has(index)) line(`fault ${kind} #${index} at ${key}`);
  };
  const log = {
    info: (f: object, m?: string) => line(`${m} ${JSON.stringify(f)}`),
    warn: (f: object, m?: string) => line(`WARN ${m} ${JSON.stringify(f)}`),
    error: (f: object, m?: string) => line(`ERROR ${m} ${JSON.stringify(f)}`),
  };
  const system = new SimulatedSystem(world, faults, { log, trace: line, backups: 2 });
  for (let blocks = 0; blocks < maxBlocks && !everyObligationSeen(world, system.current); blocks += 1) {
    await system.tickSurviving();
    await system.betweenPolls();
    advanceBlock(world);
  }
  await system.tickSurviving();
  for (const inv of await system.invariants(true))
    if (inv.violations.length > 0) line(`VIOLATION ${inv.name}: ${inv.violations.join('; ')}`);
  return trace;
}
