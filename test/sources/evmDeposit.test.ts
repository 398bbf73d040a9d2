/**
 * The EVM deposit check through ethers against the hardhat node the tests start, in the chain's
 * coin and in a real ERC-20 (the compiled MockERC20Decimals that @oceanprotocol/contracts ships):
 * each case of the reference's source-funds check (shared/reference/allways-solana-swap-manager.md
 * §7), a deposit reorganised away (evm_revert), and the balances the funds gate reads.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { type Contract, ContractFactory, JsonRpcProvider, parseEther, type InterfaceAbi, type Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvmDepositVerifier, evmBalance, type EvmDepositAsset } from '../../src/chains/evm/evmDepositVerifier.ts';
import type { DepositClaim } from '../../src/host/sourceVerifier.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';

const require = createRequire(import.meta.url);
const TOKEN_ARTIFACT =
  require('@oceanprotocol/contracts/artifacts/contracts/utils/mock/MockERC20Decimals.sol/MockERC20Decimals.json') as {
    abi: InterfaceAbi;
    bytecode: string;
  };

const REQUIRED = 3;
let node: EvmNode;
let issuer: Wallet;
let user: Wallet;
let miner: Wallet;
let stranger: Wallet;
let token: Contract;
let otherToken: Contract;
let tokenAddress: string;

async function deployToken(symbol: string): Promise<Contract> {
  const factory = new ContractFactory(TOKEN_ARTIFACT.abi, TOKEN_ARTIFACT.bytecode, issuer);
  const contract = (await factory.deploy(`Test ${symbol}`, symbol, 6)) as Contract;
  await contract.waitForDeployment();
  return contract;
}

beforeAll(async () => {
  node = await startEvmNode();
  [issuer, user, miner, stranger] = [node.wallet(0), node.wallet(1), node.wallet(2), node.wallet(3)];
  token = await deployToken('USDC');
  otherToken = await deployToken('FAKE');
  tokenAddress = await token.getAddress();
  for (const holder of [user, stranger]) {
    await (await (token.connect(issuer) as Contract).getFunction('transfer')(holder.address, 1_000_000_000n)).wait();
    await (
      await (otherToken.connect(issuer) as Contract).getFunction('transfer')(holder.address, 1_000_000_000n)
    ).wait();
  }
});
afterAll(async () => {
  await node?.stop();
});

const mine = (blocks: number) => node.provider.send('hardhat_mine', [`0x${blocks.toString(16)}`]);
const verifier = (asset: EvmDepositAsset, required = REQUIRED) =>
  new EvmDepositVerifier(node.provider, asset.kind === 'native' ? 'eth' : 'ethusdc', asset, required);
const native: EvmDepositAsset = { kind: 'native' };
const erc20 = (): EvmDepositAsset => ({ kind: 'erc20', token: tokenAddress });

/**
 * Sends with automine off, then mines it: hardhat refuses a reverting transaction at
 * eth_sendRawTransaction while automining, and a chain includes it anyway.
 */
async function included(send: () => Promise<{ hash: string }>): Promise<string> {
  await node.provider.send('evm_setAutomine', [false]);
  try {
    const { hash } = await send();
    await mine(1);
    return hash;
  } finally {
    await node.provider.send('evm_setAutomine', [true]);
  }
}

const payCoin = (from: Wallet, to: string, value: bigint, gasLimit?: bigint) =>
  included(() => from.sendTransaction({ to, value, ...(gasLimit === undefined ? {} : { gasLimit }) }));

const payToken = (which: Contract, from: Wallet, to: string, amount: bigint, gasLimit?: bigint) =>
  included(() =>
    (which.connect(from) as Contract).getFunction('transfer')(to, amount, gasLimit === undefined ? {} : { gasLimit }),
  );

const claim = (txHash: string, over: Partial<DepositClaim> = {}): DepositClaim => ({
  chain: 'eth',
  txHash,
  blockHint: 0,
  recipient: miner.address,
  sender: user.address,
  minAmount: parseEther('1'),
  ...over,
});
const tokenClaim = (txHash: string, over: Partial<DepositClaim> = {}) =>
  claim(txHash, { chain: 'ethusdc', minAmount: 5_000_000n, ...over });

