/**
 * Simulator speed: swap lifecycles per second through the real host with faults and crashes,
 * next to bare XState running the same machine with no host (the ceiling), in the same run.
 */
import { createActor } from 'xstate';
import { swapFulfillment, type SwapTerms } from '../machines/index.ts';
import { parseFaults } from '../sim/faults.ts';
import type { FaultSource } from '../sim/faults.ts';
import { everyObligationSeen } from '../sim/runner.ts';
import { simulate } from '../sim/simulate.ts';
import { SimulatedSystem } from '../sim/system.ts';
import { World } from '../sim/world.ts';

const TERMS: SwapTerms = {
  swapId: '1',
  miner: 'm',
  sourceChain: 'btc',
  destChain: 'tao',
  sourceAmount: '100',
  destAmount: '100',
  taoAmount: '100',
  userDestAddress: '5x',
  sourceTxHash: 's',
  initiatedBlock: 1,
  timeoutBlock: 40,
};

/** The same happy path the host drives, with nothing around it. */
export function bareLifecycles(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const actor = createActor(swapFulfillment, { input: { terms: TERMS, block: 1 } }).start();
    actor.send({ type: 'BLOCK', height: 2 });
    actor.send({ type: 'TRANSFER_SIGNED', raw: '0xraw', hash: '0xhash' });
    actor.send({ type: 'TRANSFER_INCLUDED', block: 3 });
    actor.send({ type: 'MARK_OK' });
    if (actor.getSnapshot().value !== 'Fulfilled') throw new Error('bare lifecycle did not end Fulfilled');
  }
  return count / ((performance.now() - started) / 1000);
}

export async function simulatedLifecycles(runs: number, faults: string): Promise<{ perSecond: number; lifecycles: number; crashes: number }> {
  const started = performance.now();
  const summary = await simulate({ seed: 1, runs, swaps: 8, jobs: 0, faults: parseFaults(faults) });
  const seconds = (performance.now() - started) / 1000;
  const lifecycles = summary.lifecycles.swapFulfillment.completed;
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
