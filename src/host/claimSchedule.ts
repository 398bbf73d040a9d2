/**
 * When the claimer runs: every `intervalSec`, the first time `firstRunDelaySec` after start,
 * and at once when a lock waiting to be claimed would expire before the next run.
 */
import { DEFAULT_CLAIM_INTERVAL_SECS, DEFAULT_FIRST_CLAIM_DELAY_SECS } from '../defaults.ts';
export interface ClaimScheduleOptions {
  readonly intervalSec: number;
  readonly firstRunDelaySec: number;
}

export const DEFAULT_CLAIM_SCHEDULE: ClaimScheduleOptions = {
  intervalSec: DEFAULT_CLAIM_INTERVAL_SECS,
  firstRunDelaySec: DEFAULT_FIRST_CLAIM_DELAY_SECS,
};

export class ClaimSchedule {
  private nextRunAt: number | null = null;

  constructor(private readonly options: ClaimScheduleOptions) {
    if (!(options.intervalSec > 0) || !(options.firstRunDelaySec >= 0)) {
      throw new Error(
        `claim schedule: interval ${options.intervalSec}s must be > 0 and first-run delay ${options.firstRunDelaySec}s >= 0`,
      );
    }
  }

  /** The schedule's state, for comparing hosts. */
  image(): number | null {
    return this.nextRunAt;
  }

  /** Whether to run now, given the expiries of the locks waiting; advances the schedule if so. */
  due(now: number, waitingExpiries: readonly number[]): boolean {
    if (this.nextRunAt === null) this.nextRunAt = now + this.options.firstRunDelaySec;
    const next = this.nextRunAt;
    const expiresFirst = waitingExpiries.some((expiry) => expiry <= next);
    if (now < next && !expiresFirst) return false;
    this.nextRunAt = now + this.options.intervalSec;
    return true;
  }
}
