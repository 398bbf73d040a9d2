import { afterAll, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import {
  MAX_MARK_BACKOFF_BLOCKS,
  metaOfState,
  swapFulfillment,
  type SwapEvent,
  type SwapTerms,
} from '../../machines/index.ts';
import { restoreActor } from '../support/restoreActor.ts';
import { TransitionRecorder } from '../support/transitionCoverage.ts';

const recorder = new TransitionRecorder();

const TERMS: SwapTerms = {
  swapId: '7',
  miner: 'miner',
  sourceChain: 'btc',
  destChain: 'tao',
  sourceAmount: '100000',
  destAmount: '2500000000',
  taoAmount: '2500000000',
  userDestAddress: '5User',
  sourceTxHash: 'btc-tx',
  initiatedBlock: 100,
  timeoutBlock: 130,
};

function start(terms: Partial<SwapTerms> = {}, marginBlocks = 3) {
  return createActor(swapFulfillment, {
    input: { terms: { ...TERMS, ...terms }, block: 100, marginBlocks },
    inspect: recorder.inspect,
  }).start();
}

function drive(...events: SwapEvent[]) {
  const actor = start();
  for (const event of events) actor.send(event);
  return actor;
}

const SIGNED: SwapEvent = { type: 'TRANSFER_SIGNED', raw: '0xraw', hash: '0xhash' };
const toSending: SwapEvent[] = [{ type: 'BLOCK', height: 101 }];
const toMarking: SwapEvent[] = [...toSending, SIGNED, { type: 'TRANSFER_INCLUDED', block: 9000 }];
const state = (actor: ReturnType<typeof start>) => actor.getSnapshot().value;

describe('swapFulfillment: Pending', () => {
  it.each([
    [{ destAmount: '0' }, /dest_amount '0'/],
    [{ destAmount: '-5' }, /dest_amount '-5'/],
    [{ destAmount: '1.5' }, /dest_amount '1.5'/],
    [{ sourceAmount: '0' }, /source_amount/],
    [{ userDestAddress: ' ' }, /user_dest_address is empty/],
    [{ destChain: '' }, /dest_chain is empty/],
    [{ timeoutBlock: 100 }, /timeout_block 100 is not after initiated_block 100/],
  ])('rejects invalid swap data %o at once, with nothing sent', (terms, reason) => {
    const actor = start(terms);
    expect(state(actor)).toBe('Rejected');
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().context.reason).toMatch(reason);
    expect(actor.getSnapshot().context.transfer).toBeNull();
  });

  it('is rejected by the host for data only an adapter can judge (an address that does not parse)', () => {
    const actor = drive({ type: 'REJECT', reason: "'xyz' is not a valid tao address" });
    expect(state(actor)).toBe('Rejected');
    expect(actor.getSnapshot().context.reason).toContain('not a valid tao address');
  });

  it('expires when the swap leaves the contract before any send', () => {
    const actor = drive({ type: 'SWAP_GONE' });
    expect(state(actor)).toBe('Expired');
  });

  it('starts sending while at least `margin` blocks remain (boundary: height + margin == timeout)', () => {
    const actor = drive({ type: 'BLOCK', height: 127 });
    expect(state(actor)).toBe('Sending');
    expect(actor.getSnapshot().context.block).toBe(127);
    expect(metaOfState(actor.getSnapshot()).effect).toBe('sendTransfer');
  });

  it('expires instead of sending once fewer than `margin` blocks remain', () => {
    const actor = drive({ type: 'BLOCK', height: 128 });
    expect(state(actor)).toBe('Expired');
    expect(actor.getSnapshot().context.reason).toMatch(/margin reached before any send: block 128 \+ 3 > timeout 130/);
  });

  it('honours a configured margin', () => {
    const actor = start({}, 10);
    actor.send({ type: 'BLOCK', height: 121 });
    expect(state(actor)).toBe('Expired');
  });
});

