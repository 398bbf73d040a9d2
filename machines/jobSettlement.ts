/**
 * Job settlement: a compute node is paid for a job through a lock in an Ocean-style Escrow.
 *
 *   Running -> PublishingResults -> JobSettle -> Claiming -> Finished
 *   PublishingResults -> Finished        (free job: no lock, or nothing to charge)
 *   JobSettle -> Cancelling -> Cancelled (lock expired before it was claimed: lost revenue, logged)
 *   Claiming -> Cancelled                (the claim landed after expiry: the contract cancelled it)
 *   Claiming|Cancelling -> Recovery      (the lock is gone without a Claimed or Canceled event)
 *
 * A successful claim transaction is no proof of payment: only a Claimed event for this job
 * moves the machine to Finished. The cost is capped by the locked amount. Time reaches the
 * machine as the `now` of SETTLE_DUE (unix seconds of the escrow chain), never from a clock.
 *
 * Ocean's Escrow takes an OPC fee on every claim: the Claimed event states the gross amount
 * (what left the lock), the payee is credited the gross less the fee. The record keeps all
 * three: claimedGross (the Claimed event's amount), claimFee and claimedNet (null when the fee
 * could not be read). "No lost claim" is judged on the gross.
 *
 * Version 2 (this one) added the fee, the net, and the run's duration and result hash (they
 * go into the claim's proof bytes); `migrateJobSnapshotV1` upgrades a version-1 snapshot.
 */
import { assign, setup } from 'xstate';
import { DECIMAL_INTEGER, minAmount, stateMetaOf } from './stateMeta.ts';

export const JOB_MACHINE_NAME = 'jobSettlement';
export const JOB_MACHINE_VERSION = 2;

/** The payment terms of one job; amounts are uint256 as decimal strings. */
export interface JobTerms {
  /** The escrow's 256-bit job id, as 0x-prefixed hex. */
  readonly jobId: string;
  readonly chain: string;
  readonly escrow: string;
  readonly token: string;
  readonly payer: string;
  readonly payee: string;
  /**
   * The job's id in the engine that ran it, when it differs from the escrow's (ocean-node:
   * its jobId, whose sha256 is the escrow's): carried in the claim's proof bytes.
   */
  readonly sourceJobId?: string;
  /** Null for a free job: nothing was locked. */
  readonly lock: { readonly amount: string; readonly expiry: number } | null;
}

export interface JobContext {
  readonly terms: JobTerms;
  /** What the job cost, before the cap. */
  readonly cost: string | null;
  /** What will be claimed: min(cost, locked amount). */
  readonly claimAmount: string | null;
  readonly now: number;
  /** Seconds the job ran (billed), when the engine reports it: for the proof bytes. */
  readonly durationSecs: number | null;
  /** A hash of the job's results, when the engine reports one: for the proof bytes. */
  readonly resultHash: string | null;
  readonly claimTx: string | null;
  /** The Claimed event's amount: what left the lock, fee included. */
  readonly claimedGross: string | null;
  /** The OPC fee the escrow took from the claim; null when it could not be read. */
  readonly claimFee: string | null;
  /** What the payee was credited: gross less fee; null when the fee is unknown. */
  readonly claimedNet: string | null;
  readonly cancelTx: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly reason: string | null;
}

export interface JobInput {
  readonly terms: JobTerms;
  readonly now: number;
}

export type JobEvent =
  | { type: 'RUN_ENDED'; cost: string; durationSecs?: number | null; resultHash?: string | null }
  | { type: 'RESULTS_PUBLISHED' }
  | { type: 'SETTLE_DUE'; now: number }
  /** amount: the Claimed event's (gross); fee: the OPC fee taken from it, null if unknown. */
  | { type: 'CLAIMED'; txHash: string; amount: string; fee: string | null }
  | { type: 'CLAIM_CANCELED'; txHash: string | null }
  | { type: 'CLAIM_FAILED'; error: string }
  | { type: 'LOCK_CANCELED'; txHash: string | null }
  | { type: 'CANCEL_FAILED'; error: string }
  | { type: 'LOCK_GONE'; reason: string };

/** Every effect a state of this machine may ask for; the job obligation's handler table is keyed by it. */
export const JOB_EFFECTS = ['claimLock', 'cancelExpiredLock', 'recordRecovery'] as const;
export type JobEffect = (typeof JOB_EFFECTS)[number];

const meta = stateMetaOf<JobEffect>();

