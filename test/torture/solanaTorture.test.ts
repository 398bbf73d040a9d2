/**
 * The daemon configured for the Solana swap manager, killed with SIGKILL 12 times at random
 * instants (see solanaTortureRun.ts for what is checked at the end). `npm run torture --
 * --solana --kills N` runs the same with more.
 */
import { describe, expect, it } from 'vitest';
import { runSolanaTorture } from './solanaTortureRun.ts';

describe('settle daemon for the Solana swap manager under kill -9', () => {
  it('never pays twice, short or from elsewhere, and marks every swap it paid, across 12 SIGKILLs', async () => {
    const report = await runSolanaTorture({ kills: 12, seed: 11, swaps: 4 });
    expect(report.violations).toEqual([]);
    expect(report.kills).toBe(12);
    expect(Object.values(report.swapStates).reduce((a, b) => a + b, 0)).toBe(4);
    expect(report.swapStates['Fulfilled']).toBeGreaterThan(0);
    expect(report.marks).toBe(report.swapStates['Fulfilled']);
  }, 900_000);
});
