/**
 * The EVM destination transfer sender (coins and ERC-20) against a local hardhat node started
 * here on 127.0.0.1: sign without touching the chain, broadcast (again), look up with
 * confirmations, refuse what can never land or never paid, and share nonces with EvmTxSender.
 */
import {
  type Contract,
  ContractFactory,
  getAddress,
  Interface,
  JsonRpcProvider,
  Transaction,
  Wallet,
  ZeroAddress,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedTransfer } from '../../machines/index.ts';
import { EvmTransferSender, type EvmTransferSenderOptions } from '../../src/chains/evm/evmTransferSender.ts';
import { EvmTxSender } from '../../src/chains/evm/evmTxSender.ts';
import { NonceAllocator } from '../../src/chains/nonceAllocator.ts';
import { TxJournal } from '../../src/chains/evm/txJournal.ts';
import { NeverLands, type Logger, type SignedBytes } from '../../src/host/ports.ts';
import { compileContracts } from '../support/compileContracts.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';
import { tempDir } from '../support/simFixture.ts';
import { deployProbe } from '../support/transferProbes.ts';

const CHAIN = 'eth';
const CHAIN_ID = 31337n;

let node: EvmNode;
/** The miner's account: it pays every transfer. */
let payer: Wallet;
let deployer: Wallet;
let token: Contract;
let tokenAddress: string;

beforeAll(async () => {
  node = await startEvmNode();
  deployer = node.wallet(0);
  payer = node.wallet(1);
  const compiled = compileContracts();
  token = (await (
    await new ContractFactory(compiled.TestToken.abi as never, compiled.TestToken.bytecode, deployer).deploy(18)
  ).waitForDeployment()) as Contract;
  tokenAddress = await token.getAddress();
  await (await (token.connect(deployer) as Contract).getFunction('mint')(payer.address, 10n ** 24n)).wait();
}, 120_000);

afterAll(async () => {
  await node?.stop();
});

type RecordingLog = Logger & { lines: string[] };

function recordingLog(): RecordingLog {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, message?: string) =>
    void lines.push(`${level} ${message ?? ''} ${JSON.stringify(fields)}`);
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

function sender(options: Partial<EvmTransferSenderOptions> = {}): EvmTransferSender & { log: RecordingLog } {
  const log = recordingLog();
  const s = new EvmTransferSender({
    chain: CHAIN,
    provider: node.provider,
    wallet: payer,
    chainId: CHAIN_ID,
    asset: { kind: 'native' },
    log,
    ...options,
  });
  return Object.assign(s, { log });
}

const request = (to: string, amount: bigint) => ({ swapId: `swap-${to.slice(2, 10)}`, chain: CHAIN, to, amount });
const asTransfer = (signed: SignedBytes): SignedTransfer => ({
  raw: signed.raw,
  hash: signed.hash,
  decidedAt: 0,
  anchorBlock: null,
});
const fresh = (): string => Wallet.createRandom().address;
const mine = async (blocks = 1): Promise<void> => {
  for (let i = 0; i < blocks; i++) await node.provider.send('evm_mine', []);
};
const pendingNonce = (): Promise<number> => node.provider.getTransactionCount(payer.address, 'pending');
const tokenBalance = async (address: string): Promise<bigint> =>
  (await token.getFunction('balanceOf')(address)) as bigint;

/** Runs `body` with automine off (transactions wait in the mempool for evm_mine). */
async function withoutAutomine(body: () => Promise<void>): Promise<void> {
  await node.provider.send('evm_setAutomine', [false]);
  try {
    await body();
  } finally {
    await node.provider.send('evm_setAutomine', [true]);
  }
}

/** No log line and no message may carry the signed bytes (the signature is their tail). */
function expectNoRaw(text: string, signed: SignedBytes): void {
  expect(text).not.toContain(signed.raw.slice(2));
  expect(text).not.toContain(signed.raw.slice(-64));
}

