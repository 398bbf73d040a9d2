/**
 * Ocean's published Escrow (the bytecode of @oceanprotocol/contracts, deployed on a local
 * hardhat node with the package's FactoryRouter) behaves as the reference says, in the ways
 * that decide whether a claim is lost or short: per-payee locks, getLocks' OR filter, the
 * revert strings, an expired lock cancelled inside a claim, one bad entry reverting a batch,
 * the OPC fee taken from the gross, and withdraw paying the payee's whole balance.
 */
import type { Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EscrowRefused, verifyEscrow } from '../../src/chains/evm/escrowCheck.ts';
import { deployEscrow, FEE_0_1_PERCENT, FEE_0_2_PERCENT, type EscrowFixture } from '../support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';

let node: EvmNode;
let f: EscrowFixture;
let asPayee: Contract;
let token: string;
const ZERO = `0x${'00'.repeat(20)}`;

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

const funds = async (user: string, t = token) =>
  (await f.escrow.getFunction('getUserFunds')(user, t)) as { available: bigint; locked: bigint };
const eventNames = (receipt: { logs: ReadonlyArray<{ topics: readonly string[]; data: string }> }) =>
  receipt.logs.map((log) => f.escrow.interface.parseLog(log)?.name).filter((n) => n !== undefined);

describe("Ocean's published Escrow", () => {
  it('refuses bad locks with the reference revert strings, in the reference order', async () => {
    const payer = f.payers[0]!.address;
    const [existing] = await f.lock(1);
    const create = (jobId: bigint, t: string, p: string, amount: bigint, expiry: bigint) =>
      asPayee.getFunction('createLock').staticCall(jobId, t, p, amount, expiry);
    expect(await revertOf(create(9_001n, token, ZERO, 1n, 10n))).toBe('Invalid payer');
    expect(await revertOf(create(9_001n, token, f.payee.address, 1n, 10n))).toBe('Payeer cannot be payee');
    expect(await revertOf(create(9_001n, ZERO, payer, 1n, 10n))).toBe('Invalid token');
    expect(await revertOf(create(9_001n, token, payer, 0n, 10n))).toBe('Invalid amount');
    expect(await revertOf(create(0n, token, payer, 1n, 10n))).toBe('Invalid jobId');
    expect(await revertOf(create(BigInt(existing!.jobId), token, payer, 1n, 10n))).toBe('JobId already exists');
    expect(await revertOf(create(9_001n, token, payer, 1n, 10n ** 10n))).toBe('Expiry too high');
    expect(await revertOf(asPayee.getFunction('claimLocks').staticCall([1n], [token], [], [1n], ['0x']))).toBe(
      'Invalid input',
    );
    expect(await revertOf(f.escrow.getFunction('getLocks').staticCall(ZERO, ZERO, ZERO))).toBe('Invalid payee');
  });

  it('keeps locks per payee: another account holding the same job id cannot claim it', async () => {
    const [terms] = await f.lock(1, { amount: 100n });
    const stranger = f.escrow.connect(f.node.wallet(9)) as Contract;
    expect(
      await revertOf(stranger.getFunction('claimLock').staticCall(BigInt(terms!.jobId), token, terms!.payer, 1n, '0x')),
    ).toBe('Lock not found');
    // The lock matches payer, job id and token: another token is another lock.
    const other = await f.otherToken.getAddress();
    expect(
      await revertOf(asPayee.getFunction('claimLock').staticCall(BigInt(terms!.jobId), other, terms!.payer, 1n, '0x')),
    ).toBe('Lock not found');
  });

  it("returns the payee's locks matching token OR payer (not AND), five fields each", async () => {
    const [ofFirst] = await f.lock(1, { payer: 0 });
    const [ofSecond] = await f.lock(1, { payer: 1, token: f.otherToken });
    // Filtered by payer 0 and the approved token, yet payer 1's lock in the other token is
    // not returned; filtered by payer 0 and the other token, both are (OR).
    const byPayerAndToken = (await f.escrow.getFunction('getLocks')(
      token,
      f.payers[0]!.address,
      f.payee.address,
    )) as Array<{ jobId: bigint }>;
    expect(byPayerAndToken.map((l) => l.jobId)).toContain(BigInt(ofFirst!.jobId));
    expect(byPayerAndToken.map((l) => l.jobId)).not.toContain(BigInt(ofSecond!.jobId));
    const either = (await f.escrow.getFunction('getLocks')(
      await f.otherToken.getAddress(),
      f.payers[0]!.address,
      f.payee.address,
    )) as Array<{ jobId: bigint; payer: string }>;
    expect(either.map((l) => l.jobId)).toEqual(
      expect.arrayContaining([BigInt(ofFirst!.jobId), BigInt(ofSecond!.jobId)]),
    );
    expect(Object.keys((either[0] as unknown as { toObject(): object }).toObject())).toEqual([
      'jobId',
      'payer',
      'amount',
      'expiry',
      'token',
    ]);
  });

  it('claims at most the locked amount, once; the rest returns to the payer', async () => {
    const [terms] = await f.lock(1, { amount: 100n });
    expect(
      await revertOf(
        asPayee.getFunction('claimLock').staticCall(BigInt(terms!.jobId), token, terms!.payer, 101n, '0x'),
      ),
    ).toBe('Amount too high');
    const before = await funds(terms!.payer);
    await (await asPayee.getFunction('claimLock')(BigInt(terms!.jobId), token, terms!.payer, 60n, '0x')).wait();
    const after = await funds(terms!.payer);
    expect(after.available - before.available).toBe(40n);
    expect(before.locked - after.locked).toBe(100n);
    expect(
      await revertOf(asPayee.getFunction('claimLock').staticCall(BigInt(terms!.jobId), token, terms!.payer, 1n, '0x')),
    ).toBe('Lock not found');
  });

  it('cancels an expired lock inside a claim instead of reverting, and lets anyone cancel expired locks', async () => {
    const [late, other] = await f.lock(2, { amount: 100n, expirySeconds: 20 });
    await node.increaseTime(40);
    const payerBefore = await funds(late!.payer);
    const receipt = await (
      await asPayee.getFunction('claimLocksAndWithdraw')([BigInt(late!.jobId)], [token], [late!.payer], [50n], ['0x'])
    ).wait();
    // No Claimed: the lock went back to the payer whole (the Withdraw, if any, pays out what
    // earlier claims left in the payee's balance).
    expect(eventNames(receipt).filter((n) => n !== 'Withdraw')).toEqual(['Canceled']);
    expect((await funds(late!.payer)).available - payerBefore.available).toBe(100n);
    const stranger = f.escrow.connect(f.node.wallet(9)) as Contract;
    const cancel = await (
      await stranger.getFunction('cancelExpiredLock')(BigInt(other!.jobId), token, other!.payer, other!.payee)
    ).wait();
    expect(eventNames(cancel)).toEqual(['Canceled']);
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

  for (const [label, approved, other] of [
    ['no fee', 0n, 0n],
    ['0.1%', FEE_0_1_PERCENT, FEE_0_1_PERCENT],
    ['0.2%', FEE_0_2_PERCENT, FEE_0_2_PERCENT],
  ] as const) {
    it(`takes the OPC fee (${label}) out of the gross: Claimed says gross, the payee is credited the rest`, async () => {
      await f.setFees(approved, other);
      const [terms] = await f.lock(1, { amount: 10n ** 18n });
      const gross = 123_456_789_012_345_678n;
      const fee = (gross * approved) / 10n ** 18n;
      const payeeBefore = await funds(f.payee.address);
      const collectorBefore = await f.balanceOf(f.token, f.collector);
      const receipt = await (
        await asPayee.getFunction('claimLock')(BigInt(terms!.jobId), token, terms!.payer, gross, '0x')
      ).wait();
      const claimed = receipt.logs
        .map((l: { topics: readonly string[]; data: string }) => f.escrow.interface.parseLog(l))
        .find((p: { name: string } | null) => p?.name === 'Claimed');
      expect(claimed.args.amount).toBe(gross);
      expect((await funds(f.payee.address)).available - payeeBefore.available).toBe(gross - fee);
      expect((await f.balanceOf(f.token, f.collector)) - collectorBefore).toBe(fee);
    });
  }

  it('withdraws the payee whole available balance with claimLocksAndWithdraw, earlier claims included', async () => {
    await f.setFees(FEE_0_1_PERCENT, FEE_0_2_PERCENT);
    const [kept, withdrawn] = await f.lock(2, { amount: 1_000_000n });
    await (
      await asPayee.getFunction('claimLocks')([BigInt(kept!.jobId)], [token], [kept!.payer], [1_000_000n], ['0x'])
    ).wait();
    const available = (await funds(f.payee.address)).available;
    expect(available).toBeGreaterThan(0n);
    const walletBefore = await f.balanceOf(f.token, f.payee.address);
    await (
      await asPayee.getFunction('claimLocksAndWithdraw')(
        [BigInt(withdrawn!.jobId)],
        [token],
        [withdrawn!.payer],
        [1_000_000n],
        ['0x'],
      )
    ).wait();
    const net = 1_000_000n - (1_000_000n * FEE_0_1_PERCENT) / 10n ** 18n;
    expect((await f.balanceOf(f.token, f.payee.address)) - walletBefore).toBe(available + net);
    expect((await funds(f.payee.address)).available).toBe(0n);
  });

  it('is recognised at start; no code, or a contract without its interface, is refused with the reason', async () => {
    await expect(verifyEscrow(node.provider, await f.escrow.getAddress(), 'jobs.chains.x')).resolves.toBeUndefined();
    const nobody = node.wallet(8).address;
    await expect(verifyEscrow(node.provider, nobody, 'jobs.chains.x')).rejects.toThrow(
      new EscrowRefused(`jobs.chains.x: no contract at ${nobody} on chain 31337 (wrong network or address?)`),
    );
    const refusal = await verifyEscrow(node.provider, token, 'jobs.chains.x').catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(EscrowRefused);
    expect(String(refusal)).toMatch(
      new RegExp(
        `the contract at ${token} on chain 31337 is not Ocean's Escrow: it has no getLocks, claimLocks, claimLocksAndWithdraw`,
      ),
    );
  });
});