export const jobSettlement = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobEvent,
    input: {} as JobInput,
  },
  guards: {
    jobIsFree: ({ context }) =>
      context.terms.lock === null || context.claimAmount === null || context.claimAmount === '0',
    // The escrow cancels a claim made once block.timestamp is past the expiry.
    lockExpired: ({ context, event }) =>
      event.type === 'SETTLE_DUE' && context.terms.lock !== null && event.now > context.terms.lock.expiry,
  },
  actions: {
    capCostByLock: assign(({ context, event }) => {
      if (event.type !== 'RUN_ENDED') return {};
      const cost = DECIMAL_INTEGER.test(event.cost) ? event.cost : '0';
      return {
        cost,
        claimAmount: context.terms.lock === null ? '0' : minAmount(cost, context.terms.lock.amount),
        durationSecs: Number.isSafeInteger(event.durationSecs) && event.durationSecs! >= 0 ? event.durationSecs! : null,
        resultHash: typeof event.resultHash === 'string' ? event.resultHash : null,
      };
    }),
    noteFreeJob: assign({ reason: 'free job: nothing locked or nothing to charge' }),
    noteNow: assign({ now: ({ context, event }) => (event.type === 'SETTLE_DUE' ? event.now : context.now) }),
    recordClaim: assign(({ event }) => {
      if (event.type !== 'CLAIMED') return {};
      const fee =
        event.fee !== null && DECIMAL_INTEGER.test(event.fee) && BigInt(event.fee) <= BigInt(event.amount)
          ? event.fee
          : null;
      return {
        claimTx: event.txHash,
        claimedGross: event.amount,
        claimFee: fee,
        claimedNet: fee === null ? null : (BigInt(event.amount) - BigInt(fee)).toString(),
      };
    }),
    noteClaimCancelled: assign({
      cancelTx: ({ context, event }) => (event.type === 'CLAIM_CANCELED' ? event.txHash : context.cancelTx),
      reason: 'the claim arrived after the lock expired: the escrow cancelled the lock',
    }),
    noteLockCancelled: assign({
      cancelTx: ({ context, event }) => (event.type === 'LOCK_CANCELED' ? event.txHash : context.cancelTx),
      reason: 'the lock expired before it was claimed',
    }),
    noteSettleFailure: assign({
      attempts: ({ context }) => context.attempts + 1,
      lastError: ({ context, event }) =>
        event.type === 'CLAIM_FAILED' || event.type === 'CANCEL_FAILED' ? event.error : context.lastError,
    }),
    noteLockGone: assign({
      reason: ({ event }) => (event.type === 'LOCK_GONE' ? `lock gone without a Claimed event: ${event.reason}` : null),
    }),
  },
}).createMachine({
  id: JOB_MACHINE_NAME,
  initial: 'Running',
  context: ({ input }) => ({
    terms: input.terms,
    cost: null,
    claimAmount: null,
    now: input.now,
    durationSecs: null,
    resultHash: null,
    claimTx: null,
    claimedGross: null,
    claimFee: null,
    claimedNet: null,
    cancelTx: null,
    attempts: 0,
    lastError: null,
    reason: null,
  }),
  states: {
    Running: {
      meta: meta({ summary: 'the job runs; its lock (if any) is held in escrow' }),
      on: { RUN_ENDED: { target: 'PublishingResults', actions: 'capCostByLock' } },
    },
    PublishingResults: {
      meta: meta({ summary: 'results are being published; the cost is known and capped by the lock' }),
      on: {
        RESULTS_PUBLISHED: [
          { guard: 'jobIsFree', target: 'Finished', actions: 'noteFreeJob' },
          { target: 'JobSettle' },
        ],
      },
    },
    JobSettle: {
      meta: meta({ summary: 'waiting for the batch claimer' }),
      on: {
        SETTLE_DUE: [
          { guard: 'lockExpired', target: 'Cancelling', actions: 'noteNow' },
          { target: 'Claiming', actions: 'noteNow' },
        ],
      },
    },
    Claiming: {
      meta: meta({
        effect: 'claimLock',
        durableBefore: 'the amount to claim (cost capped by the lock)',
        summary: 'read the lock and its events; claim it unless already settled',
      }),
      on: {
        CLAIMED: { target: 'Finished', actions: 'recordClaim' },
        CLAIM_CANCELED: { target: 'Cancelled', actions: 'noteClaimCancelled' },
        CLAIM_FAILED: { target: 'JobSettle', actions: 'noteSettleFailure' },
        LOCK_GONE: { target: 'Recovery', actions: 'noteLockGone' },
      },
    },
    Cancelling: {
      meta: meta({
        effect: 'cancelExpiredLock',
        durableBefore: 'that the lock expired unclaimed',
        summary: 'cancel the expired lock so the payer is refunded',
      }),
      on: {
        LOCK_CANCELED: { target: 'Cancelled', actions: 'noteLockCancelled' },
        CANCEL_FAILED: { target: 'JobSettle', actions: 'noteSettleFailure' },
        CLAIMED: { target: 'Finished', actions: 'recordClaim' },
        LOCK_GONE: { target: 'Recovery', actions: 'noteLockGone' },
      },
    },
    Finished: {
      type: 'final',
      meta: meta({ summary: 'paid (a Claimed event for this job), or free' }),
    },
    Cancelled: {
      type: 'final',
      meta: meta({
        effect: 'recordRecovery',
        record: 'lost-revenue',
        durableBefore: 'the cancellation',
        summary: 'the lock expired unclaimed: lost revenue, written to the recovery log',
      }),
    },
    Recovery: {
      type: 'final',
      meta: meta({
        effect: 'recordRecovery',
        record: 'unsettled-claim',
        durableBefore: 'the reason the claim cannot be made',
        summary: 'the claim can no longer be made and was not paid: written to the recovery log',
      }),
    },
  },
});

/**
 * A version-1 snapshot as version 2 reads it: claimedAmount (the Claimed event's amount, so
 * the gross) becomes claimedGross; the fee and the net of a claim recorded by version 1 are
 * unknown (null: version 1 never read them); no duration or result hash was kept.
 */
export function migrateJobSnapshotV1(snapshot: unknown): unknown {
  const stored = snapshot as { context?: Record<string, unknown> } | null;
  if (stored === null || typeof stored !== 'object' || typeof stored.context !== 'object' || stored.context === null) {
    throw new Error('jobSettlement v1 snapshot has no context');
  }
  const { claimedAmount, ...rest } = stored.context;
  if (!('claimedAmount' in stored.context))
    throw new Error('jobSettlement v1 snapshot has no claimedAmount: not a version-1 context');
  return {
    ...stored,
    context: {
      ...rest,
      durationSecs: null,
      resultHash: null,
      claimedGross: claimedAmount ?? null,
      claimFee: null,
      claimedNet: null,
    },
  };
}