describe('swapFulfillment: Sending', () => {
  it('expires when the margin is reached before the transfer was signed', () => {
    const actor = drive(...toSending, { type: 'BLOCK', height: 128 });
    expect(state(actor)).toBe('Expired');
  });

  it('keeps sending a signed transfer whatever the height: the margin gates the first send only', () => {
    const actor = drive(...toSending, SIGNED, { type: 'BLOCK', height: 500 });
    expect(state(actor)).toBe('Sending');
    actor.send({ type: 'TRANSFER_INCLUDED', block: 1 });
    expect(state(actor)).toBe('Marking');
  });

  it('expires when the swap leaves before signing, but not after', () => {
    expect(state(drive(...toSending, { type: 'SWAP_GONE' }))).toBe('Expired');
    expect(state(drive(...toSending, SIGNED, { type: 'SWAP_GONE' }))).toBe('Sending');
  });

  it('records the signed transfer and the block the send was decided at, once', () => {
    const actor = drive(...toSending, SIGNED, { type: 'TRANSFER_SIGNED', raw: '0xother', hash: '0xother' });
    expect(actor.getSnapshot().context.transfer).toEqual({ raw: '0xraw', hash: '0xhash', decidedAtBlock: 101 });
  });

  it('moves to Sent on inclusion and straight on to Marking', () => {
    const actor = drive(...toMarking);
    expect(state(actor)).toBe('Marking');
    expect(actor.getSnapshot().context.transferBlock).toBe(9000);
    expect(metaOfState(actor.getSnapshot()).effect).toBe('markFulfilled');
  });

  it('is rejected when the destination refuses before signing, never once a transfer is signed', () => {
    const refused = drive(...toSending, { type: 'REJECT', reason: 'token is stopped by its issuer: paused() is true' });
    expect(state(refused)).toBe('Rejected');
    expect(refused.getSnapshot().context).toMatchObject({
      transfer: null,
      reason: 'token is stopped by its issuer: paused() is true',
    });
    const signed = drive(...toSending, SIGNED, { type: 'REJECT', reason: 'too late to refuse' });
    expect(state(signed)).toBe('Sending');
    expect(signed.getSnapshot().context.reason).toBeNull();
  });

  it('goes to Recovery when the signed transfer can never land', () => {
    const actor = drive(...toSending, SIGNED, { type: 'TRANSFER_INVALID', reason: 'nonce 4 already used' });
    expect(state(actor)).toBe('Recovery');
    expect(actor.getSnapshot().context.reason).toBe('signed transfer can never land: nonce 4 already used');
    expect(metaOfState(actor.getSnapshot())).toMatchObject({ effect: 'recordRecovery', record: 'stuck-funds' });
  });
});

