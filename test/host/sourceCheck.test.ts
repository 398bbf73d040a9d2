/**
 * The swap obligation's own checks before a first signature (sourceCheck.ts): the deposit
 * verdict turned into the machine's event with its evidence, and the funds gate over the other
 * live swaps, with the figures it logs. Ports are plain objects: what is tested is the rule.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { swapFulfillment, type SwapContext, type SwapTerms } from '../../machines/index.ts';
import type { DepositClaim, DepositVerdict, SourceVerifier } from '../../src/host/sourceVerifier.ts';
import {
  fundsShortfall,
  verifyDeposit,
  type GateView,
  type SwapSourcePorts,
} from '../../src/obligations/swapFulfillment/sourceCheck.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { SAMPLE_SWAP_TERMS } from '../support/sampleTerms.ts';

const context = (terms: Partial<SwapTerms> = {}, signed = false): SwapContext => {
  const c = createActor(swapFulfillment, { input: { terms: { ...SAMPLE_SWAP_TERMS, ...terms }, now: 1 } })
    .start()
    .getSnapshot().context;
  return signed ? { ...c, transfer: { raw: '0x', hash: '0xh', decidedAt: 2, anchorBlock: null } } : c;
};

const evidence = { txHash: 's', block: 5, amountSeen: 100n, senderSeen: 'bc1quser', confirmations: 1, required: 2 };

function ports(
  answer: DepositVerdict | Error,
  balance: bigint | Error = 0n,
): SwapSourcePorts & { claims: DepositClaim[] } {
  const claims: DepositClaim[] = [];
  const verifier: SourceVerifier = {
    chains: ['btc'],
    verify: async (claim) => {
      claims.push(claim);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return {
    claims,
    verifiers: new Map([['btc', verifier]]),
    unverified: new Set(['doge']),
    balances: {
      balanceOf: async () => {
        if (balance instanceof Error) throw balance;
        return balance;
      },
    },
    wallets: new Map([['tao', '5MinerWallet']]),
  };
}

describe('verifyDeposit', () => {
  it('verified: the event carries the verdict and the evidence, amounts as decimal strings', async () => {
    const p = ports({ kind: 'verified', evidence: { ...evidence, confirmations: 2 } });
    const event = await verifyDeposit(p, collectingLogger([]), 'swap:1', context(), () => undefined);
    expect(event).toEqual({
      type: 'DEPOSIT_VERIFIED',
      deposit: {
        verdict: 'verified',
        reason: null,
        txHash: 's',
        block: 5,
        amountSeen: '100',
        senderSeen: 'bc1quser',
        confirmations: 2,
        required: 2,
      },
    });
    expect(p.claims).toEqual([
      { chain: 'btc', txHash: 's', blockHint: 7, recipient: 'bc1qminer', sender: 'bc1quser', minAmount: 100n },
    ]);
  });

  it('wrong: DEPOSIT_WRONG with what was wrong; pending and a failed check: no event, asked again', async () => {
    const lines: LogLine[] = [];
    const log = collectingLogger(lines);
    const wrong = await verifyDeposit(
      ports({ kind: 'wrong', reason: 'amount 99 < 100', evidence }),
      log,
      'swap:1',
      context(),
      () => undefined,
    );
    expect(wrong).toMatchObject({ type: 'DEPOSIT_WRONG', deposit: { verdict: 'wrong', reason: 'amount 99 < 100' } });
    const pending = { kind: 'pending', reason: '1 of 2 confirmations', evidence } as const;
    expect(await verifyDeposit(ports(pending), log, 'swap:1', context(), () => undefined)).toBeNull();
    expect(await verifyDeposit(ports(new Error('rpc down')), log, 'swap:1', context(), () => undefined)).toBeNull();
    expect(lines.map((l) => l.message)).toEqual([
      'deposit is wrong: swap rejected, nothing will be sent',
      'deposit not verified yet; waiting',
      'deposit check failed; asking again next tick',
    ]);
    expect(lines[1]!.fields).toMatchObject({ confirmations: 1, required: 2, reason: '1 of 2 confirmations' });
  });

  it('a chain opted out is recorded unchecked; a chain with no verifier and no opt-out waits, never paid', async () => {
    const p = ports({ kind: 'verified', evidence });
    const lines: LogLine[] = [];
    const optedOut = await verifyDeposit(
      p,
      collectingLogger(lines),
      'swap:1',
      context({ sourceChain: 'doge' }),
      () => undefined,
    );
    expect(optedOut).toMatchObject({ type: 'DEPOSIT_VERIFIED', deposit: { verdict: 'unchecked' } });
    const none = await verifyDeposit(
      p,
      collectingLogger(lines),
      'swap:1',
      context({ sourceChain: 'ltc' }),
      () => undefined,
    );
    expect(none).toBeNull();
    expect(lines.at(-1)).toMatchObject({ level: 'error', fields: { sourceChain: 'ltc' } });
    expect(p.claims).toEqual([]);
  });

  it("a version-1 record's empty deposit terms are filled from the contract's listing", async () => {
    const p = ports({ kind: 'verified', evidence });
    const migrated = context({ userSourceAddress: '', minerSourceAddress: '', sourceTxBlock: 0 });
    await verifyDeposit(p, collectingLogger([]), 'swap:1', migrated, (id) =>
      id === '1'
        ? { ...SAMPLE_SWAP_TERMS, userSourceAddress: 'u1', minerSourceAddress: 'm1', sourceTxBlock: 9 }
        : undefined,
    );
    expect(p.claims[0]).toMatchObject({ sender: 'u1', recipient: 'm1', blockHint: 9, minAmount: 100n });
  });
});

describe('fundsShortfall: this payout plus every strictly earlier unsigned one on its chain', () => {
  // Swap 1 (this one) initiated at 10 on tao, paying 100; the others around it.
  const me = context({ swapId: '1', initiatedAt: 10, timeoutAt: 40, destAmount: '100' });
  const other = (id: string, terms: Partial<SwapTerms>, signed = false): GateView => ({
    id: `swap:${id}`,
    context: context({ swapId: id, timeoutAt: 40, ...terms }, signed),
  });
  const live: GateView[] = [
    { id: 'swap:1', context: me },
    other('2', { initiatedAt: 5, destAmount: '30' }), // earlier, unsigned: counts
    other('3', { initiatedAt: 10, destAmount: '1000' }), // a tie: does not count
    other('4', { initiatedAt: 20, destAmount: '1000' }), // later: does not count
    other('5', { initiatedAt: 1, destAmount: '1000' }, true), // earlier but signed: does not count
    other('6', { initiatedAt: 1, destAmount: '1000', destChain: 'eth', userDestAddress: '0xu' }), // other chain
  ];

  it('passes when the balance covers this payout and the earlier unsigned one, exactly', async () => {
    const lines: LogLine[] = [];
    expect(await fundsShortfall(ports(new Error(), 130n), collectingLogger(lines), 'swap:1', me, live)).toBeNull();
    expect(lines).toEqual([]);
  });

  it('waits one unit short, logging the figures and the earlier swaps', async () => {
    const lines: LogLine[] = [];
    const short = await fundsShortfall(ports(new Error(), 129n), collectingLogger(lines), 'swap:1', me, live);
    expect(short).toBe('balance 129 < payout 100 + earlier 30');
    expect(lines).toEqual([
      {
        level: 'warn',
        fields: {
          machine: 'swap:1',
          chain: 'tao',
          payout: '100',
          earlierPending: '30',
          balance: '129',
          earlier: ['swap:2'],
        },
        message: 'funds gate: wallet does not cover this payout and the earlier unsigned ones; waiting',
      },
    ]);
  });

  it('an unreadable balance is a wait, not a pass (a departure from the reference)', async () => {
    const lines: LogLine[] = [];
    const result = await fundsShortfall(
      ports(new Error(), new Error('timeout')),
      collectingLogger(lines),
      'swap:1',
      me,
      live,
    );
    expect(result).toBe('balance unreadable');
    expect(lines[0]!.message).toBe('funds gate: balance unreadable; waiting (not a pass)');
  });

  it('reads the pinned sender, else the wallet configured for the chain; none known is a wait', async () => {
    const read: string[] = [];
    const p = ports(new Error(), 10n ** 6n);
    const spy = {
      ...p,
      balances: {
        balanceOf: async (chain: string, address: string) => {
          read.push(`${chain}:${address}`);
          return 10n ** 6n;
        },
      },
    };
    await fundsShortfall(spy, collectingLogger([]), 'swap:1', me, live);
    await fundsShortfall(
      spy,
      collectingLogger([]),
      'swap:1',
      { ...me, terms: { ...me.terms, senderPin: '5Pinned' } },
      live,
    );
    expect(read).toEqual(['tao:5MinerWallet', 'tao:5Pinned']);
    const elsewhere = { ...me, terms: { ...me.terms, destChain: 'eth' } };
    expect(await fundsShortfall(spy, collectingLogger([]), 'swap:1', elsewhere, live)).toBe('no wallet address');
  });
});
