/**
 * Swap fulfillment: a miner of the allways subnet pays the user on the destination chain, then
 * marks the swap fulfilled on the swap contract: the ink! contract on Subtensor, or the allways
 * swap manager on Solana (the rules of each: swapRules.ts).
 *
 *   Pending -> Verifying -> Sending -> Sent -> Marking -> Fulfilled
 *                                            Marking -> Following -> Fulfilled   (marked before inclusion)
 *   Pending|Verifying|Sending -> Expired   (cushion reached before any send: nothing sent, nothing lost)
 *   Pending|Verifying|Sending -> Rejected  (invalid swap data, a pin that is not ours, a payout of 0,
 *                                 a deposit that is wrong, a destination that refuses, all before
 *                                 signing: no send)
 *   Sending|Marking|Following|Reconciling -> Recovery (funds left and cannot be finalized,
 *                                                      or a mark stands on a transfer that never lands)
 *
 * Time reaches the machine as CLOCK events in the contract's unit (Subtensor blocks, or unix
 * seconds of the cluster's clock); deadlines are compared in that unit, and a deadline the
 * contract moves (a grace after our mark, a validator's extension) arrives as DEADLINE. The
 * cushion gates the first send only: once a transfer is signed, every path leads to
 * mark_fulfilled or to Recovery. Verifying asks the source chain whether the user's deposit
 * arrived (right recipient, amount, sender, confirmed); its verdict and evidence are in the
 * context before Sending can be entered, so no signature exists without a recorded verdict.
 * A deposit not yet there is no event: the machine waits in Verifying until the cushion. The
 * funds gate (the destination wallet covers this payout and every earlier unsigned one on that
 * chain) needs the other swaps, so the host judges it just before signing. The machine performs no I/O; effects are declared in state meta
 * and performed by the host after the snapshot that requests them is on disk. Version 2; the
 * snapshots of version 1 (ink! only) are migrated by swapFulfillmentMigration.ts.
 */
import { assign, setup } from 'xstate';
import { stateMetaOf } from './stateMeta.ts';
import {
  DEFAULT_CUSHION,
  MARK_RETRY_STEP,
  MAX_MARK_BACKOFF_STEPS,
  markPointOf,
  classifyMarkFailure,
  type SwapContractKind,
} from './swapRules.ts';
import { swapTermsProblem } from './swapTerms.ts';
import type { SwapContext, SwapEvent, SwapInput } from './swapTypes.ts';

export * from './swapTypes.ts';
export { swapTermsProblem } from './swapTerms.ts';

export const SWAP_MACHINE_NAME = 'swapFulfillment';
export const SWAP_MACHINE_VERSION = 2;

/** Every effect a state of this machine may ask for; the swap obligation's handler table is keyed by it. */
export const SWAP_EFFECTS = [
  'verifyDeposit',
  'sendTransfer',
  'markFulfilled',
  'followTransfer',
  'readSwap',
  'recordRecovery',
] as const;
export type SwapEffect = (typeof SWAP_EFFECTS)[number];

const meta = stateMetaOf<SwapEffect>();
const pointOf = (c: SwapContext) => markPointOf(c.terms.contract, c.terms.destChain);
const classOf = (c: SwapContext, e: SwapEvent) =>
  e.type === 'MARK_FAILED' ? classifyMarkFailure(c.terms.contract, e.error) : null;
const cushionReached = (c: SwapContext, e: SwapEvent) => e.type === 'CLOCK' && e.now + c.cushion > c.deadline;
const failedWith = (c: SwapContext, e: SwapEvent) => (e.type === 'MARK_FAILED' ? e.error : c.lastError);

