/**
 * The Solana swap manager's mark_fulfilled error table, case by case. The codes expected here
 * are the reference's (allways-solana-swap-manager.md section 12, error.rs at the reference's
 * commit, not the stale IDL) and Anchor 1.0's framework numbers.
 */
import { describe, expect, it } from 'vitest';
import {
  ANCHOR_ERRORS,
  classifySolanaMarkError,
  SOLANA_CLIENT_ERRORS,
  SOLANA_MARK_ERROR_CLASSES,
  SOLANA_PROGRAM_ERRORS,
  solanaErrorName,
} from '../../machines/solanaMarkFulfilledErrors.ts';

describe('codes', () => {
  it('lists the 72 variants of error.rs, code = 6000 + index', () => {
    expect(SOLANA_PROGRAM_ERRORS).toHaveLength(72);
    expect(new Set(SOLANA_PROGRAM_ERRORS).size).toBe(72);
  });

  // Section 12 and its IDL-drift table, number by number.
  const reference: Array<[number, string]> = [
    [6000, 'InvalidAmount'],
    [6007, 'NotValidator'],
    [6018, 'SystemHalted'],
    [6024, 'StringTooLong'],
    [6028, 'InvalidStatus'],
    [6029, 'NotTimedOut'],
    [6034, 'ExtensionNotLater'],
    [6035, 'ExtensionExceedsCeiling'],
    [6054, 'InvalidUser'],
    [6055, 'DestEqualsMinerAddr'],
    [6056, 'DuplicateSourceAddr'],
    [6057, 'SourceHashMismatch'],
    [6058, 'WeightsRoundKeyMismatch'],
    [6060, 'BackingNotSupported'],
    [6066, 'AttestationStale'],
    [6067, 'MinerSettling'],
    [6070, 'AttestationWouldStrandSwap'],
    [6071, 'HotkeyChangeForbidden'],
    [101, 'InstructionFallbackNotFound'],
    [102, 'InstructionDidNotDeserialize'],
    [2000, 'ConstraintMut'],
    [2001, 'ConstraintHasOne'],
    [2003, 'ConstraintRaw'],
    [2006, 'ConstraintSeeds'],
    [2040, 'ConstraintDuplicateMutableAccount'],
    [3001, 'AccountDiscriminatorNotFound'],
    [3002, 'AccountDiscriminatorMismatch'],
    [3003, 'AccountDidNotDeserialize'],
    [3005, 'AccountNotEnoughKeys'],
    [3007, 'AccountOwnedByWrongProgram'],
    [3010, 'AccountNotSigner'],
    [3012, 'AccountNotInitialized'],
  ];
  it.each(reference)('code %i is %s', (code, name) => {
    expect(solanaErrorName(code)).toBe(name);
  });

  it('names the hex codes RPCs print the same way (0x178c, 0xbc4, 0x7d1)', () => {
    expect(solanaErrorName(0x178c)).toBe('InvalidStatus');
    expect(solanaErrorName(0xbc4)).toBe('AccountNotInitialized');
    expect(solanaErrorName(0x7d1)).toBe('ConstraintHasOne');
  });

  it('names a code in neither table by its number', () => {
    expect(solanaErrorName(6072)).toBe('Custom(6072)');
    expect(solanaErrorName(1)).toBe('Custom(1)');
  });

  it('Anchor codes are unique', () => {
    const codes = Object.values(ANCHOR_ERRORS);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('classification', () => {
  it('classifies every program, framework and client name', () => {
    expect(Object.keys(SOLANA_MARK_ERROR_CLASSES).sort()).toEqual(
      [...SOLANA_PROGRAM_ERRORS, ...Object.keys(ANCHOR_ERRORS), ...SOLANA_CLIENT_ERRORS].sort(),
    );
  });

  // What mark_fulfilled can return, in the program's check order, then the client's own.
  const expected: Array<[string, string, string]> = [
    ['InstructionFallbackNotFound', 'terminal', "our discriminator is not the program's"],
    ['InstructionDidNotDeserialize', 'terminal', 'our arguments do not decode'],
    ['AccountNotSigner', 'terminal', 'the miner did not sign'],
    ['AccountNotEnoughKeys', 'terminal', 'accounts missing'],
    ['AccountNotInitialized', 'refused', 'swap closed (maybe after our mark): read back'],
    ['AccountOwnedByWrongProgram', 'terminal', 'wrong account passed'],
    ['AccountDiscriminatorMismatch', 'terminal', 'wrong account type'],
    ['AccountDidNotDeserialize', 'terminal', 'an unmigrated layout'],
    ['ConstraintDuplicateMutableAccount', 'terminal', 'one key twice'],
    ['ConstraintSeeds', 'terminal', 'a wrong PDA'],
    ['ConstraintMut', 'terminal', 'not passed writable'],
    ['ConstraintRaw', 'terminal', 'MinerState of another miner'],
    ['ConstraintHasOne', 'terminal', "the swap is another miner's"],
    ['StringTooLong', 'terminal', 'hash over 128 bytes'],
    ['InvalidStatus', 'refused', 'already Fulfilled, maybe by us: read back'],
    ['BackingNotSupported', 'terminal', 'grace needs a hub the swap lacks'],
    ['SystemHalted', 'transient', 'a halt is lifted'],
    ['RpcFailure', 'transient', 'never reached the cluster'],
    ['InsufficientBalance', 'transient', 'fee payer short'],
    ['BlockhashExpired', 'transient', 'expired unseen: never landed'],
    ['OutcomeUnknown', 'unknown', 'read back before retrying'],
  ];
  it.each(expected)('%s is %s (%s)', (name, cls) => {
    expect(classifySolanaMarkError(name)).toBe(cls);
  });

  it('program errors mark_fulfilled cannot return are read back once; other framework errors are terminal', () => {
    for (const name of SOLANA_PROGRAM_ERRORS) {
      if (!['StringTooLong', 'InvalidStatus', 'BackingNotSupported', 'SystemHalted'].includes(name))
        expect(classifySolanaMarkError(name), name).toBe('refused');
    }
    for (const name of Object.keys(ANCHOR_ERRORS)) {
      if (name !== 'AccountNotInitialized') expect(classifySolanaMarkError(name), name).toBe('terminal');
    }
  });

  it('reads back once anything nobody planned for (an unknown code, a runtime error, a prototype key)', () => {
    for (const name of ['Custom(6072)', 'Runtime:AccountInUse', 'constructor', 'toString', '__proto__']) {
      expect(classifySolanaMarkError(name)).toBe('refused');
    }
  });
});
