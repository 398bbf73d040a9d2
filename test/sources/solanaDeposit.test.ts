/**
 * The Solana deposit check through @solana/kit against the LiteSVM-backed JSON-RPC node the
 * tests serve (the real System, SPL Token and ATA programs): SOL and a legacy SPL mint, each case
 * of the reference's source-funds check (shared/reference/allways-solana-swap-manager.md §7) at
 * the reference's 32 slots, and the balances the funds gate reads.
 */
import {
  createSolanaRpc,
  generateKeyPairSigner,
  getSignatureFromTransaction,
  type Address,
  type KeyPairSigner,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { getCreateAssociatedTokenIdempotentInstruction, getTransferCheckedInstruction } from '@solana-program/token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SolanaDepositVerifier,
  solanaBalance,
  type SolanaDepositAsset,
} from '../../src/chains/solana/solanaDepositVerifier.ts';
import { DEFAULT_SOURCE_CONFIRMATIONS } from '../../src/chains/sourceConfirmations.ts';
import type { DepositClaim } from '../../src/host/sourceVerifier.ts';
import { startSolanaTestNode, type SolanaTestNode } from '../support/solana/litesvmRpc.ts';
import { SolanaFixture } from '../support/solana/solanaFixture.ts';

const SOL = 1_000_000_000n;
const DECIMALS = 6;
const REQUIRED = DEFAULT_SOURCE_CONFIRMATIONS.sol!;

let node: SolanaTestNode;
let fx: SolanaFixture;
let issuer: KeyPairSigner;
let user: KeyPairSigner;
let miner: KeyPairSigner;
let stranger: KeyPairSigner;
let mint: Address;
let otherMint: Address;

beforeAll(async () => {
  node = await startSolanaTestNode();
  fx = new SolanaFixture(node);
  issuer = await fx.fundedKey(10n * SOL);
  user = await fx.fundedKey(10n * SOL);
  miner = await fx.fundedKey(10n * SOL);
  stranger = await fx.fundedKey(10n * SOL);
  mint = await fx.mint(issuer, DECIMALS);
  otherMint = await fx.mint(issuer, DECIMALS);
  for (const holder of [user, stranger]) {
    await fx.mintTo(issuer, mint, holder.address, 1_000_000_000n, DECIMALS);
    await fx.mintTo(issuer, otherMint, holder.address, 1_000_000_000n, DECIMALS);
  }
});
afterAll(async () => {
  await node?.close();
});

const rpc = () => createSolanaRpc(node.url);
const sol: SolanaDepositAsset = { kind: 'sol' };
const spl = (): SolanaDepositAsset => ({ kind: 'spl', mint });
const verifier = (asset: SolanaDepositAsset) =>
  new SolanaDepositVerifier(rpc(), asset.kind === 'sol' ? 'sol' : 'solusdc', asset, REQUIRED);

/** Blocks that take a new transaction to 32 confirmations at `confirmed` (the node's confirmed depth is 1). */
const TO_CONFIRMED = REQUIRED + 1;

/** Signs with `payer` (and any signer the instructions name), includes it, and produces `blocks` blocks. */
async function include(
  payer: KeyPairSigner,
  instructions: Parameters<SolanaFixture['build']>[1],
  blocks = TO_CONFIRMED,
) {
  const signature = node.chain.submit(await fx.build(payer, instructions));
  node.chain.produceBlocks(blocks);
  return signature;
}

const paySol = (from: KeyPairSigner, to: Address, amount: bigint) =>
  include(from, [getTransferSolInstruction({ source: from, destination: to, amount })]);

async function payToken(from: KeyPairSigner, to: Address, amount: bigint, which = mint, blocks = TO_CONFIRMED) {
  const destination = await fx.ata(to, which);
  return include(
    from,
    [
      getCreateAssociatedTokenIdempotentInstruction({ payer: from, ata: destination, owner: to, mint: which }),
      getTransferCheckedInstruction({
        source: await fx.ata(from.address, which),
        mint: which,
        destination,
        authority: from,
        amount,
        decimals: DECIMALS,
      }),
    ],
    blocks,
  );
}

