/**
 * A persisted Solana transfer read back from its bytes: the base64 wire transaction the host
 * stored before any broadcast. Its signature (base58) is the hash the swap is marked with; its
 * fee payer is the paying key (validators take account key 0 as the sender); its lifetime is
 * a durable nonce: the first instruction advances `nonceAccount`, and the message's
 * "recent blockhash" is the nonce value it was signed against.
 *
 * Pure decoding: no chain access, nothing written.
 */
import {
  getBase58Decoder,
  getBase64EncodedWireTransaction,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
  type Transaction,
} from '@solana/kit';
import { SYSTEM_PROGRAM_ADDRESS } from '@solana-program/system';

/** The persisted bytes are not a transfer this sender signed. */
export class NotOurTransfer extends Error {
  override readonly name = 'NotOurTransfer';
}

export interface DecodedTransfer {
  readonly signature: string;
  readonly feePayer: Address;
  /** Null when the transaction has a recent-blockhash lifetime (this sender never signs one). */
  readonly nonceAccount: Address | null;
  /** The nonce value, or the recent blockhash. */
  readonly lifetime: string;
}

/** AdvanceNonceAccount's index in the System program's instruction enum. */
const ADVANCE_NONCE_INDEX = 4;

export function decodeSignedTransfer(raw: string, chain: string): DecodedTransfer {
  let tx: Transaction;
  let message: ReturnType<ReturnType<typeof getCompiledTransactionMessageDecoder>['decode']>;
  try {
    tx = getTransactionDecoder().decode(Buffer.from(raw, 'base64')) as Transaction;
    message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  } catch {
    throw new NotOurTransfer(`not a signed Solana transaction for chain '${chain}'`);
  }
  const feePayer = message.staticAccounts[0];
  const signatureBytes = feePayer === undefined ? null : tx.signatures[feePayer];
  if (feePayer === undefined || signatureBytes === null || signatureBytes === undefined) {
    throw new NotOurTransfer(`Solana transaction for chain '${chain}' carries no fee payer signature`);
  }
  return {
    signature: getBase58Decoder().decode(signatureBytes),
    feePayer,
    nonceAccount: nonceAccountOf(message),
    lifetime: message.lifetimeToken,
  };
}

function nonceAccountOf(
  message: ReturnType<ReturnType<typeof getCompiledTransactionMessageDecoder>['decode']>,
): Address | null {
  if (message.version === 1) return null;
  const first = message.instructions[0];
  if (first === undefined || message.staticAccounts[first.programAddressIndex] !== SYSTEM_PROGRAM_ADDRESS) return null;
  const data = first.data;
  if (
    data === undefined ||
    data.length !== 4 ||
    data[0] !== ADVANCE_NONCE_INDEX ||
    data[1] !== 0 ||
    data[2] !== 0 ||
    data[3] !== 0
  )
    return null;
  const index = first.accountIndices?.[0];
  return index === undefined ? null : (message.staticAccounts[index] ?? null);
}

/** The bytes the host persists for a signed transaction. */
export function wireOf(tx: Transaction): string {
  return getBase64EncodedWireTransaction(tx);
}
