/**
 * The payout's simulated chain: a bank with a payroll, accounts of which some are closed, and
 * payments keyed for idempotency; the script that adds payouts; and the invariant "paid
 * exactly once", checked against the payments the bank holds. State: `payout` of the world.
 */
import type { InvariantResult, RunOutcome } from '../../sim/invariants.ts';
import type { SimNetwork } from '../../sim/network.ts';
import { recordStatesOf, type SimModule } from '../../sim/simModule.ts';
import type { World } from '../../sim/world.ts';
import type { Bank, PaymentRequest, PayResult } from './payoutObligation.ts';
import { payoutObligation } from './payoutObligation.ts';
import {
  PAYOUT_KIND,
  PAYOUT_MACHINE_NAME,
  payoutMachine,
  payoutMachineId,
  type PayoutContext,
  type PayoutTerms,
} from './payoutMachine.ts';

export interface Payment {
  readonly payoutId: string;
  readonly key: string;
  readonly to: string;
  readonly amount: string;
  readonly tx: string;
  readonly block: number;
}

export interface PayoutChain {
  readonly payroll: Record<string, PayoutTerms>;
  readonly closedAccounts: string[];
  readonly payments: Payment[];
  created: number;
}

export const chainOf = (world: World): PayoutChain => (world.state as unknown as { payout: PayoutChain }).payout;

/** Adds a payout to the payroll; `closed` closes its recipient's account first. */
export function addPayout(world: World, spec: { amount?: bigint; dueIn?: number; closed?: boolean } = {}): string {
  const chain = chainOf(world);
  chain.created += 1;
  const payoutId = `p${chain.created}`;
  const to = `acct-${chain.created}`;
  chain.payroll[payoutId] = {
    payoutId,
    to,
    amount: (spec.amount ?? 100n).toString(),
    dueBlock: world.height + (spec.dueIn ?? 0),
  };
  if (spec.closed === true) chain.closedAccounts.push(to);
  return payoutId;
}

class SimBank implements Bank {
  constructor(private readonly world: World) {}
  async height(): Promise<number> {
    return this.world.height;
  }
  async owed(): Promise<PayoutTerms[]> {
    return Object.values(chainOf(this.world).payroll);
  }
  async paymentOf(key: string): Promise<{ tx: string; block: number } | null> {
    const payment = chainOf(this.world).payments.find((p) => p.key === key);
    return payment === undefined ? null : { tx: payment.tx, block: payment.block };
  }
  async pay(request: PaymentRequest): Promise<PayResult> {
    const chain = chainOf(this.world);
    const made = chain.payments.find((p) => p.key === request.key);
    if (made !== undefined) return { ok: true, tx: made.tx, block: made.block };
    if (chain.closedAccounts.includes(request.to)) return { ok: false, reason: `account ${request.to} is closed` };
    const tx = `tx-${request.key}-${chain.payments.length}`;
    chain.payments.push({
      payoutId: request.payoutId,
      key: request.key,
      to: request.to,
      amount: request.amount.toString(),
      tx,
      block: this.world.height,
    });
    this.world.commit();
    return { ok: true, tx, block: this.world.height };
  }
}

/** The bank behind the simulated network: reads can fail, payments can fail or lose their answer. */
class FaultyBank implements Bank {
  constructor(
    private readonly inner: Bank,
    private readonly net: SimNetwork,
  ) {}
  height(): Promise<number> {
    return this.net.read('height', 'bank', () => this.inner.height());
  }
  owed(): Promise<PayoutTerms[]> {
    return this.net.read('owed', 'payroll', () => this.inner.owed());
  }
  paymentOf(key: string): Promise<{ tx: string; block: number } | null> {
    return this.net.read('paymentOf', key, () => this.inner.paymentOf(key));
  }
  pay(request: PaymentRequest): Promise<PayResult> {
    return this.net.write('pay', request.key, () => this.inner.pay(request));
  }
}

function paidExactlyOnce(world: World, outcome: RunOutcome): InvariantResult {
  const result: InvariantResult = { name: 'paid exactly once', checked: 0, violations: [] };
  const chain = chainOf(world);
  const atEnd = outcome.final ?? true;
  for (const terms of Object.values(chain.payroll)) {
    result.checked += 1;
    const id = payoutMachineId(terms.payoutId);
    const payments = chain.payments.filter((p) => p.payoutId === terms.payoutId);
    if (payments.length > 1) result.violations.push(`${id}: paid ${payments.length} times`);
    for (const p of payments)
      if (p.to !== terms.to || p.amount !== terms.amount) result.violations.push(`${id}: paid ${p.amount} to ${p.to}`);
    const final = outcome.finals.get(id);
    if (final === undefined) {
      if (atEnd) result.violations.push(`${id}: machine ${outcome.live.has(id) ? 'still live' : 'missing'} at the end`);
    } else if (final.state === 'Paid') {
      const tx = (final.context as PayoutContext).payment?.tx;
      if (payments.length !== 1 || payments[0]!.tx !== tx)
        result.violations.push(`${id}: Paid with ${tx}, the bank holds ${payments.length} payments`);
    } else if (payments.length !== 0 || !chain.closedAccounts.includes(terms.to)) {
      result.violations.push(
        `${id}: ended ${final.state} with ${payments.length} payments, account closed: ${chain.closedAccounts.includes(terms.to)}`,
      );
    }
  }
  return result;
}

export const payoutModule: SimModule = {
  kind: PAYOUT_KIND,
  machineName: PAYOUT_MACHINE_NAME,
  recordStates: recordStatesOf(payoutMachine),
  init(world) {
    (world.state as unknown as { payout: PayoutChain }).payout = {
      payroll: {},
      closedAccounts: [],
      payments: [],
      created: 0,
    };
  },
  advance: () => undefined,
  script(world) {
    const r = world.random;
    if (chainOf(world).created >= world.planned(PAYOUT_KIND) || !r.chance(0.5)) return;
    // Every draw is made whatever its outcome, so one choice never shifts the rest of the world.
    const closed = r.chance(0.15);
    addPayout(world, { amount: BigInt(r.int(1, 1_000)), dueIn: r.int(0, 4), closed });
  },
  scriptDone: (world) => chainOf(world).created >= world.planned(PAYOUT_KIND),
  applyFaults: () => undefined,
  connect(world, net) {
    const bank: Bank = net === null ? new SimBank(world) : new FaultyBank(new SimBank(world), net);
    return { obligation: (log) => payoutObligation(bank, log) };
  },
  invariantNames: ['paid exactly once'],
  invariants: (world, outcome) => [paidExactlyOnce(world, outcome)],
  outcome: (world) =>
    Object.fromEntries(
      Object.keys(chainOf(world).payroll).map((payoutId) => {
        const payments = chainOf(world).payments.filter((p) => p.payoutId === payoutId);
        return [payoutMachineId(payoutId), payments.map((p) => `${p.to}:${p.amount}`).join('|') || 'unpaid'];
      }),
    ),
  deadlineBound: () => new Set(),
  allSeen: (world, placeOf) =>
    Object.keys(chainOf(world).payroll).every((payoutId) => placeOf(payoutMachineId(payoutId)) !== null),
};
