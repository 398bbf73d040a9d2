/** The simulated chains behave like the real ones in every way that decides a loss. */
import { describe, expect, it } from 'vitest';
import { addJob, addSwap, advanceBlock, EXTENSION_BLOCKS } from '../../sim/advance.ts';
import { SimEscrow } from '../../sim/chains/simEscrow.ts';
import { SimSwapContract } from '../../sim/chains/simSwapContract.ts';
import { SimTransferSender } from '../../sim/chains/simTransferSender.ts';
import { reorgNewestBlock, takeNonce, OTHER_MINER } from '../../sim/worldFaults.ts';
import { BLOCK_SECONDS, minerAddressOn, World } from '../../sim/world.ts';
import { BatchReverted, NeverLands, type SignedBytes } from '../../src/host/ports.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';

const escrow = (world: World) => new SimEscrow(world);
const newWorld = () => World.create(5, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
/** A signed transfer as the swap machine holds it. */
const ref = (signed: SignedBytes) => ({ ...signed, decidedAt: 0, anchorBlock: null });

describe('simulated escrow', () => {
  function withLocks(n: number, lockSeconds = 3_600) {
    const world = newWorld();
    const ids = Array.from({ length: n }, () => addJob(world, { lockAmount: 100n, lockSeconds }));
    const escrow = new SimEscrow(world);
    const terms = ids.map((id) => world.state.compute.jobs[id]!.terms);
    return { world, escrow, terms };
  }

  it('claims a batch in one transaction, one Claimed event per job', async () => {
    const { world, escrow, terms } = withLocks(3);
    const receipt = await escrow.claimLocks(terms.map((t) => ({ terms: t, amount: 60n })));
    // Claimed states the gross; the fee (0.1% here, rounded down: 0 of 60) is the escrow's.
    expect(receipt.events).toEqual(terms.map((t) => ({ kind: 'Claimed', jobId: t.jobId, amount: 60n, fee: 0n })));
    expect(receipt.withdrawn).toEqual([{ token: world.state.escrow.token, amount: 180n }]);
    expect(world.state.escrow.events.filter((e) => e.kind === 'Claimed').map((e) => e.txHash)).toEqual(
      terms.map(() => receipt.txHash),
    );
    expect(world.state.escrow.locks).toEqual([]);
  });

  it('reverts the whole batch for one already-claimed lock, changing nothing; the dry run says so first', async () => {
    const { world, escrow, terms } = withLocks(3);
    await escrow.claimLocks([{ terms: terms[1]!, amount: 10n }]);
    const before = JSON.stringify(world.state.escrow);
    const batch = terms.map((t) => ({ terms: t, amount: 10n }));
    expect(await escrow.checkClaims(batch)).toBe('Lock not found');
    await expect(escrow.claimLocks(batch)).rejects.toEqual(new BatchReverted('Lock not found'));
    expect(JSON.stringify(world.state.escrow)).toBe(before);
    expect(await escrow.checkClaims([batch[0]!, batch[2]!])).toBeNull();
  });

  it('reverts a claim above the locked amount, and a batch naming a lock twice', async () => {
    const { escrow, terms } = withLocks(2);
    await expect(escrow.claimLocks([{ terms: terms[0]!, amount: 101n }])).rejects.toThrow('Amount too high');
    await expect(
      escrow.claimLocks([
        { terms: terms[0]!, amount: 1n },
        { terms: terms[0]!, amount: 1n },
      ]),
    ).rejects.toThrow('Lock not found');
    await expect(escrow.claimLocks([])).rejects.toThrow('Invalid input');
  });

  it('silently cancels a lock that has expired when the claim is mined: no revert, no Claimed', async () => {
    const world = newWorld();
    const live = addJob(world, { lockAmount: 100n, lockSeconds: 3_600 });
    // Expires 5 s from now: still live for the caller, expired in the block the claim lands in.
    const late = addJob(world, { lockAmount: 100n, lockSeconds: 5 });
    const escrow = new SimEscrow(world);
    const receipt = await escrow.claimLocks(
      [live, late].map((id) => ({ terms: world.state.compute.jobs[id]!.terms, amount: 50n })),
    );
    expect(receipt.events.map((e) => [e.jobId, e.kind, e.amount])).toEqual([
      [live, 'Claimed', 50n],
      [late, 'Canceled', 100n],
    ]);
  });

  it('lets anyone cancel an expired lock, and only an expired one', async () => {
    const { world, escrow, terms } = withLocks(1, BLOCK_SECONDS * 2);
    expect((await escrow.cancelExpiredLocks(terms, terms[0]!.payer)).events).toEqual([]);
    world.state.escrow.time += BLOCK_SECONDS * 2;
    const receipt = await escrow.cancelExpiredLocks(terms, terms[0]!.payer);
    expect(receipt.events.map((e) => e.kind)).toEqual(['Canceled']);
    expect(world.state.escrow.events.at(-1)!.by).toBe(terms[0]!.payer);
  });

  it('keeps locks per payee: getLocks needs a payee and ORs token and payer; a claim matches all four', async () => {
    const { world, escrow, terms } = withLocks(2);
    const t = terms[0]!;
    const zero = `0x${'00'.repeat(20)}`;
    expect(() => escrow.getLocks(zero, zero, zero)).toThrow('Invalid payee');
    // Token OR payer: a token nobody uses still returns payer 0's lock; a zero filter returns all of the payee's.
    expect(escrow.getLocks(`0x${'11'.repeat(20)}`, t.payer, t.payee).map((l) => l.jobId)).toEqual([t.jobId]);
    expect(escrow.getLocks(zero, t.payer, t.payee)).toHaveLength(2);
    expect(escrow.getLocks(zero, zero, `0x${'22'.repeat(20)}`)).toEqual([]);
    const strangerPayee = { ...t, payee: `0x${'22'.repeat(20)}` };
    const otherToken = { ...t, token: `0x${'33'.repeat(20)}` };
    expect(await escrow.checkClaims([{ terms: strangerPayee, amount: 1n }])).toBe('Lock not found');
    expect(await escrow.checkClaims([{ terms: otherToken, amount: 1n }])).toBe('Lock not found');
    expect(world.state.escrow.locks).toHaveLength(2);
  });

  it('checks expiry before the amount: an expired lock asked too much is cancelled, not a revert', async () => {
    const world = newWorld();
    const late = addJob(world, { lockAmount: 100n, lockSeconds: 5 });
    const escrow = new SimEscrow(world);
    const receipt = await escrow.claimLocks([{ terms: world.state.compute.jobs[late]!.terms, amount: 1_000n }]);
    expect(receipt.events.map((e) => e.kind)).toEqual(['Canceled']);
  });

  it('takes the fee from the gross; claimLocks keeps the net in the escrow, the withdraw variant pays out the whole balance', async () => {
    const world = newWorld();
    world.state.escrow.funds!.feeRate = (2n * 10n ** 15n).toString(); // 0.2%
    const ids = [addJob(world, { lockAmount: 10n ** 18n }), addJob(world, { lockAmount: 10n ** 18n })];
    const [first, second] = ids.map((id) => world.state.compute.jobs[id]!.terms);
    const payee = first!.payee;
    const keep = await new SimEscrow(world, 'claimLocks').claimLocks([{ terms: first!, amount: 10n ** 18n }]);
    expect(keep.events[0]).toMatchObject({ kind: 'Claimed', amount: 10n ** 18n, fee: 2n * 10n ** 15n });
    expect(keep.withdrawn).toEqual([]);
    expect(world.state.escrow.funds!.available[payee]).toBe((10n ** 18n - 2n * 10n ** 15n).toString());
    const out = await new SimEscrow(world).claimLocks([{ terms: second!, amount: 5n * 10n ** 17n }]);
    expect(out.withdrawn).toEqual([
      { token: world.state.escrow.token, amount: 10n ** 18n - 2n * 10n ** 15n + 5n * 10n ** 17n - 10n ** 15n },
    ]);
    expect(world.state.escrow.funds!.available[payee]).toBe('0');
    expect(world.state.escrow.funds!.collected).toBe((3n * 10n ** 15n).toString());
    expect((await escrow(world).readSettlements([second!]))[0]).toEqual({
      kind: 'claimed',
      txHash: out.txHash,
      amount: 5n * 10n ** 17n,
      fee: 10n ** 15n,
    });
  });

  it('matches a lock on every field, not on any one (getLocks filters with OR)', async () => {
    const { escrow, terms } = withLocks(1);
    const other = { ...terms[0]!, payer: `0x${'99'.repeat(20)}` };
    expect((await escrow.readSettlements([other, terms[0]!])).map((s) => s.kind)).toEqual(['absent', 'locked']);
  });
});

describe('simulated allways contract', () => {
  it('checks mark_fulfilled in the contract order: SwapNotFound, NotAssignedMiner, InvalidStatus, InvalidAmount', async () => {
    const world = newWorld();
    const contract = new SimSwapContract(world);
    const id = addSwap(world, { window: 30 });
    const mark = (destAmount: bigint, swapId = id) =>
      contract.markFulfilled({ swapId, destTxHash: '0xh', destTxBlock: 1, destAmount });
    expect(await mark(5n, '999')).toEqual({ ok: false, error: 'SwapNotFound' });
    expect(await mark(0n)).toEqual({ ok: false, error: 'InvalidAmount' });
    expect(await mark(5n)).toEqual({ ok: true });
    expect(await mark(0n)).toEqual({ ok: false, error: 'InvalidStatus' });
    world.state.subtensor.swaps[id]!.miner = OTHER_MINER;
    expect(await mark(0n)).toEqual({ ok: false, error: 'NotAssignedMiner' });
  });

  it('removes Completed and TimedOut swaps from storage; get_swap answers from events', async () => {
    const world = newWorld();
    const contract = new SimSwapContract(world);
    const timesOut = addSwap(world, { window: 2 });
    advanceBlock(world);
    advanceBlock(world);
    expect(world.state.subtensor.swaps[timesOut]).toBeUndefined();
    expect(await contract.listAssigned()).toEqual([]);
    expect(await contract.getSwap(timesOut)).toEqual({
      status: 'TimedOut',
      miner: world.state.miner,
      destTxHash: '',
      deadline: null,
    });
    expect(await contract.getSwap('404')).toBeNull();
  });

  it('extends the timeout of a Fulfilled swap (twice at most), never of an Active one', async () => {
    const world = newWorld();
    const contract = new SimSwapContract(world);
    const active = addSwap(world, { window: 5 });
    const fulfilled = addSwap(world, { window: 5 });
    await contract.markFulfilled({ swapId: fulfilled, destTxHash: '0xunconfirmed', destTxBlock: 1, destAmount: 1n });
    for (let i = 0; i < 5; i += 1) advanceBlock(world);
    expect(world.state.subtensor.swaps[active]).toBeUndefined();
    expect(world.state.subtensor.swaps[fulfilled]!.timeoutBlock).toBe(1 + 5 + EXTENSION_BLOCKS);
    for (let i = 0; i < 2 * EXTENSION_BLOCKS; i += 1) advanceBlock(world);
    expect(world.state.subtensor.swaps[fulfilled]).toBeUndefined();
    expect(world.state.subtensor.events.filter((e) => e.swapId === fulfilled).map((e) => e.kind)).toEqual([
      'Initiated',
      'Fulfilled',
      'TimedOut',
    ]);
  });
});

describe('simulated destination ledger', () => {
  const request = (swapId: string, amount = 10n) => ({ swapId, chain: 'eth', to: `0x${'22'.repeat(20)}`, amount });

  it('includes by nonce, waits for confirmations, and takes a re-broadcast of the same bytes as harmless', async () => {
    const world = newWorld();
    const sender = new SimTransferSender(world, 'eth');
    const a = await sender.sign(request('1'));
    await sender.broadcast(a.raw);
    const b = await sender.sign(request('2'));
    expect(JSON.parse(b.raw).nonce).toBe(JSON.parse(a.raw).nonce + 1);
    await sender.broadcast(b.raw);
    await sender.broadcast(a.raw);
    expect(await sender.lookup(ref(a))).toEqual({ kind: 'pending' });
    for (let i = 0; i < 5; i += 1) advanceBlock(world);
    expect((await sender.lookup(ref(a))).kind).toBe('included');
    expect((await sender.lookup(ref(b))).kind).toBe('included');
    expect(Object.keys(world.state.ledgers['eth']!.transfers)).toHaveLength(2);
  });

  it('refuses bytes whose nonce is used, and evicts a pending transfer whose nonce another took', async () => {
    const world = newWorld();
    const sender = new SimTransferSender(world, 'eth');
    const from = minerAddressOn('eth');
    const a = await sender.sign(request('1'));
    await sender.broadcast(a.raw);
    takeNonce(world, 'eth', from, 0);
    advanceBlock(world);
    expect(await sender.lookup(ref(a))).toEqual({ kind: 'unknown' });
    await expect(sender.broadcast(a.raw)).rejects.toBeInstanceOf(NeverLands);
  });

  it('holds the transfers of frozen funds until they thaw', async () => {
    const world = newWorld();
    const sender = new SimTransferSender(world, 'eth');
    const ledger = world.state.ledgers['eth']!;
    ledger.frozenUntil[minerAddressOn('eth')] = ledger.height + 6;
    const a = await sender.sign(request('1'));
    await sender.broadcast(a.raw);
    for (let i = 0; i < 4; i += 1) advanceBlock(world);
    expect(ledger.transfers[a.hash]!.includedBlock).toBeNull();
    for (let i = 0; i < 6; i += 1) advanceBlock(world);
    expect(ledger.transfers[a.hash]!.includedBlock).not.toBeNull();
  });

  it('drops the newest block in a reorg, restoring balances and nonces; the same bytes land again', async () => {
    const world = newWorld();
    const sender = new SimTransferSender(world, 'eth');
    const ledger = world.state.ledgers['eth']!;
    const from = minerAddressOn('eth');
    const a = await sender.sign(request('1', 7n));
    await sender.broadcast(a.raw);
    const balanceBefore = ledger.balances[from];
    while (ledger.transfers[a.hash]!.includedBlock === null) advanceBlock(world);
    expect(await sender.lookup(ref(a))).toEqual({ kind: 'landed', block: expect.any(Number) }); // one confirmation of two: in a block, not yet confirmed
    reorgNewestBlock(world, 'eth');
    expect(ledger.transfers[a.hash]).toBeUndefined();
    expect(ledger.balances[from]).toBe(balanceBefore);
    expect(ledger.nonces[from]).toBe(0);
    expect(world.state.observations.reorgedOut).toEqual([a.hash]);
    await sender.broadcast(a.raw);
    for (let i = 0; i < 5; i += 1) advanceBlock(world);
    expect((await sender.lookup(ref(a))).kind).toBe('included');
  });
});

describe('simulated world', () => {
  it('is the same, byte for byte, from the same seed', () => {
    const make = () => {
      const world = World.create(9, { swaps: 10, jobs: 10, marginBlocks: 3 }, PRODUCT_MODULES);
      for (let i = 0; i < 30; i += 1) advanceBlock(world);
      return JSON.stringify([world.state, world.random.state()]);
    };
    expect(make()).toBe(make());
  });
});
