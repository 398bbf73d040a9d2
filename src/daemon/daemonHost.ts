/**
 * What the daemon adds to the host: every durable transition, each effect's outcome and each
 * batched escrow run counted for the metrics, as an interceptor around the engine. Nothing
 * here decides anything, and a count never stands between a write and its effect.
 */
import type { EngineInterceptor } from '../engine/interceptors.ts';
import type { DaemonMetrics } from './metrics.ts';

/** Events that say "try again later". */
const RETRY_EVENTS = new Set(['MARK_FAILED', 'READ_FAILED']);

export function metricsInterceptor(metrics: DaemonMetrics): EngineInterceptor {
  return {
    transitioned: metrics.onTransition,
    async performEffect(call, next) {
      const { effect } = call;
      let event: Awaited<ReturnType<typeof next>>;
      try {
        event = await next(call);
      } catch (error) {
        metrics.effects.inc({ effect, outcome: 'error' });
        throw error;
      }
      metrics.effects.inc({ effect, outcome: event === null ? 'retry' : event.type });
      if (event === null || RETRY_EVENTS.has(event.type)) metrics.retries.inc({ effect });
      return event;
    },
    async runBatch(call, next) {
      const { effect, group: chain } = call;
      try {
        const events = await next(call);
        // Null: no escrow client for the chain, nothing ran (logged by the obligation).
        if (events === null) return events;
        metrics.claimBatches.inc({ chain, effect, outcome: 'ok' });
        for (const event of events.values()) metrics.claimBatchJobs.inc({ chain, effect, event: event.type });
        return events;
      } catch (error) {
        metrics.claimBatches.inc({ chain, effect, outcome: 'error' });
        throw error;
      }
    },
  };
}
