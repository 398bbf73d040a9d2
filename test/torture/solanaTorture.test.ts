/**
 * The daemon configured for the Solana swap manager, killed with SIGKILL at random instants (see
 * solanaTortureRun.ts for what is checked at the end): 3 kills and 2 swaps in `npm test`
 * (SETTLE_SOLANA_TORTURE_KILLS for more); CI's `npm run torture -- --solana --kills 20` runs the
 * same with more. The same run then plants a second payout by the miner's own sender, and the
 * checks must catch it: a torture whose checks cannot fail proves nothing.
 */
import { describe, expect, it } from 'vitest';
import { runSolanaTorture } from './solanaTortureRun.ts';

const KILLS = Number(process.env['SETTLE_SOLANA_TORTURE_KILLS'] ?? 3);

describe('settle daemon for the Solana swap manager under kill -9', () => {
  it(`never pays twice, short or from elsewhere, and marks every swap it paid, across ${KILLS} SIGKILLs`, async () => {
    const report = await runSolanaTorture({ kills: KILLS, seed: 11, swaps: 2, plantSecondPayout: true });
    expect(report.violations).toEqual([]);
    expect(report.kills).toBe(KILLS);
    expect(Object.values(report.swapStates).reduce((a, b) => a + b, 0)).toBe(2);
    expect(report.swapStates['Fulfilled']).toBeGreaterThan(0);
    expect(report.marks).toBe(report.swapStates['Fulfilled']);
    // The planted second payout is caught.
    expect(report.plantedCaught.some((v) => /: paid 2 times$/.test(v))).toBe(true);
  }, 900_000);
});
