/**
 * One simulated run: a world made from a seed (the product's swaps and jobs, or whatever
 * modules are given), the real engine driving the real machines against it through a faulty
 * network and a faulty disk, crashes and restarts, then every invariant checked against the
 * chains. A run with restarts is run again without the faults that kill the process, and both
 * must end the same: restart is invisible.
 */
import { DEFAULT_MARGIN_BLOCKS } from '../machines/defaults.ts';
import type { InspectionEvent } from 'xstate';
import type { EngineInterceptor } from '../src/engine/interceptors.ts';
import { SimulatedCrash } from '../src/engine/crashpoints.ts';
import type { Logger } from '../src/host/ports.ts';
import { kindOfMachineId } from '../machines/index.ts';
import { FAULT_KINDS, FaultInjector, RESTART_KINDS, type FaultKind } from './faults.ts';
import { chainOutcome, RESTART_INVISIBLE, type InvariantResult } from './invariants.ts';
import { PRODUCT_MODULES } from './modules/product.ts';
import { runUntilSettled } from './runner.ts';
import { finalMachines } from './simHost.ts';
import type { SimModule } from './simModule.ts';
import { SILENT_LOG, SimulatedSystem } from './system.ts';
import { World, type Hostility } from './world.ts';

export interface ScenarioOptions {
  readonly seed: number;
  readonly swaps: number;
  readonly jobs: number;
  /** Obligations of other modules' kinds, by kind. */
  readonly counts?: Readonly<Record<string, number>>;
  /** The simulated obligations; the product's swap and job modules by default. */
  readonly modules?: readonly SimModule[];
  readonly faults: ReadonlySet<FaultKind>;
  readonly marginBlocks?: number;
  readonly maxBlocks?: number;
  /** Keep a readable trace of the run (slower; used to report a violation). */
  readonly trace?: boolean;
  /** Composed around the engine: a test plants a bug through these. */
  readonly interceptors?: readonly EngineInterceptor[];
  /** Called for every transition the host persists (for traces). */
  readonly onTransition?: (machine: string, from: string | null, to: string, event: string) => void;
  /** XState inspection of every actor of the run (transition coverage); not of the replay without restarts. */
  readonly inspect?: (event: InspectionEvent) => void;
}

export type EndStates = Record<string, number>;

export interface ScenarioResult {
  readonly seed: number;
  readonly complete: boolean;
  readonly blocks: number;
  /** Host deaths (simulated crashes, torn and failed writes); each followed by a restart. */
  readonly restarts: number;
  /** Of those, the simulated crashes (process killed), torn writes included. */
  readonly crashes: number;
  readonly injected: Readonly<Record<FaultKind, number>>;
  /** By machine name, every module's (empty when none ended). */
  readonly endStates: Readonly<Record<string, EndStates>>;
  readonly invariants: InvariantResult[];
  readonly trace: string[];
}

const MAX_BLOCKS = 1_500;

function hostilityFor(faults: ReadonlySet<FaultKind>): Hostility {
  return {
    badData: 0.08,
    tightWindow: faults.has('validator-timeout') ? 0.25 : 0,
    shortLock: faults.has('payer-cancel') ? 0.25 : 0,
    payerCancels: faults.has('payer-cancel') ? 0.5 : 0,
  };
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const first = await runOnce(options);
  if (first.restarts === 0) return first.result;
  const without = new Set([...options.faults].filter((k) => !RESTART_KINDS.has(k)));
  const baseline = await runOnce({
    ...options,
    faults: without,
    trace: false,
    onTransition: undefined,
    inspect: undefined,
  });
  return { ...first.result, invariants: [...first.result.invariants, restartInvisible(first, baseline)] };
}

interface RunOnce {
  readonly result: ScenarioResult;
  readonly restarts: number;
  readonly outcome: Record<string, string>;
  readonly endings: Map<string, string>;
  readonly deadlineBound: Set<string>;
  /** Machines an older data directory put back forgot; whether a second host ran (sim/dataDirFaults.ts). */
  readonly forgotten: ReadonlySet<string>;
  readonly twinRan: boolean;
}

