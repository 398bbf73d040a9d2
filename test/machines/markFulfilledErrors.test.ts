import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERRORS, CONTRACT_ERRORS, MARK_ERROR_CLASSES, classifyMarkError } from '../../machines/index.ts';

interface Metadata {
  types: Array<{
    id: number;
    type: { path?: string[]; def: { variant?: { variants: Array<{ index: number; name: string }> } } };
  }>;
}

const vendored = fileURLToPath(
  new URL('../../src/chains/substrate/allways_swap_manager.metadata.json', import.meta.url),
);
/**
 * The sha256 of the metadata as published with allways_swap_manager 1.0.0 (source hash
 * 0xa02fffcf...3734, rustc 1.91.1), when it was vendored: an edit to the copy fails here.
 */
const PUBLISHED_SHA256 = '760aea472708ede6cc69f29f418f7afb19b4166b086a09b86006fea1b8556237';

function errorVariants(path: string): string[] {
  const metadata = JSON.parse(readFileSync(path, 'utf8')) as Metadata;
  const errorType = metadata.types.find((t) => t.type.path?.join('::') === 'allways_swap_manager::errors::Error');
  if (errorType?.type.def.variant === undefined) throw new Error(`${path}: no Error enum`);
  return [...errorType.type.def.variant.variants].sort((a, b) => a.index - b.index).map((v) => v.name);
}

describe('mark_fulfilled error classification', () => {
  it('lists the contract error enum exactly, in index order, as the metadata declares it', () => {
    expect(CONTRACT_ERRORS).toEqual(errorVariants(vendored));
  });

  it('the vendored metadata is, byte for byte, the one published with the contract', () => {
    expect(createHash('sha256').update(readFileSync(vendored)).digest('hex')).toBe(PUBLISHED_SHA256);
  });

  it('classifies every contract variant and every client error, and nothing else', () => {
    expect(Object.keys(MARK_ERROR_CLASSES).sort()).toEqual([...CONTRACT_ERRORS, ...CLIENT_ERRORS].sort());
  });

  // The table, entry by entry: the reason for each lives beside it in markFulfilledErrors.ts.
  const expected: Record<string, 'refused' | 'transient' | 'unknown'> = {
    NotOwner: 'refused',
    InsufficientCollateral: 'refused',
    SwapNotFound: 'refused',
    AlreadyVoted: 'refused',
    InvalidStatus: 'refused',
    ZeroAmount: 'refused',
    MinerNotActive: 'refused',
    MinerStillActive: 'refused',
    TransferFailed: 'refused',
    NotTimedOut: 'refused',
    NotAssignedMiner: 'refused',
    NotValidator: 'refused',
    DuplicateSourceTx: 'refused',
    InvalidAmount: 'refused',
    NoPendingSlash: 'refused',
    InputEmpty: 'refused',
    InputTooLong: 'refused',
    MinerHasActiveSwap: 'refused',
    WithdrawalCooldown: 'refused',
    AmountBelowMinimum: 'refused',
    AmountAboveMaximum: 'refused',
    MinerReserved: 'refused',
    NoReservation: 'refused',
    ExceedsMaxCollateral: 'refused',
    HashMismatch: 'refused',
    PendingConflict: 'refused',
    SameChain: 'refused',
    SystemHalted: 'transient',
    RpcFailure: 'transient',
    InsufficientBalance: 'transient',
    Timeout: 'transient',
    CallFailed: 'transient',
    OutcomeUnknown: 'unknown',
  };
  it.each(Object.entries(expected))('%s is %s', (error, cls) => {
    expect(classifyMarkError(error)).toBe(cls);
  });

  it('reads back once an error nobody planned for, so a person looks', () => {
    expect(classifyMarkError('SomethingNew')).toBe('refused');
    expect(classifyMarkError('constructor')).toBe('refused');
    expect(classifyMarkError('toString')).toBe('refused');
  });
});
