/**
 * The swap effects on their own: the cushion is judged again, at the contract's clock, just
 * before the first signature (the tick's clock may be old by then); the transfer signed is the
 * contract's payout from the pinned sender; a signed transfer is advanced by looking it up and
 * re-broadcasting the same bytes, reporting the chain's answer in the machine's words.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { swapFulfillment, type SwapContext, type SwapTerms } from '../../machines/index.ts';
import { followTransfer, sendTransfer, type SwapEffectPorts } from '../../src/obligations/swapFulfillment/effects.ts';
import {
  NeverLands,
  TransferRefused,
  type SwapContract,
  type TransferRequest,
  type TransferSender,
  type TransferStatus,
} from '../../src/host/ports.ts';
import { silentLog } from '../support/simFixture.ts';

const INK: SwapTerms = {
  contract: 'ink',
  swapId: '1',
  miner: 'm',
  sourceChain: 'btc',
  destChain: 'eth',
  sourceAmount: '5',
  destAmount: '199',
  collateralAmount: '9',
  hub: 'tao',
  userDestAddress: '0xuser',
  senderPin: '',
  sourceTxHash: 'src',
  userSourceAddress: 'bc1quser',
  minerSourceAddress: 'bc1qminer',
  sourceTxBlock: 7,
  initiatedAt: 10,
  timeoutAt: 100,
  maxExtendAt: null,
};
const SOL: SwapTerms = {
  ...INK,
  contract: 'solana',
  swapId: 'ab'.repeat(32),
  hub: 'sol',
  senderPin: '0xpin',
  initiatedAt: 1_000,
  timeoutAt: 1_600,
  maxExtendAt: 9_000,
};

/** A new swap machine's context (nothing signed yet), as the machine itself builds it. */
function context(terms: SwapTerms, transfer: SwapContext['transfer'] = null): SwapContext {
  const c = createActor(swapFulfillment, { input: { terms, now: terms.initiatedAt } })
    .start()
    .getSnapshot().context;
  // Sending is entered only with a verdict on the deposit (the Verifying state's).
  const deposit = {
    verdict: 'verified' as const,
    reason: null,
    txHash: terms.sourceTxHash,
    block: 7,
    amountSeen: terms.sourceAmount,
    senderSeen: terms.userSourceAddress,
    confirmations: 2,
    required: 2,
  };
  return { ...c, deposit, transfer };
}

interface Recorder {
  signed: TransferRequest[];
  broadcasts: number;
}

function ports(
  now: number,
  rec: Recorder,
  statuses: TransferStatus[] = [],
  broadcast: () => Promise<void> = async () => undefined,
  signError: Error | null = null,
): SwapEffectPorts {
  const contract = { now: async () => now } as unknown as SwapContract;
  const sender: TransferSender = {
    chain: 'eth',
    addressProblem: () => null,
    controls: () => true,
    sign: async (request) => {
      if (signError !== null) throw signError;
      rec.signed.push(request);
      return { raw: 'raw', hash: '0xhash', anchorBlock: 77 };
    },
    broadcast: async () => {
      rec.broadcasts += 1;
      await broadcast();
    },
    lookup: async () => statuses.shift() ?? { kind: 'unknown' },
  };
  return { contract, senders: new Map([['eth', sender]]), log: silentLog };
}

const fresh = (): Recorder => ({ signed: [], broadcasts: 0 });
const SIGNED = { raw: 'raw', hash: '0xhash', decidedAt: 20, anchorBlock: null };

