/**
 * Many runs, one summary: `settle sim`. Run i uses seed + i, so any run can be replayed alone.
 * A violation is shrunk (fewer fault kinds, fewer obligations, same seed) while it still
 * violates the same invariant, and reported with that run's trace and the command that
 * replays it. Everything in the summary is deterministic: no clock, no machine names.
 */
import { INVARIANT } from '../machines/invariants.ts';
import { JOB_MACHINE_NAME, SWAP_MACHINE_NAME } from '../machines/index.ts';
import type { EngineInterceptor } from '../src/engine/interceptors.ts';
import { FAULT_KINDS, formatFaults, type FaultKind } from './faults.ts';
import { DEFAULT_MARGIN_BLOCKS } from '../machines/defaults.ts';
import { SOLANA_PRODUCT_MODULES } from './modules/product.ts';
import { emptyInjected, runScenario, type EndStates, type ScenarioOptions, type ScenarioResult } from './scenario.ts';

export const INVARIANT_NAMES = [
  INVARIANT.noDoubleSend,
  INVARIANT.noLostSend,
  INVARIANT.noSendTooLate,
  INVARIANT.neverPaidShort,
  INVARIANT.neverPaidFromElsewhere,
  INVARIANT.neverMarkedUnpaid,
  INVARIANT.neverPaidUnverified,
  INVARIANT.neverStarvedEarlier,
  INVARIANT.noLostClaim,
  INVARIANT.noDoubleClaim,
  INVARIANT.claimRecordedAsPaid,
  INVARIANT.restartIsInvisible,
  INVARIANT.recoveryEntryExactlyOnce,
] as const;

export interface SimulateOptions {
  readonly seed: number;
  readonly runs: number;
  readonly swaps: number;
  readonly jobs: number;
  readonly faults: ReadonlySet<FaultKind>;
  readonly marginBlocks?: number;
  /** The swap contract simulated: the ink! contract (default) or the Solana swap manager. */
  readonly contract?: 'ink' | 'solana';
  /** Composed around the engine: a test plants a bug through these. */
  readonly interceptors?: readonly EngineInterceptor[];
  /** Stop after the first run that violates an invariant (tests, and quick hunts). */
  readonly stopAtFirstViolation?: boolean;
  readonly onRun?: (done: number, total: number, violations: number) => void;
  readonly onTransition?: ScenarioOptions['onTransition'];
  readonly inspect?: ScenarioOptions['inspect'];
}

export interface Lifecycles {
  readonly completed: number;
  readonly endStates: EndStates;
}

export interface ViolationReport {
  readonly seed: number;
  readonly invariants: string[];
  readonly details: string[];
  /** The smallest configuration found that still violates, and its trace. */
  readonly shrunk: { readonly swaps: number; readonly jobs: number; readonly faults: string };
  readonly trace: string[];
  readonly replay: string;
}

export interface SimSummary {
  readonly seed: number;
  readonly runs: number;
  readonly swapsPerRun: number;
  readonly jobsPerRun: number;
  readonly faults: string;
  /** The swap contract simulated. */
  readonly contract: 'ink' | 'solana';
  readonly marginBlocks: number;
  readonly lifecycles: { readonly swapFulfillment: Lifecycles; readonly jobSettlement: Lifecycles };
  readonly faultsInjected: Record<FaultKind, number>;
  readonly crashes: number;
  readonly restarts: number;
  readonly incompleteRuns: number;
  readonly invariants: Array<{ name: string; checked: number; violations: number }>;
  readonly violatingSeeds: number[];
  readonly violation: ViolationReport | null;
}

