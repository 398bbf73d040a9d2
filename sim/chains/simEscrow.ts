/**
 * The Ocean-style Escrow over the simulated world, with the semantics that lose claims:
 * - a claim deletes the lock; a second claim of the same job reverts "Lock not found";
 * - in a batch (claimLocks), one bad entry reverts the whole transaction: nothing changes;
 * - a claim mined after the lock's expiry does not revert: the lock is cancelled silently
 *   (funds back to the payer, a Canceled event, no Claimed);
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
import { BLOCK_SECONDS, type EscrowEventRecord, type SimLock, type World } from '../world.ts';

type LockKey = Pick<JobTerms, 'jobId' | 'payer' | 'payee' | 'token'>;

export class SimEscrow implements Escrow {
  constructor(private readonly world: World) {}

  get chain(): string {
    return this.world.state.escrow.chain;
  }

  private get minedAt(): number {
    return this.world.state.escrow.time + BLOCK_SECONDS;
  }

  private lockOf(terms: LockKey): SimLock | undefined {
    // getLocks filters with OR; match every field ourselves.
    return this.world.state.escrow.locks.find(
      (l) => l.jobId === terms.jobId && l.payer === terms.payer && l.payee === terms.payee && l.token === terms.token,
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
    if (claimed !== undefined) return { kind: 'claimed', txHash: claimed.txHash, amount: BigInt(claimed.amount) };
    const canceled = events.find((e) => e.kind === 'Canceled');
    if (canceled !== undefined) return { kind: 'canceled', txHash: canceled.txHash };
    return { kind: 'absent' };
  }

  /** The locks a claimLocks batch would consume, or the revert reason. */
  private validate(entries: readonly ClaimEntry[]): SimLock[] | string {
    if (entries.length === 0) return 'Invalid input';
    const locks: SimLock[] = [];
    for (const entry of entries) {
      const lock = this.lockOf(entry.terms);
      if (lock === undefined || locks.includes(lock)) return 'Lock not found';
      if (entry.amount > BigInt(lock.amount)) return 'Amount too high';
      locks.push(lock);
    }
    return locks;
  }

  async checkClaims(entries: readonly ClaimEntry[]): Promise<string | null> {
    const result = this.validate(entries);
    return typeof result === 'string' ? result : null;
  }

  /** claimLocks: all entries or none. */
  async claimLocks(entries: readonly ClaimEntry[]): Promise<EscrowReceipt> {
    const locks = this.validate(entries);
    if (typeof locks === 'string') throw new BatchReverted(locks);
    const e = this.world.state.escrow;
    const txHash = this.world.nextEscrowTx();
    const time = this.minedAt;
    const records: EscrowEventRecord[] = locks.map((lock, i) => {
      e.locks.splice(e.locks.indexOf(lock), 1);
      const by = lock.payee;
      return time > lock.expiry
        ? { kind: 'Canceled', jobId: lock.jobId, amount: lock.amount, txHash, time, by }
        : { kind: 'Claimed', jobId: lock.jobId, amount: entries[i]!.amount.toString(), txHash, time, by };
    });
    e.events.push(...records);
    this.world.commit();
    return receiptOf(txHash, records);
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
    events: records.map((r) => ({ kind: r.kind as 'Claimed' | 'Canceled', jobId: r.jobId, amount: BigInt(r.amount) })),
  };
}
