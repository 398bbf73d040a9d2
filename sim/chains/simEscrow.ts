/**
 * Ocean's Escrow (@oceanprotocol/contracts 2.6.0, Escrow.sol; the project's words in docs/DESIGN.md)
 * over the simulated world, with the semantics that lose or shorten claims:
 * - locks are per payee: a claim matches the sender's lock with that payer, job id and token;
 *   getLocks needs a payee and ORs its token and payer filters, so callers filter;
 * - a claim deletes the lock; a second claim of the same job reverts "Lock not found";
 * - in a batch, one bad entry reverts the whole transaction: nothing changes;
 * - a claim mined after the lock's expiry does not revert: the lock is cancelled silently
 *   (funds back to the payer, a Canceled event, no Claimed), checked before the amount;
 * - the OPC fee, floor(amount * rate / 1e18), goes to the collector; Claimed states the gross,
 *   the payee is credited the rest; the withdraw variant then pays the payee's whole
 *   available balance to its wallet;
 * - anyone may cancel an expired lock, the payer included.
 * A transaction is mined in the next block: its timestamp, not the caller's `now`, decides
 * whether a lock has expired.
 */
import type { JobTerms } from '../../machines/index.ts';
import {
  BatchReverted,
  type ClaimEntry,
  type Escrow,
  type EscrowReceipt,
  type Settlement,
} from '../../src/host/ports.ts';
import { BLOCK_SECONDS, type EscrowEventRecord, type SimEscrowFunds, type SimLock, type World } from '../world.ts';

type LockKey = Pick<JobTerms, 'jobId' | 'payer' | 'payee' | 'token'>;
export type SimClaimMethod = 'claimLocksAndWithdraw' | 'claimLocks';

const ZERO = `0x${'00'.repeat(20)}`;
const ONE = 10n ** 18n;
const add = (record: Record<string, string>, key: string, amount: bigint): void => {
  record[key] = (BigInt(record[key] ?? '0') + amount).toString();
};

/** One entry of a claim batch, as the contract would settle it when mined. */
type Outcome = { lock: SimLock; claim: bigint | null };

export class SimEscrow implements Escrow {
  constructor(
    private readonly world: World,
    readonly claimMethod: SimClaimMethod = 'claimLocksAndWithdraw',
  ) {}

  get chain(): string {
    return this.world.state.escrow.chain;
  }

  private get minedAt(): number {
    return this.world.state.escrow.time + BLOCK_SECONDS;
  }

  /** The escrow's funds (a world written before fees: none, no fee). */
  private get funds(): SimEscrowFunds {
    const e = this.world.state.escrow;
    e.funds ??= { feeRate: '0', collected: '0', available: {}, withdrawn: {} };
    return e.funds;
  }

  /** getLocks: the payee's locks whose token OR payer matches (a zero filter matches all). */
  getLocks(token: string, payer: string, payee: string): SimLock[] {
    if (payee === ZERO) throw new BatchReverted('Invalid payee');
    return this.world.state.escrow.locks.filter(
      (l) => l.payee === payee && (token === ZERO || l.token === token || payer === ZERO || l.payer === payer),
    );
  }

  private lockOf(terms: LockKey): SimLock | undefined {
    // As a client must: getLocks ORs its filters, every field is matched here.
    return this.getLocks(ZERO, ZERO, terms.payee).find(
      (l) => l.jobId === terms.jobId && l.payer === terms.payer && l.token === terms.token,
    );
  }

  async readSettlements(jobs: readonly JobTerms[]): Promise<Settlement[]> {
    return jobs.map((terms) => this.settlementOf(terms));
  }

  private settlementOf(terms: JobTerms): Settlement {
    const lock = this.lockOf(terms);
    if (lock !== undefined) return { kind: 'locked', amount: BigInt(lock.amount), expiry: lock.expiry };
    const events = this.world.state.escrow.events.filter((e) => e.jobId === terms.jobId);
    const claimed = events.find((e) => e.kind === 'Claimed');
    if (claimed !== undefined)
      return {
        kind: 'claimed',
        txHash: claimed.txHash,
        amount: BigInt(claimed.amount),
        fee: claimed.fee === undefined ? null : BigInt(claimed.fee),
      };
    const canceled = events.find((e) => e.kind === 'Canceled');
    if (canceled !== undefined) return { kind: 'canceled', txHash: canceled.txHash };
    return { kind: 'absent' };
  }

