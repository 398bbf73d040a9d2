/**
 * How jobs reach their machines: each tick reads the escrow chain's clock and the compute
 * engine's jobs, starts a machine for each new job, feeds RUN_ENDED and RESULTS_PUBLISHED as
 * the engine reports them, and, when the claim schedule is due (or a waiting lock would expire
 * before the next run), moves every job waiting in JobSettle on with SETTLE_DUE.
 */
import { DECIMAL_INTEGER, jobMachineId, type JobContext, type JobEvent } from '../../../machines/index.ts';
import type { Change, LiveMachine } from '../../engine/live.ts';
import type { ObligationScope } from '../../engine/obligation.ts';
import { readOrNull } from '../../engine/readOrNull.ts';
import type { ClaimSchedule } from '../../host/claimSchedule.ts';
import type { Clock, JobObservation, JobSource, Logger } from '../../host/ports.ts';

export interface JobObserverPorts {
  readonly clock: Clock | null;
  readonly jobSource: JobSource | null;
  readonly schedule: ClaimSchedule;
}

/** Observes once; the escrow chain's time, or null when its clock is absent or unreachable. */
export async function observeJobs(
  ports: JobObserverPorts,
  scope: ObligationScope<JobEvent>,
  countCreated: (n: number) => void,
): Promise<number | null> {
  const { jobSource, clock } = ports;
  const now =
    clock === null
      ? null
      : await readOrNull(scope.log, () => clock.now(), 'escrow chain clock unreachable; no claim runs this tick');
  if (jobSource !== null) {
    const observations =
      (await readOrNull(scope.log, () => jobSource.poll(), 'job source unreachable; jobs wait for the next tick')) ??
      [];
    const created: Change[] = [];
    const observed: Array<[LiveMachine, JobObservation]> = [];
    for (const observation of observations) {
      const id = jobMachineId(observation.terms);
      let machine = scope.get(id);
      if (machine === undefined) {
        if (scope.onDisk(id)) continue;
        const change = scope.create(id, { terms: observation.terms, now: now ?? 0 });
        created.push(change);
        machine = change.machine;
      }
      observed.push([machine, observation]);
    }
    await scope.commit(created);
    countCreated(created.length);
    // filter then map, not flatMap: this runs at every poll, and V8 optimizes filter and map
    // but not flatMap, whose one-element arrays are garbage too.
    const ended = observed.filter(([machine, { phase, cost }]) => runEnded(scope.log, machine, phase, cost));
    await scope.dispatchAll(
      ended.map(([machine, o]) => [
        machine,
        { type: 'RUN_ENDED', cost: o.cost!, durationSecs: o.durationSecs ?? null, resultHash: o.resultHash ?? null },
      ]),
    );
    const published = observed.filter(
      ([machine, { phase }]) => machine.snapshot.value === 'PublishingResults' && phase === 'published',
    );
    await scope.dispatchAll(published.map(([machine]) => [machine, { type: 'RESULTS_PUBLISHED' }]));
  }
  if (now === null) return null;
  const waiting = scope.live().filter((m) => m.snapshot.value === 'JobSettle');
  const locks = waiting.map((m) => (m.snapshot.context as JobContext).terms.lock);
  const expiries = locks.filter((lock) => lock !== null).map((lock) => lock.expiry);
  if (ports.schedule.due(now, expiries))
    await scope.dispatchAll(waiting.map((machine) => [machine, { type: 'SETTLE_DUE', now }]));
  return now;
}

/** Whether a running job's run has ended with a cost the machine can take. */
function runEnded(log: Logger, machine: LiveMachine, phase: JobObservation['phase'], cost: string | null): boolean {
  if (machine.snapshot.value !== 'Running' || phase === 'running') return false;
  if (cost === null || !DECIMAL_INTEGER.test(cost)) {
    log.error({ machine: machine.id, cost }, 'job ended with a cost that is not a non-negative integer; left Running');
    return false;
  }
  return true;
}
