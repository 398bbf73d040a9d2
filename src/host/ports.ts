/**
 * The ports: everything the host needs from the outside world, and nothing more. Chain
 * adapters (src/chains/) and the simulator (sim/) implement them; the host and the machines
 * never see ethers, @polkadot/api or a file of the simulator.
 *
 * Money crosses these ports as bigint only.
 */
import type { JobTerms, SignedTransfer, SwapContractKind, SwapTerms, SwapView } from '../../machines/index.ts';

/**
 * The allways swap contract, seen by one miner: the ink! contract on Subtensor or the swap
 * manager on Solana. Its kind names the rules its swaps follow (machines/swapRules.ts).
 */
export interface SwapContract {
  readonly kind: SwapContractKind;
  /** The miner this contract client acts for (its hotkey, or its Solana public key). */
  readonly miner: string;
  /** The contract's clock: the Subtensor best block, or the cluster's unix time (Clock sysvar). */
  now(): Promise<number>;
  /** Swaps currently held by the contract that are assigned to this miner (Active or Fulfilled). */
  listAssigned(): Promise<AssignedSwap[]>;
  /**
   * Calls mark_fulfilled. Resolves with the contract's error name, or a client error (see the
   * contract's table in machines/). A rejection is treated as OutcomeUnknown: it may have landed.
   */
  markFulfilled(request: MarkRequest): Promise<{ ok: true } | { ok: false; error: string }>;
  /** The swap as the contract holds it; once removed, what its events say, or null when unknown. */
  getSwap(swapId: string): Promise<SwapView | null>;
}

export interface AssignedSwap {
  /** As read now: `timeoutAt` is the swap's current deadline. */
  readonly terms: SwapTerms;
  readonly status: 'Active' | 'Fulfilled';
  /** Why this swap must never be paid although it was read (bad chain data the adapter saw). */
  readonly problem?: string | null;
}

export interface MarkRequest {
  readonly swapId: string;
  readonly destTxHash: string;
  readonly destTxBlock: number;
  /** The ink! contract takes the amount; the Solana program pins it and takes none. */
  readonly destAmount: bigint;
}

export interface TransferRequest {
  readonly swapId: string;
  readonly chain: string;
  readonly to: string;
  readonly amount: bigint;
  /**
   * The address the funds must come from (the swap's pin); absent or null for the sender's own
   * account. A sender that does not control it refuses to sign.
   */
  readonly from?: string | null;
}

export interface SignedBytes {
  readonly raw: string;
  readonly hash: string;
  /** Senders that search blocks: the chain's block before which these bytes cannot be included. */
  readonly anchorBlock?: number;
}

export type TransferStatus =
  | { readonly kind: 'included'; readonly block: number }
  /** In a block at the chain's first commitment, not yet with the confirmations required. */
  | { readonly kind: 'landed'; readonly block: number }
  | { readonly kind: 'pending' }
  | { readonly kind: 'unknown' }
  /** Included, yet it moved no funds (reverted, or the extrinsic failed): it never will. */
  | { readonly kind: 'failed'; readonly reason: string };

