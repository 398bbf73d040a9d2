/**
 * What a failed `mark_fulfilled` transaction says, as the names the machine's Solana table
 * classifies (machines/solanaMarkFulfilledErrors.ts). The same failure reaches us two ways: a
 * preflight refusal from sendTransaction (nothing sent, no fee) and the `err` of a landed
 * transaction's status (fee paid, nothing applied); both are read through @solana/kit's own
 * mapping of the runtime's error enums, so a custom code is read as the number it is.
 */
import {
  getSolanaErrorFromTransactionError,
  isSolanaError,
  SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__TRANSACTION_ERROR__ACCOUNT_NOT_FOUND,
  SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_FEE,
  type SolanaError,
} from '@solana/kit';
import { solanaErrorName } from '../../../../machines/solanaMarkFulfilledErrors.ts';

/** The machine's name for one transaction error (kit's SolanaError form). */
function nameOf(error: SolanaError): string {
  if (isSolanaError(error, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)) return solanaErrorName(Number(error.context.code));
  // Never processed: the cluster did not know the blockhash, so it can never land.
  if (isSolanaError(error, SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)) return 'BlockhashExpired';
  // The fee payer (the miner) has no account or too few lamports for the fee.
  if (isSolanaError(error, SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_FEE)) return 'InsufficientBalance';
  if (isSolanaError(error, SOLANA_ERROR__TRANSACTION_ERROR__ACCOUNT_NOT_FOUND)) return 'InsufficientBalance';
  // This very transaction was processed before: its outcome is what the swap account says.
  if (isSolanaError(error, SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED)) return 'OutcomeUnknown';
  return `Runtime:${error.message}`;
}

/** The `err` of a signature status or of getTransaction's meta (the runtime's JSON form). */
export function nameOfTransactionError(raw: unknown): string {
  // Kit reads u64 numbers as bigint; its mapping expects the enum's JSON shape, which it keeps.
  return nameOf(getSolanaErrorFromTransactionError(raw as Parameters<typeof getSolanaErrorFromTransactionError>[0]));
}

/**
 * A sendTransaction that threw: the refusal's name when the preflight refused it (nothing was
 * sent), or null when the request may have reached the cluster (the caller then follows the
 * signature to learn what happened).
 */
export function preflightRefusal(error: unknown): string | null {
  if (!isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)) return null;
  const cause = (error as Error).cause;
  if (isSolanaError(cause)) return nameOf(cause);
  return 'RpcFailure'; // the simulation did not run: nothing was sent
}