describe('EvmTransferSender', () => {
  it('signs a coin transfer without touching the chain, then lands exactly the amount with the confirmations it asks for', async () => {
    const s = sender({ confirmations: 2 });
    const to = fresh();
    const amount = 123_456_789_012_345_678n;
    const payerBefore = await node.provider.getBalance(payer.address);
    const nonceBefore = await pendingNonce();
    const headBefore = await node.provider.getBlockNumber();

    const signed = await s.sign(request(to, amount));
    expect(signed.hash).toBe(Transaction.from(signed.raw).hash);
    expect(Transaction.from(signed.raw)).toMatchObject({
      type: 2,
      to: getAddress(to),
      value: amount,
      nonce: nonceBefore,
      gasLimit: 21_000n,
      chainId: CHAIN_ID,
    });
    expect(await node.provider.getBalance(payer.address)).toBe(payerBefore);
    expect(await pendingNonce()).toBe(nonceBefore);
    expect(await node.provider.getBlockNumber()).toBe(headBefore);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });

    await s.broadcast(signed.raw); // automine: included at once, one confirmation
    const receipt = (await node.provider.getTransactionReceipt(signed.hash))!;
    expect(receipt.status).toBe(1);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'pending' });
    await mine();
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'included', block: receipt.blockNumber });

    // The same bytes again: harmless, no second payment.
    await s.broadcast(signed.raw);
    await mine();
    expect(await node.provider.getBalance(to)).toBe(amount);
    expect(await pendingNonce()).toBe(nonceBefore + 1);
    expect(await node.provider.getBalance(payer.address)).toBe(
      payerBefore - amount - receipt.gasUsed * receipt.gasPrice,
    );
    expectNoRaw(s.log.lines.join('\n'), signed);
  });

  it('re-broadcasting bytes still in the mempool is harmless', async () => {
    const s = sender({ confirmations: 1 });
    const to = fresh();
    const signed = await s.sign(request(to, 5n));
    await withoutAutomine(async () => {
      await s.broadcast(signed.raw);
      expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'pending' });
      await s.broadcast(signed.raw); // the node answers "known transaction"
      await mine();
    });
    expect(await s.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
    expect(await node.provider.getBalance(to)).toBe(5n);
  });

  it('two signs in a row take consecutive nonces through the allocator, and both land', async () => {
    const first = fresh();
    const second = fresh();
    // Without an allocator both would take the chain's pending nonce: one of them could never land.
    const unshared = sender();
    const a0 = await unshared.sign(request(first, 1n));
    const b0 = await unshared.sign(request(second, 1n));
    expect(Transaction.from(a0.raw).nonce).toBe(Transaction.from(b0.raw).nonce);

    const s = sender({ nonces: new NonceAllocator(), confirmations: 1 });
    const nonce = await pendingNonce();
    const a = await s.sign(request(first, 7n));
    const b = await s.sign(request(second, 11n));
    expect([Transaction.from(a.raw).nonce, Transaction.from(b.raw).nonce]).toEqual([nonce, nonce + 1]);
    await s.broadcast(a.raw);
    await s.broadcast(b.raw);
    expect(await s.lookup(asTransfer(a))).toMatchObject({ kind: 'included' });
    expect(await s.lookup(asTransfer(b))).toMatchObject({ kind: 'included' });
    expect(await node.provider.getBalance(first)).toBe(7n);
    expect(await node.provider.getBalance(second)).toBe(11n);
  });

  it('a transfer whose nonce another transaction took never lands: broadcast throws NeverLands and lookup says unknown', async () => {
    const s = sender();
    const to = fresh();
    const signed = await s.sign(request(to, 9n));
    const nonce = Transaction.from(signed.raw).nonce;
    await (await payer.sendTransaction({ to: fresh(), value: 1n, nonce })).wait();

    const error = await s.broadcast(signed.raw).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NeverLands);
    expect((error as Error).message).toContain(`nonce ${nonce}`);
    expect((error as Error).message).toContain(`'${CHAIN}'`);
    expectNoRaw((error as Error).message, signed);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });
    expect(await node.provider.getBalance(to)).toBe(0n);
  });

  it('an ERC-20 transfer of the TestToken lands and moves exactly the amount', async () => {
    const s = sender({ asset: { kind: 'erc20', token: tokenAddress.toLowerCase() }, confirmations: 2 });
    const to = fresh();
    const amount = 987_654_321_000_000_000_001n;
    const payerTokens = await tokenBalance(payer.address);
    const nonce = await pendingNonce();

    const signed = await s.sign(request(to, amount));
    const tx = Transaction.from(signed.raw);
    expect(tx.to).toBe(tokenAddress);
    expect(tx.value).toBe(0n);
    expect(tx.gasLimit).toBeGreaterThan(21_000n);
    expect(await tokenBalance(payer.address)).toBe(payerTokens);
    expect(await pendingNonce()).toBe(nonce);

    await s.broadcast(signed.raw);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'pending' });
    await mine();
    const receipt = (await node.provider.getTransactionReceipt(signed.hash))!;
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'included', block: receipt.blockNumber });
    expect(await tokenBalance(to)).toBe(amount);
    expect(await tokenBalance(payer.address)).toBe(payerTokens - amount);
  });

  it('refuses to sign an ERC-20 transfer of more than the balance, and hands out no nonce for it', async () => {
    const nonces = new NonceAllocator();
    const s = sender({ asset: { kind: 'erc20', token: tokenAddress }, nonces });
    const nonce = await pendingNonce();
    const balance = await tokenBalance(payer.address);
    await expect(s.sign(request(fresh(), balance + 1n))).rejects.toThrow(
      `holds ${balance} of token ${tokenAddress} on chain '${CHAIN}', less than the ${balance + 1n}`,
    );
    expect(await pendingNonce()).toBe(nonce);
    // The refused sign left no gap: the next transfer takes the chain's pending nonce.
    const signed = await s.sign(request(fresh(), 1n));
    expect(Transaction.from(signed.raw).nonce).toBe(nonce);
  });

  it('an included coin transfer that reverted is failed, once it has its confirmations', async () => {
    const receiver = await deployProbe('ClosableReceiver', deployer);
    const receiverAddress = await receiver.getAddress();
    const s = sender({ confirmations: 2 });
    const signed = await s.sign(request(receiverAddress, 1_000n));
    // A contract runs code on receipt: the gas is estimated, not the plain 21000.
    expect(Transaction.from(signed.raw).gasLimit).toBeGreaterThan(21_000n);
    // The receiver closes between the sign and the broadcast.
    await (await (receiver.connect(deployer) as Contract).getFunction('close')()).wait();
    await expect(s.sign(request(receiverAddress, 1_000n))).rejects.toThrow('would not accept 1000 wei');

    await withoutAutomine(async () => {
      await s.broadcast(signed.raw);
      await mine();
    });
    const receipt = (await node.provider.getTransactionReceipt(signed.hash))!;
    expect(receipt.status).toBe(0);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'pending' });
    await mine();
    expect(await s.lookup(asTransfer(signed))).toEqual({
      kind: 'failed',
      reason: `transfer ${signed.hash} reverted in block ${receipt.blockNumber} on chain '${CHAIN}'`,
    });
    expect(await node.provider.getBalance(receiverAddress)).toBe(0n);
  });

  it('a token transfer that succeeds without a Transfer event is failed: it moved nothing', async () => {
    const silent = await deployProbe('SilentToken', deployer);
    const s = sender({ asset: { kind: 'erc20', token: await silent.getAddress() }, confirmations: 1 });
    const signed = await s.sign(request(fresh(), 42n));
    await s.broadcast(signed.raw);
    expect((await node.provider.getTransactionReceipt(signed.hash))!.status).toBe(1);
    const status = await s.lookup(asTransfer(signed));
    expect(status.kind).toBe('failed');
    expect(status.kind === 'failed' && status.reason).toContain('logged no Transfer of 42');
  });

  it('says why an address cannot receive, naming the address and the chain', () => {
    const s = sender();
    const erc20 = sender({ asset: { kind: 'erc20', token: tokenAddress } });
    const valid = getAddress('0x52908400098527886e0f7030069857d2e4169ee7'); // mixed case, EIP-55
    const badChecksum = valid.replace('E', 'e');
    expect(badChecksum).not.toBe(valid);

    expect(s.addressProblem(valid)).toBeNull();
    expect(s.addressProblem(valid.toLowerCase())).toBeNull();
    expect(s.addressProblem(`0x${valid.slice(2).toUpperCase()}`)).toBeNull();
    expect(s.addressProblem(badChecksum)).toBe(
      `'${badChecksum}' is not an EVM address for chain '${CHAIN}': it has mixed case with a wrong EIP-55 checksum (a mistyped address?)`,
    );
    expect(s.addressProblem('0x12')).toBe(
      `'0x12' is not an EVM address for chain '${CHAIN}': it is not 0x followed by 40 hex digits`,
    );
    expect(s.addressProblem(`0x${'zz'.repeat(20)}`)).toContain('is not an EVM address');
    expect(s.addressProblem(valid.slice(2))).toContain('is not an EVM address'); // no 0x
    expect(s.addressProblem(`${valid}00`)).toContain('is not an EVM address');
    expect(s.addressProblem(ZeroAddress)).toContain('zero address');
    expect(s.addressProblem(ZeroAddress)).toContain(`'${CHAIN}'`);
    expect(s.addressProblem(tokenAddress)).toBeNull();
    expect(erc20.addressProblem(tokenAddress.toLowerCase())).toContain('the token contract itself');
  });

  it('signs nothing for a request it cannot serve', async () => {
    const s = sender();
    const nonce = await pendingNonce();
    await expect(s.sign({ ...request(fresh(), 1n), chain: 'base' })).rejects.toThrow(
      `transfer for chain 'base' given to the sender of chain '${CHAIN}'`,
    );
    await expect(s.sign(request(fresh(), 0n))).rejects.toThrow('is not positive');
    await expect(s.sign(request(ZeroAddress, 1n))).rejects.toThrow('zero address');
    await expect(s.sign(request(fresh(), 10n ** 30n))).rejects.toThrow(`${payer.address} holds`);
    expect(await pendingNonce()).toBe(nonce);
  });

  it('refuses to sign when the node gives no EIP-1559 fee data', async () => {
    const feeless = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    feeless.getFeeData = async () => ({ gasPrice: 1n, maxFeePerGas: null, maxPriorityFeePerGas: null }) as never;
    try {
      await expect(sender({ provider: feeless }).sign(request(fresh(), 1n))).rejects.toThrow(
        `the node for chain '${CHAIN}' gives no EIP-1559 fee data`,
      );
    } finally {
      feeless.destroy();
    }
  });

  it('a broadcast the node cannot take is an ordinary error, without the signed bytes', async () => {
    const s = sender();
    const fees = await node.provider.getFeeData();
    const unfunded = await Wallet.createRandom().signTransaction(
      Transaction.from({
        type: 2,
        chainId: CHAIN_ID,
        nonce: 0,
        to: fresh(),
        value: 1n,
        gasLimit: 21_000n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      }),
    );
    const error = await s.broadcast(unfunded).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NeverLands);
    expect((error as Error).message).toContain(`on chain '${CHAIN}' failed`);
    expectNoRaw((error as Error).message, { raw: unfunded, hash: '' });
    await expect(s.broadcast('0x02deadbeef')).rejects.toThrow(`not a signed EVM transaction for chain '${CHAIN}'`);
  });

  it('a new sender instance, after a restart, finds an earlier transfer by its hash', async () => {
    const to = fresh();
    const before = sender({ confirmations: 2 });
    const signed = await before.sign(request(to, 77n));
    await before.broadcast(signed.raw);
    await mine();
    const block = (await node.provider.getTransactionReceipt(signed.hash))!.blockNumber;

    const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const after = new EvmTransferSender({
        chain: CHAIN,
        provider,
        wallet: payer.connect(provider) as Wallet,
        chainId: CHAIN_ID,
        asset: { kind: 'native' },
        nonces: new NonceAllocator(),
        log: recordingLog(),
      });
      expect(await after.lookup(asTransfer(signed))).toEqual({ kind: 'included', block });
      await after.broadcast(signed.raw); // its nonce is used, by this very transfer: harmless
      expect(await node.provider.getBalance(to)).toBe(77n);
    } finally {
      provider.destroy();
    }
  });

  it('restart: a transfer an earlier life signed but could not broadcast is adopted, and the next one takes the nonce after it', async () => {
    const stuck = await sender({ nonces: new NonceAllocator() }).sign(request(fresh(), 3n)); // never broadcast: the node was away
    const stuckNonce = Transaction.from(stuck.raw).nonce;
    expect(await pendingNonce()).toBe(stuckNonce);

    // Without adoption, the new life takes the chain's pending nonce: the same as the stuck transfer.
    const forgetful = await sender({ nonces: new NonceAllocator() }).sign(request(fresh(), 4n));
    expect(Transaction.from(forgetful.raw).nonce).toBe(stuckNonce);

    const next = sender({ nonces: new NonceAllocator(), confirmations: 1 });
    next.adopt(asTransfer(stuck));
    const to = fresh();
    const after = await next.sign(request(to, 5n));
    expect(Transaction.from(after.raw).nonce).toBe(stuckNonce + 1);
    await next.broadcast(stuck.raw);
    await next.broadcast(after.raw);
    expect(await next.lookup(asTransfer(stuck))).toMatchObject({ kind: 'included' });
    expect(await next.lookup(asTransfer(after))).toMatchObject({ kind: 'included' });
    expect(await node.provider.getBalance(to)).toBe(5n);
  });

  it('with a shared allocator, EvmTxSender and the transfer sender of one account never collide', async () => {
    const nonces = new NonceAllocator();
    const transfers = sender({ nonces, confirmations: 1 });
    const journal = await TxJournal.open(tempDir('transfer-sender-'), CHAIN, payer.address, CHAIN_ID);
    const txs = new EvmTxSender({
      wallet: payer,
      provider: node.provider,
      journal,
      chainId: CHAIN_ID,
      log: recordingLog(),
      pollMs: 50,
      nonces,
    });
    const to = fresh();
    const spender = fresh();
    const nonce = await pendingNonce();

    // Signed, persisted by the host, broadcast on its next tick: meanwhile an escrow-style
    // transaction of the same account is sent.
    const signed = await transfers.sign(request(to, 31n));
    const approve = new Interface([
      'function approve(address spender, uint256 amount) returns (bool)',
    ]).encodeFunctionData('approve', [spender, 5n]);
    const sent = txs.send('approve', { to: tokenAddress, data: approve, gasLimit: 100_000n });
    // It cannot land before the transfer's nonce is used (hardhat refuses to queue it);
    // EvmTxSender re-broadcasts it until it can.
    await Promise.race([untilJournaled(journal), sent]);
    await transfers.broadcast(signed.raw);
    const receipt = await sent;

    expect(Transaction.from(signed.raw).nonce).toBe(nonce);
    expect((await node.provider.getTransaction(receipt.hash))!.nonce).toBe(nonce + 1);
    expect(receipt.status).toBe(1);
    expect(await transfers.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
    expect(await node.provider.getBalance(to)).toBe(31n);
    expect(await token.getFunction('allowance')(payer.address, spender)).toBe(5n);
    expect(journal.entries).toEqual([]);
  });
});

