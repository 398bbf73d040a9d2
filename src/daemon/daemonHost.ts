/**
 * The host as the daemon runs it: the same host, with each effect's outcome and each batched
 * escrow run counted for the metrics. Nothing here decides anything.
 */
import type { JobEvent, SwapEvent } from '../../machines/index.ts';
import type { claimInBatches, ClaimTask } from '../host/batchClaimer.ts';
import { Host, type HostOptions, type LiveMachine } from '../host/host.ts';
import type { Escrow } from '../host/ports.ts';
import type { DaemonMetrics } from './metrics.ts';

/** Events that say "try again later". */
const RETRY_EVENTS = new Set(['MARK_FAILED', 'READ_FAILED']);

export class DaemonHost extends Host {
  private metrics: DaemonMetrics | null = null;

  /** Restores, then counts from the next effect on. */
  static async open(options: HostOptions, metrics: DaemonMetrics): Promise<DaemonHost> {
    const host = await DaemonHost.restore(options);
    host.metrics = metrics;
    return host;
  }

  protected override async perform(
    machine: LiveMachine,
    effect: string,
    height: number | null,
  ): Promise<SwapEvent | JobEvent | null> {
    let event: SwapEvent | JobEvent | null;
    try {
      event = await super.perform(machine, effect, height);
    } catch (error) {
      this.metrics?.effects.inc({ effect, outcome: 'error' });
      throw error;
    }
    const outcome = event === null ? 'retry' : event.type;
    this.metrics?.effects.inc({ effect, outcome });
    if (event === null || RETRY_EVENTS.has(event.type)) this.metrics?.retries.inc({ effect });
    return event;
  }

  protected override async runBatch(
    effect: string,
    run: typeof claimInBatches,
    escrow: Escrow,
    tasks: readonly ClaimTask[],
  ): Promise<Map<string, SwapEvent | JobEvent>> {
    try {
      const events = await super.runBatch(effect, run, escrow, tasks);
      this.metrics?.claimBatches.inc({ chain: escrow.chain, effect, outcome: 'ok' });
      for (const event of events.values())
        this.metrics?.claimBatchJobs.inc({ chain: escrow.chain, effect, event: event.type });
      return events;
    } catch (error) {
      this.metrics?.claimBatches.inc({ chain: escrow.chain, effect, outcome: 'error' });
      throw error;
    }
  }
}
