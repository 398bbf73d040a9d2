/**
 * The Ocean-style Escrow over the simulated world, with the semantics that lose claims: a
 * claim deletes the lock, a claim after expiry silently cancels it (a Canceled event, no
 * Claimed), anyone may cancel an expired lock. Transactions are mined at once.
 */
import type { JobTerms } from '../../machines/index.ts';
import type { ClaimReceipt, Escrow, Settlement } from '../../src/host/ports.ts';
import type { SimLock, World } from '../world.ts';

export class SimEscrow implements Escrow {
  constructor(private readonly world: World) {}

  get chain(): string {
    return this.world.state.escrow.chain;
  }

  private lockOf(terms: JobTerms): SimLock | undefined {
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

  async claim(terms: JobTerms, amount: bigint): Promise<ClaimReceipt> {
    const e = this.world.state.escrow;
    const lock = this.lockOf(terms);
    if (lock === undefined) throw new Error('execution reverted: "Lock not found"');
    if (amount > BigInt(lock.amount)) throw new Error('execution reverted: "Amount too high"');
    const txHash = this.world.nextEscrowTx();
    e.locks.splice(e.locks.indexOf(lock), 1);
    const expired = e.time > lock.expiry;
    e.events.push({ kind: expired ? 'Canceled' : 'Claimed', jobId: lock.jobId, amount: expired ? lock.amount : amount.toString(), txHash, time: e.time, by: lock.payee });
    this.world.commit();
    return { txHash, claimed: expired ? null : amount, canceled: expired };
  }

  async cancelExpired(terms: JobTerms): Promise<{ txHash: string; canceled: boolean }> {
    const e = this.world.state.escrow;
    const lock = this.lockOf(terms);
    const txHash = this.world.nextEscrowTx();
    if (lock !== undefined && e.time > lock.expiry) {
      e.locks.splice(e.locks.indexOf(lock), 1);
      e.events.push({ kind: 'Canceled', jobId: lock.jobId, amount: lock.amount, txHash, time: e.time, by: lock.payee });
    }
    this.world.commit();
    return { txHash, canceled: lock !== undefined && e.time > lock.expiry };
  }
}
