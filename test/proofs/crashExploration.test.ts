/**
 * PROPERTY (exhaustive, bounded): for 2 swaps (one with a deadline close enough to time out)
 * and 3 jobs (paid, free, a lock that expires), at every point where the host can die (before
 * and after each write, after each effect, after each recovery record and archive, right after
 * each chain call) and at every chain call that can fail (before reaching the chain, or after
 * taking effect with its answer lost), in every combination of up to SETTLE_PROVE_CRASHES
 * crashes (default 1; `npm run prove` and CI: 2) and SETTLE_PROVE_FAULTS RPC faults (default 1), the run ends with every
 * obligation final and every invariant holding. States already explored are merged, as a model
 * checker does; the figures printed are states explored and paths checked.
 */
import { describe, expect, it } from 'vitest';
import { addJob, addSwap } from '../../sim/advance.ts';
import { BLOCK_SECONDS, World } from '../../sim/world.ts';
import { INVARIANT } from '../../machines/invariants.ts';
import { WitnessRemoved } from '../support/plantedBugs.ts';
import { explore, replayPath } from './crashExplorer.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';

// npm test explores 1 crash per path (about 4x faster); npm run prove and CI's second step, 2.
const CRASHES = Number(process.env['SETTLE_PROVE_CRASHES'] ?? 1);
const FAULTS = Number(process.env['SETTLE_PROVE_FAULTS'] ?? 1);

function smallWorld(): World {
  const world = World.create(3, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
  addSwap(world, { destChain: 'tao', window: 20 });
  addSwap(world, { destChain: 'eth', window: 6 });
  addJob(world, { lockAmount: 100n, cost: 40n });
  addJob(world, { free: true });
  addJob(world, { lockAmount: 100n, runSeconds: 2 * BLOCK_SECONDS, lockSeconds: BLOCK_SECONDS });
  return world;
}

describe('exhaustive crash-point exploration', () => {
  it(`every combination of up to ${CRASHES} crashes and ${FAULTS} RPC faults keeps every invariant`, async () => {
    const report = await explore(smallWorld, { crashes: CRASHES, faults: FAULTS, maxBlocks: 80 });
    console.log(
      `explored ${report.statesExplored} states over ${report.pathsRun} paths ` +
        `(${report.pathsCompleted} run to the end, ${report.pathsMerged} merged into states already explored), ` +
        `${report.choicePointsSeen} choice points`,
    );
    if (report.violations.length > 0) {
      // Read what the first counterexample did, step by step.
      const trace = await replayPath(smallWorld, report.violations[0]!.path, 80);
      expect.fail(
        `${report.violations.length} violating paths; first: ${report.violations[0]!.path}\n${JSON.stringify(report.violations[0]!.invariants, null, 2)}\n${trace.join('\n')}`,
      );
    }
    expect(report.pathsCompleted).toBeGreaterThan(0);
    // Crashing at every one of the ~hundred points of the fault-free run, at least.
    expect(report.pathsRun).toBeGreaterThan(100);
  }, 600_000);

  const ROLLBACK_CRASHES = Number(process.env['SETTLE_PROVE_ROLLBACK_CRASHES'] ?? 1);
  it(`an older data directory put back at any poll (once), with up to ${ROLLBACK_CRASHES} crash(es), never pays twice and keeps every invariant`, async () => {
    const report = await explore(smallWorld, { crashes: ROLLBACK_CRASHES, faults: 0, rollbacks: 1, maxBlocks: 80 });
    console.log(
      `with a rollback: explored ${report.statesExplored} states over ${report.pathsRun} paths ` +
        `(${report.pathsCompleted} run to the end, ${report.pathsMerged} merged), ${report.choicePointsSeen} choice points`,
    );
    if (report.violations.length > 0) {
      const trace = await replayPath(smallWorld, report.violations[0]!.path, 80);
      expect.fail(
        `${report.violations.length} violating paths; first: ${report.violations[0]!.path}\n${JSON.stringify(report.violations[0]!.invariants, null, 2)}\n${trace.join('\n')}`,
      );
    }
    // A rollback offered at every poll of the fault-free run, at least.
    expect(report.pathsRun).toBeGreaterThan(20);
    // The same exploration finds the double send of a host without the witness.
    const buggy = await explore(smallWorld, {
      crashes: 0,
      faults: 0,
      rollbacks: 1,
      maxBlocks: 80,
      interceptors: WitnessRemoved,
    });
    expect(buggy.violations.flatMap((v) => v.invariants.map((i) => i.name))).toContain(INVARIANT.noDoubleSend);
  }, 600_000);
});
