/**
 * How every failure of `mark_fulfilled` on the ink! contract is handled (the Solana program's
 * table is solanaMarkFulfilledErrors.ts). The contract's own error enum (allways_swap_manager,
 * 28 variants in index order) is listed in full so that a variant added or renamed upstream
 * fails the table test instead of slipping through unclassified.
 *
 * - refused: retrying cannot succeed; the swap is read back once (a crash mid-call makes our
 *   own landed mark look like InvalidStatus), then the machine stops and records (Recovery).
 * - terminal: retrying cannot succeed and our own mark cannot be the cause: Recovery at once
 *   (no ink! error is classified so; the Solana table has some).
 * - transient: nothing was applied; retry with backoff.
 * - unknown: the call may or may not have landed; read the swap before any retry.
 */
export type MarkErrorClass = 'refused' | 'terminal' | 'transient' | 'unknown';

/** The contract's `Error` enum, index order, from allways_swap_manager.metadata.json. */
export const CONTRACT_ERRORS = [
  'NotOwner',
  'InsufficientCollateral',
  'SwapNotFound',
  'AlreadyVoted',
  'InvalidStatus',
  'ZeroAmount',
  'MinerNotActive',
  'MinerStillActive',
  'TransferFailed',
  'NotTimedOut',
  'NotAssignedMiner',
  'NotValidator',
  'DuplicateSourceTx',
  'InvalidAmount',
  'NoPendingSlash',
  'InputEmpty',
  'InputTooLong',
  'MinerHasActiveSwap',
  'WithdrawalCooldown',
  'AmountBelowMinimum',
  'AmountAboveMaximum',
  'MinerReserved',
  'NoReservation',
  'ExceedsMaxCollateral',
  'HashMismatch',
  'PendingConflict',
  'SameChain',
  'SystemHalted',
] as const;
export type ContractError = (typeof CONTRACT_ERRORS)[number];

/** Failures the chain client reports itself, before or around the contract call. */
export const CLIENT_ERRORS = [
  'RpcFailure', // the submission never reached the chain
  'InsufficientBalance', // free balance below the fee floor: top up and retry
  'Timeout', // the node did not answer before the deadline, nothing was submitted
  'CallFailed', // the extrinsic was included and failed: nothing applied
  'OutcomeUnknown', // submitted, then the answer was lost
] as const;
export type ClientError = (typeof CLIENT_ERRORS)[number];

export const MARK_ERROR_CLASSES: Readonly<Record<ContractError | ClientError, MarkErrorClass>> = {
  // mark_fulfilled checks these, in this order: each means "this miner cannot mark this swap".
  SwapNotFound: 'refused',
  NotAssignedMiner: 'refused',
  InvalidStatus: 'refused',
  InvalidAmount: 'refused',
  // Never returned by mark_fulfilled today; if a release starts to, it is a refusal.
  MinerNotActive: 'refused',
  ZeroAmount: 'refused',
  InputEmpty: 'refused',
  InputTooLong: 'refused',
  HashMismatch: 'refused',
  DuplicateSourceTx: 'refused',
  // Not reachable from mark_fulfilled; seeing one means the contract changed under us, and a
  // person must look before funds already sent are written off or retried forever.
  NotOwner: 'refused',
  InsufficientCollateral: 'refused',
  AlreadyVoted: 'refused',
  MinerStillActive: 'refused',
  TransferFailed: 'refused',
  NotTimedOut: 'refused',
  NotValidator: 'refused',
  NoPendingSlash: 'refused',
  MinerHasActiveSwap: 'refused',
  WithdrawalCooldown: 'refused',
  AmountBelowMinimum: 'refused',
  AmountAboveMaximum: 'refused',
  MinerReserved: 'refused',
  NoReservation: 'refused',
  ExceedsMaxCollateral: 'refused',
  PendingConflict: 'refused',
  SameChain: 'refused',
  // A halt is lifted by the owner; the swap stays markable until validators time it out.
  SystemHalted: 'transient',
  RpcFailure: 'transient',
  InsufficientBalance: 'transient',
  Timeout: 'transient',
  CallFailed: 'transient',
  OutcomeUnknown: 'unknown',
};

/** Anything not in the table is a refusal nobody planned for: read back once, then a person looks. */
export function classifyMarkError(error: string): MarkErrorClass {
  return Object.hasOwn(MARK_ERROR_CLASSES, error)
    ? MARK_ERROR_CLASSES[error as ContractError | ClientError]
    : 'refused';
}