export async function simulate(options: SimulateOptions): Promise<SimSummary> {
  const tallies = new Map<string, { checked: number; violations: number }>(
    INVARIANT_NAMES.map((n) => [n, { checked: 0, violations: 0 }]),
  );
  const swapEnds: EndStates = {};
  const jobEnds: EndStates = {};
  const injected = emptyInjected();
  let crashes = 0;
  let restarts = 0;
  let incompleteRuns = 0;
  const violatingSeeds: number[] = [];
  let firstViolation: ScenarioResult | null = null;
  let runsDone = 0;
  for (let i = 0; i < options.runs; i += 1) {
    const result = await runScenario(scenarioOptions(options, options.seed + i));
    runsDone += 1;
    merge(swapEnds, result.endStates[SWAP_MACHINE_NAME] ?? {});
    merge(jobEnds, result.endStates[JOB_MACHINE_NAME] ?? {});
    for (const kind of FAULT_KINDS) injected[kind] += result.injected[kind];
    crashes += result.crashes;
    restarts += result.restarts;
    if (!result.complete) incompleteRuns += 1;
    for (const invariant of result.invariants) {
      const tally = tallies.get(invariant.name)!;
      tally.checked += invariant.checked;
      tally.violations += invariant.violations.length;
    }
    if (result.invariants.some((inv) => inv.violations.length > 0)) {
      violatingSeeds.push(result.seed);
      firstViolation ??= result;
    }
    options.onRun?.(runsDone, options.runs, violatingSeeds.length);
    if (firstViolation !== null && options.stopAtFirstViolation === true) break;
  }
  const total = (ends: EndStates): number => Object.values(ends).reduce((a, b) => a + b, 0);
  return {
    seed: options.seed,
    runs: runsDone,
    swapsPerRun: options.swaps,
    jobsPerRun: options.jobs,
    faults: formatFaults(options.faults),
    contract: options.contract ?? 'ink',
    marginBlocks: options.marginBlocks ?? DEFAULT_MARGIN_BLOCKS,
    lifecycles: {
      swapFulfillment: { completed: total(swapEnds), endStates: sorted(swapEnds) },
      jobSettlement: { completed: total(jobEnds), endStates: sorted(jobEnds) },
    },
    faultsInjected: injected,
    crashes,
    restarts,
    incompleteRuns,
    invariants: INVARIANT_NAMES.map((name) => ({ name, ...tallies.get(name)! })),
    violatingSeeds,
    violation: firstViolation === null ? null : await shrinkAndReport(options, firstViolation),
  };
}

function scenarioOptions(options: SimulateOptions, seed: number): ScenarioOptions {
  return {
    seed,
    swaps: options.swaps,
    jobs: options.jobs,
    faults: options.faults,
    ...(options.contract === 'solana' ? { modules: SOLANA_PRODUCT_MODULES } : {}),
    ...(options.marginBlocks === undefined ? {} : { marginBlocks: options.marginBlocks }),
    ...(options.interceptors === undefined ? {} : { interceptors: options.interceptors }),
    ...(options.onTransition === undefined ? {} : { onTransition: options.onTransition }),
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  };
}

function merge(into: EndStates, from: EndStates): void {
  for (const [state, n] of Object.entries(from)) into[state] = (into[state] ?? 0) + n;
}

function sorted(ends: EndStates): EndStates {
  return Object.fromEntries(Object.entries(ends).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const violated = (result: ScenarioResult): string[] =>
  result.invariants.filter((i) => i.violations.length > 0).map((i) => i.name);

/** Shrinking is bounded: this many replays at most. */
const MAX_SHRINK_RUNS = 60;

async function shrinkAndReport(options: SimulateOptions, failing: ScenarioResult): Promise<ViolationReport> {
  const target = new Set(violated(failing));
  let best = { swaps: options.swaps, jobs: options.jobs, faults: new Set(options.faults) };
  let attempts = 0;
  const stillFails = async (candidate: typeof best): Promise<boolean> => {
    attempts += 1;
    const result = await runScenario({
      ...scenarioOptions(options, failing.seed),
      ...candidate,
      onTransition: undefined,
      inspect: undefined,
    });
    return violated(result).some((name) => target.has(name));
  };
  for (const kind of FAULT_KINDS) {
    if (attempts >= MAX_SHRINK_RUNS || !best.faults.has(kind)) continue;
    const faults = new Set(best.faults);
    faults.delete(kind);
    if (await stillFails({ ...best, faults })) best = { ...best, faults };
  }
  for (const field of ['swaps', 'jobs'] as const) {
    while (attempts < MAX_SHRINK_RUNS && best[field] > 0) {
      const candidate = { ...best, [field]: Math.floor(best[field] / 2) };
      if (!(await stillFails(candidate))) break;
      best = candidate;
    }
  }
  const final = await runScenario({
    ...scenarioOptions(options, failing.seed),
    ...best,
    trace: true,
    onTransition: undefined,
    inspect: undefined,
  });
  if (!violated(final).some((name) => target.has(name))) {
    throw new Error(
      `seed ${failing.seed}: the replay with a trace did not violate ${[...target].join(', ')} again: the simulation is not deterministic`,
    );
  }
  const margin = `${options.marginBlocks === undefined ? '' : ` --margin ${options.marginBlocks}`}${options.contract === 'solana' ? ' --contract solana' : ''}`;
  return {
    seed: failing.seed,
    invariants: violated(final),
    details: final.invariants.flatMap((i) => i.violations.map((v) => `${i.name}: ${v}`)),
    shrunk: { swaps: best.swaps, jobs: best.jobs, faults: formatFaults(best.faults) },
    trace: final.trace,
    replay: `settle sim --seed ${failing.seed} --runs 1 --swaps ${best.swaps} --jobs ${best.jobs} --faults ${formatFaults(best.faults)}${margin}`,
  };
}
