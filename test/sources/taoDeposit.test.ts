/**
 * The TAO deposit check through @polkadot/api (the project's SubstrateChain) against the fake
 * Subtensor the tests serve (signed balances.transferKeepAlive, Balances.Transfer events): each
 * case of the reference's source-funds check (shared/reference/allways-solana-swap-manager.md §7),
 * the hint window (±3, or the last 150 blocks), a deposit reorganised away, and the free balance
 * the funds gate reads.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import { encodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SOURCE_CONFIRMATIONS } from '../../src/chains/sourceConfirmations.ts';
import { SubstrateChain } from '../../src/chains/substrate/substrateChain.ts';
import { TaoDepositVerifier, taoFreeBalance } from '../../src/chains/substrate/taoDepositVerifier.ts';
import type { DepositClaim } from '../../src/host/sourceVerifier.ts';
import { collectingLogger } from '../support/collectingLogger.ts';
import { devAccounts } from '../support/devAccounts.ts';
import { FakeSubtensor } from '../support/fakeSubtensor/fakeSubtensor.ts';

const TAO = 1_000_000_000n;
const REQUIRED = DEFAULT_SOURCE_CONFIRMATIONS.tao!;

let node: FakeSubtensor;
let chain: SubstrateChain;
let verifier: TaoDepositVerifier;
let user: KeyringPair;
let miner: KeyringPair;
let stranger: KeyringPair;

beforeAll(async () => {
  ({ bob: user, charlie: miner, dave: stranger } = await devAccounts());
  node = await FakeSubtensor.start();
  for (const who of [user, miner, stranger]) node.endow(who.address, 100n * TAO);
  node.produceBlock();
  chain = await SubstrateChain.connect(node.url, { log: collectingLogger([]), timeoutMs: 10_000 });
  verifier = new TaoDepositVerifier(chain, REQUIRED);
});
afterAll(async () => {
  await chain?.disconnect();
  await node?.stop();
});

/** `from` signs and pools a transferKeepAlive; a block includes it; returns its hash and block. */
async function pay(from: KeyringPair, to: string, amount: bigint): Promise<{ hash: string; block: number }> {
  const extrinsic = chain.api.tx.balances.transferKeepAlive(to, amount);
  await extrinsic.signAsync(from, { nonce: await chain.nextNonce(from.address), era: 0 });
  await chain.submit(extrinsic.toHex());
  const block = node.produceBlock();
  return { hash: extrinsic.hash.toHex(), block: block.number };
}

const confirm = (blocks = REQUIRED) => {
  for (let i = 0; i < blocks; i += 1) node.produceBlock();
};

const claim = (paid: { hash: string; block: number }, over: Partial<DepositClaim> = {}): DepositClaim => ({
  chain: 'tao',
  txHash: paid.hash,
  blockHint: paid.block,
  recipient: miner.address,
  sender: user.address,
  minAmount: 2n * TAO,
  ...over,
});