  /** What each entry of a batch would do when mined, or the revert reason. */
  private validate(entries: readonly ClaimEntry[]): Outcome[] | string {
    if (entries.length === 0) return 'Invalid input';
    const outcomes: Outcome[] = [];
    const time = this.minedAt;
    for (const entry of entries) {
      const lock = this.lockOf(entry.terms);
      if (lock === undefined || outcomes.some((o) => o.lock === lock)) return 'Lock not found';
      // Expiry is checked before the amount: an expired lock is cancelled, whatever is asked.
      if (time > lock.expiry) outcomes.push({ lock, claim: null });
      else if (entry.amount > BigInt(lock.amount)) return 'Amount too high';
      else outcomes.push({ lock, claim: entry.amount });
    }
    return outcomes;
  }

  async checkClaims(entries: readonly ClaimEntry[]): Promise<string | null> {
    const result = this.validate(entries);
    return typeof result === 'string' ? result : null;
  }

  /** The batch: all entries or none; then, with withdraw, the payee's whole balance out. */
  async claimLocks(entries: readonly ClaimEntry[]): Promise<EscrowReceipt> {
    const outcomes = this.validate(entries);
    if (typeof outcomes === 'string') throw new BatchReverted(outcomes);
    const e = this.world.state.escrow;
    const funds = this.funds;
    const txHash = this.world.nextEscrowTx();
    const time = this.minedAt;
    const records = outcomes.map(({ lock, claim }): EscrowEventRecord => {
      e.locks.splice(e.locks.indexOf(lock), 1);
      if (claim === null)
        return { kind: 'Canceled', jobId: lock.jobId, amount: lock.amount, txHash, time, by: lock.payee };
      const fee = (claim * BigInt(funds.feeRate)) / ONE;
      funds.collected = (BigInt(funds.collected) + fee).toString();
      add(funds.available, lock.payee, claim - fee);
      return {
        kind: 'Claimed',
        jobId: lock.jobId,
        amount: claim.toString(),
        txHash,
        time,
        by: lock.payee,
        fee: fee.toString(),
      };
    });
    e.events.push(...records);
    const withdrawn = this.claimMethod === 'claimLocksAndWithdraw' ? this.withdrawAll(entries[0]!.terms.payee) : [];
    this.world.commit();
    return { ...receiptOf(txHash, records), withdrawn };
  }

  /** The payee's whole available balance to its wallet (one token in this world). */
  private withdrawAll(payee: string): Array<{ token: string; amount: bigint }> {
    const funds = this.funds;
    const amount = BigInt(funds.available[payee] ?? '0');
    if (amount === 0n) return [];
    funds.available[payee] = '0';
    add(funds.withdrawn, payee, amount);
    return [{ token: this.world.state.escrow.token, amount }];
  }

  /** cancelExpiredLocks: anyone may call it; locks not yet expired are left alone. */
  async cancelExpiredLocks(jobs: readonly LockKey[], by?: string): Promise<EscrowReceipt> {
    const e = this.world.state.escrow;
    const txHash = this.world.nextEscrowTx();
    const time = this.minedAt;
    const records: EscrowEventRecord[] = [];
    for (const job of jobs) {
      const lock = this.lockOf(job);
      if (lock === undefined || time <= lock.expiry) continue;
      e.locks.splice(e.locks.indexOf(lock), 1);
      records.push({ kind: 'Canceled', jobId: lock.jobId, amount: lock.amount, txHash, time, by: by ?? job.payee });
    }
    e.events.push(...records);
    this.world.commit();
    return receiptOf(txHash, records);
  }
}

function receiptOf(txHash: string, records: readonly EscrowEventRecord[]): EscrowReceipt {
  return {
    txHash,
    events: records.map((r) => ({
      kind: r.kind as 'Claimed' | 'Canceled',
      jobId: r.jobId,
      amount: BigInt(r.amount),
      ...(r.kind === 'Claimed' ? { fee: BigInt(r.fee ?? '0') } : {}),
    })),
  };
}
