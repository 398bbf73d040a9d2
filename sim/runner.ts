/**
 * Drives a world and a host block by block until every planned obligation is final. A host
 * that dies (SimulatedCrash) is thrown away and a new one is opened on the same directory, at
 * the same block: exactly what a restart after SIGKILL meets.
 */
import { isSimulatedCrash, type CrashHook } from '../src/host/crashpoints.ts';
import type { TickSummary } from '../src/host/host.ts';
import { advanceBlock } from './advance.ts';
import { finalMachines, type SimHost } from './simHost.ts';
import { checkInvariants, type InvariantResult } from './invariants.ts';
import type { World } from './world.ts';

export interface RunOptions {
  readonly world: World;
  /** Opens a host on the run's directory; `crashHook` is set for the host generation given. */
  readonly openHost: (generation: number) => Promise<SimHost>;
  readonly maxBlocks: number;
  readonly onTick?: (summary: TickSummary, host: SimHost) => void | Promise<void>;
  readonly shouldStop?: () => boolean;
}

export interface RunResult {
  readonly blocks: number;
  readonly crashes: number;
  readonly complete: boolean;
  readonly stopped: boolean;
  readonly host: SimHost;
}

export async function runUntilSettled(options: RunOptions): Promise<RunResult> {
  let generation = 0;
  let current = await options.openHost(generation);
  let crashes = 0;
  let blocks = 0;
  let needsTick = true;
  while (blocks < options.maxBlocks) {
    if (options.shouldStop?.() === true) return { blocks, crashes, complete: false, stopped: true, host: current };
    if (!needsTick) {
      advanceBlock(options.world);
      blocks += 1;
    }
    try {
      const summary = await current.host.tick();
      needsTick = false;
      await options.onTick?.(summary, current);
    } catch (error) {
      if (!isSimulatedCrash(error)) throw error;
      crashes += 1;
      generation += 1;
      current = await options.openHost(generation);
      continue;
    }
    if (options.world.scriptDone && current.host.liveCount === 0) {
      return { blocks, crashes, complete: true, stopped: false, host: current };
    }
  }
  return { blocks, crashes, complete: false, stopped: false, host: current };
}

export async function invariantsAfter(world: World, result: RunResult): Promise<InvariantResult[]> {
  const finals = await finalMachines(result.host.store);
  return checkInvariants(world.state, {
    finals,
    live: new Set(result.host.host.machines().map((m) => m.id)),
    recovery: result.host.recoveryLog.entries(),
    marginBlocks: world.state.plan.marginBlocks,
  });
}

export type { CrashHook };
