/**
 * LiteSVM's transaction errors in the shape a Solana RPC node answers them
 * (`"BlockhashNotFound"`, `{ "InstructionError": [1, { "Custom": 1 }] }`...), which is what
 * @solana/kit decodes into its SolanaError codes.
 *
 * LiteSVM ships its error enums as TypeScript `const enum`s: numbers at run time, names only in
 * its declaration file. The names are read from that file of the installed version, so they
 * cannot drift from the numbers LiteSVM returns.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  InstructionErrorBorshIo,
  InstructionErrorCustom,
  TransactionErrorDuplicateInstruction,
  TransactionErrorInstructionError,
  TransactionErrorInsufficientFundsForRent,
  TransactionErrorProgramExecutionTemporarilyRestricted,
} from 'litesvm/dist/internal.js';
import type { FailedTransactionMetadata } from 'litesvm';

/** A transaction error as JSON-RPC carries it: a name, or { Variant: payload }. */
export type RpcTransactionError = string | Readonly<Record<string, unknown>>;

const declarations = readFileSync(
  join(dirname(createRequire(import.meta.url).resolve('litesvm')), 'internal.d.ts'),
  'utf8',
);

function enumNames(name: string): ReadonlyMap<number, string> {
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(declarations)?.[1];
  if (body === undefined) throw new Error(`litesvm's declarations have no enum ${name}: another LiteSVM version?`);
  const names = new Map<number, string>();
  for (const match of body.matchAll(/(\w+)\s*=\s*(\d+)/g)) names.set(Number(match[2]), match[1]!);
  return names;
}

const TRANSACTION_ERRORS = enumNames('TransactionErrorFieldless');
const INSTRUCTION_ERRORS = enumNames('InstructionErrorFieldless');

type LitesvmTransactionError = ReturnType<FailedTransactionMetadata['err']>;

export function rpcTransactionError(error: LitesvmTransactionError): RpcTransactionError {
  if (typeof error === 'number') return named(TRANSACTION_ERRORS, error, 'transaction');
  if (error instanceof TransactionErrorInstructionError)
    return { InstructionError: [error.index, rpcInstructionError(error.err())] };
  if (error instanceof TransactionErrorInsufficientFundsForRent)
    return { InsufficientFundsForRent: { account_index: error.accountIndex } };
  if (error instanceof TransactionErrorDuplicateInstruction) return { DuplicateInstruction: error.index };
  if (error instanceof TransactionErrorProgramExecutionTemporarilyRestricted)
    return { ProgramExecutionTemporarilyRestricted: { account_index: error.accountIndex } };
  throw new Error(`unknown LiteSVM transaction error: ${String(error)}`);
}

function rpcInstructionError(error: ReturnType<TransactionErrorInstructionError['err']>): unknown {
  if (typeof error === 'number') return named(INSTRUCTION_ERRORS, error, 'instruction');
  if (error instanceof InstructionErrorCustom) return { Custom: error.code };
  if (error instanceof InstructionErrorBorshIo) return { BorshIoError: error.msg };
  throw new Error(`unknown LiteSVM instruction error: ${String(error)}`);
}

function named(names: ReadonlyMap<number, string>, value: number, kind: string): string {
  const name = names.get(value);
  if (name === undefined) throw new Error(`LiteSVM ${kind} error ${value} has no name in its declarations`);
  return name;
}

/** A one-line account of an error for an RPC message ("Error processing Instruction 1: custom program error: 0x1"). */
export function describeRpcError(error: RpcTransactionError): string {
  if (typeof error === 'string') return error;
  const instruction = (error as { InstructionError?: [number, unknown] }).InstructionError;
  if (instruction !== undefined) {
    const [index, inner] = instruction;
    const custom = (inner as { Custom?: number }).Custom;
    return `Error processing Instruction ${index}: ${custom !== undefined ? `custom program error: 0x${custom.toString(16)}` : JSON.stringify(inner)}`;
  }
  return JSON.stringify(error);
}
