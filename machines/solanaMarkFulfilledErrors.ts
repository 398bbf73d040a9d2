/**
 * How every failure of `mark_fulfilled` on the Solana swap manager is handled, code by code.
 *
 * Codes: the program's own `ErrorCode` (error.rs: 6000 + variant index, 72 variants at the
 * reference's commit; the committed IDL is stale above 6054 and is not used), Anchor's framework
 * codes (anchor-lang 1.0 lang/src/error.rs), and what the chain client reports itself. The
 * adapter names each failure by the names below; a custom code outside both tables is
 * `Custom(<code>)`, a runtime error the client does not map is `Runtime:<Name>`.
 *
 * Classes (the machine's, shared with the ink! table):
 * - refused: the program refused, and our own earlier mark can be why (after a crash mid-call,
 *   a retry meets InvalidStatus; after the swap closed, AccountNotInitialized). Read the swap
 *   back once; our mark found landed is Fulfilled, anything else is Recovery.
 * - terminal: the call can never succeed and our own mark cannot be the cause (the swap is
 *   another miner's, our instruction is malformed): Recovery at once, a person looks.
 * - transient: nothing was applied; retry with backoff.
 * - unknown: it may have landed; read the swap back before any retry.
 */
import type { MarkErrorClass } from './markFulfilledErrors.ts';

/** error.rs, index order: the code is 6000 + the index. */
export const SOLANA_PROGRAM_ERRORS = [
  'InvalidAmount',
  'ExceedsMaxCollateral',
  'InsufficientCollateral',
  'MinerActive',
  'MinerHasActiveSwap',
  'WithdrawCooldownActive',
  'Overflow',
  'NotValidator',
  'ValidatorExists',
  'ValidatorSetFull',
  'ValidatorNotFound',
  'InvalidThreshold',
  'AlreadyVoted',
  'VoteHashMismatch',
  'MinerAlreadyActive',
  'MinerNotActive',
  'NotMiner',
  'NoValidators',
  'SystemHalted',
  'AmountBelowMin',
  'AmountAboveMax',
  'InvalidBounds',
  'MinerReserved',
  'NoReservation',
  'StringTooLong',
  'SwapKeyMismatch',
  'DuplicateSourceTx',
  'UserMismatch',
  'InvalidStatus',
  'NotTimedOut',
  'ChainMismatch',
  'NotPending',
  'ClaimAlreadyExists',
  'ClaimNotExpired',
  'ExtensionNotLater',
  'ExtensionExceedsCeiling',
  'InsufficientTreasury',
  'SameChain',
  'EmptyField',
  'MinerBusyDifferentPair',
  'MinerBusy',
  'PoolClosed',
  'PoolNotClosed',
  'AlreadyRequested',
  'NoRequests',
  'SeedSlotNotYetProduced',
  'AlreadyFilled',
  'FinalizeWindowExpired',
  'NotReapable',
  'InvalidWeightsVector',
  'WeightsUpdateTooSoon',
  'HotkeyAlreadyBound',
  'TreasuryRecipientNotAdmin',
  'SelfSwapNotAllowed',
  'InvalidUser',
  'DestEqualsMinerAddr',
  'DuplicateSourceAddr',
  'SourceHashMismatch',
  'WeightsRoundKeyMismatch',
  'ChainNotLowercase',
  'BackingNotSupported',
  'BackingNotInLegs',
  'BackingSettlesLocally',
  'AttestationMissing',
  'BondNotLocked',
  'AttestationEpochStale',
  'AttestationStale',
  'MinerSettling',
  'InvalidAccountForMigration',
  'MigrationSwapNotDrained',
  'AttestationWouldStrandSwap',
  'HotkeyChangeForbidden',
] as const;
export type SolanaProgramError = (typeof SOLANA_PROGRAM_ERRORS)[number];
export const SOLANA_PROGRAM_ERROR_OFFSET = 6000;

