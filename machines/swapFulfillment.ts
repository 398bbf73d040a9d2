/**
 * Swap fulfillment: a miner of the allways subnet sends destination funds to the user, then
 * marks the swap fulfilled on the ink! contract.
 *
 *   Pending -> Sending -> Sent -> Marking -> Fulfilled
 *   Pending -> Expired   (timeout margin reached before any send: nothing sent, nothing lost)
 *   Pending|Sending -> Rejected  (invalid swap data, or a destination that refuses: no send)
 *   Sending|Sent|Marking|Reconciling -> Recovery (funds left and cannot be finalized)
 *
 * The margin gates the first send only: once a transfer is signed, every path leads to
 * mark_fulfilled or to Recovery, whatever the block height. Time reaches the machine as
 * BLOCK events; the machine never reads a clock and performs no I/O. Effects are declared in
 * state meta and performed by the host after the snapshot that requests them is on disk.
 */
import { assign, setup } from 'xstate';
import { classifyMarkError } from './markFulfilledErrors.ts';
import { DEFAULT_MARGIN_BLOCKS } from './defaults.ts';
import { isPositiveAmount, stateMetaOf } from './stateMeta.ts';

export const SWAP_MACHINE_NAME = 'swapFulfillment';
export const SWAP_MACHINE_VERSION = 1;
/** Transient mark failures back off 1, 2, 4, ... blocks, never more than this. */
export const MAX_MARK_BACKOFF_BLOCKS = 16;

/** The swap as read from the contract; amounts are u128 as decimal strings. */
export interface SwapTerms {
  readonly swapId: string;
  readonly miner: string;
  readonly sourceChain: string;
  readonly destChain: string;
  readonly sourceAmount: string;
  readonly destAmount: string;
  readonly taoAmount: string;
  readonly userDestAddress: string;
  readonly sourceTxHash: string;
  readonly initiatedBlock: number;
  readonly timeoutBlock: number;
}

/** A destination transfer, signed once; its raw bytes are persisted before any broadcast. */
export interface SignedTransfer {
  readonly raw: string;
  readonly hash: string;
  /** The Subtensor block at which the machine decided to send (checked against the margin). */
  readonly decidedAtBlock: number;
}

export type SwapStatusOnChain = 'Active' | 'Fulfilled' | 'Completed' | 'TimedOut';

/** What `get_swap` (or, for removed swaps, the contract's events) says about a swap. */
export interface SwapView {
  readonly status: SwapStatusOnChain;
  readonly miner: string;
  readonly destTxHash: string;
}

export interface SwapContext {
  readonly terms: SwapTerms;
  readonly marginBlocks: number;
  /** Last Subtensor height that changed this machine's state. */
  readonly block: number;
  readonly transfer: SignedTransfer | null;
  readonly transferBlock: number | null;
  readonly markAttempts: number;
  readonly nextMarkBlock: number;
  /**
   * The refusal that sent the machine to read the swap back, if any. A refusal is never taken
   * at its word: after a crash mid-call, our own earlier mark makes a retry fail InvalidStatus.
   */
  readonly refusedWith: string | null;
  readonly lastError: string | null;
  /** Why the machine ended where it did; shown in logs and the recovery log. */
  readonly reason: string | null;
}

export interface SwapInput {
  readonly terms: SwapTerms;
  readonly block: number;
  readonly marginBlocks?: number;
}

export type SwapEvent =
  | { type: 'BLOCK'; height: number }
  | { type: 'REJECT'; reason: string }
  | { type: 'SWAP_GONE' }
  | { type: 'TRANSFER_SIGNED'; raw: string; hash: string }
  | { type: 'TRANSFER_INCLUDED'; block: number }
  | { type: 'TRANSFER_INVALID'; reason: string }
  | { type: 'MARK_OK' }
  | { type: 'MARK_FAILED'; error: string; height: number }
  | { type: 'SWAP_READ'; view: SwapView | null }
  | { type: 'READ_FAILED'; error: string };

/** Every effect a state of this machine may ask for; the swap obligation's handler table is keyed by it. */
export const SWAP_EFFECTS = ['sendTransfer', 'markFulfilled', 'readSwap', 'recordRecovery'] as const;
export type SwapEffect = (typeof SWAP_EFFECTS)[number];

const meta = stateMetaOf<SwapEffect>();

