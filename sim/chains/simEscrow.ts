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
import type { ClaimReceipt, Escrow, Settlement } from '../../src/host/ports.ts';
import { BLOCK_SECONDS, type EscrowEventRecord, type SimLock, type World } from '../world.ts';

export interface ClaimEntry {
  readonly terms: JobTerms;
  readonly amount: bigint;
}

export interface BatchReceipt {
  readonly txHash: string;
  readonly events: readonly EscrowEventRecord[];
}

export class EscrowRevert extends Error {
  override readonly name = 'EscrowRevert';
  constructor(readonly reason: string) {
    super(`execution reverted: "${reason}"`);
  }
}

export class SimEscrow implements Escrow {
  constructor(private readonly world: World) {}

  get chain(): string {
    return this.world.state.escrow.chain;
  }

  private get minedAt(): number {
    return this.world.state.escrow.time + BLOCK_SECONDS;
  }

  private lockOf(terms: Pick<JobTerms, 'jobId' | 'payer' | 'payee' | 'token'>): SimLock | undefined {
    // getLocks filters with OR; match every field ourselves.
    return this.world.state.escrow.locks.find(
      (l) => l.jobId === terms.jobId && l.payer === terms.payer && l.payee === terms.payee && l.token === terms.token,
    );
  }

  async readSettlement(terms: JobTerms): Promise<Settlement> {
    const lock = this.lockOf(terms);
    if (lock !== undefined) return { kind: 'locked', amount: BigInt(lock.amount), expiry: lock.expiry };
    const events = this.world.state.escrow.events.filter((e) => e.jobId === terms.jobId);
    const claimed = events.find((e) => e.kind === 'Claimed');
    if (claimed !== undefined) return { kind: 'claimed', txHash: claimed.txHash, amount: BigInt(claimed.amount) };
    const canceled = events.find((e) => e.kind === 'Canceled');
    if (canceled !== undefined) return { kind: 'canceled', txHash: canceled.txHash };
    return { kind: 'absent' };
  }

  /** claimLocks: all entries or none. */
  claimLocks(entries: readonly ClaimEntry[], by: string): BatchReceipt {
    if (entries.length === 0) throw new EscrowRevert('Invalid input');
    const e = this.world.state.escrow;
    const locks = entries.map((entry) => {
      const lock = this.lockOf(entry.terms);
      if (lock === undefined) throw new EscrowRevert('Lock not found');
      if (entry.amount > BigInt(lock.amount)) throw new EscrowRevert('Amount too high');
      return { lock, amount: entry.amount };
    });
    if (new Set(locks.map((l) => l.lock)).size !== locks.length) throw new EscrowRevert('Lock not found');
    const txHash = this.world.nextEscrowTx();
    const time = this.minedAt;
    const events: EscrowEventRecord[] = locks.map(({ lock, amount }) => {
      e.locks.splice(e.locks.indexOf(lock), 1);
      const expired = time > lock.expiry;
      return expired
        ? { kind: 'Canceled', jobId: lock.jobId, amount: lock.amount, txHash, time, by }
        : { kind: 'Claimed', jobId: lock.jobId, amount: amount.toString(), txHash, time, by };
    });
    e.events.push(...events);
    this.world.commit();
    return { txHash, events };
  }

  /** cancelExpiredLocks: anyone may call it; locks not yet expired are left alone. */
  cancelExpiredLocks(jobs: ReadonlyArray<Pick<JobTerms, 'jobId' | 'payer' | 'payee' | 'token'>>, by: string): BatchReceipt {
    const e = this.world.state.escrow;
    const txHash = this.world.nextEscrowTx();
    const time = this.minedAt;
    const events: EscrowEventRecord[] = [];
    for (const job of jobs) {
      const lock = this.lockOf(job);
      if (lock === undefined || time <= lock.expiry) continue;
      e.locks.splice(e.locks.indexOf(lock), 1);
      events.push({ kind: 'Canceled', jobId: lock.jobId, amount: lock.amount, txHash, time, by });
    }
    e.events.push(...events);
    this.world.commit();
    return { txHash, events };
  }

  async claim(terms: JobTerms, amount: bigint): Promise<ClaimReceipt> {
    const receipt = this.claimLocks([{ terms, amount }], terms.payee);
    return receiptFor(terms.jobId, receipt);
  }

  async cancelExpired(terms: JobTerms): Promise<{ txHash: string; canceled: boolean }> {
    const receipt = this.cancelExpiredLocks([terms], terms.payee);
    return { txHash: receipt.txHash, canceled: receipt.events.some((e) => e.kind === 'Canceled' && e.jobId === terms.jobId) };
  }
}

/** What a receipt says about one job: its Claimed amount, or whether it was cancelled. */
export function receiptFor(jobId: string, receipt: BatchReceipt): ClaimReceipt {
  const claimed = receipt.events.find((e) => e.kind === 'Claimed' && e.jobId === jobId);
  return {
    txHash: receipt.txHash,
    claimed: claimed === undefined ? null : BigInt(claimed.amount),
    canceled: receipt.events.some((e) => e.kind === 'Canceled' && e.jobId === jobId),
  };
}