/** Anchor's framework error codes (anchor-lang 1.0, `ErrorCode` in lang/src/error.rs). */
export const ANCHOR_ERRORS = {
  InstructionMissing: 100,
  InstructionFallbackNotFound: 101,
  InstructionDidNotDeserialize: 102,
  InstructionDidNotSerialize: 103,
  EventInstructionStub: 1500,
  ConstraintMut: 2000,
  ConstraintHasOne: 2001,
  ConstraintSigner: 2002,
  ConstraintRaw: 2003,
  ConstraintOwner: 2004,
  ConstraintRentExempt: 2005,
  ConstraintSeeds: 2006,
  ConstraintExecutable: 2007,
  ConstraintState: 2008,
  ConstraintAssociated: 2009,
  ConstraintAssociatedInit: 2010,
  ConstraintClose: 2011,
  ConstraintAddress: 2012,
  ConstraintZero: 2013,
  ConstraintTokenMint: 2014,
  ConstraintTokenOwner: 2015,
  ConstraintMintMintAuthority: 2016,
  ConstraintMintFreezeAuthority: 2017,
  ConstraintMintDecimals: 2018,
  ConstraintSpace: 2019,
  ConstraintAccountIsNone: 2020,
  ConstraintTokenTokenProgram: 2021,
  ConstraintMintTokenProgram: 2022,
  ConstraintAssociatedTokenTokenProgram: 2023,
  ConstraintMintGroupPointerExtension: 2024,
  ConstraintMintGroupPointerExtensionAuthority: 2025,
  ConstraintMintGroupPointerExtensionGroupAddress: 2026,
  ConstraintMintGroupMemberPointerExtension: 2027,
  ConstraintMintGroupMemberPointerExtensionAuthority: 2028,
  ConstraintMintGroupMemberPointerExtensionMemberAddress: 2029,
  ConstraintMintMetadataPointerExtension: 2030,
  ConstraintMintMetadataPointerExtensionAuthority: 2031,
  ConstraintMintMetadataPointerExtensionMetadataAddress: 2032,
  ConstraintMintCloseAuthorityExtension: 2033,
  ConstraintMintCloseAuthorityExtensionAuthority: 2034,
  ConstraintMintPermanentDelegateExtension: 2035,
  ConstraintMintPermanentDelegateExtensionDelegate: 2036,
  ConstraintMintTransferHookExtension: 2037,
  ConstraintMintTransferHookExtensionAuthority: 2038,
  ConstraintMintTransferHookExtensionProgramId: 2039,
  ConstraintDuplicateMutableAccount: 2040,
  AccountAlreadyMigrated: 2041,
  AccountNotMigrated: 2042,
  RequireViolated: 2500,
  RequireEqViolated: 2501,
  RequireKeysEqViolated: 2502,
  RequireNeqViolated: 2503,
  RequireKeysNeqViolated: 2504,
  RequireGtViolated: 2505,
  RequireGteViolated: 2506,
  AccountDiscriminatorAlreadySet: 3000,
  AccountDiscriminatorNotFound: 3001,
  AccountDiscriminatorMismatch: 3002,
  AccountDidNotDeserialize: 3003,
  AccountDidNotSerialize: 3004,
  AccountNotEnoughKeys: 3005,
  AccountNotMutable: 3006,
  AccountOwnedByWrongProgram: 3007,
  InvalidProgramId: 3008,
  InvalidProgramExecutable: 3009,
  AccountNotSigner: 3010,
  AccountNotSystemOwned: 3011,
  AccountNotInitialized: 3012,
  AccountNotProgramData: 3013,
  AccountNotAssociatedTokenAccount: 3014,
  AccountSysvarMismatch: 3015,
  AccountReallocExceedsLimit: 3016,
  AccountDuplicateReallocs: 3017,
  DeclaredProgramIdMismatch: 4100,
  TryingToInitPayerAsProgramAccount: 4101,
  InvalidNumericConversion: 4102,
  Deprecated: 5000,
} as const;
export type AnchorError = keyof typeof ANCHOR_ERRORS;

/** What the Solana client reports itself. */
export const SOLANA_CLIENT_ERRORS = [
  'RpcFailure', // the request never reached the cluster, or the preflight could not run
  'InsufficientBalance', // the miner's account cannot pay the fee: top up, then it is retried
  'BlockhashExpired', // its blockhash expired and the signature is unknown: it never landed
  'OutcomeUnknown', // sent, and whether it landed could not be learned
] as const;
export type SolanaClientError = (typeof SOLANA_CLIENT_ERRORS)[number];

type Known = SolanaProgramError | AnchorError | SolanaClientError;

const PROGRAM_CLASSES: Readonly<Partial<Record<SolanaProgramError, MarkErrorClass>>> = {
  // The handler's own checks, in its order.
  StringTooLong: 'terminal', // our to_tx_hash is over 128 bytes: resending it never passes
  InvalidStatus: 'refused', // already Fulfilled, maybe by our own mark whose answer was lost
  BackingNotSupported: 'terminal', // the grace needs a hub bit the swap's backing does not have
  // Not checked by mark_fulfilled today; a halt, if a release adds one, is lifted by the admin.
  SystemHalted: 'transient',
};

const ANCHOR_CLASSES: Readonly<Partial<Record<AnchorError, MarkErrorClass>>> = {
  // The swap account is gone (confirmed, timed out, cancelled), possibly after our mark landed.
  AccountNotInitialized: 'refused',
};

const CLIENT_CLASSES: Readonly<Record<SolanaClientError, MarkErrorClass>> = {
  RpcFailure: 'transient',
  InsufficientBalance: 'transient',
  BlockhashExpired: 'transient',
  OutcomeUnknown: 'unknown',
};

/**
 * Every name, classified. Program errors mark_fulfilled cannot return are `refused` (read back
 * once: the program changed under us, and a person must look before funds sent are written
 * off); framework errors not listed above mean our instruction or accounts are malformed
 * (wrong PDA, missing signature, a layout the program no longer has): `terminal`.
 */
export const SOLANA_MARK_ERROR_CLASSES: Readonly<Record<Known, MarkErrorClass>> = {
  ...Object.fromEntries(SOLANA_PROGRAM_ERRORS.map((name) => [name, PROGRAM_CLASSES[name] ?? 'refused'])),
  ...Object.fromEntries(
    Object.keys(ANCHOR_ERRORS).map((name) => [name, ANCHOR_CLASSES[name as AnchorError] ?? 'terminal']),
  ),
  ...CLIENT_CLASSES,
} as Record<Known, MarkErrorClass>;

const ANCHOR_BY_CODE = new Map<number, string>(Object.entries(ANCHOR_ERRORS).map(([name, code]) => [code, name]));

/** The name of a custom program error code as RPCs report it (`custom program error: 0x…`). */
export function solanaErrorName(code: number): string {
  const program = SOLANA_PROGRAM_ERRORS[code - SOLANA_PROGRAM_ERROR_OFFSET];
  if (program !== undefined) return program;
  return ANCHOR_BY_CODE.get(code) ?? `Custom(${code})`;
}

/** Anything not in the table (an unknown code, a runtime error) is read back once, then Recovery. */
export function classifySolanaMarkError(error: string): MarkErrorClass {
  return Object.hasOwn(SOLANA_MARK_ERROR_CLASSES, error) ? SOLANA_MARK_ERROR_CLASSES[error as Known] : 'refused';
}
