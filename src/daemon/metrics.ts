/**
 * The daemon's Prometheus metrics (prom-client), and a proxy that times every call a port
 * makes to a chain. Labels are bounded: machine kinds, state names, effect names, chain names
 * and method names from the code, never ids or addresses.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DurableTransition } from '../host/host.ts';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly transitions = new Counter({
    name: 'settle_transitions_total',
    help: 'Durable machine transitions',
    labelNames: ['kind', 'from', 'to'],
    registers: [this.registry],
  });
  readonly effects = new Counter({
    name: 'settle_effects_total',
    help: 'Effects performed, by the outcome they reported (an event type, retry when there was nothing to report yet, or error)',
    labelNames: ['effect', 'outcome'],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'settle_retries_total',
    help: 'Effects that will be tried again (transient failures, not yet included)',
    labelNames: ['effect'],
    registers: [this.registry],
  });
  readonly recoveryEntries = new Gauge({
    name: 'settle_recovery_entries',
    help: 'Recovery log entries not resolved by an operator',
    registers: [this.registry],
  });
  readonly claimBatches = new Counter({
    name: 'settle_claim_batches_total',
    help: 'Batched escrow runs (claims, cancellations), by chain',
    labelNames: ['chain', 'effect', 'outcome'],
    registers: [this.registry],
  });
  readonly claimBatchJobs = new Counter({
    name: 'settle_claim_batch_jobs_total',
    help: 'Jobs settled by batched escrow runs, by the event each received',
    labelNames: ['chain', 'effect', 'event'],
    registers: [this.registry],
  });
  readonly rpcLatency = new Histogram({
    name: 'settle_rpc_latency_seconds',
    help: 'Latency of calls to chain endpoints, by chain, port and method',
    labelNames: ['chain', 'port', 'method', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly liveMachines = new Gauge({
    name: 'settle_live_machines',
    help: 'Machines in flight',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly ticks = new Counter({
    name: 'settle_ticks_total',
    help: 'Host ticks',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly lastTick = new Gauge({
    name: 'settle_last_tick_timestamp_seconds',
    help: 'When the last tick ended (Unix seconds)',
    registers: [this.registry],
  });

  onTransition = (t: DurableTransition): void => {
    this.transitions.inc({ kind: t.kind, from: t.from ?? 'none', to: t.to });
  };
}

/**
 * The same object, with each asynchronous method's calls timed into
 * `settle_rpc_latency_seconds`. Methods run with the original object as `this` (private fields
 * keep working).
 */
export function instrumented<T extends object>(
  port: T,
  labels: { chain: string; port: string },
  metrics: DaemonMetrics,
): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      return (...args: unknown[]) => {
        const stop = metrics.rpcLatency.startTimer({ ...labels, method: property });
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          stop({ outcome: 'error' });
          throw error;
        }
        if (result instanceof Promise) {
          return result.then(
            (ok) => {
              stop({ outcome: 'ok' });
              return ok;
            },
            (error: unknown) => {
              stop({ outcome: 'error' });
              throw error;
            },
          );
        }
        return result; // synchronous: not a call to the chain, not timed
      };
    },
  });
}
