/**
 * Simulator speed: swap and job lifecycles per second through the real host with faults and
 * crashes, next to bare XState running the same machines with no host (the ceiling), in the
 * same run.
 */
import { createActor } from 'xstate';
import { jobSettlement, swapFulfillment } from '../machines/index.ts';
import { SAMPLE_JOB_TERMS, SAMPLE_SWAP_TERMS } from '../test/support/sampleTerms.ts';
import { parseFaults } from '../sim/faults.ts';
import type { FaultSource } from '../sim/faults.ts';
import { everyObligationSeen } from '../sim/runner.ts';
import { simulate } from '../sim/simulate.ts';
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

export async function simulatedLifecycles(runs: number, faults: string, kind: Obligation = 'swap'): Promise<{ perSecond: number; lifecycles: number; crashes: number }> {
  const started = performance.now();
  const summary = await simulate({ seed: 1, runs, swaps: kind === 'swap' ? 8 : 0, jobs: kind === 'job' ? 8 : 0, faults: parseFaults(faults) });
  const seconds = (performance.now() - started) / 1000;
  const lifecycles = kind === 'swap' ? summary.lifecycles.swapFulfillment.completed : summary.lifecycles.jobSettlement.completed;
  return { perSecond: lifecycles / seconds, lifecycles, crashes: summary.crashes };
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
