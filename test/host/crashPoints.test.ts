/**
 * Crash tests: the host is killed (thrown away with its actors, mid-flight) at every point
 * where it can die, one run per point, and a new host on the same directory finishes the
 * work. Each run must end with exactly one transfer per swap that was sent, every owed claim
 * made, every stuck obligation logged once, and the same chain outcome as the run without
 * a crash.
 */
import { describe, expect, it } from 'vitest';
import { chainOutcome } from '../../sim/invariants.ts';
import { invariantsAfter, runUntilSettled, type RunResult } from '../../sim/runner.ts';
import { finalMachines } from '../../sim/simHost.ts';
import type { World } from '../../sim/world.ts';
import { CrashAtNth, type CrashHook, type CrashPoint } from '../../src/engine/crashpoints.ts';
import { hostOpener, smallWorld, tempDir } from '../support/simFixture.ts';

const SEED = 7;

async function run(hooks: ReadonlyArray<CrashHook | undefined>): Promise<{ world: World; result: RunResult }> {
  const world = smallWorld(SEED);
  const result = await runUntilSettled({
    world,
    maxBlocks: 200,
    openHost: hostOpener(world, tempDir('settle-crash-'), hooks),
  });
  return { world, result };
}

/** Distinct transfers each swap ever signed: a second one would be a second transfer. */
function signaturesPerSwap(world: World): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { swapId } of Object.values(world.state.observations.signatures))
    counts.set(swapId, (counts.get(swapId) ?? 0) + 1);
  return counts;
}

/** How every obligation ended, as the store says: a restart must not change it either. */
async function endings(result: RunResult): Promise<Record<string, string>> {
  const finals = await finalMachines(result.host.store);
  return Object.fromEntries([...finals].map(([id, f]) => [id, f.state]));
}

async function expectSound(world: World, result: RunResult, crashes: number): Promise<void> {
  expect(result.complete).toBe(true);
  expect(result.crashes).toBe(crashes);
  for (const invariant of await invariantsAfter(world, result)) {
    expect(invariant.violations, invariant.name).toEqual([]);
    expect(invariant.checked, invariant.name).toBeGreaterThan(0);
  }
  for (const [swapId, count] of signaturesPerSwap(world)) expect(count, `swap ${swapId} signatures`).toBe(1);
}

describe('crash at every point, restart on the same directory', async () => {
  const points: CrashPoint[] = [];
  const clean = await run([(point) => void points.push(point)]);

  it('the clean run is sound and reaches every kind of crash point', async () => {
    await expectSound(clean.world, clean.result, 0);
    expect(new Set(points)).toEqual(
      new Set(['before-persist', 'after-persist', 'after-effect', 'after-record', 'after-archive']),
    );
    const outcome = chainOutcome(clean.world);
    // The fixture exercises the paths that matter: transfers, claims, a cancelled lock, a free job.
    expect(Object.values(outcome).filter((o) => o.includes(':included')).length).toBeGreaterThanOrEqual(4);
    expect(Object.values(outcome).filter((o) => o.startsWith('Claimed')).length).toBe(2);
    expect(Object.values(outcome).filter((o) => o.startsWith('Canceled')).length).toBe(2);
    expect(clean.result.host.recoveryLog.entries().length).toBeGreaterThanOrEqual(2);
    expect(new Set(Object.values(await endings(clean.result)))).toEqual(
      new Set(['Fulfilled', 'Rejected', 'Finished', 'Cancelled', 'Recovery']),
    );
  });

  it(`each of the crash points, crashed once, changes nothing on chain`, async () => {
    expect(points.length).toBeGreaterThan(100);
    const expected = chainOutcome(clean.world);
    const expectedEndings = await endings(clean.result);
    for (let n = 0; n < points.length; n += 1) {
      const crash = new CrashAtNth(n);
      const { world, result } = await run([crash.hook]);
      const where = `crash ${n} (${points[n]})`;
      await expectSound(world, result, 1).catch((error: Error) => {
        throw new Error(`${where}: ${error.message}`);
      });
      expect(chainOutcome(world), where).toEqual(expected);
      expect(await endings(result), where).toEqual(expectedEndings);
    }
  });

  it('two crashes in a row (the restart itself dies) change nothing either', async () => {
    const expected = chainOutcome(clean.world);
    const expectedEndings = await endings(clean.result);
    for (let first = 0; first < points.length; first += 9) {
      for (const second of [0, 1, 2, 5]) {
        const secondCrash = new CrashAtNth(second);
        const { world, result } = await run([new CrashAtNth(first).hook, secondCrash.hook]);
        const where = `crashes ${first} then ${second}`;
        // Near the end of the run the restarted host may finish before reaching point `second`.
        const crashes = secondCrash.reached > second ? 2 : 1;
        await expectSound(world, result, crashes).catch((error: Error) => {
          throw new Error(`${where}: ${error.message}`);
        });
        expect(chainOutcome(world), where).toEqual(expected);
        expect(await endings(result), where).toEqual(expectedEndings);
      }
    }
  });
});