describe('the witness of an EVM paying account', () => {
  it("says the next nonce with the pool counted, who signed bytes at which nonce, and finds the account's transactions by nonce and by hash", async () => {
    const s = sender();
    const to = fresh();
    const before = await pendingNonce();
    expect(await s.witness()).toEqual({ kind: 'nonce', account: payer.address, next: before });
    let pending: SignedBytes | null = null;
    await withoutAutomine(async () => {
      const mined = await s.sign(request(to, 41n));
      await s.broadcast(mined.raw);
      await mine();
      pending = await s.sign(request(to, 42n));
      await s.broadcast(pending.raw);
      // Pending in the pool: counted.
      expect(await s.witness()).toEqual({ kind: 'nonce', account: payer.address, next: before + 2 });
      expect(s.identify(pending.raw)).toEqual({ account: payer.address, nonce: before + 1, id: pending.hash });
      const found = await s.activity({ nonces: { from: before, to: before + 2 }, maxBlocks: 50 });
      expect(found).toMatchObject([
        {
          id: mined.hash,
          nonce: before,
          to,
          amount: 41n,
          note: expect.stringMatching(/^a coin transfer \(block \d+\)$/),
        },
        { id: pending.hash, nonce: before + 1, to, amount: 42n, block: null, note: 'a coin transfer (pending)' },
      ]);
      // The bytes rebuilt from the node's answer are the very bytes signed.
      expect(found.map((a) => a.raw)).toEqual([mined.raw, pending.raw]);
      await mine();
    });
    const byHash = await s.activity({ ids: [pending!.hash, `0x${'00'.repeat(32)}`], maxBlocks: 1 });
    expect(byHash).toMatchObject([{ id: pending!.hash, amount: 42n }]);
  });

  it('an ERC-20 sender reads token transfers as payments and anything else as a call', async () => {
    const s = sender({ asset: { kind: 'erc20', token: tokenAddress } });
    const to = fresh();
    const first = await pendingNonce();
    const signed = await s.sign(request(to, 7n));
    await s.broadcast(signed.raw);
    await (
      await payer.sendTransaction({
        to: tokenAddress,
        data: new Interface(['function approve(address,uint256)']).encodeFunctionData('approve', [to, 1n]),
      })
    ).wait();
    const found = await s.activity({ nonces: { from: first, to: first + 2 }, maxBlocks: 20 });
    expect(found).toMatchObject([
      { nonce: first, to, amount: 7n, note: expect.stringMatching(/^a transfer of token 0x/) },
      {
        nonce: first + 1,
        to: null,
        amount: null,
        note: expect.stringMatching(new RegExp(`^a call to ${tokenAddress}`)),
      },
    ]);
  });
});

/** Waits until EvmTxSender has journaled (signed) its transaction. */
async function untilJournaled(journal: TxJournal): Promise<void> {
  while (journal.entries.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
}
