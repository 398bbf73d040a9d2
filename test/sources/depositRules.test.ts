/**
 * The order of the reference's deposit rules (depositRules.ts), independent of any chain: a
 * failed transaction first, then recipient and amount, then confirmations, then the sender
 * (unprovable, other), then sender equal to recipient. Each case changes one thing of a deposit
 * that is otherwise verified, so the verdict can only come from the rule under test.
 */
import { describe, expect, it } from 'vitest';
import { judgeDeposit, lowerCaseAddress, type Sighting } from '../../src/chains/depositRules.ts';
import type { DepositClaim } from '../../src/host/sourceVerifier.ts';

const claim: DepositClaim = {
  chain: 'eth',
  txHash: '0xabc',
  blockHint: 0,
  recipient: '0xMINER',
  sender: '0xUSER',
  minAmount: 100n,
};
const good: Sighting = { block: 7, confirmations: 3, failed: null, credited: 100n, sender: '0xuser' };
const judge = (over: Partial<Sighting>, c: Partial<DepositClaim> = {}) =>
  judgeDeposit({ ...claim, ...c }, 3, { ...good, ...over }, lowerCaseAddress);

describe('deposit rules, in the reference order', () => {
  it('verifies a deposit paying at least the claim, confirmed, from the sender (normalised)', () => {
    expect(judge({})).toEqual({
      kind: 'verified',
      evidence: { txHash: '0xabc', block: 7, amountSeen: 100n, senderSeen: '0xuser', confirmations: 3, required: 3 },
    });
  });

  it('puts each mismatch in its place', () => {
    const kindAndReason = (v: ReturnType<typeof judge>) => `${v.kind}: ${v.kind === 'verified' ? '' : v.reason}`;
    // A failed transaction is wrong even when nothing else is.
    expect(kindAndReason(judge({ failed: 'reverted', confirmations: 0 }))).toMatch(/^wrong: .*failed on chain/);
    // Recipient and amount come before confirmations: a short deposit is wrong at 0 confirmations.
    expect(kindAndReason(judge({ credited: null, confirmations: 0 }))).toMatch(/^wrong: .*pays nothing/);
    expect(kindAndReason(judge({ credited: 0n }))).toMatch(/^wrong: .*pays nothing/);
    expect(kindAndReason(judge({ credited: 99n, confirmations: 0 }))).toMatch(/^wrong: .*pays 99, short of the 100/);
    // Confirmations come before the sender: another sender is a wait until it is confirmed.
    expect(kindAndReason(judge({ confirmations: 2, sender: '0xother' }))).toBe(
      'pending: deposit at 2 of 3 confirmations',
    );
    expect(kindAndReason(judge({ confirmations: 0, shortBecause: 'its block left the best chain' }))).toBe(
      'pending: its block left the best chain',
    );
    expect(kindAndReason(judge({ sender: '' }))).toMatch(/^wrong: .*cannot be proven/);
    expect(kindAndReason(judge({ sender: '0xother' }))).toMatch(/^wrong: .*comes from 0xother, not from/);
    expect(kindAndReason(judge({ sender: '0xminer' }, { sender: '0xMiner' }))).toBe(
      'wrong: the deposit sender is the recipient itself',
    );
  });

  it('answers pending with empty evidence for a deposit not found', () => {
    expect(judgeDeposit(claim, 3, null, lowerCaseAddress)).toEqual({
      kind: 'pending',
      reason: 'deposit transaction not found',
      evidence: { txHash: '0xabc', block: null, amountSeen: null, senderSeen: '', confirmations: 0, required: 3 },
    });
  });
});