export const swapFulfillment = setup({
  types: {
    context: {} as SwapContext,
    events: {} as SwapEvent,
    input: {} as SwapInput,
  },
  guards: {
    swapTermsInvalid: ({ context }) => swapTermsProblem(context.terms) !== null,
    marginReached: ({ context, event }) =>
      event.type === 'BLOCK' && event.height + context.marginBlocks > context.terms.timeoutBlock,
    notYetSigned: ({ context }) => context.transfer === null,
    unsignedAndMarginReached: ({ context, event }) =>
      context.transfer === null &&
      event.type === 'BLOCK' &&
      event.height + context.marginBlocks > context.terms.timeoutBlock,
    markDue: ({ context }) => context.block >= context.nextMarkBlock,
    markRetryDue: ({ context, event }) => event.type === 'BLOCK' && event.height >= context.nextMarkBlock,
    markOutcomeUnknown: ({ event }) => event.type === 'MARK_FAILED' && classifyMarkError(event.error) === 'unknown',
    markFailedTransiently: ({ event }) =>
      event.type === 'MARK_FAILED' && classifyMarkError(event.error) === 'transient',
    ourMarkLanded: ({ context, event }) =>
      event.type === 'SWAP_READ' &&
      event.view !== null &&
      (event.view.status === 'Fulfilled' || event.view.status === 'Completed') &&
      context.transfer !== null &&
      event.view.destTxHash === context.transfer.hash,
    swapAwaitsOurMark: ({ context, event }) =>
      context.refusedWith === null &&
      event.type === 'SWAP_READ' &&
      event.view !== null &&
      event.view.status === 'Active' &&
      event.view.miner === context.terms.miner,
  },
  actions: {
    noteBlock: assign({
      block: ({ context, event }) => (event.type === 'BLOCK' ? event.height : context.block),
    }),
    noteInvalidTerms: assign({ reason: ({ context }) => swapTermsProblem(context.terms) }),
    noteRejection: assign({
      reason: ({ event }) => (event.type === 'REJECT' ? event.reason : null),
    }),
    noteMarginReached: assign({
      reason: ({ context, event }) =>
        `margin reached before any send: block ${event.type === 'BLOCK' ? event.height : '?'} + ` +
        `${context.marginBlocks} > timeout ${context.terms.timeoutBlock}`,
    }),
    noteVanishedBeforeSend: assign({ reason: 'swap left the contract before any send' }),
    recordSignedTransfer: assign({
      transfer: ({ context, event }) =>
        event.type === 'TRANSFER_SIGNED'
          ? { raw: event.raw, hash: event.hash, decidedAtBlock: context.block }
          : context.transfer,
    }),
    recordInclusion: assign({
      transferBlock: ({ context, event }) => (event.type === 'TRANSFER_INCLUDED' ? event.block : context.transferBlock),
      nextMarkBlock: 0,
    }),
    noteTransferInvalid: assign({
      reason: ({ event }) =>
        `signed transfer can never land: ${event.type === 'TRANSFER_INVALID' ? event.reason : '?'}`,
    }),
    scheduleMarkRetry: assign(({ context, event }) => {
      const height = event.type === 'MARK_FAILED' ? event.height : context.block;
      const backoff = Math.min(2 ** context.markAttempts, MAX_MARK_BACKOFF_BLOCKS);
      return {
        markAttempts: context.markAttempts + 1,
        nextMarkBlock: height + backoff,
        lastError: event.type === 'MARK_FAILED' ? event.error : context.lastError,
      };
    }),
    noteOutcomeUnknown: assign({
      markAttempts: ({ context }) => context.markAttempts + 1,
      lastError: ({ context, event }) => (event.type === 'MARK_FAILED' ? event.error : context.lastError),
    }),
    noteRefusal: assign({
      markAttempts: ({ context }) => context.markAttempts + 1,
      lastError: ({ context, event }) => (event.type === 'MARK_FAILED' ? event.error : context.lastError),
      refusedWith: ({ context, event }) => (event.type === 'MARK_FAILED' ? event.error : context.refusedWith),
    }),
    noteReadFailure: assign({
      lastError: ({ context, event }) => (event.type === 'READ_FAILED' ? event.error : context.lastError),
    }),
    noteSwapNotMarkable: assign({
      reason: ({ context, event }) => {
        const refusal =
          context.refusedWith === null ? '' : `mark_fulfilled refused for good (${context.refusedWith}); `;
        return event.type === 'SWAP_READ' && event.view !== null
          ? `${refusal}funds sent but the swap is ${event.view.status} for miner ${event.view.miner} ` +
              `with dest tx '${event.view.destTxHash}'`
          : `${refusal}funds sent but the swap left the contract while unmarked`;
      },
    }),
    noteMarkLanded: assign({ reason: 'mark_fulfilled found landed on reconciliation' }),
  },
}).createMachine({
  id: SWAP_MACHINE_NAME,
  initial: 'Pending',
  context: ({ input }) => ({
    terms: input.terms,
    marginBlocks: input.marginBlocks ?? DEFAULT_MARGIN_BLOCKS,
    block: input.block,
    transfer: null,
    transferBlock: null,
    markAttempts: 0,
    nextMarkBlock: 0,
    refusedWith: null,
    lastError: null,
    reason: null,
  }),
  states: {
    Pending: {
      meta: meta({ summary: 'assigned to us; nothing signed, nothing sent' }),
      always: { guard: 'swapTermsInvalid', target: 'Rejected', actions: 'noteInvalidTerms' },
      on: {
        REJECT: { target: 'Rejected', actions: 'noteRejection' },
        SWAP_GONE: { target: 'Expired', actions: 'noteVanishedBeforeSend' },
        BLOCK: [
          { guard: 'marginReached', target: 'Expired', actions: ['noteBlock', 'noteMarginReached'] },
          { target: 'Sending', actions: 'noteBlock' },
        ],
      },
    },
    Sending: {
      meta: meta({
        effect: 'sendTransfer',
        durableBefore: 'the decision to send; then the signed transfer (raw bytes and hash) before any broadcast',
        summary: 'sign once, persist the signed bytes, then broadcast them until included',
      }),
      on: {
        BLOCK: { guard: 'unsignedAndMarginReached', target: 'Expired', actions: ['noteBlock', 'noteMarginReached'] },
        SWAP_GONE: { guard: 'notYetSigned', target: 'Expired', actions: 'noteVanishedBeforeSend' },
        // The destination refused the transfer before anything was signed (a paused token, a
        // frozen or blacklisted destination): nothing will ever be sent for this swap.
        REJECT: { guard: 'notYetSigned', target: 'Rejected', actions: 'noteRejection' },
        TRANSFER_SIGNED: { guard: 'notYetSigned', actions: 'recordSignedTransfer' },
        TRANSFER_INCLUDED: { target: 'Sent', actions: 'recordInclusion' },
        TRANSFER_INVALID: { target: 'Recovery', actions: 'noteTransferInvalid' },
      },
    },
    Sent: {
      meta: meta({ summary: 'transfer included on the destination chain; mark_fulfilled due' }),
      always: { guard: 'markDue', target: 'Marking' },
      on: {
        BLOCK: { guard: 'markRetryDue', target: 'Marking', actions: 'noteBlock' },
        SWAP_GONE: { target: 'Reconciling' },
      },
    },
    Marking: {
      meta: meta({
        effect: 'markFulfilled',
        durableBefore: 'the included transfer (hash and block) and the attempt count',
        summary: 'call mark_fulfilled(swap_id, dest_tx_hash, dest_tx_block, dest_amount)',
      }),
      on: {
        MARK_OK: { target: 'Fulfilled' },
        MARK_FAILED: [
          { guard: 'markOutcomeUnknown', target: 'Reconciling', actions: 'noteOutcomeUnknown' },
          { guard: 'markFailedTransiently', target: 'Sent', actions: 'scheduleMarkRetry' },
          { target: 'Reconciling', actions: 'noteRefusal' },
        ],
      },
    },
    Reconciling: {
      meta: meta({
        effect: 'readSwap',
        durableBefore: 'that a mark_fulfilled may have landed, or the refusal to confirm',
        summary: 'read the swap back: our mark landed (Fulfilled), may be retried, or is refused for good (Recovery)',
      }),
      on: {
        SWAP_READ: [
          { guard: 'ourMarkLanded', target: 'Fulfilled', actions: 'noteMarkLanded' },
          { guard: 'swapAwaitsOurMark', target: 'Marking' },
          { target: 'Recovery', actions: 'noteSwapNotMarkable' },
        ],
        READ_FAILED: { actions: 'noteReadFailure' },
      },
    },
    Fulfilled: {
      type: 'final',
      meta: meta({ summary: 'funds sent and the swap marked fulfilled' }),
    },
    Expired: {
      type: 'final',
      meta: meta({ summary: 'never sent: too late to start, or the swap left first' }),
    },
    Rejected: {
      type: 'final',
      meta: meta({ summary: 'invalid swap data, or the destination refused before signing; never sent' }),
    },
    Recovery: {
      type: 'final',
      meta: meta({
        effect: 'recordRecovery',
        record: 'stuck-funds',
        durableBefore: 'the reason the obligation is stuck',
        summary: 'funds may have left and the swap cannot be finalized: written to the recovery log',
      }),
    },
  },
});

/** Structural problems with swap data that no chain client needs to see. Null when sound. */
export function swapTermsProblem(terms: SwapTerms): string | null {
  if (!isPositiveAmount(terms.destAmount)) return `dest_amount '${terms.destAmount}' is not a positive integer`;
  if (!isPositiveAmount(terms.sourceAmount)) return `source_amount '${terms.sourceAmount}' is not a positive integer`;
  if (terms.userDestAddress.trim() === '') return 'user_dest_address is empty';
  if (terms.destChain.trim() === '') return 'dest_chain is empty';
  if (!Number.isSafeInteger(terms.timeoutBlock) || terms.timeoutBlock <= terms.initiatedBlock) {
    return `timeout_block ${terms.timeoutBlock} is not after initiated_block ${terms.initiatedBlock}`;
  }
  return null;
}
