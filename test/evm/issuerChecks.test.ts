/**
 * The issuer checks of an ERC-20 payout on a local hardhat node: a token that can be paused,
 * blacklist or freeze an address and take a transfer fee (test/evm/contracts/IssuerToken.sol).
 * A tripped check refuses the payout before anything is signed; a payout signed without the
 * checks shows what they prevent (a revert, or a transfer paid short, `failed`).
 */
import { type Contract, ContractFactory, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEvmDestination, type EvmAsset } from '../../src/chains/evm/evmAssets.ts';
import { EvmTransferSender } from '../../src/chains/evm/evmTransferSender.ts';
import { IssuerCheckUnreadable } from '../../src/chains/evm/issuerChecks.ts';
import { TransferRefused, type Logger } from '../../src/host/ports.ts';
import { compileContracts, compileSolidity } from '../support/compileContracts.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';

const CHAIN = 'paxg';
const CHAIN_ID = 31337;
const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

let node: EvmNode;
let issuer: Wallet;
let payer: Wallet;

beforeAll(async () => {
  node = await startEvmNode();
  issuer = node.wallet(0);
  payer = node.wallet(2);
}, 120_000);

afterAll(async () => {
  await node?.stop();
});

async function issuerToken(decimals = 18): Promise<Contract> {
  const { abi, bytecode } = compileSolidity(['IssuerToken.sol'])['IssuerToken']!;
  const token = (await (
    await new ContractFactory(abi as never, bytecode, issuer).deploy(decimals)
  ).waitForDeployment()) as Contract;
  await (await token.getFunction('mint')(payer.address, 10n ** 24n)).wait();
  return token;
}

const senderFor = (asset: EvmAsset) =>
  new EvmTransferSender({
    chain: CHAIN,
    provider: node.provider,
    wallet: payer,
    chainId: BigInt(CHAIN_ID),
    asset,
    confirmations: 1,
    log: silent,
  });

/** The asset the configuration `asset: <id>` gives, pointed at the token deployed here. */
function assetOf(id: string, token: string): EvmAsset {
  const resolved = resolveEvmDestination({ asset: id, chainId: CHAIN_ID, token });
  if ('problems' in resolved) throw new Error(JSON.stringify(resolved.problems));
  return resolved.asset;
}

const fresh = (): string => Wallet.createRandom().address;
const pendingNonce = (): Promise<number> => node.provider.getTransactionCount(payer.address, 'pending');
const request = (to: string, amount: bigint) => ({ swapId: `swap-${to.slice(2, 8)}`, chain: CHAIN, to, amount });

async function refusal(promise: Promise<unknown>): Promise<TransferRefused> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransferRefused);
  return error as TransferRefused;
}

describe('issuer checks before signing', () => {
  it('USDC checks (ethusdc): a paused token and a blacklisted destination are refused with nothing signed', async () => {
    const token = await issuerToken(6);
    const address = await token.getAddress();
    const s = senderFor(assetOf('ethusdc', address));
    const nonce = await pendingNonce();

    await (await token.getFunction('setPaused')(true)).wait();
    expect((await refusal(s.sign(request(fresh(), 1_000_000n)))).reason).toMatch(
      /stopped by its issuer: paused\(\) is true/,
    );
    await (await token.getFunction('setPaused')(false)).wait();

    const listed = fresh();
    await (await token.getFunction('setBlacklisted')(listed, true)).wait();
    expect((await refusal(s.sign(request(listed, 1_000_000n)))).reason).toContain(
      `refuses destination ${listed}: isBlacklisted(${listed}) is true`,
    );
    expect(await pendingNonce()).toBe(nonce);

    const to = fresh();
    const signed = await s.sign(request(to, 1_000_000n));
    await s.broadcast(signed.raw);
    expect(await s.lookup({ raw: signed.raw, hash: signed.hash, decidedAt: 0, anchorBlock: null })).toMatchObject({
      kind: 'included',
    });
    expect(await token.getFunction('balanceOf')(to)).toBe(1_000_000n);
  });

  it('PAX Gold checks (paxg): a frozen destination and a live fee are refused; with the fee off it pays the exact amount', async () => {
    const token = await issuerToken(18);
    const s = senderFor(assetOf('paxg', await token.getAddress()));
    const frozen = fresh();
    await (await token.getFunction('setFrozen')(frozen, true)).wait();
    expect((await refusal(s.sign(request(frozen, 10n ** 18n)))).reason).toMatch(/isFrozen/);

    await (await token.getFunction('setFeeBasisPoints')(2)).wait();
    const to = fresh();
    expect((await refusal(s.sign(request(to, 10n ** 18n)))).reason).toMatch(
      /takes a fee of 200000000000000 from a transfer of 1000000000000000000/,
    );
    // The fee view reads zero for an amount too small to carry a fee: nothing to refuse.
    await expect(s.sign(request(to, 4_999n))).resolves.toBeDefined();

    await (await token.getFunction('setFeeBasisPoints')(0)).wait();
    const signed = await s.sign(request(to, 10n ** 18n));
    await s.broadcast(signed.raw);
    expect(await s.lookup({ raw: signed.raw, hash: signed.hash, decidedAt: 0, anchorBlock: null })).toMatchObject({
      kind: 'included',
    });
    expect(await token.getFunction('balanceOf')(to)).toBe(10n ** 18n);
  });

  it('without the checks, a live fee pays the user short: the payout is `failed`, which the fee check prevents', async () => {
    const token = await issuerToken(18);
    await (await token.getFunction('setFeeBasisPoints')(100)).wait();
    const unchecked = senderFor({ kind: 'erc20', token: await token.getAddress() });
    const to = fresh();
    const signed = await unchecked.sign(request(to, 10_000n));
    await unchecked.broadcast(signed.raw);
    expect(
      await unchecked.lookup({ raw: signed.raw, hash: signed.hash, decidedAt: 0, anchorBlock: null }),
    ).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/logged no Transfer of 10000/),
    });
    expect(await token.getFunction('balanceOf')(to)).toBe(9_900n);
  });

  it('a check the contract lacks, or decimals other than configured, sign nothing and are no refusal', async () => {
    const { TestToken } = compileContracts();
    const plain = (await (
      await new ContractFactory(TestToken.abi as never, TestToken.bytecode, issuer).deploy(6)
    ).waitForDeployment()) as Contract;
    await (await plain.getFunction('mint')(payer.address, 10n ** 12n)).wait();
    const nonce = await pendingNonce();
    const lacking = senderFor({
      kind: 'erc20',
      token: await plain.getAddress(),
      refusalChecks: ['isBlacklisted(address)'],
    });
    await expect(lacking.sign(request(fresh(), 1n))).rejects.toBeInstanceOf(IssuerCheckUnreadable);
    const wrongDecimals = senderFor({ kind: 'erc20', token: await plain.getAddress(), decimals: 18 });
    await expect(wrongDecimals.sign(request(fresh(), 1n))).rejects.toThrow(/has 6 decimals, the configuration says 18/);
    expect(await pendingNonce()).toBe(nonce);
    await expect(
      senderFor({ kind: 'erc20', token: await plain.getAddress(), decimals: 6 }).sign(request(fresh(), 1n)),
    ).resolves.toBeDefined();
  });
});
