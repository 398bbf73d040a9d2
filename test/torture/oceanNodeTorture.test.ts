/**
 * The daemon beside ocean-node killed with SIGKILL at random instants (see oceanNodeTorture.ts):
 * 4 kills in `npm test` (SETTLE_OCEAN_TORTURE_KILLS to change it), more in CI's
 * `npm run torture -- --ocean-node`. Its own file so that vitest runs it beside the swap torture
 * (each spends most of its time waiting on the daemon it killed).
 */
import { describe, expect, it } from 'vitest';
import { runOceanNodeTorture } from './oceanNodeTorture.ts';

const KILLS = Number(process.env['SETTLE_OCEAN_TORTURE_KILLS'] ?? 4);

describe('settle daemon beside ocean-node under kill -9', () => {
  it("configured by network name, reading ocean-node's SQLite jobs, raced by a second claimer: every job claimed once for min(cost, lock), every machine Finished", async () => {
    const report = await runOceanNodeTorture({ kills: KILLS, seed: 3, jobs: 10 });
    expect(report.violations).toEqual([]);
    expect(report.jobStates).toEqual({ Finished: 10 });
    expect(report.claimedByRival + report.claimedBySettle).toBe(10);
  }, 900_000);
});
