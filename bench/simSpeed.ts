/**
 * Simulator speed: swap lifecycles per second through the real host with faults and crashes,
 * next to bare XState running the same machine with no host (the ceiling), in the same run.
 */
import { createActor } from 'xstate';
import { swapFulfillment, type SwapTerms } from '../machines/index.ts';
import { parseFaults } from '../sim/faults.ts';
import { simulate } from '../sim/simulate.ts';

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
