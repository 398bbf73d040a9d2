/**
 * A third obligation, which lives only in test/: a payout that must be made exactly once.
 * It exists to prove the engine, the store, the simulator, the crash-point explorer and the
 * model-based property run an obligation none of them names.
 *
 *   Pending -> Paying -> Paid
 *   Paying -> Recovery   (the bank refuses: the recipient's account is closed)
 *
 * Paying asks for `pay`, performed after the snapshot that entered Paying is on disk; the
 * payment carries the payout id as its idempotency key, so paying again after a crash (or a
 * lost answer) is the same payment, never a second one.
 */
import { assign, setup } from 'xstate';
import { stateMetaOf } from '../../machines/stateMeta.ts';

export const PAYOUT_KIND = 'payout';
export const PAYOUT_MACHINE_NAME = 'payout';
export const PAYOUT_MACHINE_VERSION = 1;

export const PAYOUT_EFFECTS = ['pay', 'recordRecovery'] as const;
export type PayoutEffect = (typeof PAYOUT_EFFECTS)[number];

/** `payout:<payout id>`. */
export const payoutMachineId = (payoutId: string): string => `${PAYOUT_KIND}:${payoutId}`;

export interface PayoutTerms {
  readonly payoutId: string;
  readonly to: string;
  /** Decimal integer string. */
  readonly amount: string;
  /** The block from which the payout may be made. */
  readonly dueBlock: number;
}

export interface PayoutContext {
  readonly terms: PayoutTerms;
  readonly payment: { readonly tx: string; readonly block: number } | null;
  readonly reason: string | null;
}

export type PayoutEvent =
  | { type: 'DUE'; height: number }
  | { type: 'PAID'; tx: string; block: number }
  | { type: 'PAY_REFUSED'; reason: string };

const meta = stateMetaOf<PayoutEffect>();

export const payoutMachine = setup({
  types: { context: {} as PayoutContext, events: {} as PayoutEvent, input: {} as { terms: PayoutTerms } },
  guards: {
    isDue: ({ context, event }) => event.type === 'DUE' && event.height >= context.terms.dueBlock,
  },
  actions: {
    recordPayment: assign({
      payment: ({ context, event }) => (event.type === 'PAID' ? { tx: event.tx, block: event.block } : context.payment),
    }),
    noteRefusal: assign({
      reason: ({ event }) => (event.type === 'PAY_REFUSED' ? `the bank refused the payment: ${event.reason}` : null),
    }),
  },
}).createMachine({
  id: PAYOUT_MACHINE_NAME,
  initial: 'Pending',
  context: ({ input }) => ({ terms: input.terms, payment: null, reason: null }),
  states: {
    Pending: {
      meta: meta({ summary: 'owed, not yet due' }),
      on: { DUE: { guard: 'isDue', target: 'Paying' } },
    },
    Paying: {
      meta: meta({
        effect: 'pay',
        durableBefore: 'the decision to pay',
        summary: 'look the payment up by its key; pay with that key unless made',
      }),
      on: {
        PAID: { target: 'Paid', actions: 'recordPayment' },
        PAY_REFUSED: { target: 'Recovery', actions: 'noteRefusal' },
      },
    },
    Paid: { type: 'final', meta: meta({ summary: 'paid once, with its idempotency key' }) },
    Recovery: {
      type: 'final',
      meta: meta({
        effect: 'recordRecovery',
        record: 'unsettled-claim',
        durableBefore: 'the refusal',
        summary: 'could not be paid: written to the recovery log',
      }),
    },
  },
});
