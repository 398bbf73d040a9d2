/** A small world with one of each kind of obligation, and a host over it in a temp dir. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { addJob, addSwap } from '../../sim/advance.ts';
import { openSimHost, type SimHost } from '../../sim/simHost.ts';
import { BLOCK_SECONDS, World } from '../../sim/world.ts';
import type { CrashHook } from '../../src/engine/crashpoints.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';

export const silentLog = pino({ level: 'silent' });

/** Faster temp dirs where the machine has a RAM disk; fsync still runs through the same calls. */
export function tempDir(prefix: string): string {
  const base = process.platform === 'linux' ? '/dev/shm' : tmpdir();
  try {
    return mkdtempSync(join(base, prefix));
  } catch {
    return mkdtempSync(join(tmpdir(), prefix));
  }
}

/**
 * 5 swaps (two destination chains, one whose deadline is too close to mark, one bad address) and 5 jobs (paid, capped,
 * free, expiring before the claimer runs, expiring with a payer who cancels it first).
 */
export function smallWorld(seed = 7): World {
  const world = World.create(seed, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
  // The swap too close to its deadline first: an account signs one transfer at a time (the
  // witness), and it must be the one signed before its margin passes.
  addSwap(world, { destChain: 'tao', window: 4 });
  addSwap(world, { destChain: 'tao', window: 30 });
  addSwap(world, { destChain: 'eth', window: 30 });
  addSwap(world, { destChain: 'eth', window: 25 });
  addSwap(world, { destChain: 'eth', userDestAddress: 'not-an-address' });
  addJob(world, { lockAmount: 10n ** 18n, cost: 4n * 10n ** 17n });
  addJob(world, { lockAmount: 10n ** 18n, cost: 3n * 10n ** 18n });
  addJob(world, { free: true });
  addJob(world, { lockAmount: 10n ** 18n, runSeconds: 2 * BLOCK_SECONDS, lockSeconds: BLOCK_SECONDS });
  addJob(world, {
    lockAmount: 10n ** 18n,
    runSeconds: 2 * BLOCK_SECONDS,
    lockSeconds: BLOCK_SECONDS,
    payerCancelsOnExpiry: true,
  });
  world.commit();
  return world;
}

export function hostOpener(world: World, dir: string, hooks: ReadonlyArray<CrashHook | undefined> = []) {
  return (generation: number): Promise<SimHost> => {
    const hook = hooks[generation];
    return openSimHost(world, dir, {
      create: generation === 0,
      log: silentLog,
      ...(hook === undefined ? {} : { crashHook: hook }),
    });
  };
}
