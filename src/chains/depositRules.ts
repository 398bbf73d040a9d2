/**
 * The reference miner's rules for a user's deposit (allways `Asset.verify_transaction`), in its
 * order, shared by every source chain's verifier: the chain adapter reads what the chain shows
 * (a `Sighting`) and this file decides. Order: recipient and amount (at least), then
 * confirmations, then strict sender equality (a sender that cannot be proven fails), then sender
 * different from recipient. A failed transaction is wrong before anything else.
 *
 * Invariant: `verified` is answered only from a sighting that pays the recipient at least the
 * claim, at the required confirmations, from the claimed sender. Pure: no I/O, no state; a crash
 * leaves nothing behind.
 */
import type { DepositClaim, DepositEvidence, DepositVerdict } from '../host/sourceVerifier.ts';

/** What a chain adapter saw of a deposit transaction it found. */
export interface Sighting {
  /** The block (slot, height) holding it; null while it is in no block (a mempool). */
  readonly block: number | null;
  /** Confirmations counted as the chain's rule counts them. */
  readonly confirmations: number;
  /** The transaction failed on chain (EVM status 0, Solana meta.err): it moved nothing. */
  readonly failed: string | null;
  /** What it credited to the claim's recipient in the source asset; null when it pays the recipient nothing. */
  readonly credited: bigint | null;
  /** The sender as proven from the chain; '' when it cannot be proven. */
  readonly sender: string;
  /** Why the count is short, when the count alone does not say it (its block left the best chain). */
  readonly shortBecause?: string;
}

/** How addresses compare on a chain: EVM hex and bech32 are case-insensitive, base58 and SS58 are not. */
export type AddressNormaliser = (address: string) => string;
export const exactAddress: AddressNormaliser = (a) => a;
export const lowerCaseAddress: AddressNormaliser = (a) => a.toLowerCase();

/** Evidence of a transaction not (or not yet) seen. */
export function notFound(claim: DepositClaim, required: number): DepositEvidence {
  return { txHash: claim.txHash, block: null, amountSeen: null, senderSeen: '', confirmations: 0, required };
}

/** `pending` because the chain could not be read: never `verified` on a read error. */
export function unreadable(claim: DepositClaim, required: number, error: unknown): DepositVerdict {
  const message = error instanceof Error ? error.message : String(error);
  return {
    kind: 'pending',
    reason: `the source chain did not answer: ${message.slice(0, 300)}`,
    evidence: notFound(claim, required),
  };
}

/**
 * One verifier's answer: the chain read once (`read`), a read error `pending`, then the rules.
 * Every source chain's verifier is this with its own reader and address form.
 */
export async function readAndJudge(
  claim: DepositClaim,
  required: number,
  read: () => Promise<Sighting | null>,
  normalise: AddressNormaliser,
): Promise<DepositVerdict> {
  let seen: Sighting | null;
  try {
    seen = await read();
  } catch (error) {
    return unreadable(claim, required, error);
  }
  return judgeDeposit(claim, required, seen, normalise);
}

export function judgeDeposit(
  claim: DepositClaim,
  required: number,
  seen: Sighting | null,
  normalise: AddressNormaliser,
): DepositVerdict {
  if (seen === null)
    return { kind: 'pending', reason: 'deposit transaction not found', evidence: notFound(claim, required) };
  const evidence: DepositEvidence = {
    txHash: claim.txHash,
    block: seen.block,
    amountSeen: seen.credited,
    senderSeen: seen.sender,
    confirmations: seen.confirmations,
    required,
  };
  const wrong = (reason: string): DepositVerdict => ({ kind: 'wrong', reason, evidence });
  if (seen.failed !== null) return wrong(`the deposit transaction failed on chain: ${seen.failed}`);
  if (seen.credited === null || seen.credited <= 0n)
    return wrong(`the deposit transaction pays nothing to the recipient ${claim.recipient}`);
  if (seen.credited < claim.minAmount)
    return wrong(`the deposit pays ${seen.credited}, short of the ${claim.minAmount} claimed`);
  if (seen.confirmations < required)
    return {
      kind: 'pending',
      reason: seen.shortBecause ?? `deposit at ${seen.confirmations} of ${required} confirmations`,
      evidence,
    };
  if (seen.sender === '') return wrong('the deposit sender cannot be proven from the chain');
  if (normalise(seen.sender) !== normalise(claim.sender))
    return wrong(`the deposit comes from ${seen.sender}, not from the claimed sender ${claim.sender}`);
  if (normalise(seen.sender) === normalise(claim.recipient)) return wrong('the deposit sender is the recipient itself');
  return { kind: 'verified', evidence };
}
