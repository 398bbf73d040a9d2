/**
 * The payout as an engine plug-in: its bank port, its observer (the payroll lists every payout
 * owed; each is started once, and fed DUE with the bank's height), and one handler per effect
 * of PAYOUT_EFFECTS, checked by `satisfies`.
 */
import { isFatalToHost } from '../../src/engine/live.ts';
import type { EffectHandler, Obligation } from '../../src/engine/obligation.ts';
import { readOrNull } from '../../src/engine/readOrNull.ts';
import type { Logger } from '../../src/host/ports.ts';
import {
  PAYOUT_KIND,
  PAYOUT_MACHINE_NAME,
  PAYOUT_MACHINE_VERSION,
  payoutMachine,
  payoutMachineId,
  type PayoutContext,
  type PayoutEffect,
  type PayoutEvent,
  type PayoutTerms,
} from './payoutMachine.ts';

export interface PaymentRequest {
  readonly payoutId: string;
  /** A second payment with a key already used is the first one, not a new payment. */
  readonly key: string;
  readonly to: string;
  readonly amount: bigint;
}

export type PayResult =
  | { readonly ok: true; readonly tx: string; readonly block: number }
  | { readonly ok: false; readonly reason: string };

/** The bank, as the payout sees it. */
export interface Bank {
  height(): Promise<number>;
  /** Every payout owed by the payroll, paid or not. */
  owed(): Promise<PayoutTerms[]>;
  /** The payment made with this key, if any. */
  paymentOf(key: string): Promise<{ tx: string; block: number } | null>;
  pay(request: PaymentRequest): Promise<PayResult>;
}

export interface PayoutObligation extends Obligation<PayoutContext, PayoutEvent, PayoutEffect> {
  readonly bank: Bank;
}

type Handler = EffectHandler<PayoutContext, PayoutEvent>;

export function payoutObligation(bank: Bank, log: Logger): PayoutObligation {
  const handlers = {
    pay: {
      async perform({ id, context }) {
        const { payoutId, to, amount } = context.terms;
        try {
          const made = await bank.paymentOf(payoutId);
          if (made !== null) return { type: 'PAID', tx: made.tx, block: made.block };
          const result = await bank.pay({ payoutId, key: payoutId, to, amount: BigInt(amount) });
          return result.ok
            ? { type: 'PAID', tx: result.tx, block: result.block }
            : { type: 'PAY_REFUSED', reason: result.reason };
        } catch (error) {
          if (isFatalToHost(error)) throw error;
          log.warn({ machine: id, err: String(error) }, 'payment outcome unknown; looked up again next tick');
          return null;
        }
      },
    },
    recordRecovery: {
      perform: (call) =>
        call.record({
          key: call.id,
          obligation: PAYOUT_KIND,
          kind: call.meta.record ?? 'unsettled-claim',
          reason: call.context.reason ?? `ended in ${call.state}`,
          state: call.state,
          chains: { bank: 'sim-bank' },
          amounts: { owed: call.context.terms.amount },
          txHashes: {},
          block: null,
          time: null,
        }),
    },
  } satisfies Record<PayoutEffect, Handler>;
  return {
    kind: PAYOUT_KIND,
    bank,
    definition: { name: PAYOUT_MACHINE_NAME, version: PAYOUT_MACHINE_VERSION, machine: payoutMachine },
    handlers,
    async observe(scope) {
      const height = await readOrNull(scope.log, () => bank.height(), 'bank unreachable; payouts wait');
      if (height === null) return { created: 0, status: 'unreachable' };
      const owed = await readOrNull(scope.log, () => bank.owed(), 'payroll unreachable; no new payout this tick');
      const created = (owed ?? [])
        .filter(
          (terms) =>
            scope.get(payoutMachineId(terms.payoutId)) === undefined && !scope.onDisk(payoutMachineId(terms.payoutId)),
        )
        .map((terms) => scope.create(payoutMachineId(terms.payoutId), { terms }));
      await scope.commit(created);
      const due = scope
        .live()
        .filter(
          (m) => m.snapshot.value === 'Pending' && (m.snapshot.context as PayoutContext).terms.dueBlock <= height,
        );
      await scope.dispatchAll(due.map((machine) => [machine, { type: 'DUE', height }]));
      return { created: created.length, status: owed === null ? 'partial' : 'ok' };
    },
  };
}
