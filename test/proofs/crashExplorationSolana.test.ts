/**
 * PROPERTY (exhaustive, bounded), the Solana swap manager's flavour: for 2 swaps (SOL, marked
 * once the payout lands at confirmed; ETH, marked at broadcast and then followed to inclusion,
 * with a deadline close to the cushion), at every point where the host can die and at every
 * chain call that can fail, in every combination of up to SETTLE_PROVE_CRASHES crashes (default
 * 1 in npm test; `npm run prove` and CI: 2) and SETTLE_PROVE_FAULTS RPC faults (default 1), the
 * run ends with every swap final and every invariant holding, the payout invariants included.
 * The same exploration at npm test's bound finds a planted bug (a re-signature after a crash),
 * so the small bound still proves something.
 */
import { describe, expect, it } from 'vitest';
import { solanaSwapModule } from '../../sim/modules/solanaSwapModule.ts';
import { addManagerSwap } from '../../sim/solanaAdvance.ts';
import { World } from '../../sim/world.ts';
import { INVARIANT } from '../../machines/invariants.ts';
import { ResignsAfterRestart } from '../support/plantedBugs.ts';
import { explore, replayPath } from './crashExplorer.ts';

// npm test: 1 crash per path (a few seconds); npm run prove and CI's second step: 2 (about 40 s).
const CRASHES = Number(process.env['SETTLE_PROVE_CRASHES'] ?? 1);
const FAULTS = Number(process.env['SETTLE_PROVE_FAULTS'] ?? 1);

function smallWorld(): World {
  const world = World.create(5, { marginBlocks: 3 }, [solanaSwapModule]);
  addManagerSwap(world, { destChain: 'sol', hub: 'sol', windowSecs: 600 });
  addManagerSwap(world, { destChain: 'eth', hub: 'tao', windowSecs: 300 });
  return world;
}

describe('exhaustive crash-point exploration, Solana swap manager', () => {
  it(`every combination of up to ${CRASHES} crashes and ${FAULTS} RPC faults keeps every invariant`, async () => {
    const report = await explore(smallWorld, { crashes: CRASHES, faults: FAULTS, maxBlocks: 80 });
    console.log(
      `solana: explored ${report.statesExplored} states over ${report.pathsRun} paths ` +
        `(${report.pathsCompleted} run to the end, ${report.pathsMerged} merged), ${report.choicePointsSeen} choice points`,
    );
    if (report.violations.length > 0) {
      const trace = await replayPath(smallWorld, report.violations[0]!.path, 80);
      expect.fail(
        `${report.violations.length} violating paths; first: ${report.violations[0]!.path}\n${JSON.stringify(report.violations[0]!.invariants, null, 2)}\n${trace.join('\n')}`,
      );
    }
    expect(report.pathsCompleted).toBeGreaterThan(0);
    expect(report.pathsRun).toBeGreaterThan(50);
  }, 600_000);

  it('finds the double send of a host that signs again after a crash, with one crash and no fault', async () => {
    const buggy = await explore(smallWorld, {
      crashes: 1,
      faults: 0,
      maxBlocks: 80,
      interceptors: ResignsAfterRestart,
    });
    expect(buggy.violations.flatMap((v) => v.invariants.map((i) => i.name))).toContain(INVARIANT.noDoubleSend);
  }, 600_000);
});