/** Sends destination funds on one chain. */
export interface TransferSender {
  readonly chain: string;
  /** Why an address cannot receive on this chain, or null when it can. */
  addressProblem(address: string): string | null;
  /** Whether this sender signs for `address` (a swap's pinned sender), in the chain's own form. */
  controls(address: string): boolean;
  /**
   * Told of a transfer signed by an earlier life of the process (on restore), before anything
   * new is signed: its nonce must not be handed to another transfer, even if its broadcast
   * keeps failing.
   */
  adopt?(transfer: SignedTransfer): void;
  /**
   * Signs without broadcasting. Must not touch the chain's state. Throws TransferRefused, before
   * signing anything, when the destination chain refuses this transfer for a reason that is not
   * the miner's (a paused token, a blacklisted or frozen destination, a transfer fee): the swap
   * is then Rejected and nothing is sent. Any other error is retried on the next tick.
   */
  sign(request: TransferRequest): Promise<SignedBytes>;
  /**
   * Broadcasts signed bytes; re-broadcasting the same bytes is harmless. Throws NeverLands when
   * these bytes can no longer be included: their nonce is used, by another transaction or by
   * this very one (the caller then looks it up before concluding anything).
   */
  broadcast(raw: string): Promise<void>;
  /**
   * Included (with the confirmations this sender requires), pending, unknown to the chain, or
   * included without effect. Given the whole signed transfer: chains without a lookup by hash
   * (Substrate) search blocks from the one at which the machine decided to send.
   */
  lookup(transfer: SignedTransfer): Promise<TransferStatus>;
  /**
   * The witness (src/witness/): what the chain shows the paying account has done, so that a
   * store behind the chain (restored from a backup, copied to a second host) stops signing.
   * Optional so that a sender written before it still runs; without it a restored store is
   * recognised only through the witness journal (README, "restoring a backup"). A sender
   * that implements `witness` implements `identify` and `activity` too.
   */
  witness?(): Promise<WitnessReport>;
  /** Which account signed these bytes, its nonce (null on chains without one), and the id the chain knows them by. */
  identify?(raw: string): SignedIdentity;
  /**
   * The paying account's transactions as the chain shows them, for `settle reconcile`: those
   * with the nonces asked for (account-nonce chains), or with the ids asked for. Reads at most
   * `maxBlocks` blocks back from the head; what it does not find is left out.
   */
  activity?(query: ActivityQuery): Promise<ChainActivity[]>;
}

/**
 * What a chain shows of one paying account. `nonce`: the next nonce the chain would accept,
 * its pool included (EVM: eth_getTransactionCount 'pending'; Substrate:
 * system_accountNextIndex). `ids`: for chains without account nonces, the ids of the account's
 * most recent transactions, newest first (Solana: getSignaturesForAddress; Bitcoin: the txids
 * spending the pinned address's outputs), at most as many as the sender's limit.
 */
export type WitnessReport =
  | { readonly kind: 'nonce'; readonly account: string; readonly next: number }
  | { readonly kind: 'ids'; readonly account: string; readonly ids: readonly string[] };

export interface SignedIdentity {
  readonly account: string;
  readonly nonce: number | null;
  /** The transaction hash, signature or txid the chain knows these bytes by. */
  readonly id: string;
}

export interface ActivityQuery {
  /** Nonces from `from` (inclusive) to `to` (exclusive). */
  readonly nonces?: { readonly from: number; readonly to: number };
  readonly ids?: readonly string[];
  readonly maxBlocks: number;
}

/** One transaction of a paying account, as the chain shows it. */
export interface ChainActivity {
  readonly id: string;
  readonly nonce: number | null;
  /** The recipient and amount of a plain transfer of the sender's asset; null for anything else. */
  readonly to: string | null;
  readonly amount: bigint | null;
  /** The including block, null while pending. */
  readonly block: number | null;
  /** The signed bytes, when the chain gives them back (an adopted swap broadcasts them again). */
  readonly raw: string | null;
  /** What else the chain says it is, for the operator ("a call to 0x… (escrow)", "pending"). */
  readonly note: string;
}

/**
 * Thrown by `sign`, before anything is signed, when the destination refuses the transfer for a
 * reason the validators accept as the user's or the issuer's (allways' no-fault cancel: a
 * paused token, a blacklisted or frozen destination, a transfer fee, a reserved account).
 */