describe('EVM coin deposits', () => {
  it('verifies to/value from tx.from at the required confirmations, pending before (and in the mempool)', async () => {
    await node.provider.send('evm_setAutomine', [false]);
    const tx = await user.sendTransaction({ to: miner.address, value: parseEther('1.5') });
    const pooled = await verifier(native).verify(claim(tx.hash));
    await node.provider.send('evm_setAutomine', [true]);
    expect(pooled).toMatchObject({ kind: 'pending', evidence: { block: null, amountSeen: parseEther('1.5') } });
    await mine(1);
    const receipt = (await tx.wait())!;
    expect(await verifier(native).verify(claim(tx.hash))).toMatchObject({
      kind: 'pending',
      reason: `deposit at 1 of ${REQUIRED} confirmations`,
    });
    await mine(REQUIRED - 1);
    expect(await verifier(native).verify(claim(tx.hash))).toEqual({
      kind: 'verified',
      evidence: {
        txHash: tx.hash,
        block: receipt.blockNumber,
        amountSeen: parseEther('1.5'),
        senderSeen: user.address,
        confirmations: REQUIRED,
        required: REQUIRED,
      },
    });
    // Addresses compare case-insensitively on EVM chains.
    const lower = claim(tx.hash, { recipient: miner.address.toLowerCase(), sender: user.address.toLowerCase() });
    expect((await verifier(native).verify(lower)).kind).toBe('verified');
  });

  it('answers wrong for a payment to another recipient', async () => {
    const paid = await payCoin(user, stranger.address, parseEther('2'));
    await mine(REQUIRED);
    expect(await verifier(native).verify(claim(paid))).toMatchObject({ kind: 'wrong', evidence: { amountSeen: null } });
  });

  it('answers wrong for a short value', async () => {
    const paid = await payCoin(user, miner.address, parseEther('0.5'));
    await mine(REQUIRED);
    const verdict = await verifier(native).verify(claim(paid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { amountSeen: parseEther('0.5') } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('short of');
  });

  it('answers wrong for another sender', async () => {
    const paid = await payCoin(stranger, miner.address, parseEther('2'));
    await mine(REQUIRED);
    const verdict = await verifier(native).verify(claim(paid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { senderSeen: stranger.address } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('not from the claimed sender');
  });

  it('answers wrong when the sender is the recipient', async () => {
    const paid = await payCoin(miner, miner.address, parseEther('2'));
    await mine(REQUIRED);
    expect(await verifier(native).verify(claim(paid, { sender: miner.address }))).toMatchObject({
      kind: 'wrong',
      reason: 'the deposit sender is the recipient itself',
    });
  });

  it('answers wrong for a reverted transaction (receipt status 0)', async () => {
    // The token contract has no receive function: a coin payment to it reverts.
    const reverted = await payCoin(user, tokenAddress, parseEther('2'), 100_000n);
    await mine(REQUIRED);
    const verdict = await verifier(native).verify(claim(reverted, { recipient: tokenAddress }));
    expect(verdict).toMatchObject({ kind: 'wrong' });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('failed on chain: reverted (receipt status 0)');
  });

  it('answers pending for an unknown hash, a malformed one, and an endpoint that does not answer', async () => {
    expect(await verifier(native).verify(claim(`0x${'ab'.repeat(32)}`))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
    expect((await verifier(native).verify(claim('0x1234'))).kind).toBe('pending');
    const paid = await payCoin(user, miner.address, parseEther('1'));
    await mine(REQUIRED);
    const dead = new JsonRpcProvider('http://127.0.0.1:1', 31337, { staticNetwork: true });
    const verdict = await new EvmDepositVerifier(dead, 'eth', native, REQUIRED).verify(claim(paid));
    dead.destroy();
    expect(verdict).toMatchObject({ kind: 'pending', evidence: { block: null } });
    expect(verdict.kind === 'pending' && verdict.reason).toContain('did not answer');
  });

  it('answers pending once the deposit is reorganised away', async () => {
    const snapshot = (await node.provider.send('evm_snapshot', [])) as string;
    const paid = await payCoin(user, miner.address, parseEther('1'));
    await mine(REQUIRED);
    expect((await verifier(native).verify(claim(paid))).kind).toBe('verified');
    await node.provider.send('evm_revert', [snapshot]);
    expect(await verifier(native).verify(claim(paid))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
  });
});

/**
 * The hardhat node behind a proxy that answers another hash for every block it is asked by
 * number: a node whose chain at that height is no longer the one the receipt names (a reorg).
 */
async function reorgedView(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      void fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then((r) => r.json())
        .then((answer: unknown) => {
          // ethers batches calls: a request and its answer may be arrays, matched by id.
          type Call = { id: number; method: string };
          type Reply = { id: number; result?: { hash?: string } };
          const calls = [JSON.parse(body) as Call | Call[]].flat();
          for (const reply of [answer as Reply | Reply[]].flat()) {
            const call = calls.find((c) => c.id === reply.id);
            if (call?.method === 'eth_getBlockByNumber' && reply.result?.hash !== undefined)
              reply.result.hash = `0x${'ee'.repeat(32)}`;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('EVM deposits and reorganisations', () => {
  it("answers pending when the receipt's block is no longer the chain's block at that height", async () => {
    const paid = await payCoin(user, miner.address, parseEther('1'));
    await mine(REQUIRED);
    const view = await reorgedView();
    const provider = new JsonRpcProvider(view.url, 31337, { staticNetwork: true });
    try {
      const verdict = await new EvmDepositVerifier(provider, 'eth', native, REQUIRED).verify(claim(paid));
      expect(verdict).toMatchObject({ kind: 'pending', evidence: { confirmations: 0 } });
      expect(verdict.kind === 'pending' && verdict.reason).toContain('reorganised away');
    } finally {
      provider.destroy();
      view.close();
    }
    expect((await verifier(native).verify(claim(paid))).kind).toBe('verified');
  });
});

describe('ERC-20 deposits', () => {
  it("verifies the pinned token's Transfer log, its from topic the sender", async () => {
    const paid = await payToken(token, user, miner.address, 7_000_000n);
    await mine(REQUIRED - 1);
    const verdict = await verifier(erc20()).verify(tokenClaim(paid));
    expect(verdict).toMatchObject({
      kind: 'verified',
      evidence: { amountSeen: 7_000_000n, senderSeen: user.address.toLowerCase(), confirmations: REQUIRED },
    });
  });

  it('answers wrong for a transfer to another recipient', async () => {
    const paid = await payToken(token, user, stranger.address, 7_000_000n);
    await mine(REQUIRED);
    expect(await verifier(erc20()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: null },
    });
  });

  it('answers wrong for a short amount', async () => {
    const paid = await payToken(token, user, miner.address, 4_999_999n);
    await mine(REQUIRED);
    expect(await verifier(erc20()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: 4_999_999n },
    });
  });

  it('answers wrong for another sender (the from topic, not tx.from)', async () => {
    const paid = await payToken(token, stranger, miner.address, 7_000_000n);
    await mine(REQUIRED);
    expect(await verifier(erc20()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { senderSeen: stranger.address.toLowerCase() },
    });
  });

  it("answers wrong for another token's Transfer log", async () => {
    const paid = await payToken(otherToken, user, miner.address, 7_000_000n);
    await mine(REQUIRED);
    expect(await verifier(erc20()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: null },
    });
  });

  it('answers wrong when the sender is the recipient', async () => {
    await payToken(token, user, miner.address, 10_000_000n);
    const paid = await payToken(token, miner, miner.address, 7_000_000n);
    await mine(REQUIRED);
    expect(await verifier(erc20()).verify(tokenClaim(paid, { sender: miner.address }))).toMatchObject({
      kind: 'wrong',
      reason: 'the deposit sender is the recipient itself',
    });
  });

  it('answers wrong for a reverted transfer', async () => {
    const reverted = await payToken(token, user, miner.address, 10n ** 18n, 120_000n);
    await mine(REQUIRED);
    const verdict = await verifier(erc20()).verify(tokenClaim(reverted));
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('failed on chain');
  });
});

describe('EVM balances for the funds gate', () => {
  it('reads the coin and the token balance, and rejects when the endpoint does not answer', async () => {
    expect(await evmBalance(node.provider, native, stranger.address)).toBe(
      await node.provider.getBalance(stranger.address),
    );
    const before = await evmBalance(node.provider, erc20(), issuer.address);
    await payToken(token, stranger, issuer.address, 3n);
    expect(await evmBalance(node.provider, erc20(), issuer.address)).toBe(before + 3n);
    const dead = new JsonRpcProvider('http://127.0.0.1:1', 31337, { staticNetwork: true });
    await expect(evmBalance(dead, native, issuer.address)).rejects.toThrow();
    dead.destroy();
  });
});
