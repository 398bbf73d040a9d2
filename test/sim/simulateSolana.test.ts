/**
 * `settle sim --contract solana`: the Solana swap manager's flavour of the simulator (unix-second
 * deadlines, the grace after a mark, validators that extend, confirm, time out and cancel, the
 * 99% payout checked as the validators check it). The same seed gives the same figures; every
 * fault kind the flavour has is injected (a swap cannot be reassigned on Solana); the real host
 * keeps every invariant, the three payout invariants included; and each planted bug is caught.
 */
import { describe, expect, it } from 'vitest';
import { INVARIANT } from '../../machines/invariants.ts';
import { FAULT_KINDS, parseFaults } from '../../sim/faults.ts';
import { INVARIANT_NAMES, simulate } from '../../sim/simulate.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import {
  ClaimTxIsPayment,
  DropsUnmarkedSendOnMissedPoll,
  GatesOnThisPayoutAlone,
  PaysWithoutVerifying,
  MarksWithSourceHash,
  PaysShort,
  ResignsAfterRestart,
  SendsBeforePersisting,
  SendsTooLate,
  VerifiesOnZeroConfirmations,
} from '../support/plantedBugs.ts';

const ALL = parseFaults('all');
const SOLANA = { contract: 'solana' as const };

describe('settle sim --contract solana', () => {
  it('is deterministic: the same seed and options give identical figures', async () => {
    const options = { ...SOLANA, seed: 42, runs: 8, swaps: 6, jobs: 3, faults: ALL };
    const first = JSON.stringify(await simulate(options));
    expect(JSON.stringify(await simulate(options))).toBe(first);
  });

  it('injects every fault kind of the flavour, and the real host keeps every invariant under all of them', async () => {
    const summary = await simulate({ ...SOLANA, seed: 1, runs: 60, swaps: 8, jobs: 4, faults: ALL });
    for (const kind of FAULT_KINDS.filter((k) => k !== 'swap-reassigned'))
      expect(summary.faultsInjected[kind], kind).toBeGreaterThan(0);
    expect(summary.faultsInjected['swap-reassigned']).toBe(0);
    expect(summary.invariants.map((i) => i.name)).toEqual([...INVARIANT_NAMES]);
    for (const invariant of summary.invariants) {
      expect(invariant.violations, invariant.name).toBe(0);
      if (invariant.name !== INVARIANT.restartIsInvisible) expect(invariant.checked, invariant.name).toBeGreaterThan(0);
    }
    expect(summary.violation).toBeNull();
    expect(summary.incompleteRuns).toBe(0);
    expect(Object.keys(summary.lifecycles.swapFulfillment.endStates).sort()).toEqual([
      'Expired',
      'Fulfilled',
      'Recovery',
      'Rejected',
    ]);
  });
});

describe('sensitivity, Solana flavour: each planted bug is caught', () => {
  const SEEDS = 200;
  const cases: Array<[string, readonly EngineInterceptor[], string]> = [
    // A crash between the broadcast and the write loses a sent transfer before it pays twice.
    ['send without persisting first', SendsBeforePersisting, INVARIANT.noLostSend],
    ['re-sign after a crash', ResignsAfterRestart, INVARIANT.noDoubleSend],
    ['drop an unmarked send on a missed poll', DropsUnmarkedSendOnMissedPoll, INVARIANT.noLostSend],
    ['a claim transaction taken as payment', ClaimTxIsPayment, INVARIANT.noLostClaim],
    ['a send with too little time left', SendsTooLate, INVARIANT.noSendTooLate],
    ['pays 98% of to_amount', PaysShort, INVARIANT.neverPaidShort],
    ['marks with the source transaction hash', MarksWithSourceHash, INVARIANT.neverMarkedUnpaid],
    ['pays without verifying the deposit', PaysWithoutVerifying, INVARIANT.neverPaidUnverified],
    ['verifies a deposit on 0 confirmations', VerifiesOnZeroConfirmations, INVARIANT.neverPaidUnverified],
    ['gates the funds on this payout alone', GatesOnThisPayoutAlone, INVARIANT.neverStarvedEarlier],
  ];

  it.each(cases)(
    `%s: violates the matching invariant within ${SEEDS} seeds, and replays`,
    async (_, interceptors, invariant) => {
      const summary = await simulate({
        ...SOLANA,
        seed: 1,
        runs: SEEDS,
        swaps: 8,
        jobs: 4,
        faults: ALL,
        interceptors,
        stopAtFirstViolation: true,
      });
      expect(summary.violation).not.toBeNull();
      const violation = summary.violation!;
      expect(violation.invariants).toContain(invariant);
      expect(violation.replay).toMatch(/ --contract solana$/);
      const replayed = await simulate({
        ...SOLANA,
        seed: violation.seed,
        runs: 1,
        swaps: violation.shrunk.swaps,
        jobs: violation.shrunk.jobs,
        faults: parseFaults(violation.shrunk.faults),
        interceptors,
      });
      expect(replayed.invariants.find((i) => i.name === invariant)!.violations).toBeGreaterThan(0);
    },
  );

  it('the two new payout bugs are caught in the ink! flavour as well', async () => {
    for (const [interceptors, invariant] of [
      [PaysShort, INVARIANT.neverPaidShort],
      [MarksWithSourceHash, INVARIANT.neverMarkedUnpaid],
    ] as const) {
      const summary = await simulate({
        seed: 1,
        runs: SEEDS,
        swaps: 8,
        jobs: 0,
        faults: ALL,
        interceptors,
        stopAtFirstViolation: true,
      });
      expect(summary.violation?.invariants, invariant).toContain(invariant);
    }
  });
});