async function runOnce(options: ScenarioOptions): Promise<RunOnce> {
  const trace: string[] = [];
  const modules = options.modules ?? PRODUCT_MODULES;
  const world = World.create(
    options.seed,
    {
      swaps: options.swaps,
      jobs: options.jobs,
      ...(options.counts === undefined ? {} : { counts: options.counts }),
      marginBlocks: options.marginBlocks ?? DEFAULT_MARGIN_BLOCKS,
      hostility: hostilityFor(options.faults),
    },
    modules,
  );
  const traceLine =
    options.trace === true ? (line: string) => void trace.push(`[${world.height}] ${line}`) : () => undefined;
  const faults = new FaultInjector(options.seed, options.faults, traceLine);
  const log =
    options.trace === true || options.onTransition !== undefined
      ? traceLogger(traceLine, options.onTransition)
      : SILENT_LOG;
  const system = new SimulatedSystem(world, faults, {
    log,
    trace: traceLine,
    // Copies of the data directory for a rollback to put back: up to this many polls old.
    backups: options.faults.has('rollback') ? 8 : 0,
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
    ...(options.interceptors === undefined ? {} : { interceptors: options.interceptors }),
  });
  let crashes = 0;
  const run = await runUntilSettled({
    world,
    maxBlocks: options.maxBlocks ?? MAX_BLOCKS,
    openHost: (generation) => system.openHost(generation),
    onCrash: (error) => {
      if (error instanceof SimulatedCrash) crashes += 1;
      traceLine(`host died: ${error instanceof Error ? error.message : String(error)}`);
    },
    advance: () => system.advance(),
    restartNow: () => system.takeRestart(),
  });
  const finals = await finalMachines(run.host.store);
  const live = new Set(run.host.host.machines().map((m) => m.id));
  const invariants = await system.invariants(true);
  const endStates: Record<string, EndStates> = Object.fromEntries(modules.map((m) => [m.machineName, {}]));
  const machineOfKind = new Map(modules.map((m) => [m.kind, m.machineName]));
  for (const [id, final] of finals) {
    const bucket = endStates[machineOfKind.get(kindOfMachineId(id)) ?? '']!;
    bucket[final.state] = (bucket[final.state] ?? 0) + 1;
  }
  if (!run.complete) {
    traceLine(`incomplete after ${run.blocks} blocks: ${[...live].join(', ')}`);
    for (const module of modules) for (const line of module.stuckReport?.(world) ?? []) traceLine(line);
  }
  return {
    result: {
      seed: options.seed,
      complete: run.complete,
      blocks: run.blocks,
      restarts: run.crashes,
      crashes,
      injected: Object.assign({ ...faults.injected }, ...modules.map((m) => m.injected?.(world) ?? {})) as Record<
        FaultKind,
        number
      >,
      endStates,
      invariants,
      trace,
    },
    restarts: run.crashes,
    outcome: chainOutcome(world),
    endings: new Map([...finals].map(([id, f]) => [id, f.state])),
    deadlineBound: deadlineBoundObligations(world),
    forgotten: system.dataDirHistory.forgotten,
    twinRan: system.dataDirHistory.twinRan,
  };
}

/**
 * Obligations a deadline decided in either run (a swap the validators timed out, a lock that
 * expired), as each module names them. A restart may legitimately move those (DESIGN: "except
 * where the fault plan made a deadline pass"); every other obligation must end identically.
 */
function deadlineBoundObligations(world: World): Set<string> {
  return new Set(world.modules.flatMap((module) => [...module.deadlineBound(world)]));
}

/**
 * The chains end as they would have without the restarts. Also exempt: obligations an older
 * data directory put back forgot (what they did is on the chains; the witness and the
 * operator's reconciliation make them end as they would have, except one the put-back store
 * then judged too late to start), and every obligation of a run where a second host ran on a
 * copy of the data directory: which of two hosts' simultaneous transfers took a nonce is a race
 * between two writers, not a restart; likewise a run where a put-back store forgot something.
 */
function restartInvisible(withRestarts: RunOnce, without: RunOnce): InvariantResult {
  const result: InvariantResult = { name: RESTART_INVISIBLE, checked: 0, violations: [] };
  if (withRestarts.twinRan) return result;
  // Nor a run where a put-back store forgot something: what it forgot comes back through the
  // operator's decisions at another block than it was held, so the resources those transfers
  // hold (a Solana swap's own nonce account, the order of an account's nonces) free up at
  // other blocks for every other obligation too: their timing is the rollback's, not a restart's.
  if (withRestarts.forgotten.size > 0) return result;
  const exempt = new Set([...withRestarts.deadlineBound, ...without.deadlineBound, ...withRestarts.forgotten]);
  for (const [key, expected] of Object.entries(without.outcome)) {
    if (exempt.has(key)) continue;
    result.checked += 1;
    const actual = withRestarts.outcome[key];
    // Outcomes are keyed by machine id.
    const endedWith = withRestarts.endings.get(key);
    const endedWithout = without.endings.get(key);
    if (actual !== expected || endedWith !== endedWithout) {
      result.violations.push(
        `${key}: with restarts '${actual}' (${endedWith}), without '${expected}' (${endedWithout})`,
      );
    }
  }
  return result;
}

function traceLogger(traceLine: (line: string) => void, onTransition: ScenarioOptions['onTransition']): Logger {
  const write = (fields: object, message?: string): void => {
    const f = fields as {
      machine?: string;
      from?: string | null;
      to?: string;
      event?: string;
      err?: string;
      reason?: string;
    };
    if (message === 'transition' && f.machine !== undefined && f.to !== undefined) {
      onTransition?.(f.machine, f.from ?? null, f.to, f.event ?? '');
      traceLine(`${f.machine}: ${f.from ?? '(new)'} -> ${f.to} on ${f.event}`);
    } else {
      traceLine(
        `${message ?? ''}${f.machine === undefined ? '' : ` ${f.machine}`}${f.err === undefined ? '' : `: ${f.err}`}${f.reason === undefined ? '' : `: ${f.reason}`}`,
      );
    }
  };
  return { info: write, warn: write, error: write };
}

export function emptyInjected(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}