describe('TAO deposits', () => {
  it('verifies the Transfer event of the hashed extrinsic at head - block >= 6, pending before', async () => {
    const paid = await pay(user, miner.address, 3n * TAO);
    confirm(REQUIRED - 1);
    expect(await verifier.verify(claim(paid))).toMatchObject({
      kind: 'pending',
      evidence: { block: paid.block, confirmations: REQUIRED - 1, amountSeen: 3n * TAO },
    });
    confirm(1);
    expect(await verifier.verify(claim(paid))).toEqual({
      kind: 'verified',
      evidence: {
        txHash: paid.hash,
        block: paid.block,
        amountSeen: 3n * TAO,
        senderSeen: user.address,
        confirmations: REQUIRED,
        required: REQUIRED,
      },
    });
    // The sender and recipient compare by public key, whatever the SS58 prefix.
    const other = claim(paid, {
      sender: encodeAddress(user.publicKey, 0),
      recipient: encodeAddress(miner.publicKey, 0),
    });
    expect((await verifier.verify(other)).kind).toBe('verified');
  });

  it('looks within hint ± 3, or the last 150 blocks without a hint', async () => {
    const paid = await pay(user, miner.address, 3n * TAO);
    confirm();
    expect((await verifier.verify(claim(paid, { blockHint: paid.block + 3 }))).kind).toBe('verified');
    expect((await verifier.verify(claim(paid, { blockHint: paid.block - 3 }))).kind).toBe('verified');
    expect((await verifier.verify(claim(paid, { blockHint: 0 }))).kind).toBe('verified');
    expect(await verifier.verify(claim(paid, { blockHint: paid.block + 4 }))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
  });

  it('answers wrong for a transfer to another recipient', async () => {
    const paid = await pay(user, stranger.address, 3n * TAO);
    confirm();
    expect(await verifier.verify(claim(paid))).toMatchObject({ kind: 'wrong', evidence: { amountSeen: null } });
  });

  it('answers wrong for a short amount', async () => {
    const paid = await pay(user, miner.address, 2n * TAO - 1n);
    confirm();
    expect(await verifier.verify(claim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: 2n * TAO - 1n },
    });
  });

  it('answers wrong for another sender', async () => {
    const paid = await pay(stranger, miner.address, 3n * TAO);
    confirm();
    const verdict = await verifier.verify(claim(paid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { senderSeen: stranger.address } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('not from the claimed sender');
  });

  it('answers wrong when the sender is the recipient', async () => {
    const paid = await pay(miner, miner.address, 3n * TAO);
    confirm();
    expect(await verifier.verify(claim(paid, { sender: miner.address }))).toMatchObject({
      kind: 'wrong',
      reason: 'the deposit sender is the recipient itself',
    });
  });

  it('answers wrong for a failed extrinsic (ExtrinsicFailed, no Transfer)', async () => {
    const paid = await pay(user, miner.address, 10_000n * TAO); // more than the user holds
    confirm();
    const verdict = await verifier.verify(claim(paid));
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('failed on chain: balances.InsufficientBalance');
  });

  it('answers pending for an unknown hash, a malformed one, and a node that fails', async () => {
    expect(await verifier.verify(claim({ hash: `0x${'ab'.repeat(32)}`, block: 0 }))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
    expect((await verifier.verify(claim({ hash: 'tao_transfer', block: 1 }))).kind).toBe('pending');
    const paid = await pay(user, miner.address, 3n * TAO);
    confirm();
    node.failing.add('chain_getHeader');
    const verdict = await verifier.verify(claim(paid));
    node.failing.delete('chain_getHeader');
    expect(verdict).toMatchObject({ kind: 'pending', evidence: { block: null } });
    expect(verdict.kind === 'pending' && verdict.reason).toContain('did not answer');
    expect((await verifier.verify(claim(paid))).kind).toBe('verified');
  });

  it('answers pending once the deposit is reorganised out of the best chain', async () => {
    const paid = await pay(user, miner.address, 3n * TAO);
    expect((await verifier.verify(claim(paid))).kind).toBe('pending'); // seen, 0 confirmations
    node.reorgBest();
    confirm();
    expect(await verifier.verify(claim(paid))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
  });
});

/** Dave's address in another SS58 prefix: a storage key never read before (nothing cached). */
const dave = () => encodeAddress(stranger.publicKey, 5);

describe('TAO balance for the funds gate', () => {
  it('reads the free balance, and rejects when the node fails', async () => {
    const before = await taoFreeBalance(chain, stranger.address);
    await pay(user, stranger.address, 1n * TAO);
    expect(await taoFreeBalance(chain, stranger.address)).toBe(before + 1n * TAO);
    node.failing.add('state_getStorage');
    node.failing.add('state_queryStorageAt');
    await expect(taoFreeBalance(chain, dave())).rejects.toThrow();
    node.failing.delete('state_getStorage');
    node.failing.delete('state_queryStorageAt');
  });
});
