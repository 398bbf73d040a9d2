/**
 * The side effects a job machine asks for. Every one reads the chain first: a claim or a
 * cancel that may already have happened (a crash after broadcast, a lost receipt, the payer
 * cancelling under us) is found, never repeated.
 */
import type { JobContext, JobEvent } from '../../machines/index.ts';
import { isSimulatedCrash } from './crashpoints.ts';
import type { Escrow, Settlement } from './ports.ts';

function escrowFor(escrows: ReadonlyMap<string, Escrow>, chain: string): Escrow {
  const escrow = escrows.get(chain);
  if (escrow === undefined) throw new Error(`no escrow client for chain '${chain}'`);
  return escrow;
}

/** The event that a settlement already on chain implies, if it decides the job. */
function settledEvent(s: Settlement): JobEvent | null {
  switch (s.kind) {
    case 'claimed':
      return { type: 'CLAIMED', txHash: s.txHash, amount: s.amount.toString() };
    case 'canceled':
      return { type: 'LOCK_CANCELED', txHash: s.txHash };
    case 'absent':
      return { type: 'LOCK_GONE', reason: 'no lock, no Claimed and no Canceled event for this job' };
    case 'locked':
      return null;
  }
}

export async function claimLock(escrows: ReadonlyMap<string, Escrow>, c: JobContext): Promise<JobEvent> {
  const escrow = escrowFor(escrows, c.terms.chain);
  if (c.claimAmount === null) throw new Error(`job ${c.terms.jobId}: Claiming without an amount`);
  try {
    const before = await escrow.readSettlement(c.terms);
    const settled = settledEvent(before);
    if (settled !== null) {
      return settled.type === 'LOCK_CANCELED' ? { type: 'CLAIM_CANCELED', txHash: settled.txHash } : settled;
    }
    const receipt = await escrow.claim(c.terms, BigInt(c.claimAmount));
    if (receipt.claimed !== null) return { type: 'CLAIMED', txHash: receipt.txHash, amount: receipt.claimed.toString() };
    if (receipt.canceled) return { type: 'CLAIM_CANCELED', txHash: receipt.txHash };
    return { type: 'CLAIM_FAILED', error: `claim ${receipt.txHash} carried neither Claimed nor Canceled for this job` };
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    return { type: 'CLAIM_FAILED', error: String(error) };
  }
}

export async function cancelExpiredLock(escrows: ReadonlyMap<string, Escrow>, c: JobContext): Promise<JobEvent> {
  const escrow = escrowFor(escrows, c.terms.chain);
  try {
    const settled = settledEvent(await escrow.readSettlement(c.terms));
    if (settled !== null) return settled;
    const result = await escrow.cancelExpired(c.terms);
    return result.canceled
      ? { type: 'LOCK_CANCELED', txHash: result.txHash }
      : { type: 'CANCEL_FAILED', error: `cancel ${result.txHash} carried no Canceled event for this job` };
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    return { type: 'CANCEL_FAILED', error: String(error) };
  }
}