describe('swapFulfillment: Marking and Sent', () => {
  it('is Fulfilled when mark_fulfilled succeeds', () => {
    const actor = drive(...toMarking, { type: 'MARK_OK' });
    expect(state(actor)).toBe('Fulfilled');
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('backs off on a transient failure and retries when the block comes', () => {
    const actor = drive(...toMarking, { type: 'MARK_FAILED', error: 'RpcFailure', height: 110 });
    expect(state(actor)).toBe('Sent');
    expect(actor.getSnapshot().context).toMatchObject({ markAttempts: 1, nextMarkBlock: 111, lastError: 'RpcFailure' });
    actor.send({ type: 'BLOCK', height: 110 });
    expect(state(actor)).toBe('Sent');
    actor.send({ type: 'BLOCK', height: 111 });
    expect(state(actor)).toBe('Marking');
    actor.send({ type: 'MARK_FAILED', error: 'InsufficientBalance', height: 111 });
    expect(actor.getSnapshot().context.nextMarkBlock).toBe(113);
  });

  it('caps the backoff', () => {
    const actor = drive(...toMarking);
    for (let i = 0; i < 8; i += 1) {
      actor.send({ type: 'MARK_FAILED', error: 'Timeout', height: 1000 });
      actor.send({ type: 'BLOCK', height: 5000 });
    }
    actor.send({ type: 'MARK_FAILED', error: 'Timeout', height: 1000 });
    expect(actor.getSnapshot().context.nextMarkBlock).toBe(1000 + MAX_MARK_BACKOFF_BLOCKS);
  });

  it('reads the swap back when the outcome of the call is unknown', () => {
    const actor = drive(...toMarking, { type: 'MARK_FAILED', error: 'OutcomeUnknown', height: 110 });
    expect(state(actor)).toBe('Reconciling');
    expect(actor.getSnapshot().context.refusedWith).toBeNull();
  });

  it('reads the swap back before believing a refusal', () => {
    const actor = drive(...toMarking, { type: 'MARK_FAILED', error: 'InvalidStatus', height: 110 });
    expect(state(actor)).toBe('Reconciling');
    expect(actor.getSnapshot().context.refusedWith).toBe('InvalidStatus');
  });

  it('reconciles when the swap leaves the contract while unmarked', () => {
    const actor = drive(...toMarking, { type: 'MARK_FAILED', error: 'RpcFailure', height: 110 }, { type: 'SWAP_GONE' });
    expect(state(actor)).toBe('Reconciling');
  });
});

describe('swapFulfillment: Reconciling', () => {
  const unknown: SwapEvent = { type: 'MARK_FAILED', error: 'OutcomeUnknown', height: 110 };
  const refused: SwapEvent = { type: 'MARK_FAILED', error: 'InvalidStatus', height: 110 };

  it.each(['Fulfilled', 'Completed'] as const)('is Fulfilled when the swap is %s with our transfer hash', (status) => {
    const actor = drive(...toMarking, refused, {
      type: 'SWAP_READ',
      view: { status, miner: 'miner', destTxHash: '0xhash' },
    });
    expect(state(actor)).toBe('Fulfilled');
  });

  it('marks again when the swap is still Active for us after an unknown outcome', () => {
    const actor = drive(...toMarking, unknown, {
      type: 'SWAP_READ',
      view: { status: 'Active', miner: 'miner', destTxHash: '' },
    });
    expect(state(actor)).toBe('Marking');
  });

  it('does not retry forever a refusal the chain confirms', () => {
    const actor = drive(...toMarking, refused, {
      type: 'SWAP_READ',
      view: { status: 'Active', miner: 'miner', destTxHash: '' },
    });
    expect(state(actor)).toBe('Recovery');
    expect(actor.getSnapshot().context.reason).toMatch(/refused for good \(InvalidStatus\)/);
  });

  it.each([
    ['gone', null],
    ['timed out', { status: 'TimedOut', miner: 'miner', destTxHash: '' }],
    ['fulfilled by someone else', { status: 'Fulfilled', miner: 'miner', destTxHash: '0xnot-ours' }],
    ['reassigned', { status: 'Active', miner: 'another', destTxHash: '' }],
  ] as const)('goes to Recovery when the swap is %s', (_, view) => {
    const actor = drive(...toMarking, unknown, { type: 'SWAP_READ', view });
    expect(state(actor)).toBe('Recovery');
    expect(actor.getSnapshot().context.reason).toMatch(/funds sent but/);
  });

  it('stays reconciling when the read fails', () => {
    const actor = drive(...toMarking, unknown, { type: 'READ_FAILED', error: 'ws closed' });
    expect(state(actor)).toBe('Reconciling');
    expect(actor.getSnapshot().context.lastError).toBe('ws closed');
  });
});

describe('swapFulfillment: final states and snapshots', () => {
  it('every persisted snapshot survives a JSON round trip and restores to the same state', () => {
    const paths: SwapEvent[][] = [
      [],
      toSending,
      [...toSending, SIGNED],
      toMarking,
      [...toMarking, { type: 'MARK_OK' }],
    ];
    for (const events of paths) {
      const actor = drive(...events);
      const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      const restored = restoreActor(swapFulfillment, persisted);
      expect(restored.getSnapshot().value).toBe(actor.getSnapshot().value);
      expect(restored.getSnapshot().context).toEqual(actor.getSnapshot().context);
      expect(JSON.stringify(restored.getPersistedSnapshot())).toBe(JSON.stringify(actor.getPersistedSnapshot()));
    }
  });

  it('a restored machine continues exactly where it stopped', () => {
    const before = drive(...toSending, SIGNED);
    const restored = restoreActor(swapFulfillment, JSON.parse(JSON.stringify(before.getPersistedSnapshot())));
    restored.send({ type: 'TRANSFER_SIGNED', raw: '0xsecond', hash: '0xsecond' });
    expect(restored.getSnapshot().context.transfer?.hash).toBe('0xhash');
  });

  it('final states ignore every event', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const actor = drive(...toMarking, { type: 'MARK_OK' });
    actor.send({ type: 'MARK_FAILED', error: 'SwapNotFound', height: 1 });
    actor.send({ type: 'SWAP_GONE' });
    expect(state(actor)).toBe('Fulfilled');
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });
});

afterAll(() => {
  expect(recorder.missing(swapFulfillment)).toEqual([]);
});
