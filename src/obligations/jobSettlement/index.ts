/**
 * Job settlement as an engine plug-in: the machine (machines/jobSettlement.ts), its observer
 * (the compute engine's jobs and the escrow chain's clock), one handler per effect of
 * JOB_EFFECTS: claims and cancels run as batches, one transaction per escrow chain
 * (src/host/batchClaimer.ts), recovery entries one machine at a time.
 *
 * The claim schedule lives as long as the engine: a restart runs the claimer again after its
 * first-run delay, which is safe (the claimer reads the chain before claiming).
 */
import {
  JOB_KIND,
  machineCatalog,
  migrateSnapshot,
  type JobContext,
  type JobEffect,
  type JobEvent,
} from '../../../machines/index.ts';
import type { BatchItem, EffectHandler, Obligation } from '../../engine/obligation.ts';
import {
  cancelInBatches,
  claimInBatches,
  claimTaskOf as claimTaskOfContext,
  type ClaimTask,
} from '../../host/batchClaimer.ts';
import { ClaimSchedule, DEFAULT_CLAIM_SCHEDULE, type ClaimScheduleOptions } from '../../host/claimSchedule.ts';
import type { Clock, Escrow, JobSource, Logger } from '../../host/ports.ts';
import { observeJobs } from './observer.ts';
import { jobRecoveryEntry } from './recovery.ts';

export interface JobPorts {
  readonly escrows: ReadonlyMap<string, Escrow>;
  readonly clock: Clock | null;
  readonly jobSource: JobSource | null;
  readonly log: Logger;
  readonly claimSchedule?: ClaimScheduleOptions | undefined;
}

export interface JobSettlementObligation extends Obligation<JobContext, JobEvent, JobEffect> {
  /** Its ports, for interceptors that need the chains (the planted bugs of the proofs). */
  readonly ports: JobPorts;
}

type Handler = EffectHandler<JobContext, JobEvent>;
type Run = typeof claimInBatches;

export function jobSettlementObligation(ports: JobPorts): JobSettlementObligation {
  const schedule = new ClaimSchedule(ports.claimSchedule ?? DEFAULT_CLAIM_SCHEDULE);
  /** One batch per escrow chain; null (nothing ran) when no escrow client serves the chain. */
  const batch = (run: Run): Handler => ({
    group: (context) => context.terms.chain,
    run: (chain, items) => {
      const escrow = ports.escrows.get(chain);
      if (escrow === undefined) {
        ports.log.error(
          { chain, machines: items.map((i) => i.id) },
          `no escrow client for chain '${chain}'; jobs wait`,
        );
        return Promise.resolve(null);
      }
      return run(escrow, items.map(claimTaskOf), ports.log);
    },
  });
  const handlers = {
    claimLock: batch(claimInBatches),
    cancelExpiredLock: batch(cancelInBatches),
    recordRecovery: {
      perform: (call) =>
        call.record(jobRecoveryEntry(call.id, call.state, call.meta.record ?? 'unsettled-claim', call.context)),
    },
  } satisfies Record<JobEffect, Handler>;
  return {
    kind: JOB_KIND,
    ports,
    // Version 1 records (before gross/fee/net) are read through the catalogue's migrations,
    // run by the engine at restore and written back before any effect.
    definition: {
      ...machineCatalog.jobSettlement,
      migratesFrom: 1,
      migrate: (snapshot, fromVersion) => migrateJobRecord(fromVersion, snapshot),
    },
    handlers,
    async observe(scope) {
      let created = 0;
      const now = await observeJobs(
        { clock: ports.clock, jobSource: ports.jobSource, schedule },
        scope,
        (n) => (created = n),
      );
      return { created, status: ports.clock === null ? 'off' : now === null ? 'unreachable' : 'ok' };
    },
    memoryImage: () => schedule.image(),
  };
}

/** What the batch claimer needs of a job: its terms and what to claim (the cost capped by the lock). */
export function claimTaskOf({ id, context }: BatchItem<JobContext>): ClaimTask {
  return claimTaskOfContext(id, context);
}

/** A job snapshot of an older version as this version reads it; a missing step is a refusal. */
function migrateJobRecord(fromVersion: number, snapshot: unknown): unknown {
  const { name, version } = machineCatalog.jobSettlement;
  const migrated = migrateSnapshot(name, fromVersion, version, snapshot);
  if (migrated === null) throw new Error(`${name}: no migration from version ${fromVersion} to ${version}`);
  return migrated;
}
