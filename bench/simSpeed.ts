/**
 * Simulator speed: swap and job lifecycles per second through the real host with faults and
 * crashes, next to bare XState running the same machines with no host (the ceiling), in the
 * same run.
 */
import { createActor } from 'xstate';
import { jobSettlement, swapFulfillment } from '../machines/index.ts';
import { SAMPLE_JOB_TERMS, SAMPLE_SWAP_TERMS } from '../test/support/sampleTerms.ts';
import { FaultInjector, parseFaults, type FaultKind, type FaultSource } from '../sim/faults.ts';
import { everyObligationSeen } from '../sim/runner.ts';
import { simulate } from '../sim/simulate.ts';
import { MachineStepper } from '../src/host/machineStepper.ts';
import { SimulatedSystem } from '../sim/system.ts';
import { World } from '../sim/world.ts';

export type Obligation = 'swap' | 'job';

/** The same happy path the host drives, with nothing around it. */
export function bareLifecycles(count: number, kind: Obligation = 'swap'): number {
  return kind === 'swap' ? bareSwapLifecycles(count) : bareJobLifecycles(count);
}

function bareJobLifecycles(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const actor = createActor(jobSettlement, { input: { terms: SAMPLE_JOB_TERMS, now: 1_000 } }).start();
    actor.send({ type: 'RUN_ENDED', cost: '700' });
    actor.send({ type: 'RESULTS_PUBLISHED' });
    actor.send({ type: 'SETTLE_DUE', now: 1_100 });
    actor.send({ type: 'CLAIMED', txHash: '0xclaim', amount: '700' });
    if (actor.getSnapshot().value !== 'Finished') throw new Error(`bare job lifecycle ended ${String(actor.getSnapshot().value)}`);
  }
  return count / ((performance.now() - started) / 1000);
}

function bareSwapLifecycles(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const actor = createActor(swapFulfillment, { input: { terms: SAMPLE_SWAP_TERMS, block: 1 } }).start();
    actor.send({ type: 'BLOCK', height: 2 });
    actor.send({ type: 'TRANSFER_SIGNED', raw: '0xraw', hash: '0xhash' });
    actor.send({ type: 'TRANSFER_INCLUDED', block: 3 });
    actor.send({ type: 'MARK_OK' });
    if (actor.getSnapshot().value !== 'Fulfilled') throw new Error('bare lifecycle did not end Fulfilled');
  }
  return count / ((performance.now() - started) / 1000);
}

export interface SimulatedSpeed {
  readonly perSecond: number;
  readonly lifecycles: number;
  readonly crashes: number;
  /**
   * The same lifecycles' machine steps alone (every initial snapshot, transition, restore and
   * persisted form the host asked its steppers for), replayed with no host and no simulated
   * chains: the most any host could reach on this workload.
   */
  readonly machineStepsPerSecond: number;
  readonly machineSteps: number;
  /** Calls through the simulated network to a chain, and crash points the host passed. */
  readonly chainCalls: number;
  readonly crashPoints: number;
}

export async function simulatedLifecycles(runs: number, faults: string, kind: Obligation = 'swap'): Promise<SimulatedSpeed> {
  const options = { seed: 1, runs, swaps: kind === 'swap' ? 8 : 0, jobs: kind === 'job' ? 8 : 0, faults: parseFaults(faults) };
  const started = performance.now();
  const summary = await simulate(options);
  const seconds = (performance.now() - started) / 1000;
  const lifecycles = kind === 'swap' ? summary.lifecycles.swapFulfillment.completed : summary.lifecycles.jobSettlement.completed;
  // The simulation is deterministic: run again, recording, to get the very steps timed above.
  const decisions = new Map<FaultKind, number>();
  const steps = await recordingSteps(() => countingDecisions(decisions, () => simulate(options)));
  // The fastest of three: the replay holds every snapshot of the runs, and a collection can land in one.
  const replaySeconds = Math.min(replay(steps), replay(steps), replay(steps)) / 1000;
  return {
    perSecond: lifecycles / seconds,
    lifecycles,
    crashes: summary.crashes,
    machineStepsPerSecond: lifecycles / replaySeconds,
    machineSteps: steps.length,
    // Every call through the network is first asked whether it fails before reaching the chain.
    chainCalls: decisions.get('rpc-before') ?? 0,
    crashPoints: decisions.get('crash') ?? 0,
  };
}

