/**
 * The swap effects on their own: the margin is judged again, at the chain's current height,
 * just before the first signature (the tick's height may be blocks old by then); a
 * destination that refuses before signing rejects the swap, any other signing error retries.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { swapFulfillment, type SwapContext } from '../../machines/index.ts';
import { sendTransfer, type SwapEffectPorts } from '../../src/obligations/swapFulfillment/effects.ts';
import { TransferRefused, type SwapContract, type TransferSender } from '../../src/host/ports.ts';
import { silentLog } from '../support/simFixture.ts';

/** A new swap machine's context (nothing signed yet), as the machine itself builds it. */
function context(timeoutBlock: number): SwapContext {
  const terms = {
    swapId: '1',
    miner: 'm',
    sourceChain: 'btc',
    destChain: 'eth',
    sourceAmount: '5',
    destAmount: '7',
    taoAmount: '9',
    userDestAddress: '0xuser',
    sourceTxHash: 'src',
    initiatedBlock: 10,
    timeoutBlock,
  };
  return createActor(swapFulfillment, { input: { terms, block: 50, marginBlocks: 3 } })
    .start()
    .getSnapshot().context;
}

function ports(height: number, signs: string[], refusal: Error | null = null): SwapEffectPorts {
  const contract = { currentBlock: async () => height } as unknown as SwapContract;
  const sender = {
    chain: 'eth',
    addressProblem: () => null,
    sign: async () => {
      if (refusal !== null) throw refusal;
      signs.push('sign');
      return { raw: 'raw', hash: '0xhash' };
    },
    broadcast: async () => undefined,
    lookup: async () => ({ kind: 'unknown' as const }),
  } satisfies TransferSender;
  return { contract, senders: new Map([['eth', sender]]), log: silentLog };
}

describe('sendTransfer', () => {
  it('does not sign when the chain has reached the margin since the tick began: it reports the height', async () => {
    const signs: string[] = [];
    expect(await sendTransfer(ports(98, signs), 'swap:1', context(100))).toEqual({ type: 'BLOCK', height: 98 });
    expect(signs).toEqual([]);
  });

  it('signs when the margin still allows a first send', async () => {
    const signs: string[] = [];
    expect(await sendTransfer(ports(97, signs), 'swap:1', context(100))).toEqual({
      type: 'TRANSFER_SIGNED',
      raw: 'raw',
      hash: '0xhash',
    });
    expect(signs).toEqual(['sign']);
  });

  it('rejects the swap when the destination refuses before signing; any other signing error is retried', async () => {
    const refused = new TransferRefused('token 0xabc is stopped by its issuer: paused() is true');
    expect(await sendTransfer(ports(97, [], refused), 'swap:1', context(100))).toEqual({
      type: 'REJECT',
      reason: refused.reason,
    });
    expect(await sendTransfer(ports(97, [], new Error('node away')), 'swap:1', context(100))).toBeNull();
  });
});
