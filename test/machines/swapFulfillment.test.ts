/**
 * Every state and transition of swapFulfillment version 2, for both contract flavours: the
 * ink! contract (blocks, dest_amount, mark after inclusion) and the Solana swap manager (unix
 * seconds, 99% payout, pinned sender, mark point by destination chain). One file, over 300
 * lines: the check at the end, that every transition of the definition was taken, needs every
 * test of the machine in one process.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import {
  MAX_MARK_BACKOFF_STEPS,
  markPointOf,
  metaOfState,
  requiredPayout,
  swapFulfillment,
  type DepositRecord,
  type SwapEvent,
  type SwapTerms,
} from '../../machines/index.ts';
import { restoreActor } from '../support/restoreActor.ts';
import { TransitionRecorder } from '../support/transitionCoverage.ts';

const recorder = new TransitionRecorder();

const INK: SwapTerms = {
  contract: 'ink',
  swapId: '7',
  miner: 'miner',
  sourceChain: 'btc',
  destChain: 'tao',
  sourceAmount: '100000',
  destAmount: '2500000000',
  collateralAmount: '2500000000',
  hub: 'tao',
  userDestAddress: '5User',
  senderPin: '',
  sourceTxHash: 'btc-tx',
  userSourceAddress: 'bc1quser',
  minerSourceAddress: 'bc1qminer',
  sourceTxBlock: 7,
  initiatedAt: 100,
  timeoutAt: 130,
  maxExtendAt: null,
};
const T0 = 1_780_000_000;
const SOL: SwapTerms = {
  contract: 'solana',
  swapId: 'ab'.repeat(32),
  miner: 'MinerKey',
  sourceChain: 'btc',
  destChain: 'sol',
  sourceAmount: '100000',
  destAmount: '2000000199',
  collateralAmount: '1000000000',
  hub: 'sol',
  userDestAddress: 'UserKey',
  senderPin: 'MinerKey',
  sourceTxHash: 'btc-tx',
  userSourceAddress: 'bc1quser',
  minerSourceAddress: 'bc1qminer',
  sourceTxBlock: 7,
  initiatedAt: T0,
  timeoutAt: T0 + 600,
  maxExtendAt: T0 + 9_000,
};

function start(terms: Partial<SwapTerms> = {}, cushion?: number, base: SwapTerms = INK) {
  const t = { ...base, ...terms };
  return createActor(swapFulfillment, {
    input: { terms: t, now: t.initiatedAt, ...(cushion === undefined ? {} : { cushion }) },
    inspect: recorder.inspect,
  }).start();
}
const drive = (...events: SwapEvent[]) => driveOn(INK, ...events);
function driveOn(base: SwapTerms, ...events: SwapEvent[]) {
  const actor = start({}, undefined, base);
  for (const event of events) actor.send(event);
  return actor;
}

const SIGNED: SwapEvent = { type: 'TRANSFER_SIGNED', raw: '0xraw', hash: '0xhash' };
const DEPOSIT: DepositRecord = {
  verdict: 'verified',
  reason: null,
  txHash: 'btc-tx',
  block: 7,
  amountSeen: '100000',
  senderSeen: 'bc1quser',
  confirmations: 2,
  required: 2,
};
const VERIFIED: SwapEvent = { type: 'DEPOSIT_VERIFIED', deposit: DEPOSIT };
const toSending: SwapEvent[] = [{ type: 'CLOCK', now: 101 }, VERIFIED];
const toMarking: SwapEvent[] = [...toSending, SIGNED, { type: 'TRANSFER_INCLUDED', block: 9000 }];
const state = (actor: ReturnType<typeof start>) => actor.getSnapshot().value;
const ctx = (actor: ReturnType<typeof start>) => actor.getSnapshot().context;

describe('Pending: what is never paid', () => {
  it.each([
    [{ destAmount: '0' }, /payout for dest_amount 0 is 0/],
    [{ destAmount: '-5' }, /dest_amount '-5'/],
    [{ destAmount: '1.5' }, /dest_amount '1.5'/],
    [{ sourceAmount: '0' }, /source_amount/],
    [{ userDestAddress: ' ' }, /user_dest_address is empty/],
    [{ destChain: '' }, /dest_chain is empty/],
    [{ timeoutAt: 100 }, /timeout 100 is not after initiation 100/],
    [{ contract: 'evm' as never }, /unknown swap contract 'evm'/],
  ])('ink!: rejects %o at once, with nothing sent', (terms, reason) => {
    const actor = start(terms);
    expect(state(actor)).toBe('Rejected');
    expect(actor.getSnapshot().status).toBe('done');
    expect(ctx(actor).reason).toMatch(reason);
    expect(ctx(actor).transfer).toBeNull();
  });

  it.each([
    [{ destAmount: '0' }, /payout for dest_amount 0 is 0: nothing to pay/],
    [{ destChain: 'doge' }, /destination chain 'doge' is not one the swap manager's validators verify/],
    [{ hub: 'btc' }, /hub 'btc' is not a backing/],
    [{ swapId: '7' }, /swap key '7' is not 64 hex digits/],
    [{ senderPin: 'UserKey' }, /pinned sender UserKey is the recipient/],
    [{ maxExtendAt: T0 }, /max_extend_at/],
  ])('Solana: rejects %o at once', (terms, reason) => {
    const actor = start(terms, undefined, SOL);
    expect(state(actor)).toBe('Rejected');
    expect(ctx(actor).reason).toMatch(reason);
  });

  it('is rejected by the host for what only adapters judge (an address, a pin whose key we lack)', () => {
    const actor = drive({
      type: 'REJECT',
      reason: 'the pinned sender X is not an address this daemon holds the key for',
    });
    expect(state(actor)).toBe('Rejected');
    expect(ctx(actor).reason).toContain('pinned sender');
  });

  it('expires when the swap leaves the contract before any send', () => {
    expect(state(drive({ type: 'SWAP_GONE' }))).toBe('Expired');
  });

  it('ink!: starts while `cushion` blocks remain (boundary: now + cushion == deadline), in blocks', () => {
    const actor = drive({ type: 'CLOCK', now: 127 }, VERIFIED);
    expect(state(actor)).toBe('Sending');
    expect(ctx(actor)).toMatchObject({ now: 127, cushion: 3, deadline: 130 });
    expect(metaOfState(actor.getSnapshot()).effect).toBe('sendTransfer');
    const late = drive({ type: 'CLOCK', now: 128 });
    expect(state(late)).toBe('Expired');
    expect(ctx(late).reason).toMatch(/cushion reached before any send: now 128 \+ 3 > deadline 130/);
  });

  it('Solana: the cushion is 216 s of the cluster clock by default', () => {
    expect(ctx(start({}, undefined, SOL)).cushion).toBe(216);
    expect(state(driveOn(SOL, { type: 'CLOCK', now: T0 + 384 }, VERIFIED))).toBe('Sending');
    expect(state(driveOn(SOL, { type: 'CLOCK', now: T0 + 385 }))).toBe('Expired');
  });

  it('honours a configured cushion', () => {
    const actor = start({}, 10);
    actor.send({ type: 'CLOCK', now: 121 });
    expect(state(actor)).toBe('Expired');
  });

  it('uses a deadline the contract moved (a validator extended an Active swap)', () => {
    const actor = driveOn(SOL, { type: 'DEADLINE', at: T0 + 1_200 }, { type: 'CLOCK', now: T0 + 900 }, VERIFIED);
    expect(state(actor)).toBe('Sending');
    expect(ctx(actor).deadline).toBe(T0 + 1_200);
  });
});

describe('Verifying: the deposit before anything is signed', () => {
  const verifying = () => drive({ type: 'CLOCK', now: 101 });

  it('asks for the deposit first, and records the verdict and evidence before Sending', () => {
    const actor = verifying();
    expect(state(actor)).toBe('Verifying');
    expect(metaOfState(actor.getSnapshot()).effect).toBe('verifyDeposit');
    expect(ctx(actor).deposit).toBeNull();
    actor.send(VERIFIED);
    expect(state(actor)).toBe('Sending');
    expect(ctx(actor).deposit).toEqual(DEPOSIT);
    expect(ctx(actor).transfer).toBeNull();
  });

  it('a wrong deposit is Rejected with what was wrong, the evidence kept, nothing signed', () => {
    const wrong: DepositRecord = { ...DEPOSIT, verdict: 'wrong', reason: 'amount 99999 < 100000', amountSeen: '99999' };
    const actor = drive({ type: 'CLOCK', now: 101 }, { type: 'DEPOSIT_WRONG', deposit: wrong });
    expect(state(actor)).toBe('Rejected');
    expect(ctx(actor).reason).toBe("the user's deposit is wrong: amount 99999 < 100000; nothing sent");
    expect(ctx(actor).deposit).toEqual(wrong);
    expect(ctx(actor).transfer).toBeNull();
  });

  it('a deposit that confirms too late: the cushion expires the swap while it waits', () => {
    const actor = verifying();
    actor.send({ type: 'CLOCK', now: 127 });
    expect(state(actor)).toBe('Verifying');
    actor.send({ type: 'CLOCK', now: 128 });
    expect(state(actor)).toBe('Expired');
    expect(ctx(actor).reason).toMatch(/cushion reached before any send/);
  });

  it('follows a moved deadline; expires when the swap leaves; a host refusal rejects', () => {
    const moved = verifying();
    moved.send({ type: 'DEADLINE', at: 200 });
    moved.send({ type: 'CLOCK', now: 150 });
    expect(state(moved)).toBe('Verifying');
    expect(ctx(moved).deadline).toBe(200);
    const gone = verifying();
    gone.send({ type: 'SWAP_GONE' });
    expect(state(gone)).toBe('Expired');
    const refused = verifying();
    refused.send({ type: 'REJECT', reason: 'no sender' });
    expect(state(refused)).toBe('Rejected');
    expect(ctx(refused).reason).toBe('no sender');
  });

  it('ignores a signature or a transfer report while verifying (nothing may be signed yet)', () => {
    const actor = verifying();
    actor.send(SIGNED);
    actor.send({ type: 'TRANSFER_INCLUDED', block: 5 });
    expect(state(actor)).toBe('Verifying');
    expect(ctx(actor).transfer).toBeNull();
  });
});

describe('Sending', () => {
  it('expires when the cushion is reached before signing; a signed transfer goes on whatever the time', () => {
    expect(state(drive(...toSending, { type: 'CLOCK', now: 128 }))).toBe('Expired');
    const actor = drive(...toSending, SIGNED, { type: 'CLOCK', now: 500 }, { type: 'DEADLINE', at: 140 });
    expect(state(actor)).toBe('Sending');
    expect(ctx(actor).deadline).toBe(140);
    actor.send({ type: 'TRANSFER_INCLUDED', block: 1 });
    expect(state(actor)).toBe('Marking');
  });

  it('expires when the swap leaves before signing, but not after', () => {
    expect(state(drive(...toSending, { type: 'SWAP_GONE' }))).toBe('Expired');
    expect(state(drive(...toSending, SIGNED, { type: 'SWAP_GONE' }))).toBe('Sending');
  });

  it('is rejected while nothing is signed (a destination that refuses), never after', () => {
    const refused = drive(...toSending, { type: 'REJECT', reason: 'token paused' });
    expect(state(refused)).toBe('Rejected');
    expect(ctx(refused).reason).toBe('token paused');
    expect(state(drive(...toSending, SIGNED, { type: 'REJECT', reason: 'token paused' }))).toBe('Sending');
  });

  it("records the signed transfer once, with the decision time and the sender's anchor block", () => {
    const actor = drive(...toSending, { ...SIGNED, anchorBlock: 55 } as SwapEvent, {
      type: 'TRANSFER_SIGNED',
      raw: '0xother',
      hash: '0xother',
    });
    expect(ctx(actor).transfer).toEqual({ raw: '0xraw', hash: '0xhash', decidedAt: 101, anchorBlock: 55 });
  });

  it('takes no inclusion before anything is signed', () => {
    expect(state(drive(...toSending, { type: 'TRANSFER_INCLUDED', block: 9 }))).toBe('Sending');
  });

  it('ink!: marks only after inclusion, with the block', () => {
    const actor = drive(...toSending, SIGNED, { type: 'TRANSFER_BROADCAST' }, { type: 'TRANSFER_LANDED', block: 8 });
    expect(state(actor)).toBe('Sending');
    actor.send({ type: 'TRANSFER_INCLUDED', block: 9000 });
    expect(state(actor)).toBe('Marking');
    expect(ctx(actor)).toMatchObject({ transferBlock: 9000, transferIncluded: true });
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
    expect(ctx(actor).reason).toBe('signed transfer can never land: nonce 4 already used');
    expect(metaOfState(actor.getSnapshot())).toMatchObject({ effect: 'recordRecovery', record: 'stuck-funds' });
  });
});

describe('Solana: when to mark, by destination chain', () => {
  const at = { type: 'CLOCK', now: T0 + 10 } as const;
  it('the mark point table', () => {
    expect(markPointOf('solana', 'sol')).toBe('landed');
    expect(markPointOf('solana', 'solusdc')).toBe('landed');
    expect(markPointOf('solana', 'tao')).toBe('landed');
    for (const chain of ['btc', 'eth', 'bnb', 'arbusdc', 'paxg'])
      expect(markPointOf('solana', chain)).toBe('broadcast');
    expect(markPointOf('solana', 'doge')).toBeNull();
    expect(markPointOf('ink', 'anything')).toBe('included');
  });

  it('BTC and EVM assets: right after the network accepts the transfer, with block 0; then follows it to inclusion', () => {
    const actor = driveOn(
      { ...SOL, destChain: 'btc', userDestAddress: 'bc1quser', senderPin: 'bc1qminer' },
      at,
      VERIFIED,
      SIGNED,
      { type: 'TRANSFER_BROADCAST' },
    );
    expect(state(actor)).toBe('Marking');
    expect(ctx(actor)).toMatchObject({ transferBlock: 0, transferIncluded: false });
    actor.send({ type: 'MARK_OK' });
    expect(state(actor)).toBe('Following');
    expect(metaOfState(actor.getSnapshot()).effect).toBe('followTransfer');
    actor.send({ type: 'TRANSFER_INCLUDED', block: 850_001 });
    expect(state(actor)).toBe('Fulfilled');
    expect(ctx(actor).transferBlock).toBe(0);
  });

  it('a broadcast chain first seen landed still marks with block 0', () => {
    const actor = driveOn({ ...SOL, destChain: 'eth' }, at, VERIFIED, SIGNED, {
      type: 'TRANSFER_LANDED',
      block: 21_000_000,
    });
    expect(ctx(actor)).toMatchObject({ transferBlock: 0 });
    expect(state(actor)).toBe('Marking');
  });

  it('SOL: after confirmed, with the slot; not on broadcast', () => {
    const actor = driveOn(SOL, at, VERIFIED, SIGNED, { type: 'TRANSFER_BROADCAST' });
    expect(state(actor)).toBe('Sending');
    actor.send({ type: 'TRANSFER_LANDED', block: 312_000_000 });
    expect(state(actor)).toBe('Marking');
    expect(ctx(actor).transferBlock).toBe(312_000_000);
    actor.send({ type: 'MARK_OK' });
    actor.send({ type: 'TRANSFER_INCLUDED', block: 312_000_000 });
    expect(state(actor)).toBe('Fulfilled');
  });

  it('a transfer proven never to land after the mark: Recovery saying no funds left and a slash is expected', () => {
    const actor = driveOn(
      { ...SOL, destChain: 'btc' },
      at,
      VERIFIED,
      SIGNED,
      { type: 'TRANSFER_BROADCAST' },
      { type: 'MARK_OK' },
      { type: 'DEADLINE', at: T0 + 1_800 },
    );
    actor.send({ type: 'TRANSFER_INVALID', reason: 'an input was spent by another confirmed transaction' });
    expect(state(actor)).toBe('Recovery');
    expect(ctx(actor).reason).toMatch(
      /marked fulfilled with 0xhash, but that transfer can never land .*no funds left the wallet.*slash is expected/,
    );
    expect(ctx(actor).deadline).toBe(T0 + 1_800);
  });

  it('the payout rule: to_amount - floor(to_amount / 100), exact in bigint; dest_amount for ink!', () => {
    expect(requiredPayout('solana', 199n)).toBe(198n);
    expect(requiredPayout('solana', 2_000_000_199n)).toBe(1_980_000_198n);
    expect(requiredPayout('solana', 100n)).toBe(99n);
    expect(requiredPayout('solana', 99n)).toBe(99n - 0n);
    expect(requiredPayout('solana', (1n << 128n) - 1n)).toBe((1n << 128n) - 1n - ((1n << 128n) - 1n) / 100n);
    expect(requiredPayout('ink', 2_500_000_000n)).toBe(2_500_000_000n);
  });
});

describe('Marking and Sent', () => {
  it('is Fulfilled when mark_fulfilled succeeds on an included transfer', () => {
    const actor = drive(...toMarking, { type: 'DEADLINE', at: 133 }, { type: 'MARK_OK' });
    expect(state(actor)).toBe('Fulfilled');
    expect(actor.getSnapshot().status).toBe('done');
    expect(ctx(actor).deadline).toBe(133);
  });

  it("backs off on a transient failure, in the contract's unit, and retries when the clock comes", () => {
    const actor = drive(
      ...toMarking,
      { type: 'MARK_FAILED', error: 'RpcFailure', now: 110 },
      { type: 'DEADLINE', at: 150 },
    );
    expect(state(actor)).toBe('Sent');
    expect(ctx(actor)).toMatchObject({ markAttempts: 1, nextMarkAt: 111, lastError: 'RpcFailure', deadline: 150 });
    actor.send({ type: 'CLOCK', now: 110 });
    expect(state(actor)).toBe('Sent');
    actor.send({ type: 'CLOCK', now: 111 });
    expect(state(actor)).toBe('Marking');
    actor.send({ type: 'MARK_FAILED', error: 'InsufficientBalance', now: 111 });
    expect(ctx(actor).nextMarkAt).toBe(113);
    const sol = driveOn(
      SOL,
      { type: 'CLOCK', now: T0 },
      VERIFIED,
      SIGNED,
      { type: 'TRANSFER_LANDED', block: 5 },
      { type: 'MARK_FAILED', error: 'BlockhashExpired', now: T0 + 30 },
    );
    expect(ctx(sol).nextMarkAt).toBe(T0 + 30 + 12);
  });

  it('caps the backoff', () => {
    const actor = drive(...toMarking);
    for (let i = 0; i < 8; i += 1) {
      actor.send({ type: 'MARK_FAILED', error: 'Timeout', now: 1000 });
      actor.send({ type: 'CLOCK', now: 5000 });
    }
    actor.send({ type: 'MARK_FAILED', error: 'Timeout', now: 1000 });
    expect(ctx(actor).nextMarkAt).toBe(1000 + MAX_MARK_BACKOFF_STEPS);
  });

  it('reads the swap back when the outcome is unknown, and before believing a refusal', () => {
    expect(ctx(drive(...toMarking, { type: 'MARK_FAILED', error: 'OutcomeUnknown', now: 110 })).refusedWith).toBeNull();
    const refused = drive(...toMarking, { type: 'MARK_FAILED', error: 'InvalidStatus', now: 110 });
    expect(state(refused)).toBe('Reconciling');
    expect(ctx(refused).refusedWith).toBe('InvalidStatus');
  });

  it("Solana: a terminal refusal (the swap is another miner's) is Recovery at once, no read back", () => {
    const actor = driveOn(
      SOL,
      { type: 'CLOCK', now: T0 },
      VERIFIED,
      SIGNED,
      { type: 'TRANSFER_LANDED', block: 5 },
      { type: 'MARK_FAILED', error: 'ConstraintHasOne', now: T0 + 3 },
    );
    expect(state(actor)).toBe('Recovery');
    expect(ctx(actor).reason).toMatch(/refused for good \(ConstraintHasOne\): funds sent with 0xhash/);
  });

  it('Solana: 3012 after our mark is read back (the swap may have closed after our mark landed)', () => {
    const actor = driveOn(
      SOL,
      { type: 'CLOCK', now: T0 },
      VERIFIED,
      SIGNED,
      { type: 'TRANSFER_LANDED', block: 5 },
      { type: 'MARK_FAILED', error: 'AccountNotInitialized', now: T0 + 3 },
    );
    expect(state(actor)).toBe('Reconciling');
    actor.send({
      type: 'SWAP_READ',
      view: { status: 'Completed', miner: 'MinerKey', destTxHash: '0xhash', deadline: null },
    });
    expect(state(actor)).toBe('Following');
  });

  it('reconciles when the swap leaves the contract while unmarked', () => {
    expect(
      state(drive(...toMarking, { type: 'MARK_FAILED', error: 'RpcFailure', now: 110 }, { type: 'SWAP_GONE' })),
    ).toBe('Reconciling');
  });
});

describe('Reconciling', () => {
  const unknown: SwapEvent = { type: 'MARK_FAILED', error: 'OutcomeUnknown', now: 110 };
  const refused: SwapEvent = { type: 'MARK_FAILED', error: 'InvalidStatus', now: 110 };
  const view = (status: string, destTxHash = '', miner = 'miner', deadline: number | null = null) =>
    ({ status, miner, destTxHash, deadline }) as never;

  it.each(['Fulfilled', 'Completed'])(
    'is Fulfilled when the swap is %s with our transfer hash, taking the deadline read',
    (status) => {
      const actor = drive(...toMarking, refused, { type: 'SWAP_READ', view: view(status, '0xhash', 'miner', 160) });
      expect(state(actor)).toBe('Fulfilled');
    },
  );

  it('marks again when the swap is still Active for us after an unknown outcome', () => {
    const actor = drive(...toMarking, unknown, { type: 'SWAP_READ', view: view('Active', '', 'miner', 145) });
    expect(state(actor)).toBe('Marking');
    expect(ctx(actor).deadline).toBe(145);
  });

  it('does not retry forever a refusal the chain confirms', () => {
    const actor = drive(...toMarking, refused, { type: 'SWAP_READ', view: view('Active') });
    expect(state(actor)).toBe('Recovery');
    expect(ctx(actor).reason).toMatch(/refused for good \(InvalidStatus\)/);
  });

  it.each([
    ['gone, no event saying how', null, /left the contract while unmarked, and no event says how it ended/],
    ['timed out', view('TimedOut'), /TimedOut/],
    ['cancelled', view('Cancelled'), /Cancelled/],
    ['fulfilled by someone else', view('Fulfilled', '0xnot-ours'), /0xnot-ours/],
    ["another miner's", view('Active', '', 'another'), /for miner another/],
  ] as const)('goes to Recovery when the swap is %s', (_, v, reason) => {
    const actor = drive(...toMarking, unknown, { type: 'SWAP_READ', view: v });
    expect(state(actor)).toBe('Recovery');
    expect(ctx(actor).reason).toMatch(/funds sent but/);
    expect(ctx(actor).reason).toMatch(reason);
  });

  it('stays reconciling when the read fails', () => {
    const actor = drive(...toMarking, unknown, { type: 'READ_FAILED', error: 'ws closed' });
    expect(state(actor)).toBe('Reconciling');
    expect(ctx(actor).lastError).toBe('ws closed');
  });
});

describe('final states and snapshots', () => {
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

  it('a restored machine continues exactly where it stopped: a transfer is never replaced', () => {
    const before = drive(...toSending, SIGNED);
    const restored = restoreActor(swapFulfillment, JSON.parse(JSON.stringify(before.getPersistedSnapshot())));
    restored.send({ type: 'TRANSFER_SIGNED', raw: '0xsecond', hash: '0xsecond' });
    expect(restored.getSnapshot().context.transfer?.hash).toBe('0xhash');
  });

  it('final states ignore every event', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const actor = drive(...toMarking, { type: 'MARK_OK' });
    actor.send({ type: 'MARK_FAILED', error: 'SwapNotFound', now: 1 });
    actor.send({ type: 'SWAP_GONE' });
    expect(state(actor)).toBe('Fulfilled');
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });
});

afterAll(() => {
  expect(recorder.missing(swapFulfillment)).toEqual([]);
});
