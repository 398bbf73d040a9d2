/**
 * The daemon killed with SIGKILL at random instants, with an older copy of its data directory
 * put back (see tortureRun.ts for what is checked at the end). In `npm test`: 4 kills, the copy
 * taken at kill 1 and put back at kill 3, so the fourth kills the life after the restore; 8 swaps
 * and 8 jobs (SETTLE_TORTURE_KILLS to change the kills). CI's `npm run torture -- --kills 50`
 * runs the same with more: a copy every 10 kills, each put back 4 kills later, 12 of each.
 */
import { describe, expect, it } from 'vitest';
import { runTorture } from './tortureRun.ts';

const KILLS = Number(process.env['SETTLE_TORTURE_KILLS'] ?? 4);
const BACKUP_EVERY = 10;
const RESTORE_AFTER = 2;
const OBLIGATIONS = 8;

/** Copies are taken at kills 1, 11, 21...; each is put back RESTORE_AFTER kills later, if the run gets there. */
function restoresExpected(kills: number): number {
  return kills <= RESTORE_AFTER ? 0 : Math.floor((kills - 1 - RESTORE_AFTER) / BACKUP_EVERY) + 1;
}

describe('settle daemon under kill -9', () => {
  it(`keeps every invariant across ${KILLS} SIGKILLs and older copies put back: one transfer per fulfilled swap, every owed claim, every stuck obligation logged`, async () => {
    const report = await runTorture({
      kills: KILLS,
      seed: 7,
      swaps: OBLIGATIONS,
      jobs: OBLIGATIONS,
      backupEvery: BACKUP_EVERY,
      restoreAfter: RESTORE_AFTER,
    });
    expect(report.violations).toEqual([]);
    expect(report.kills).toBe(KILLS);
    expect(report.restores).toBe(restoresExpected(KILLS));
    // The run did real work between the kills: every swap and job reached a final state
    // (in the store, or on the contract for a swap only a forgotten life knew).
    const finished = (states: Record<string, number>) => Object.values(states).reduce((a, b) => a + b, 0);
    expect(finished(report.swapStates) + report.fulfilledForgotten).toBe(OBLIGATIONS);
    expect(finished(report.jobStates)).toBe(OBLIGATIONS);
    expect(report.swapStates['Fulfilled']).toBeGreaterThan(0);
    expect(report.claimed).toBeGreaterThan(0n);
  }, 900_000);
});
