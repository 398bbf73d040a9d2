/**
 * The simulator-speed benchmark records the host's machine steps and fault decisions by
 * replacing prototype methods for one run. These check what it counts and that it puts every
 * method back: a recording left in place would slow and skew every later run in the process.
 */
import { describe, expect, it } from 'vitest';
import { checkActorReplay, recordingSteps, simulatedLifecycles, type Step } from '../../bench/simSpeed.ts';
import { FaultInjector, parseFaults } from '../../sim/faults.ts';
import { simulate } from '../../sim/simulate.ts';
import { MachineStepper } from '../../src/engine/machineStepper.ts';

describe('simulator speed benchmark', () => {
  it('counts the steps, chain calls and crash points of its runs and restores what it recorded through', async () => {
    const methods = ['initial', 'next', 'restore', 'persisted'] as const;
    const before = methods.map((m) => MachineStepper.prototype[m]);
    const decide = FaultInjector.prototype.decide;
    const swaps = await simulatedLifecycles(2, 'all', 'swap');
    const jobs = await simulatedLifecycles(2, 'none', 'job');
    // Compared as booleans: a failing comparison of the functions would print what they hold.
    expect(methods.filter((m, i) => MachineStepper.prototype[m] !== before[i])).toEqual([]);
    expect(FaultInjector.prototype.decide === decide).toBe(true);
    for (const figures of [swaps, jobs]) {
      expect(figures.lifecycles).toBeGreaterThan(0);
      // A lifecycle is at least its first snapshot, its persisted form and one transition.
      expect(figures.machineSteps).toBeGreaterThanOrEqual(3 * figures.lifecycles);
      // Every lifecycle reads its chain at least once (the poll that finds it).
      expect(figures.chainCalls).toBeGreaterThanOrEqual(figures.lifecycles);
      expect(figures.crashPoints).toBeGreaterThan(0);
      expect(Number.isFinite(figures.machineStepsPerSecond) && figures.machineStepsPerSecond > 0).toBe(true);
      expect(Number.isFinite(figures.bareSameStepsPerSecond) && figures.bareSameStepsPerSecond > 0).toBe(true);
    }
  }, 60_000);

  it('replays the recorded steps with bare actors that reach every state the host reached, and notices one that does not', async () => {
    const steps = await recordingSteps(() =>
      simulate({ seed: 3, runs: 3, swaps: 4, jobs: 4, faults: parseFaults('all') }),
    );
    expect(new Set(steps.map((s) => s.op))).toEqual(new Set(['initial', 'next', 'restore', 'persisted']));
    expect(() => checkActorReplay(steps)).not.toThrow();
    // One transition whose recorded outcome is another state: the actors' replay must refuse it.
    const at = steps.findIndex((s) => s.op === 'next' && s.result !== s.arg);
    const moved = steps[at]!.result as { value: string };
    const tampered: Step[] = steps.map((s, i) =>
      i === at ? { ...s, result: { ...moved, value: `${moved.value}-elsewhere` } } : s,
    );
    expect(() => checkActorReplay(tampered)).toThrow(/drifted/);
  }, 60_000);
});
