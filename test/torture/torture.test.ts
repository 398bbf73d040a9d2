/**
 * The daemon killed with SIGKILL at random instants, with an older copy of its data directory
 * put back every 10 kills (see tortureRun.ts for what is checked at the end): 6 kills and one
 * restore in `npm test` (SETTLE_TORTURE_KILLS to change it), 50 in CI's
 * `npm run torture -- --kills 50`, which runs the same with more. Six is the fewest that still
 * puts a copy back (taken at kill 1, restored at kill 5) and kills the life after the restore.
 */
import { describe, expect, it } from 'vitest';
import { runTorture } from './tortureRun.ts';

const KILLS = Number(process.env['SETTLE_TORTURE_KILLS'] ?? 6);

describe('settle daemon under kill -9', () => {
  it(`keeps every invariant across ${KILLS} SIGKILLs and older copies put back: one transfer per fulfilled swap, every owed claim, every stuck obligation logged`, async () => {
    const report = await runTorture({ kills: KILLS, seed: 7, swaps: 12, jobs: 12 });
    expect(report.violations).toEqual([]);
    expect(report.kills).toBe(KILLS);
    // A copy taken at kills 1, 11, 21...; each put back 4 kills later.
    expect(report.restores).toBe(KILLS < 5 ? 0 : Math.floor((KILLS - 5) / 10) + 1);
    // The run did real work between the kills: every swap and job reached a final state
    // (in the store, or on the contract for a swap only a forgotten life knew).
    const finished = (states: Record<string, number>) => Object.values(states).reduce((a, b) => a + b, 0);
    expect(finished(report.swapStates) + report.fulfilledForgotten).toBe(12);
    expect(finished(report.jobStates)).toBe(12);
    expect(report.swapStates['Fulfilled']).toBeGreaterThan(0);
    expect(report.claimed).toBeGreaterThan(0n);
  }, 900_000);
});
