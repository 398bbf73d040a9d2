/**
 * The swap machine's data: the swap as read from its contract, the machine's context and its
 * events. Amounts are integer decimal strings (every snapshot survives a JSON round trip);
 * times are in the contract's unit (swapRules.ts TIME_UNIT): Subtensor blocks for ink!, unix
 * seconds of the cluster's clock for Solana.
 */
import type { SwapContractKind } from './swapRules.ts';

/** The swap as read from the contract. */
export interface SwapTerms {
  readonly contract: SwapContractKind;
  /** ink!: the swap id (u64, decimal); Solana: the swap key, keccak256(from_tx_hash), 64 hex digits. */
  readonly swapId: string;
  readonly miner: string;
  readonly sourceChain: string;
  readonly destChain: string;
  readonly sourceAmount: string;
  /** ink!: dest_amount (paid as is); Solana: to_amount (pinned; 99% of it is paid). */
  readonly destAmount: string;
  /** ink!: tao_amount; Solana: collateral_amount, in the hub's smallest unit. */
  readonly collateralAmount: string;
  /** The backing chain the swap is collateralised on: 'sol' or 'tao' (ink!: always 'tao'). */
  readonly hub: string;
  readonly userDestAddress: string;
  /** The address the payout must come from (Solana: miner_to_addr); '' for no constraint (ink!). */
  readonly senderPin: string;
  readonly sourceTxHash: string;
  /** user_source_address / user_from_addr: the address the user's deposit must come from. */
  readonly userSourceAddress: string;
  /** miner_source_address / miner_from_addr: the address the user's deposit must pay. */
  readonly minerSourceAddress: string;
  /** source_tx_block / from_tx_block: where the deposit is said to be; 0 when unknown. */
  readonly sourceTxBlock: number;
  readonly initiatedAt: number;
  /** The deadline when the swap was first read (the context's `deadline` follows later moves). */
  readonly timeoutAt: number;
  /** Solana: the frozen ceiling no extension passes; null for ink!. */
  readonly maxExtendAt: number | null;
}

/** A destination transfer, signed once; its raw bytes are persisted before any broadcast. */
export interface SignedTransfer {
  readonly raw: string;
  readonly hash: string;
  /** The contract clock when the machine decided to send (checked against the cushion). */
  readonly decidedAt: number;
  /**
   * For senders that search blocks (TAO): the destination chain's block before which this
   * transfer cannot be included, as the sender reported it when signing; null when not needed.
   */
  readonly anchorBlock: number | null;
}

/**
 * The source-funds check as the machine records it, before anything is signed: the verdict on
 * the user's deposit and what was seen (amounts as decimal strings). `unchecked`: the operator
 * opted this source chain out of verification (logged at every start).
 */
export interface DepositRecord {
  readonly verdict: 'verified' | 'wrong' | 'unchecked';
  /** What was wrong, or why the deposit was not checked; null when verified. */
  readonly reason: string | null;
  readonly txHash: string;
  readonly block: number | null;
  readonly amountSeen: string | null;
  readonly senderSeen: string;
  readonly confirmations: number;
  readonly required: number;
}

export type SwapStatusOnChain = 'Active' | 'Fulfilled' | 'PendingAttestation' | 'Completed' | 'TimedOut' | 'Cancelled';

/** What the contract says about a swap: read from it, or, once closed, from its events. */
export interface SwapView {
  readonly status: SwapStatusOnChain;
  readonly miner: string;
  readonly destTxHash: string;
  /** The current deadline, when the contract still holds the swap. */
  readonly deadline: number | null;
}

export interface SwapContext {
  readonly terms: SwapTerms;
  /** No first send when fewer than this remain before the deadline (contract's unit). */
  readonly cushion: number;
  /** The contract clock at the last change of state. */
  readonly now: number;
  /** The swap's current deadline: moves when the contract says it moved. */
  readonly deadline: number;
  /** The verdict on the user's deposit; null until the source-funds check has answered. */
  readonly deposit: DepositRecord | null;
  readonly transfer: SignedTransfer | null;
  /** The block passed to mark_fulfilled (0 for chains marked at broadcast); null before. */
  readonly transferBlock: number | null;
  /** The transfer is included with the confirmations its sender requires. */
  readonly transferIncluded: boolean;
  readonly markAttempts: number;
  readonly nextMarkAt: number;
  /**
   * The refusal that sent the machine to read the swap back, if any. A refusal is never taken
   * at its word: after a crash mid-call, our own earlier mark makes a retry fail InvalidStatus.
   */
  readonly refusedWith: string | null;
  readonly lastError: string | null;
  /** Why the machine ended where it did; shown in logs and the recovery log. */
  readonly reason: string | null;
}

export interface SwapInput {
  readonly terms: SwapTerms;
  /** The contract clock when the swap was found. */
  readonly now: number;
  /** Default: DEFAULT_CUSHION of the contract. */
  readonly cushion?: number;
}

export type SwapEvent =
  /** The contract's clock: a Subtensor block height, or the cluster's unix time. */
  | { type: 'CLOCK'; now: number }
  /** The contract moved the swap's deadline (a grace after our mark, a validator's extension). */
  | { type: 'DEADLINE'; at: number }
  | { type: 'REJECT'; reason: string }
  /** The source-funds check: the deposit is there, confirmed and right (or deliberately unchecked). */
  | { type: 'DEPOSIT_VERIFIED'; deposit: DepositRecord }
  /** Found and wrong (recipient, amount, sender, failed, self-transfer): never paid. */
  | { type: 'DEPOSIT_WRONG'; deposit: DepositRecord }
  | { type: 'SWAP_GONE' }
  | { type: 'TRANSFER_SIGNED'; raw: string; hash: string; anchorBlock?: number }
  /** The network accepted the signed bytes (not yet in a block). */
  | { type: 'TRANSFER_BROADCAST' }
  /** In a block at the chain's first commitment (Solana confirmed, Subtensor inclusion). */
  | { type: 'TRANSFER_LANDED'; block: number }
  /** In a block with the confirmations the sender requires. */
  | { type: 'TRANSFER_INCLUDED'; block: number }
  | { type: 'TRANSFER_INVALID'; reason: string }
  | { type: 'MARK_OK' }
  | { type: 'MARK_FAILED'; error: string; now: number }
  | { type: 'SWAP_READ'; view: SwapView | null }
  | { type: 'READ_FAILED'; error: string };
