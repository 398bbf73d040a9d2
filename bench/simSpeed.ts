/**
 * Simulator speed: swap and job lifecycles per second through the real host with faults and
 * crashes, next to bare XState running the same machines with no host (the ceiling), in the
 * same run.
 */
import { createActor, type AnyActorRef, type AnyMachineSnapshot } from 'xstate';
import { jobSettlement, swapFulfillment } from '../machines/index.ts';
import { SAMPLE_DEPOSIT_VERIFIED, SAMPLE_JOB_TERMS, SAMPLE_SWAP_TERMS } from '../test/support/sampleTerms.ts';
import { FaultInjector, parseFaults, type FaultKind, type FaultSource } from '../sim/faults.ts';
import { everyObligationSeen } from '../sim/runner.ts';
import { simulate, type SimSummary } from '../sim/simulate.ts';
import { MachineStepper } from '../src/engine/machineStepper.ts';
import { SimulatedSystem } from '../sim/system.ts';
import { World } from '../sim/world.ts';
import { PRODUCT_MODULES } from '../sim/modules/product.ts';

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
    actor.send({ type: 'CLAIMED', txHash: '0xclaim', amount: '700', fee: '0' });
    if (actor.getSnapshot().value !== 'Finished')
      throw new Error(`bare job lifecycle ended ${String(actor.getSnapshot().value)}`);
  }
  return count / ((performance.now() - started) / 1000);
}

function bareSwapLifecycles(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const actor = createActor(swapFulfillment, { input: { terms: SAMPLE_SWAP_TERMS, now: 1 } }).start();
    actor.send({ type: 'CLOCK', now: 2 });
    actor.send(SAMPLE_DEPOSIT_VERIFIED);
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
   * The ceiling of these very lifecycles: bare XState actors making the same machine steps
   * (every machine started, sent the same events, restored at each restart, asked for its
   * persisted snapshot), with no host, no store and no simulated chains, as an XState user
   * runs a machine. A lifecycle with faults makes several times the happy path's steps
   * (retries, reads, restores, the restart-invisible replay), so the happy path is no ceiling
   * for it: not even a host that cost nothing could reach it.
   */
  readonly bareSameStepsPerSecond: number;
  /**
   * The same steps made by the host's own steppers (XState's transition function, no actors),
   * with nothing else: what a host that cost nothing would reach.
   */
  readonly machineStepsPerSecond: number;
  readonly machineSteps: number;
  /** Calls through the simulated network to a chain, and crash points the host passed. */
  readonly chainCalls: number;
  readonly crashPoints: number;
}

/** Timings of the simulated runs, and of each replay: the fastest is reported. */
const TIMINGS = 5;

