/**
 * The project's Escrow keeps the published contract's revert strings and the semantics that
 * decide whether a claim is lost (docs/DESIGN.md, "The Ocean-style Escrow on EVM chains").
 */
import type { Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEscrow, type EscrowFixture } from '../support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';

let node: EvmNode;
let f: EscrowFixture;
let asPayee: Contract;
let token: string;

beforeAll(async () => {
  node = await startEvmNode();
  f = await deployEscrow(node);
  asPayee = f.escrow.connect(f.payee) as Contract;
  token = await f.token.getAddress();
}, 120_000);

afterAll(async () => {
  await node?.stop();
});

async function revertOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { reason?: string }).reason ?? String(error);
  }
  return 'no revert';
}

describe('the test Escrow contract', () => {
  it('refuses bad locks with the reference revert strings', async () => {
    const payer = f.payers[0]!.address;
    const [existing] = await f.lock(1);
    const create = (jobId: bigint, t: string, p: string, amount: bigint, expiry: bigint) =>
      asPayee.getFunction('createLock').staticCall(jobId, t, p, amount, expiry);
    expect(await revertOf(create(0n, token, payer, 1n, 10n))).toBe('Invalid jobId');
    expect(await revertOf(create(9_001n, token, `0x${'00'.repeat(20)}`, 1n, 10n))).toBe('Invalid payer');
    expect(await revertOf(create(9_001n, `0x${'00'.repeat(20)}`, payer, 1n, 10n))).toBe('Invalid token');
    expect(await revertOf(create(BigInt(existing!.jobId), token, payer, 1n, 10n))).toBe('JobId already exists');
    expect(await revertOf(create(9_001n, token, f.node.wallet(7).address, 1n, 10n))).toBe('No auth found');
    expect(await revertOf(create(9_001n, token, payer, 1n, 10n ** 10n))).toBe('Expiry too high');
    expect(await revertOf(create(9_001n, token, payer, 10n ** 31n, 10n))).toBe('Exceeds maxLockedAmount');
    expect(await revertOf(asPayee.getFunction('claimLocks').staticCall([1n], [token], [], [1n], ['0x']))).toBe(
      'Invalid input',
    );
  });

  it('refuses a lock beyond the payer funds and beyond the lock count', async () => {
    const payer = f.node.wallet(8);
    const asPayer = f.escrow.connect(payer) as Contract;
    await (await (f.token.connect(payer) as Contract).getFunction('approve')(await f.escrow.getAddress(), 10n)).wait();
    await (await (f.token.connect(f.node.wallet(0)) as Contract).getFunction('mint')(payer.address, 10n)).wait();
    await (await asPayer.getFunction('deposit')(token, 10n)).wait();
    await (await asPayer.getFunction('authorize')(token, f.payee.address, 1_000n, 1_000n, 1n)).wait();
    expect(await revertOf(asPayee.getFunction('createLock').staticCall(9_100n, token, payer.address, 11n, 10n))).toBe(
      'Payer does not have enough funds',
    );
    await (await asPayee.getFunction('createLock')(9_100n, token, payer.address, 5n, 10n)).wait();
    expect(await revertOf(asPayee.getFunction('createLock').staticCall(9_101n, token, payer.address, 1n, 10n))).toBe(
      'Exceeds maxLockCounts',
    );
  });

  it('claims at most the locked amount, once; the rest returns to the payer', async () => {
    const [terms] = await f.lock(1, { amount: 100n });
    const claim = (amount: bigint) =>
      asPayee.getFunction('claimLock')(BigInt(terms!.jobId), token, terms!.payer, amount, '0x');
    expect(
      await revertOf(
        asPayee.getFunction('claimLock').staticCall(BigInt(terms!.jobId), token, terms!.payer, 101n, '0x'),
      ),
    ).toBe('Amount too high');
    const before = (await f.escrow.getFunction('getUserFunds')(terms!.payer, token)) as {
      available: bigint;
      locked: bigint;
    };
    await (await claim(60n)).wait();
    const after = (await f.escrow.getFunction('getUserFunds')(terms!.payer, token)) as {
      available: bigint;
      locked: bigint;
    };
    expect(after.available - before.available).toBe(40n);
    expect(before.locked - after.locked).toBe(100n);
    expect(
      await revertOf(asPayee.getFunction('claimLock').staticCall(BigInt(terms!.jobId), token, terms!.payer, 1n, '0x')),
    ).toBe('Lock not found');
  });

  it('returns locks matching any one of getLocks filters (OR, not AND)', async () => {
    const [ofFirst] = await f.lock(1, { payer: 0 });
    const [ofSecond] = await f.lock(1, { payer: 1 });
    const found = (await f.escrow.getFunction('getLocks')(
      `0x${'00'.repeat(20)}`,
      f.payers[0]!.address,
      f.payee.address,
    )) as Array<{ jobId: bigint }>;
    const ids = found.map((l) => l.jobId);
    // Filtered by payer 0, yet payer 1's lock is returned: it matches the payee filter.
    expect(ids).toContain(BigInt(ofFirst!.jobId));
    expect(ids).toContain(BigInt(ofSecond!.jobId));
  });

  it('cancels an expired lock on a claim instead of reverting, and lets anyone cancel expired locks', async () => {
    const [late, other] = await f.lock(2, { amount: 100n, expirySeconds: 20 });
    await node.increaseTime(40);
    const receipt = await (
      await asPayee.getFunction('claimLock')(BigInt(late!.jobId), token, late!.payer, 50n, '0x')
    ).wait();
    const names = receipt!.logs.map(
      (log: { topics: readonly string[]; data: string }) => f.escrow.interface.parseLog(log)?.name,
    );
    expect(names).toEqual(['Canceled']);
    const stranger = f.escrow.connect(f.node.wallet(9)) as Contract;
    const cancel = await (
      await stranger.getFunction('cancelExpiredLock')(BigInt(other!.jobId), token, other!.payer, other!.payee)
    ).wait();
    expect(
      cancel!.logs.map((log: { topics: readonly string[]; data: string }) => f.escrow.interface.parseLog(log)?.name),
    ).toEqual(['Canceled']);
  });

  it('reverts a whole batch for one bad entry', async () => {
    const jobs = await f.lock(3, { amount: 100n });
    const ids = jobs.map((j) => BigInt(j.jobId));
    const reason = await revertOf(
      asPayee.getFunction('claimLocks').staticCall(
        ids,
        jobs.map(() => token),
        jobs.map((j) => j.payer),
        [1n, 101n, 1n],
        jobs.map(() => '0x'),
      ),
    );
    expect(reason).toBe('Amount too high');
    const locks = (await f.escrow.getFunction('getLocks')(token, jobs[0]!.payer, f.payee.address)) as Array<{
      jobId: bigint;
    }>;
    for (const id of ids) expect(locks.map((l) => l.jobId)).toContain(id);
  });
});