describe('sendTransfer', () => {
  it('does not sign when the contract clock has reached the cushion since the tick began: it reports the clock', async () => {
    const rec = fresh();
    expect(await sendTransfer(ports(98, rec), 'swap:1', context(INK))).toEqual({ type: 'CLOCK', now: 98 });
    expect(await sendTransfer(ports(1_385, rec), 'swap:x', context(SOL))).toEqual({ type: 'CLOCK', now: 1_385 });
    expect(rec.signed).toEqual([]);
  });

  it('ink!: signs dest_amount while the cushion allows, with no pin', async () => {
    const rec = fresh();
    expect(await sendTransfer(ports(97, rec), 'swap:1', context(INK))).toEqual({
      type: 'TRANSFER_SIGNED',
      raw: 'raw',
      hash: '0xhash',
      anchorBlock: 77,
    });
    expect(rec.signed).toEqual([{ swapId: '1', chain: 'eth', to: '0xuser', amount: 199n, from: null }]);
  });

  it('Solana: signs to_amount - floor(to_amount / 100) from the pinned sender', async () => {
    const rec = fresh();
    await sendTransfer(ports(1_384, rec), 'swap:x', context(SOL));
    expect(rec.signed).toEqual([{ swapId: SOL.swapId, chain: 'eth', to: '0xuser', amount: 198n, from: '0xpin' }]);
  });

  it.each([
    [{ kind: 'included', block: 9 }, { type: 'TRANSFER_INCLUDED', block: 9 }, 0],
    [{ kind: 'landed', block: 8 }, { type: 'TRANSFER_LANDED', block: 8 }, 0],
    [{ kind: 'failed', reason: 'reverted' }, { type: 'TRANSFER_INVALID', reason: 'reverted' }, 0],
    [{ kind: 'pending' }, { type: 'TRANSFER_BROADCAST' }, 1],
    [{ kind: 'unknown' }, { type: 'TRANSFER_BROADCAST' }, 1],
  ] as const)(
    'a signed transfer the chain reports %o: %o, %i broadcasts of the same bytes',
    async (status, event, broadcasts) => {
      const rec = fresh();
      expect(await sendTransfer(ports(500, rec, [status]), 'swap:1', context(INK, SIGNED))).toEqual(event);
      expect(rec.broadcasts).toBe(broadcasts);
      expect(rec.signed).toEqual([]);
    },
  );

  it('a transfer whose nonce is taken is looked up again: included after all, or never lands', async () => {
    const taken = async () => {
      throw new NeverLands('nonce 4 used');
    };
    expect(
      await sendTransfer(
        ports(500, fresh(), [{ kind: 'unknown' }, { kind: 'included', block: 3 }], taken),
        'swap:1',
        context(INK, SIGNED),
      ),
    ).toEqual({ type: 'TRANSFER_INCLUDED', block: 3 });
    expect(
      await sendTransfer(
        ports(500, fresh(), [{ kind: 'unknown' }, { kind: 'unknown' }], taken),
        'swap:1',
        context(INK, SIGNED),
      ),
    ).toEqual({ type: 'TRANSFER_INVALID', reason: 'nonce 4 used' });
  });

  it('rejects the swap when the destination refuses before signing; any other signing error is retried', async () => {
    const refused = new TransferRefused('token 0xabc is stopped by its issuer: paused() is true');
    const noop = async () => undefined;
    expect(await sendTransfer(ports(97, fresh(), [], noop, refused), 'swap:1', context(INK))).toEqual({
      type: 'REJECT',
      reason: refused.reason,
    });
    expect(await sendTransfer(ports(97, fresh(), [], noop, new Error('node away')), 'swap:1', context(INK))).toBeNull();
  });
});

describe('followTransfer (after an early mark)', () => {
  it('reports inclusion or never-lands; anything else is re-broadcast and waited on', async () => {
    expect(
      await followTransfer(ports(0, fresh(), [{ kind: 'included', block: 5 }]), 'swap:x', context(SOL, SIGNED)),
    ).toEqual({ type: 'TRANSFER_INCLUDED', block: 5 });
    expect(
      await followTransfer(ports(0, fresh(), [{ kind: 'failed', reason: 'spent' }]), 'swap:x', context(SOL, SIGNED)),
    ).toEqual({ type: 'TRANSFER_INVALID', reason: 'spent' });
    const rec = fresh();
    expect(await followTransfer(ports(0, rec, [{ kind: 'pending' }]), 'swap:x', context(SOL, SIGNED))).toBeNull();
    expect(rec.broadcasts).toBe(1);
    expect(
      await followTransfer(ports(0, fresh(), [{ kind: 'landed', block: 4 }]), 'swap:x', context(SOL, SIGNED)),
    ).toBeNull();
  });
});