const claim = (txHash: string, over: Partial<DepositClaim> = {}): DepositClaim => ({
  chain: 'sol',
  txHash,
  blockHint: 0,
  recipient: miner.address,
  sender: user.address,
  minAmount: SOL,
  ...over,
});
const tokenClaim = (txHash: string, over: Partial<DepositClaim> = {}) =>
  claim(txHash, { chain: 'solusdc', minAmount: 5_000_000n, ...over });

describe('SOL deposits', () => {
  it('verifies the lamport delta from account key 0 at 32 slots, pending before', async () => {
    const signature = await include(
      user,
      [getTransferSolInstruction({ source: user, destination: miner.address, amount: 2n * SOL })],
      1,
    );
    // Seen at processed only: getTransaction at confirmed does not know it yet.
    expect(await verifier(sol).verify(claim(signature))).toMatchObject({ kind: 'pending', evidence: { block: null } });
    node.chain.produceBlocks(1);
    const early = await verifier(sol).verify(claim(signature));
    expect(early).toMatchObject({ kind: 'pending', evidence: { amountSeen: 2n * SOL, confirmations: 1 } });
    node.chain.produceBlocks(REQUIRED - 1);
    const verdict = await verifier(sol).verify(claim(signature));
    expect(verdict).toMatchObject({
      kind: 'verified',
      evidence: { txHash: signature, amountSeen: 2n * SOL, senderSeen: user.address, confirmations: REQUIRED },
    });
  });

  it('answers wrong for a payment to another recipient', async () => {
    const paid = await paySol(user, stranger.address, 2n * SOL);
    expect(await verifier(sol).verify(claim(paid))).toMatchObject({ kind: 'wrong', evidence: { amountSeen: null } });
  });

  it('answers wrong for a short amount', async () => {
    const paid = await paySol(user, miner.address, SOL - 1n);
    expect(await verifier(sol).verify(claim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: SOL - 1n },
    });
  });

  it('answers wrong for another sender', async () => {
    const paid = await paySol(stranger, miner.address, 2n * SOL);
    const verdict = await verifier(sol).verify(claim(paid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { senderSeen: stranger.address } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('not from the claimed sender');
  });

  it('answers wrong for a failed transaction (meta.err)', async () => {
    const poor = await fx.fundedKey(SOL / 10n);
    const signature = await paySol(poor, miner.address, 5n * SOL); // more than it has: the program fails
    const verdict = await verifier(sol).verify(claim(signature, { sender: poor.address }));
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('failed on chain');
  });

  it('answers wrong when the fee payer (the sender) is the recipient itself', async () => {
    // The miner pays the fee and receives the user's lamports: account key 0 is the recipient.
    const signature = await include(miner, [
      getTransferSolInstruction({ source: user, destination: miner.address, amount: 2n * SOL }),
    ]);
    const verdict = await verifier(sol).verify(claim(signature, { sender: miner.address }));
    expect(verdict).toMatchObject({ kind: 'wrong', reason: 'the deposit sender is the recipient itself' });
  });

  it('answers pending for a signature never included, a malformed one, and an endpoint that fails', async () => {
    const unsent = await fx.build(user, [
      getTransferSolInstruction({ source: user, destination: miner.address, amount: 3n }),
    ]);
    expect(await verifier(sol).verify(claim(getSignatureFromTransaction(unsent)))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
    expect((await verifier(sol).verify(claim(miner.address))).kind).toBe('pending'); // an address, not a signature
    const paid = await paySol(user, miner.address, 2n * SOL);
    node.server.failNext('getTransaction', 'before');
    const failed = await verifier(sol).verify(claim(paid));
    expect(failed).toMatchObject({ kind: 'pending', evidence: { block: null } });
    expect(failed.kind === 'pending' && failed.reason).toContain('did not answer');
    node.server.failNext('getSlot', 'before');
    expect((await verifier(sol).verify(claim(paid))).kind).toBe('pending');
    expect((await verifier(sol).verify(claim(paid))).kind).toBe('verified');
  });
});

describe('SPL token deposits (legacy Token program, pinned mint)', () => {
  it("verifies the recipient ATA's delta, the debited account's owner the sender", async () => {
    const signature = await payToken(user, miner.address, 7_000_000n, mint, 1);
    expect((await verifier(spl()).verify(tokenClaim(signature))).kind).toBe('pending');
    node.chain.produceBlocks(REQUIRED);
    expect(await verifier(spl()).verify(tokenClaim(signature))).toMatchObject({
      kind: 'verified',
      evidence: { amountSeen: 7_000_000n, senderSeen: user.address },
    });
  });

  it('answers wrong for a transfer to another owner', async () => {
    const paid = await payToken(user, stranger.address, 7_000_000n);
    expect(await verifier(spl()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: null },
    });
  });

  it('answers wrong for a short amount', async () => {
    const paid = await payToken(user, miner.address, 4_999_999n);
    expect(await verifier(spl()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: 4_999_999n },
    });
  });

  it('answers wrong for another sender', async () => {
    const paid = await payToken(stranger, miner.address, 7_000_000n);
    expect(await verifier(spl()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { senderSeen: stranger.address },
    });
  });

  it("answers wrong for another mint's transfer", async () => {
    const paid = await payToken(user, miner.address, 7_000_000n, otherMint);
    expect(await verifier(spl()).verify(tokenClaim(paid))).toMatchObject({
      kind: 'wrong',
      evidence: { amountSeen: null },
    });
  });

  it('answers wrong when the sender is the recipient', async () => {
    await payToken(user, miner.address, 10_000_000n);
    const paid = await payToken(miner, miner.address, 7_000_000n);
    // A transfer to itself credits nothing: the deposit pays the recipient nothing, whoever signed.
    expect(await verifier(spl()).verify(tokenClaim(paid, { sender: miner.address }))).toMatchObject({ kind: 'wrong' });
  });

  it('answers wrong when the sender cannot be proven (two owners debited)', async () => {
    const destination = await fx.ata(miner.address, mint);
    const transfer = async (from: KeyPairSigner) =>
      getTransferCheckedInstruction({
        source: await fx.ata(from.address, mint),
        mint,
        destination,
        authority: from,
        amount: 4_000_000n,
        decimals: DECIMALS,
      });
    const signature = await include(user, [await transfer(user), await transfer(stranger)]);
    const verdict = await verifier(spl()).verify(tokenClaim(signature));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { amountSeen: 8_000_000n, senderSeen: '' } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('cannot be proven');
  });

  it('answers wrong for a failed token transfer', async () => {
    const signature = await payToken(user, miner.address, 10n ** 15n); // more than the user holds
    const verdict = await verifier(spl()).verify(tokenClaim(signature));
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('failed on chain');
  });
});

describe('Solana balances for the funds gate', () => {
  it('reads lamports and the ATA amount of the pinned mint (0 without an ATA); rejects on a failed read', async () => {
    const empty = await generateKeyPairSigner();
    expect(await solanaBalance(rpc(), sol, user.address)).toBe(fx.lamports(user.address, 'processed'));
    expect(await solanaBalance(rpc(), spl(), empty.address)).toBe(0n);
    const ata = await fx.ata(stranger.address, mint);
    expect(await solanaBalance(rpc(), spl(), stranger.address)).toBe(fx.tokens(ata, 'processed'));
    node.server.failNext('getBalance', 'before');
    await expect(solanaBalance(rpc(), sol, user.address)).rejects.toThrow();
    node.server.failNext('getAccountInfo', 'before');
    await expect(solanaBalance(rpc(), spl(), stranger.address)).rejects.toThrow();
  });
});
