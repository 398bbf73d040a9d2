/**
 * The source-funds port: did the user's deposit really arrive where the swap says it did?
 *
 * Invariant: a swap is paid only after a verifier of its source chain answered `verified` for
 * its deposit at the confirmations configured for that chain. Anything else is a wait
 * (`pending`: not found, not yet confirmed, the chain did not answer) or a refusal (`wrong`:
 * found, and it does not match; the swap is Rejected with `reason`, nothing is signed).
 * A verifier never answers `verified` on a failure to read: an RPC error is `pending`.
 *
 * Crash: verifiers hold no state; the verdict and its evidence are persisted by the swap
 * machine before the first signature, so a crash at any point re-asks or reads the record.
 *
 * The per-chain rules are the reference miner's (allways `verify_transaction`): recipient and
 * amount (at least) first, then confirmations, then strict sender equality (a sender that
 * cannot be proven fails), then sender different from recipient. Freshness is not re-checked.
 * Money crosses this port as bigint only.
 */

/** The deposit a swap claims, from the swap's record on the contract. */
export interface DepositClaim {
  /** The source chain id as the swap contract names it ('sol', 'solusdc', 'tao', 'btc', 'eth', 'arbusdc', ...). */
  readonly chain: string;
  /** from_tx_hash: a Solana signature, a TAO extrinsic hash, a BTC txid, an EVM tx hash. */
  readonly txHash: string;
  /** from_tx_block: where to look first; 0 when the contract holds no hint. */
  readonly blockHint: number;
  /** miner_from_addr: the address the deposit must pay. */
  readonly recipient: string;
  /** user_from_addr: the address the deposit must come from. */
  readonly sender: string;
  /** from_amount, in the source asset's smallest unit: the deposit must be at least this. */
  readonly minAmount: bigint;
}

/** What was seen on the source chain; persisted with the verdict (decimal strings there). */
export interface DepositEvidence {
  readonly txHash: string;
  /** The block (slot, height) the deposit is in; null when it was not found. */
  readonly block: number | null;
  /** The amount credited to the recipient as seen; null when not found. */
  readonly amountSeen: bigint | null;
  /** The sender as proven from the chain; '' when it could not be proven. */
  readonly senderSeen: string;
  /** Confirmations counted as the chain's rule counts them (0 when not found). */
  readonly confirmations: number;
  /** Confirmations this chain requires (per-asset configuration). */
  readonly required: number;
}

export type DepositVerdict =
  | { readonly kind: 'verified'; readonly evidence: DepositEvidence }
  /** Not found, not yet confirmed, or the chain did not answer: ask again later. */
  | { readonly kind: 'pending'; readonly reason: string; readonly evidence: DepositEvidence }
  /** Found and wrong: recipient, amount, sender, a failed transaction, sender equal to recipient. */
  | { readonly kind: 'wrong'; readonly reason: string; readonly evidence: DepositEvidence };

/** One source chain's verifier. */
export interface SourceVerifier {
  /** The source chain ids this verifier answers for. */
  readonly chains: readonly string[];
  verify(claim: DepositClaim): Promise<DepositVerdict>;
}

/**
 * The funds gate's view of a destination wallet: its spendable balance in the destination
 * asset's smallest unit. Rejects when the balance cannot be read (the gate then waits).
 */
export interface DestinationBalance {
  balanceOf(chain: string, address: string): Promise<bigint>;
}
