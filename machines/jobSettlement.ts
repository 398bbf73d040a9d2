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
 */
import { assign, setup } from 'xstate';
import { DECIMAL_INTEGER, minAmount, stateMetaOf } from './stateMeta.ts';

export const JOB_MACHINE_NAME = 'jobSettlement';
export const JOB_MACHINE_VERSION = 1;

/** The payment terms of one job; amounts are uint256 as decimal strings. */
export interface JobTerms {
  /** The escrow's 256-bit job id, as 0x-prefixed hex. */
  readonly jobId: string;
  readonly chain: string;
  readonly escrow: string;
  readonly token: string;
  readonly payer: string;
  readonly payee: string;
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
  readonly claimTx: string | null;
  readonly claimedAmount: string | null;
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
  | { type: 'RUN_ENDED'; cost: string }
  | { type: 'RESULTS_PUBLISHED' }
  | { type: 'SETTLE_DUE'; now: number }
  | { type: 'CLAIMED'; txHash: string; amount: string }
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
      };
    }),
    noteFreeJob: assign({ reason: 'free job: nothing locked or nothing to charge' }),
    noteNow: assign({ now: ({ context, event }) => (event.type === 'SETTLE_DUE' ? event.now : context.now) }),
    recordClaim: assign({
      claimTx: ({ context, event }) => (event.type === 'CLAIMED' ? event.txHash : context.claimTx),
      claimedAmount: ({ context, event }) => (event.type === 'CLAIMED' ? event.amount : context.claimedAmount),
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
    claimTx: null,
    claimedAmount: null,
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
