/**
 * Drives a world and a host block by block until every planned obligation is final. A host
 * that dies (SimulatedCrash) is thrown away and a new one is opened on the same directory, at
 * the same block: exactly what a restart after SIGKILL meets.
 */
import type { CrashHook } from '../src/engine/crashpoints.ts';
import type { TickSummary } from '../src/engine/engine.ts';
import { isFatalToHost } from '../src/engine/live.ts';
import { finalMachines, type SimHost } from './simHost.ts';
import { checkInvariants, type InvariantResult } from './invariants.ts';
import { advanceBlock, type World } from './world.ts';

export interface RunOptions {
  readonly world: World;
  /** Opens a host on the run's directory; `crashHook` is set for the host generation given. */
  readonly openHost: (generation: number) => Promise<SimHost>;
  readonly maxBlocks: number;
  readonly onTick?: (summary: TickSummary, host: SimHost) => void | Promise<void>;
  readonly shouldStop?: () => boolean;
  /** Told of each host death before the restart. */
  readonly onCrash?: (error: unknown) => void;
  /** Moves the world on between two polls; one block by default. */
  readonly advance?: (world: World) => Promise<void>;
  /** Whether something between the polls ended the host's life (an older data directory put back). */
  readonly restartNow?: () => boolean;
}

export interface RunResult {
  readonly blocks: number;
  /** Host deaths: simulated crashes and store writes that failed. */
  readonly crashes: number;
  readonly complete: boolean;
  readonly stopped: boolean;
  readonly host: SimHost;
}

/** Restarts in a row that may each die while opening before the run is judged stuck (a bug). */
const MAX_OPENS_IN_A_ROW = 100;

export async function runUntilSettled(options: RunOptions): Promise<RunResult> {
  let generation = 0;
  let crashes = 0;
  // A host can die while it opens too (the witness records what it found at start, and that
  // write can tear): that is one more crash, and the next life opens on what the last left.
  const open = async (): Promise<SimHost> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await options.openHost(generation);
      } catch (error) {
        if (!isFatalToHost(error) || attempt >= MAX_OPENS_IN_A_ROW) throw error;
        options.onCrash?.(error);
        crashes += 1;
        generation += 1;
      }
    }
  };
  let current = await open();
  let blocks = 0;
  let needsTick = true;
  while (blocks < options.maxBlocks) {
    if (options.shouldStop?.() === true) return { blocks, crashes, complete: false, stopped: true, host: current };
    if (!needsTick) {
      if (options.advance === undefined) advanceBlock(options.world);
      else await options.advance(options.world);
      blocks += 1;
      if (options.restartNow?.() === true) {
        // An older data directory was put back under the host: a new one starts on it.
        crashes += 1;
        generation += 1;
        current = await open();
      }
    }
    try {
      const summary = await current.host.tick();
      needsTick = false;
      await options.onTick?.(summary, current);
    } catch (error) {
      if (!isFatalToHost(error)) throw error;
      options.onCrash?.(error);
      crashes += 1;
      // The new host polls the very block the old one died in: a restart takes no time.
      needsTick = true;
      generation += 1;
      current = await open();
      continue;
    }
    if (options.world.scriptDone && everyObligationSeen(options.world, current)) {
      return { blocks, crashes, complete: true, stopped: false, host: current };
    }
  }
  return { blocks, crashes, complete: false, stopped: false, host: current };
}

/**
 * Whether the host has met every obligation it still can, as each module judges it (every job
 * the compute engine lists, every Active swap of ours in storage). A poll that failed on the
 * last tick must not end the run with an obligation never seen.
 */
export function everyObligationSeen(world: World, simHost: SimHost | null): boolean {
  if (simHost === null || simHost.host.liveCount > 0) return false;
  const store = simHost.store;
  return world.modules.every((module) => module.allSeen(world, (id) => store.placeOf(id)));
}

export async function invariantsAfter(world: World, result: RunResult): Promise<InvariantResult[]> {
  const finals = await finalMachines(result.host.store);
  return checkInvariants(world, {
    finals,
    live: new Set(result.host.host.machines().map((m) => m.id)),
    recovery: result.host.recoveryLog.entries(),
    marginBlocks: world.state.plan.marginBlocks,
  });
}

export type { CrashHook };
