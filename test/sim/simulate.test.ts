/**
 * What `settle sim` must show: the same seed gives the same figures, every fault kind is
 * really injected, the real host keeps every invariant under all of them, and each classic
 * bug planted around the engine (an interceptor) is caught within a bounded number of seeds.
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, parseFaults } from '../../sim/faults.ts';
import { INVARIANT_NAMES, simulate } from '../../sim/simulate.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import {
  ClaimTxIsPayment,
  DropsUnmarkedSendOnMissedPoll,
  ResignsAfterRestart,
  SendsBeforePersisting,
  SendsTooLate,
  WitnessRemoved,
} from '../support/plantedBugs.ts';

const ALL = parseFaults('all');

describe('settle sim', () => {
  it('is deterministic: the same seed and options give identical figures', async () => {
    const options = { seed: 42, runs: 12, swaps: 6, jobs: 6, faults: ALL };
    const first = JSON.stringify(await simulate(options));
    const second = JSON.stringify(await simulate(options));
    expect(second).toBe(first);
    expect(JSON.stringify(await simulate({ ...options, seed: 43 }))).not.toBe(first);
  });

  it('injects every kind of fault, and the real host keeps every invariant under all of them', async () => {
    const summary = await simulate({ seed: 1, runs: 120, swaps: 8, jobs: 8, faults: ALL });
    for (const kind of FAULT_KINDS) expect(summary.faultsInjected[kind], kind).toBeGreaterThan(0);
    expect(summary.crashes).toBeGreaterThan(0);
    expect(summary.restarts).toBeGreaterThanOrEqual(summary.crashes);
    expect(summary.invariants.map((i) => i.name)).toEqual([...INVARIANT_NAMES]);
    for (const invariant of summary.invariants) {
      expect(invariant.violations, invariant.name).toBe(0);
      expect(invariant.checked, invariant.name).toBeGreaterThan(0);
    }
    expect(summary.violation).toBeNull();
    expect(summary.incompleteRuns).toBe(0);
    // Every end state of both machines is reached under faults.
    expect(Object.keys(summary.lifecycles.swapFulfillment.endStates).sort()).toEqual([
      'Expired',
      'Fulfilled',
      'Recovery',
      'Rejected',
    ]);
    expect(Object.keys(summary.lifecycles.jobSettlement.endStates).sort()).toEqual(['Cancelled', 'Finished']);
    // A swap can leave the contract unseen (created, then timed out or reassigned between two
    // polls); every job is seen, since the compute engine lists them all.
    expect(summary.lifecycles.swapFulfillment.completed).toBeLessThanOrEqual(120 * 8);
    expect(summary.lifecycles.swapFulfillment.completed).toBeGreaterThan(120 * 8 * 0.9);
    expect(summary.lifecycles.jobSettlement.completed).toBe(120 * 8);
  });

  it('injects nothing with --faults none', async () => {
    const summary = await simulate({ seed: 1, runs: 10, swaps: 6, jobs: 6, faults: parseFaults('none') });
    expect(Object.values(summary.faultsInjected).every((n) => n === 0)).toBe(true);
    expect(summary.restarts).toBe(0);
    expect(summary.violation).toBeNull();
  });
});

describe('sensitivity: each classic bug, planted around the engine, is caught', () => {
  const SEEDS = 200;
  const cases: Array<[string, readonly EngineInterceptor[], string]> = [
    ['send without persisting first', SendsBeforePersisting, INVARIANT.noDoubleSend],
    ['re-sign after a crash', ResignsAfterRestart, INVARIANT.noDoubleSend],
    ['drop an unmarked send on a missed poll', DropsUnmarkedSendOnMissedPoll, INVARIANT.noLostSend],
    ['a claim transaction taken as payment without a Claimed event', ClaimTxIsPayment, INVARIANT.noLostClaim],
    ['a send with too few blocks left', SendsTooLate, INVARIANT.noSendTooLate],
    ['the witness check removed (a store put back, a second host)', WitnessRemoved, INVARIANT.noDoubleSend],
  ];

  it.each(cases)(`%s: violates the matching invariant within ${SEEDS} seeds`, async (_, interceptors, invariant) => {
    const summary = await simulate({
      seed: 1,
      runs: SEEDS,
      swaps: 8,
      jobs: 8,
      faults: ALL,
      interceptors,
      stopAtFirstViolation: true,
    });
    expect(summary.violation).not.toBeNull();
    const violation = summary.violation!;
    expect(violation.invariants).toContain(invariant);
    expect(summary.invariants.find((i) => i.name === invariant)!.violations).toBeGreaterThan(0);
    // The report replays: same seed, one run, the shrunk configuration, and a trace to read.
    expect(violation.replay).toBe(
      `settle sim --seed ${violation.seed} --runs 1 --swaps ${violation.shrunk.swaps} --jobs ${violation.shrunk.jobs} --faults ${violation.shrunk.faults}`,
    );
    expect(violation.trace.length).toBeGreaterThan(0);
    const replayed = await simulate({
      seed: violation.seed,
      runs: 1,
      swaps: violation.shrunk.swaps,
      jobs: violation.shrunk.jobs,
      faults: parseFaults(violation.shrunk.faults),
      interceptors,
    });
    expect(replayed.invariants.find((i) => i.name === invariant)!.violations).toBeGreaterThan(0);
    // Shrinking keeps only what the bug needs.
    expect(parseFaults(violation.shrunk.faults).size).toBeLessThan(FAULT_KINDS.length);
  });
});