export class TransferRefused extends Error {
  override readonly name = 'TransferRefused';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * An effect that cannot run yet for a reason already reported where it was found (the witness
 * holding an account's signatures): the host tries again at its next tick without logging it
 * again at every tick.
 */
export class EffectWaits extends Error {
  override readonly name: string = 'EffectWaits';
}

/** Thrown by `broadcast` when the signed transfer can never be included (its nonce was used). */
export class NeverLands extends Error {
  override readonly name = 'NeverLands';
}

export type Settlement =
  | { readonly kind: 'locked'; readonly amount: bigint; readonly expiry: number }
  /** amount: the Claimed event's, gross; fee: the OPC fee taken from it (null: not read). */
  | { readonly kind: 'claimed'; readonly txHash: string; readonly amount: bigint; readonly fee: bigint | null }
  | { readonly kind: 'canceled'; readonly txHash: string | null }
  | { readonly kind: 'absent' };

/**
 * What a claim says about its job, for the proof bytes: the escrow's adapter encodes it (an
 * auditor reading the Claimed event sees what was charged for what). Unknown fields are null.
 */
export interface SettlementRecord {
  /** The job's id in the engine that ran it (ocean-node's jobId), or the escrow's. */
  readonly sourceJobId: string;
  /** What the job cost, before the cap at the lock. */
  readonly cost: bigint;
  readonly durationSecs: number | null;
  readonly resultHash: string | null;
}

/** One job's claim in a `claimLocks` batch. */
export interface ClaimEntry {
  readonly terms: JobTerms;
  /** Gross: what leaves the lock (the escrow takes its fee out of it). */
  readonly amount: bigint;
  /** Null: empty proof bytes. */
  readonly record?: SettlementRecord | null;
}

/** A Claimed or Canceled event of a mined escrow transaction. */
export interface EscrowEvent {
  readonly kind: 'Claimed' | 'Canceled';
  /** As in JobTerms: 0x-prefixed, 64 hex digits. */
  readonly jobId: string;
  /** Claimed: gross (what left the lock); Canceled: what went back to the payer. */
  readonly amount: bigint;
  /** Claimed: the OPC fee the escrow took from `amount` (0 when none); null: not read. */
  readonly fee?: bigint | null;
  /** Lower case, when the adapter reads them: locks are per payee, payer, token and job id. */
  readonly payer?: string;
  readonly token?: string;
}

export interface EscrowReceipt {
  readonly txHash: string;
  readonly events: readonly EscrowEvent[];
  /**
   * What the escrow paid out to the payee's wallet in this transaction, by token (the withdraw
   * variants pay the payee's whole available balance, earlier claims' included): empty when
   * the claims stayed in the escrow.
   */
  readonly withdrawn?: ReadonlyArray<{ readonly token: string; readonly amount: bigint }>;
}

/** The chain refused a batch as a whole (one bad entry reverts them all). */
export class BatchReverted extends Error {
  override readonly name = 'BatchReverted';
  constructor(readonly reason: string) {
    super(`batch reverted: ${reason}`);
  }
}

/** An Ocean-style Escrow contract on one chain, seen by one payee. */
export interface Escrow {
  readonly chain: string;
  /**
   * What the chain says about each job's lock, in the order given: still locked, claimed,
   * cancelled, or gone. One call for a whole batch, so the adapter can share its reads.
   */
  readSettlements(jobs: readonly JobTerms[]): Promise<Settlement[]>;
  /** A dry run of the claim batch: the revert reason it would meet now, or null if it would pass. */
  checkClaims(entries: readonly ClaimEntry[]): Promise<string | null>;
  /**
   * The claim batch (claimLocks, or claimLocksAndWithdraw as the adapter is configured), one
   * transaction for every entry. Throws BatchReverted if the chain refuses it.
   */
  claimLocks(entries: readonly ClaimEntry[]): Promise<EscrowReceipt>;
  /** cancelExpiredLocks, one transaction; locks not expired when it is mined stay. */
  cancelExpiredLocks(jobs: readonly JobTerms[]): Promise<EscrowReceipt>;
}

/** Unix seconds, as the escrow chains see them. */
export interface Clock {
  now(): Promise<number>;
}

/** What the compute engine reports about one job. */
export interface JobObservation {
  readonly terms: JobTerms;
  readonly phase: 'running' | 'ended' | 'published';
  /** The job's cost as a decimal integer string, once it has ended. */
  readonly cost: string | null;
  /** Seconds billed, when the engine says (for the claim's proof bytes). */
  readonly durationSecs?: number | null;
  /** A hash of the results, when the engine has one (for the claim's proof bytes). */
  readonly resultHash?: string | null;
}

export interface JobSource {
  poll(): Promise<JobObservation[]>;
}

/** The subset of pino the host writes to. */
export interface Logger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}
