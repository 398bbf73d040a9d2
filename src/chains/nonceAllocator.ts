/**
 * Hands out an account's nonces within one process, so that two signers of the same account
 * (a transfer sender and an escrow claimer, or marks and transfers on Subtensor) never sign two
 * transactions with the same nonce while the first is signed but not yet in the node's pool.
 * The chain's own count (pending included) is the floor: after a restart, or when the node
 * has seen more than this process, the chain wins.
 */
/** EVM addresses compare without case; SS58 addresses are case-sensitive. */
function keyOf(address: string): string {
  return address.startsWith('0x') ? address.toLowerCase() : address;
}

export class NonceAllocator {
  private readonly last = new Map<string, number>();

  /** The nonce to sign with: above the last one handed out, and not below the chain's. */
  next(address: string, chainPending: number): number {
    if (!Number.isSafeInteger(chainPending) || chainPending < 0)
      throw new RangeError(`chain nonce ${chainPending} for ${address} is not a count`);
    const key = keyOf(address);
    const previous = this.last.get(key);
    const nonce = previous === undefined ? chainPending : Math.max(chainPending, previous + 1);
    this.last.set(key, nonce);
    return nonce;
  }

  /** Marks a nonce as taken (a transaction signed by an earlier life of the process). */
  reserve(address: string, nonce: number): void {
    const key = keyOf(address);
    const previous = this.last.get(key);
    if (previous === undefined || nonce > previous) this.last.set(key, nonce);
  }

  /** Forgets what was handed out: the chain's count decides again (after a nonce gap). */
  forget(address: string): void {
    this.last.delete(keyOf(address));
  }
}