const STEP_OPS = ['initial', 'next', 'restore', 'persisted'] as const;
type StepOp = (typeof STEP_OPS)[number];
/** Every stepper method, called as (argument, event?): an event only `next` takes. */
type StepMethod = (this: MachineStepper, arg: unknown, event?: { type: string }) => unknown;

/** One call the host made to a machine stepper, with its arguments, to be made again. */
type Step = { readonly stepper: MachineStepper; readonly op: StepOp; readonly arg: unknown; readonly event: { type: string } | undefined };

/** The methods themselves, taken before any recording replaces them. */
const stepperMethods = Object.fromEntries(STEP_OPS.map((op) => [op, MachineStepper.prototype[op] as StepMethod])) as Record<StepOp, StepMethod>;

/**
 * Records every stepper call made while `run` runs. The host's steppers are shared and made
 * deep inside it, so the recording is done on the prototype, and undone whatever happens.
 */
async function recordingSteps(run: () => Promise<unknown>): Promise<Step[]> {
  const steps: Step[] = [];
  const proto = MachineStepper.prototype as unknown as Record<StepOp, StepMethod>;
  for (const op of STEP_OPS) {
    proto[op] = function (this: MachineStepper, arg, event) {
      steps.push({ stepper: this, op, arg, event });
      return stepperMethods[op].call(this, arg, event);
    };
  }
  try {
    await run();
  } finally {
    Object.assign(proto, stepperMethods);
  }
  return steps;
}

/** Counts the fault decisions asked while `run` runs, by kind, whether or not faults are on. */
async function countingDecisions<T>(into: Map<FaultKind, number>, run: () => Promise<T>): Promise<T> {
  const decide = FaultInjector.prototype.decide;
  FaultInjector.prototype.decide = function (this: FaultInjector, kind, key) {
    into.set(kind, (into.get(kind) ?? 0) + 1);
    return decide.call(this, kind, key);
  };
  try {
    return await run();
  } finally {
    FaultInjector.prototype.decide = decide;
  }
}

/** Milliseconds to make every recorded step again, in order, with the methods themselves. */
function replay(steps: readonly Step[]): number {
  const started = performance.now();
  for (const { stepper, op, arg, event } of steps) stepperMethods[op].call(stepper, arg, event);
  return performance.now() - started;
}

/**
 * RPC calls per swap lifecycle: every call through the simulated network (reads and writes,
 * polls included) over the swaps the host saw end, with no faults.
 */
export async function rpcCallsPerSwap(runs: number): Promise<{ calls: number; lifecycles: number; perLifecycle: number }> {
  let calls = 0;
  let lifecycles = 0;
  for (let seed = 1; seed <= runs; seed += 1) {
    const world = World.create(seed, { swaps: 8, jobs: 0, marginBlocks: 3, hostility: { badData: 0, tightWindow: 0, shortLock: 0, payerCancels: 0 } });
    const counting: FaultSource = {
      decide: (kind) => {
        if (kind === 'rpc-before') calls += 1;
        return false;
      },
      pick: () => 0,
    };
    const system = new SimulatedSystem(world, counting);
    for (let block = 0; block < 300 && !(world.scriptDone && everyObligationSeen(world, system.current)); block += 1) {
      await system.tickSurviving();
      await system.advance();
    }
    lifecycles += [...(system.current?.store.archivedIds ?? [])].length;
  }
  return { calls, lifecycles, perLifecycle: calls / lifecycles };
}