export async function simulatedLifecycles(
  runs: number,
  faults: string,
  kind: Obligation = 'swap',
): Promise<SimulatedSpeed> {
  const options = {
    seed: 1,
    runs,
    swaps: kind === 'swap' ? 8 : 0,
    jobs: kind === 'job' ? 8 : 0,
    faults: parseFaults(faults),
  };
  // Warmed as the ceilings are, by as many runs as are timed: the first runs of a process are
  // mostly V8 compiling the host and the simulator (400 cold runs measured half the speed of
  // the same runs warm). Other seeds, so the timed runs repeat nothing the warm-up computed.
  await simulate({ ...options, seed: options.seed + runs });
  // The simulation is deterministic: run once recording, to get the very steps each timing makes.
  const decisions = new Map<FaultKind, number>();
  const steps = await recordingSteps(() => countingDecisions(decisions, () => simulate(options)));
  checkActorReplay(steps);
  // The simulator and its ceilings take turns, the fastest timing of each kept: a shared
  // machine's speed swings over seconds, and timed one after the other, the ratio read the
  // swing (0.36 to 0.76 for one row over a day). The runs are deterministic, so every timing
  // of the simulator must end as the first did.
  let seconds = Infinity;
  let replaySeconds = Infinity;
  let bareSeconds = Infinity;
  let summary: SimSummary | null = null;
  // Each timing starts on a collected heap: none pays for the garbage of the one before.
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  for (let timing = 0; timing < TIMINGS; timing += 1) {
    collect();
    const started = performance.now();
    const again = await simulate(options);
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
    if (summary !== null && JSON.stringify(again) !== JSON.stringify(summary))
      throw new Error('two timings of the same runs ended differently: the simulation is not deterministic');
    summary = again;
    collect();
    bareSeconds = Math.min(bareSeconds, actorReplay(steps) / 1000);
    collect();
    replaySeconds = Math.min(replaySeconds, replay(steps) / 1000);
  }
  if (summary === null) throw new Error('unreachable');
  const lifecycles =
    kind === 'swap' ? summary.lifecycles.swapFulfillment.completed : summary.lifecycles.jobSettlement.completed;
  return {
    perSecond: lifecycles / seconds,
    lifecycles,
    crashes: summary.crashes,
    bareSameStepsPerSecond: lifecycles / bareSeconds,
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

/** One call the host made to a machine stepper, with its arguments and result, to be made again. */
export type Step = {
  readonly stepper: MachineStepper;
  readonly op: StepOp;
  readonly arg: unknown;
  readonly event: { type: string } | undefined;
  readonly result: unknown;
};

/** The methods themselves, taken before any recording replaces them. */
const stepperMethods = Object.fromEntries(
  STEP_OPS.map((op) => [op, MachineStepper.prototype[op] as StepMethod]),
) as Record<StepOp, StepMethod>;

/**
 * Records every stepper call made while `run` runs. The host's steppers are shared and made
 * deep inside it, so the recording is done on the prototype, and undone whatever happens.
 */
export async function recordingSteps(run: () => Promise<unknown>): Promise<Step[]> {
  const steps: Step[] = [];
  const proto = MachineStepper.prototype as unknown as Record<StepOp, StepMethod>;
  for (const op of STEP_OPS) {
    proto[op] = function (this: MachineStepper, arg, event) {
      const result = stepperMethods[op].call(this, arg, event);
      steps.push({ stepper: this, op, arg, event, result });
      return result;
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
 * The recorded steps made by bare XState actors, one actor per machine: a first snapshot is
 * `createActor(machine, { input }).start()`, a restore is `createActor(machine, { snapshot })
 * .start()`, a transition is `send`, a persisted form is `getPersistedSnapshot()`. Each
 * snapshot the host held maps to the actor that holds it; a step from a snapshot its actor
 * has moved past (the host went back to the one on disk) restores a new actor from it.
 * `onStep` sees each actor after its step (the check); the timed replays pass none.
 */
function actorReplay(steps: readonly Step[], onStep?: (actor: AnyActorRef, step: Step) => void): number {
  const holder = new Map<unknown, AnyActorRef>();
  const current = new Map<AnyActorRef, unknown>();
  const actorAt = (step: Step): AnyActorRef => {
    const actor = holder.get(step.arg);
    if (actor !== undefined && current.get(actor) === step.arg) return actor;
    const machine = step.stepper.machine;
    return createActor(machine, {
      snapshot: machine.getPersistedSnapshot(step.arg as AnyMachineSnapshot) as never,
    }).start();
  };
  const started = performance.now();
  for (const step of steps) {
    let actor: AnyActorRef;
    switch (step.op) {
      case 'initial':
        actor = createActor(step.stepper.machine, { input: step.arg }).start();
        break;
      case 'restore':
        actor = createActor(step.stepper.machine, { snapshot: step.arg as never }).start();
        break;
      case 'next':
        actor = actorAt(step);
        actor.send(step.event!);
        break;
      case 'persisted':
        actor = actorAt(step);
        actor.getPersistedSnapshot();
        break;
    }
    if (step.op !== 'persisted') {
      holder.set(step.result, actor);
      current.set(actor, step.result);
    }
    onStep?.(actor, step);
  }
  return performance.now() - started;
}

/**
 * The actors' replay, checked once (untimed): after every step each actor is in the state, with
 * the context, the host's stepper reached. A replay that drifted would time other work.
 */
export function checkActorReplay(steps: readonly Step[]): void {
  actorReplay(steps, (actor, step) => {
    if (step.op === 'persisted') return;
    const got = actor.getSnapshot() as AnyMachineSnapshot;
    const want = step.result as AnyMachineSnapshot;
    if (
      got.value !== want.value ||
      got.status !== want.status ||
      JSON.stringify(got.context) !== JSON.stringify(want.context)
    ) {
      throw new Error(
        `bare XState replay drifted at ${step.op} ${step.event?.type ?? ''}: ${String(got.value)} where the host had ${String(want.value)}`,
      );
    }
  });
}

/**
 * RPC calls per swap lifecycle: every call through the simulated network (reads and writes,
 * polls included) over the swaps the host saw end, with no faults.
 */
export async function rpcCallsPerSwap(
  runs: number,
): Promise<{ calls: number; lifecycles: number; perLifecycle: number }> {
  let calls = 0;
  let lifecycles = 0;
  for (let seed = 1; seed <= runs; seed += 1) {
    const world = World.create(
      seed,
      { swaps: 8, jobs: 0, marginBlocks: 3, hostility: { badData: 0, tightWindow: 0, shortLock: 0, payerCancels: 0 } },
      PRODUCT_MODULES,
    );
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