export const swapFulfillment = setup({
  types: { context: {} as SwapContext, events: {} as SwapEvent, input: {} as SwapInput },
  guards: {
    swapTermsInvalid: ({ context }) => swapTermsProblem(context.terms) !== null,
    cushionReached: ({ context, event }) => cushionReached(context, event),
    notYetSigned: ({ context }) => context.transfer === null,
    unsignedAndCushionReached: ({ context, event }) => context.transfer === null && cushionReached(context, event),
    signed: ({ context }) => context.transfer !== null,
    marksOnBroadcast: ({ context }) => context.transfer !== null && pointOf(context) === 'broadcast',
    marksOnLanding: ({ context }) => context.transfer !== null && pointOf(context) !== 'included',
    transferIncluded: ({ context }) => context.transferIncluded,
    markDue: ({ context }) => context.now >= context.nextMarkAt,
    markRetryDue: ({ context, event }) => event.type === 'CLOCK' && event.now >= context.nextMarkAt,
    markOutcomeUnknown: ({ context, event }) => classOf(context, event) === 'unknown',
    markFailedTransiently: ({ context, event }) => classOf(context, event) === 'transient',
    markRefusedForGood: ({ context, event }) => classOf(context, event) === 'terminal',
    ourMarkLandedAndIncluded: ({ context, event }) => ourMarkIn(context, event) && context.transferIncluded,
    ourMarkLanded: ({ context, event }) => ourMarkIn(context, event),
    swapAwaitsOurMark: ({ context, event }) =>
      context.refusedWith === null &&
      event.type === 'SWAP_READ' &&
      event.view !== null &&
      event.view.status === 'Active' &&
      event.view.miner === context.terms.miner,
  },
  actions: {
    noteNow: assign({ now: ({ context, event }) => (event.type === 'CLOCK' ? event.now : context.now) }),
    noteDeadline: assign({
      deadline: ({ context, event }) => (event.type === 'DEADLINE' ? event.at : context.deadline),
    }),
    noteInvalidTerms: assign({ reason: ({ context }) => swapTermsProblem(context.terms) }),
    noteRejection: assign({ reason: ({ event }) => (event.type === 'REJECT' ? event.reason : null) }),
    noteCushionReached: assign({
      reason: ({ context, event }) =>
        `cushion reached before any send: now ${event.type === 'CLOCK' ? event.now : '?'} + ${context.cushion} > deadline ${context.deadline}`,
    }),
    noteVanishedBeforeSend: assign({ reason: 'swap left the contract before any send' }),
    recordDeposit: assign({
      deposit: ({ context, event }) =>
        event.type === 'DEPOSIT_VERIFIED' || event.type === 'DEPOSIT_WRONG' ? event.deposit : context.deposit,
    }),
    noteDepositWrong: assign({
      reason: ({ event }) =>
        `the user's deposit is wrong: ${event.type === 'DEPOSIT_WRONG' ? (event.deposit.reason ?? '?') : '?'}; nothing sent`,
    }),
    recordSignedTransfer: assign({
      transfer: ({ context, event }) =>
        event.type === 'TRANSFER_SIGNED'
          ? { raw: event.raw, hash: event.hash, decidedAt: context.now, anchorBlock: event.anchorBlock ?? null }
          : context.transfer,
    }),
    // The block given to mark_fulfilled: 0 where the chain's validators look the hash up (broadcast policy).
    markAfterBroadcast: assign({ transferBlock: 0, nextMarkAt: 0 }),
    markAfterLanding: assign({
      transferBlock: ({ context, event }) =>
        pointOf(context) === 'broadcast' || event.type !== 'TRANSFER_LANDED' ? 0 : event.block,
      nextMarkAt: 0,
    }),
    recordInclusion: assign({
      transferBlock: ({ context, event }) =>
        context.transferBlock ??
        (pointOf(context) === 'broadcast' || event.type !== 'TRANSFER_INCLUDED' ? 0 : event.block),
      transferIncluded: true,
      nextMarkAt: 0,
    }),
    noteTransferInvalid: assign({
      reason: ({ event }) =>
        `signed transfer can never land: ${event.type === 'TRANSFER_INVALID' ? event.reason : '?'}`,
    }),
    noteNeverLandedAfterMark: assign({
      reason: ({ context, event }) =>
        `marked fulfilled with ${context.transfer?.hash ?? '?'}, but that transfer can never land ` +
        `(${event.type === 'TRANSFER_INVALID' ? event.reason : '?'}): no funds left the wallet; the swap will time out and a slash is expected`,
    }),
    scheduleMarkRetry: assign(({ context, event }) => {
      const now = event.type === 'MARK_FAILED' ? event.now : context.now;
      const backoff =
        Math.min(2 ** context.markAttempts, MAX_MARK_BACKOFF_STEPS) * MARK_RETRY_STEP[context.terms.contract];
      return {
        markAttempts: context.markAttempts + 1,
        nextMarkAt: now + backoff,
        lastError: failedWith(context, event),
      };
    }),
    noteOutcomeUnknown: assign({
      markAttempts: ({ context }) => context.markAttempts + 1,
      lastError: ({ context, event }) => failedWith(context, event),
    }),
    noteRefusal: assign({
      markAttempts: ({ context }) => context.markAttempts + 1,
      lastError: ({ context, event }) => failedWith(context, event),
      refusedWith: ({ context, event }) => (event.type === 'MARK_FAILED' ? event.error : context.refusedWith),
    }),
    noteTerminalRefusal: assign({
      lastError: ({ context, event }) => failedWith(context, event),
      reason: ({ context, event }) =>
        `mark_fulfilled refused for good (${event.type === 'MARK_FAILED' ? event.error : '?'}): funds sent with ` +
        `${context.transfer?.hash ?? '?'} but this swap can never be marked by us`,
    }),
    noteReadFailure: assign({
      lastError: ({ context, event }) => (event.type === 'READ_FAILED' ? event.error : context.lastError),
    }),
    noteReadDeadline: assign({
      deadline: ({ context, event }) =>
        event.type === 'SWAP_READ' && event.view?.deadline != null ? event.view.deadline : context.deadline,
    }),
    noteSwapNotMarkable: assign({
      reason: ({ context, event }) => {
        const refusal =
          context.refusedWith === null ? '' : `mark_fulfilled refused for good (${context.refusedWith}); `;
        return event.type === 'SWAP_READ' && event.view !== null
          ? `${refusal}funds sent but the swap is ${event.view.status} for miner ${event.view.miner} with dest tx '${event.view.destTxHash}'`
          : `${refusal}funds sent but the swap left the contract while unmarked, and no event says how it ended`;
      },
    }),
    noteMarkLanded: assign({ reason: 'mark_fulfilled found landed on reconciliation' }),
  },
}).createMachine({
  id: SWAP_MACHINE_NAME,
  initial: 'Pending',
  context: ({ input }) => initialContext(input),
  states: {
    Pending: {
      meta: meta({ summary: 'assigned to us; nothing signed, nothing sent' }),
      always: { guard: 'swapTermsInvalid', target: 'Rejected', actions: 'noteInvalidTerms' },
      on: {
        REJECT: { target: 'Rejected', actions: 'noteRejection' },
        SWAP_GONE: { target: 'Expired', actions: 'noteVanishedBeforeSend' },
        DEADLINE: { actions: 'noteDeadline' },
        CLOCK: [
          { guard: 'cushionReached', target: 'Expired', actions: ['noteNow', 'noteCushionReached'] },
          { target: 'Verifying', actions: 'noteNow' },
        ],
      },
    },
    Verifying: {
      meta: meta({
        effect: 'verifyDeposit',
        durableBefore: 'the decision to check the deposit; nothing signed yet',
        summary:
          "ask the source chain for the user's deposit: verified goes on to send, wrong is Rejected, not yet there waits (until the cushion)",
      }),
      on: {
        CLOCK: { guard: 'cushionReached', target: 'Expired', actions: ['noteNow', 'noteCushionReached'] },
        DEADLINE: { actions: 'noteDeadline' },
        SWAP_GONE: { target: 'Expired', actions: 'noteVanishedBeforeSend' },
        REJECT: { target: 'Rejected', actions: 'noteRejection' },
        DEPOSIT_VERIFIED: { target: 'Sending', actions: 'recordDeposit' },
        DEPOSIT_WRONG: { target: 'Rejected', actions: ['recordDeposit', 'noteDepositWrong'] },
      },
    },
    Sending: {
      meta: meta({
        effect: 'sendTransfer',
        durableBefore:
          'the verdict on the deposit and the decision to send; then the signed transfer (raw bytes and hash) before any broadcast',
        summary:
          "once the destination wallet covers this and every earlier unsigned payout, sign once from the pinned sender, persist the signed bytes, then broadcast them until the chain's mark point",
      }),
      on: {
        CLOCK: { guard: 'unsignedAndCushionReached', target: 'Expired', actions: ['noteNow', 'noteCushionReached'] },
        DEADLINE: { actions: 'noteDeadline' },
        SWAP_GONE: { guard: 'notYetSigned', target: 'Expired', actions: 'noteVanishedBeforeSend' },
        // Refused before anything was signed (the destination refuses the transfer, the pin is no
        // longer ours): nothing will ever be sent for this swap.
        REJECT: { guard: 'notYetSigned', target: 'Rejected', actions: 'noteRejection' },
        TRANSFER_SIGNED: { guard: 'notYetSigned', actions: 'recordSignedTransfer' },
        TRANSFER_BROADCAST: { guard: 'marksOnBroadcast', target: 'Sent', actions: 'markAfterBroadcast' },
        TRANSFER_LANDED: { guard: 'marksOnLanding', target: 'Sent', actions: 'markAfterLanding' },
        TRANSFER_INCLUDED: { guard: 'signed', target: 'Sent', actions: 'recordInclusion' },
        TRANSFER_INVALID: { target: 'Recovery', actions: 'noteTransferInvalid' },
      },
    },
    Sent: {
      meta: meta({ summary: "the transfer reached the destination chain's mark point; mark_fulfilled due" }),
      always: { guard: 'markDue', target: 'Marking' },
      on: {
        CLOCK: { guard: 'markRetryDue', target: 'Marking', actions: 'noteNow' },
        DEADLINE: { actions: 'noteDeadline' },
        SWAP_GONE: { target: 'Reconciling' },
      },
    },
    Marking: {
      meta: meta({
        effect: 'markFulfilled',
        durableBefore: 'the transfer (hash and the block to report) and the attempt count',
        summary: 'call mark_fulfilled(swap, dest tx hash, dest block); ink! also passes dest_amount',
      }),
      on: {
        DEADLINE: { actions: 'noteDeadline' },
        MARK_OK: [{ guard: 'transferIncluded', target: 'Fulfilled' }, { target: 'Following' }],
        MARK_FAILED: [
          { guard: 'markOutcomeUnknown', target: 'Reconciling', actions: 'noteOutcomeUnknown' },
          { guard: 'markFailedTransiently', target: 'Sent', actions: 'scheduleMarkRetry' },
          { guard: 'markRefusedForGood', target: 'Recovery', actions: 'noteTerminalRefusal' },
          { target: 'Reconciling', actions: 'noteRefusal' },
        ],
      },
    },
    Following: {
      meta: meta({
        effect: 'followTransfer',
        durableBefore: 'that the swap is marked fulfilled with this transfer',
        summary: "marked before inclusion: re-broadcast the same bytes until included with the sender's confirmations",
      }),
      on: {
        DEADLINE: { actions: 'noteDeadline' },
        TRANSFER_INCLUDED: { target: 'Fulfilled', actions: 'recordInclusion' },
        TRANSFER_INVALID: { target: 'Recovery', actions: 'noteNeverLandedAfterMark' },
      },
    },
    Reconciling: {
      meta: meta({
        effect: 'readSwap',
        durableBefore: 'that a mark_fulfilled may have landed, or the refusal to confirm',
        summary: 'read the swap back: our mark landed, may be retried, or is refused for good (Recovery)',
      }),
      on: {
        SWAP_READ: [
          { guard: 'ourMarkLandedAndIncluded', target: 'Fulfilled', actions: ['noteReadDeadline', 'noteMarkLanded'] },
          { guard: 'ourMarkLanded', target: 'Following', actions: 'noteReadDeadline' },
          { guard: 'swapAwaitsOurMark', target: 'Marking', actions: 'noteReadDeadline' },
          { target: 'Recovery', actions: 'noteSwapNotMarkable' },
        ],
        READ_FAILED: { actions: 'noteReadFailure' },
      },
    },
    Fulfilled: { type: 'final', meta: meta({ summary: 'paid, the payout included, and the swap marked fulfilled' }) },
    Expired: { type: 'final', meta: meta({ summary: 'never sent: too late to start, or the swap left first' }) },
    Rejected: {
      type: 'final',
      meta: meta({ summary: 'invalid swap data, a wrong deposit, or not payable by us; never sent' }),
    },
    Recovery: {
      type: 'final',
      meta: meta({
        effect: 'recordRecovery',
        record: 'stuck-funds',
        durableBefore: 'the reason the obligation is stuck',
        summary:
          'funds may have left and the swap cannot be finalized (or a mark stands unpaid): written to the recovery log',
      }),
    },
  },
});

function ourMarkIn(context: SwapContext, event: SwapEvent): boolean {
  return (
    event.type === 'SWAP_READ' &&
    event.view !== null &&
    (event.view.status === 'Fulfilled' || event.view.status === 'Completed') &&
    context.transfer !== null &&
    event.view.destTxHash === context.transfer.hash
  );
}

function initialContext(input: SwapInput): SwapContext {
  const contract: SwapContractKind = input.terms.contract;
  return {
    terms: input.terms,
    cushion: input.cushion ?? DEFAULT_CUSHION[contract] ?? 0,
    now: input.now,
    deadline: input.terms.timeoutAt,
    deposit: null,
    transfer: null,
    transferBlock: null,
    transferIncluded: false,
    markAttempts: 0,
    nextMarkAt: 0,
    refusedWith: null,
    lastError: null,
    reason: null,
  };
}
