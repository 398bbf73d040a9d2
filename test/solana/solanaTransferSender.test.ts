/**
 * The Solana transfer sender against the real System, SPL Token and Associated Token Account
 * programs (LiteSVM) behind a JSON-RPC endpoint served here on 127.0.0.1: SOL and SPL payouts,
 * durable nonces that outlive any blockhash, crashes at each point of a send, lost broadcasts,
 * refusals before signing, and the adoption of an earlier life's transfers.
 */
import { createSolanaRpc, generateKeyPairSigner, type Address, type KeyPairSigner } from '@solana/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedTransfer } from '../../machines/index.ts';
import {
  NoFreeNonceAccount,
  NonceAccountProblem,
  nonceAccountIndexFor,
} from '../../src/chains/solana/durableNonces.ts';
import { decodeSignedTransfer } from '../../src/chains/solana/signedSolanaTransfer.ts';
import {
  SolanaTransferSender,
  type SolanaTransferSenderOptions,
} from '../../src/chains/solana/solanaTransferSender.ts';
import { InsufficientFunds, MintProblem } from '../../src/chains/solana/transferPlans.ts';
import { NeverLands, TransferRefused, type Logger, type SignedBytes } from '../../src/host/ports.ts';
import { startSolanaTestNode, type SolanaTestNode } from '../support/solana/litesvmRpc.ts';
import { SolanaFixture, TO_FINALIZED } from '../support/solana/solanaFixture.ts';

const CHAIN = 'sol';
const SOL = 1_000_000_000n;
const USDC_DECIMALS = 6;
/** The rent of a new token account (165 bytes) and of an empty system account, as the programs charge. */
let ataRent: bigint;
let rentExempt: bigint;

let node: SolanaTestNode;
let fx: SolanaFixture;

beforeAll(async () => {
  node = await startSolanaTestNode({ confirmedDepth: 1, finalizedDepth: 3, blockhashValidBlocks: 150 });
  fx = new SolanaFixture(node);
  ataRent = node.chain.svm.minimumBalanceForRentExemption(165n);
  rentExempt = node.chain.svm.minimumBalanceForRentExemption(0n);
});

afterAll(async () => {
  await node?.close();
});

type RecordingLog = Logger & { lines: string[] };

function recordingLog(): RecordingLog {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, message?: string) =>
    void lines.push(`${level} ${message ?? ''} ${JSON.stringify(fields)}`);
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

interface Miner {
  readonly key: KeyPairSigner;
  readonly nonceAccounts: Address[];
}

async function miner(nonceAccounts = 1, sol = 10n * SOL): Promise<Miner> {
  const key = await fx.fundedKey(sol);
  return { key, nonceAccounts: await fx.nonceAccounts(key, nonceAccounts) };
}

/** A sender for `m`: a new one stands for a new life of the process (nothing kept in memory). */
function sender(
  m: Miner,
  options: Partial<SolanaTransferSenderOptions> = {},
): SolanaTransferSender & { log: RecordingLog } {
  const log = recordingLog();
  const s = new SolanaTransferSender({
    chain: CHAIN,
    rpc: createSolanaRpc(node.url),
    signer: m.key,
    asset: { kind: 'sol' },
    nonceAccounts: m.nonceAccounts,
    log,
    ...options,
  });
  return Object.assign(s, { log });
}

let swaps = 0;
const request = (to: string, amount: bigint, chain = CHAIN) => ({ swapId: `swap-${++swaps}`, chain, to, amount });
const asTransfer = (signed: SignedBytes): SignedTransfer => ({
  raw: signed.raw,
  hash: signed.hash,
  decidedAt: 0,
  anchorBlock: null,
});
const fresh = async (): Promise<Address> => (await generateKeyPairSigner()).address;
const blocks = (n: number): void => node.chain.produceBlocks(n);

/** No log line and no message may carry the signed bytes (their signature is inside them). */
function expectNoRaw(text: string, signed: SignedBytes): void {
  expect(text).not.toContain(signed.raw);
  expect(text).not.toContain(signed.raw.slice(100, 160));
}

describe('SOL payouts', () => {
  it('signs without touching the chain, then lands exactly the amount once it is finalized', async () => {
    const m = await miner();
    const s = sender(m);
    const to = await fresh();
    const amount = 2n * SOL;
    const payerBefore = fx.lamports(m.key.address);
    const nonceBefore = fx.chain.account(m.nonceAccounts[0]!)!.data;

    const signed = await s.sign(request(to, amount));
    const decoded = decodeSignedTransfer(signed.raw, CHAIN);
    expect(decoded).toMatchObject({
      signature: signed.hash,
      feePayer: m.key.address,
      nonceAccount: m.nonceAccounts[0],
    });
    expect(node.chain.poolSize).toBe(0);
    expect(fx.chain.account(m.nonceAccounts[0]!, 'processed')!.data).toEqual(nonceBefore);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });

    await s.broadcast(signed.raw);
    blocks(1);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'pending' }); // processed, not finalized
    await s.broadcast(signed.raw); // the same bytes again: harmless
    blocks(3);
    const status = await s.lookup(asTransfer(signed));
    expect(status).toEqual({ kind: 'included', block: Number(node.chain.status(signed.hash)!.slot) });
    // And again, once finalized: its own landing moved the nonce, so the bytes can never land
    // again (NeverLands, on which the caller looks the signature up and finds it included).
    await expect(s.broadcast(signed.raw)).rejects.toBeInstanceOf(NeverLands);
    blocks(TO_FINALIZED);

    expect(fx.lamports(to)).toBe(amount);
    expect(fx.lamports(m.key.address)).toBe(payerBefore - amount - 5_000n);
    expectNoRaw(s.log.lines.join('\n'), signed);
  });

  it('a transfer signed before a crash lands after any number of blocks: the durable nonce outlives every blockhash', async () => {
    const m = await miner();
    const to = await fresh();
    const signed = await sender(m).sign(request(to, SOL));
    // A recent-blockhash transaction built now is dropped once its blockhash has expired: the model enforces expiry.
    const stale = await fx.build(m.key, []);
    blocks(200);
    node.chain.submit(stale);
    blocks(1);
    expect(node.chain.dropped.at(-1)).toMatchObject({ reason: 'BlockhashNotFound' });

    const afterRestart = sender(m);
    afterRestart.adopt(asTransfer(signed));
    await afterRestart.broadcast(signed.raw);
    blocks(TO_FINALIZED);
    expect(await afterRestart.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
    expect(fx.lamports(to)).toBe(SOL);
  });

  it('refuses before signing what the validators would cancel: a program, a reserved account, an amount a new account cannot hold', async () => {
    const m = await miner();
    const s = sender(m);
    await expect(s.sign(request('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', SOL))).rejects.toBeInstanceOf(
      TransferRefused,
    );
    await expect(s.sign(request(await fresh(), rentExempt - 1n))).rejects.toThrow(/below the rent-exempt minimum/);
    expect(s.addressProblem('SysvarC1ock11111111111111111111111111111111')).toMatch(/reserved account/);
    expect(s.addressProblem(m.key.address)).toMatch(/paying account itself/);
    expect(s.addressProblem('0x1234')).toMatch(/not a Solana address/);
    expect(s.nonces.heldCount()).toBe(0);
    // An existing account may take less than the rent-exempt minimum.
    const existing = (await fx.fundedKey(SOL)).address;
    await expect(s.sign(request(existing, 1n))).resolves.toMatchObject({ hash: expect.any(String) });
  });

  it('signs nothing when the payer cannot cover the amount, the fee and its own rent-exempt minimum', async () => {
    const m = await miner(1, 3n * SOL);
    const s = sender(m);
    const balance = fx.lamports(m.key.address);
    await expect(s.sign(request(await fresh(), balance - 5_000n - rentExempt + 1n))).rejects.toBeInstanceOf(
      InsufficientFunds,
    );
    expect(s.nonces.heldCount()).toBe(0);
    await expect(s.sign(request(await fresh(), balance - 5_000n - rentExempt))).resolves.toBeDefined();
  });
});

describe('crashes, lost broadcasts and nonces', () => {
  it('crash after broadcast, before the inclusion is recorded: the next life finds the same transfer and pays once', async () => {
    const m = await miner();
    const to = await fresh();
    const signed = await sender(m).sign(request(to, SOL));
    await sender(m).broadcast(signed.raw);
    blocks(TO_FINALIZED);
    const next = sender(m);
    next.adopt(asTransfer(signed));
    expect(await next.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
    await next.broadcast(signed.raw).catch((error: unknown) => expect(error).toBeInstanceOf(NeverLands)); // the caller looks up on NeverLands
    blocks(TO_FINALIZED);
    expect(fx.lamports(to)).toBe(SOL);
  });

  it('a broadcast lost before the node, an answer lost after it, and a node that forgot the pool: the same bytes land once', async () => {
    const m = await miner();
    const s = sender(m);
    const to = await fresh();
    const signed = await s.sign(request(to, SOL));

    node.server.failNext('sendTransaction', 'before');
    await expect(s.broadcast(signed.raw)).rejects.toThrow(/broadcast of transfer .* failed/);
    blocks(1);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });

    await s.broadcast(signed.raw);
    expect(node.chain.dropPool()).toBe(1); // the node restarted: its pool is gone
    blocks(1);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });

    node.server.failNext('sendTransaction', 'after');
    await expect(s.broadcast(signed.raw)).rejects.toThrow(/503/);
    blocks(1);
    await s.broadcast(signed.raw); // landed: the node calls its nonce unknown, but the move is not final, so no NeverLands
    blocks(TO_FINALIZED);
    expect(await s.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
    expect(fx.lamports(to)).toBe(SOL);
  });

  it('a nonce advanced by something else is NeverLands only once final, and the account is then free again', async () => {
    const m = await miner();
    const s = sender(m);
    const signed = await s.sign(request(await fresh(), SOL));
    await expect(s.sign(request(await fresh(), SOL))).rejects.toBeInstanceOf(NoFreeNonceAccount);

    await fx.advanceNonce(m.key, m.nonceAccounts[0]!); // the operator's `solana new-nonce`, already finalized
    await expect(s.broadcast(signed.raw)).rejects.toBeInstanceOf(NeverLands);
    expect(await s.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });
    const next = await s.sign(request(await fresh(), SOL));
    expect(decodeSignedTransfer(next.raw, CHAIN).lifetime).not.toBe(decodeSignedTransfer(signed.raw, CHAIN).lifetime);
  });

  it('restart: a transfer signed by an earlier life is adopted before anything new is signed, and holds its nonce until it lands', async () => {
    const m = await miner(2);
    // A swap's transfer is signed against its own nonce account (durableNonces.ts): requests for each.
    const onAccount = (index: number) => {
      let r = request('', SOL);
      while (nonceAccountIndexFor(r.swapId, 2) !== index) r = request('', SOL);
      return async () => ({ ...r, to: await fresh() });
    };
    const first = sender(m);
    const a = await first.sign(await onAccount(0)());
    const b = await first.sign(await onAccount(1)());
    expect(new Set([a, b].map((t) => decodeSignedTransfer(t.raw, CHAIN).nonceAccount)).size).toBe(2);

    // The process dies; a's broadcast keeps failing in the next life. Adopted, neither nonce is handed out.
    const next = sender(m);
    next.adopt(asTransfer(a));
    next.adopt(asTransfer(b));
    await expect(next.sign(await onAccount(0)())).rejects.toBeInstanceOf(NoFreeNonceAccount);
    await expect(next.sign(await onAccount(1)())).rejects.toBeInstanceOf(NoFreeNonceAccount);

    // Without adoption, the new life would sign against a's nonce: both could never land together.
    const forgetful = sender(m);
    const clash = await forgetful.sign(await onAccount(0)());
    expect(decodeSignedTransfer(clash.raw, CHAIN).lifetime).toBe(decodeSignedTransfer(a.raw, CHAIN).lifetime);

    await next.broadcast(b.raw);
    blocks(1);
    await expect(next.sign(await onAccount(1)())).rejects.toBeInstanceOf(NoFreeNonceAccount); // b's advance not final yet
    blocks(TO_FINALIZED);
    const c = await next.sign(await onAccount(1)());
    expect(decodeSignedTransfer(c.raw, CHAIN).nonceAccount).toBe(decodeSignedTransfer(b.raw, CHAIN).nonceAccount);
    expect(next.nonces.heldCount()).toBe(2); // a, still pending, and c
    // A swap of a's account still waits, though b's is free again.
    await expect(next.sign(await onAccount(0)())).rejects.toBeInstanceOf(NoFreeNonceAccount);
  });

  it('refuses nonce accounts it is not the authority of, or that are not nonce accounts', async () => {
    const m = await miner();
    const stranger = await miner();
    await expect(
      sender({ key: m.key, nonceAccounts: stranger.nonceAccounts }).sign(request(await fresh(), SOL)),
    ).rejects.toBeInstanceOf(NonceAccountProblem);
    await expect(
      sender({ key: m.key, nonceAccounts: [await fresh()] }).sign(request(await fresh(), SOL)),
    ).rejects.toThrow(/does not exist/);
  });
});

describe('SPL payouts (legacy Token program)', () => {
  interface Token {
    issuer: KeyPairSigner;
    mint: Address;
  }
  const token = async (): Promise<Token> => {
    const issuer = await fx.fundedKey(10n * SOL);
    return { issuer, mint: await fx.mint(issuer, USDC_DECIMALS) };
  };
  const splSender = (m: Miner, t: Token, decimals = USDC_DECIMALS) =>
    sender(m, { chain: 'solusdc', asset: { kind: 'spl', mint: t.mint, decimals } });

  it('creates the destination token account when it is missing (the payer pays its rent) and pays the exact amount', async () => {
    const t = await token();
    const m = await miner();
    const source = await fx.mintTo(t.issuer, t.mint, m.key.address, 5_000_000n, USDC_DECIMALS);
    const s = splSender(m, t);
    const owner = await fresh();
    const payerBefore = fx.lamports(m.key.address);

    const signed = await s.sign(request(owner, 1_250_000n, 'solusdc'));
    await s.broadcast(signed.raw);
    blocks(TO_FINALIZED);
    expect(await s.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
    expect(fx.tokens(await fx.ata(owner, t.mint))).toBe(1_250_000n);
    expect(fx.tokens(source)).toBe(3_750_000n);
    expect(fx.lamports(m.key.address)).toBe(payerBefore - 5_000n - ataRent);
  });

  it('pays into an existing token account without paying rent again', async () => {
    const t = await token();
    const m = await miner();
    await fx.mintTo(t.issuer, t.mint, m.key.address, 5_000_000n, USDC_DECIMALS);
    const owner = await fresh();
    const destination = await fx.mintTo(t.issuer, t.mint, owner, 7n, USDC_DECIMALS);
    const s = splSender(m, t);
    const payerBefore = fx.lamports(m.key.address);
    const signed = await s.sign(request(owner, 1_000_000n, 'solusdc'));
    await s.broadcast(signed.raw);
    blocks(TO_FINALIZED);
    expect(fx.tokens(destination)).toBe(1_000_007n);
    expect(fx.lamports(m.key.address)).toBe(payerBefore - 5_000n);
  });

  it('a frozen destination token account is refused before signing; one frozen after signing lands as failed', async () => {
    const t = await token();
    const m = await miner();
    await fx.mintTo(t.issuer, t.mint, m.key.address, 5_000_000n, USDC_DECIMALS);
    const s = splSender(m, t);
    const frozenOwner = await fresh();
    await fx.freeze(t.issuer, t.mint, await fx.mintTo(t.issuer, t.mint, frozenOwner, 0n, USDC_DECIMALS));
    await expect(s.sign(request(frozenOwner, 1n, 'solusdc'))).rejects.toThrow(TransferRefused);
    expect(s.nonces.heldCount()).toBe(0);

    const owner = await fresh();
    const destination = await fx.mintTo(t.issuer, t.mint, owner, 0n, USDC_DECIMALS);
    const signed = await s.sign(request(owner, 1n, 'solusdc'));
    await fx.freeze(t.issuer, t.mint, destination);
    await expect(s.broadcast(signed.raw)).rejects.toThrow(/failed/); // the node's preflight refuses it: nothing lands
    node.chain.submit(node.chain.submitWire(Buffer.from(signed.raw, 'base64')).tx); // a node that skips preflight includes it anyway
    blocks(TO_FINALIZED);
    expect(await s.lookup(asTransfer(signed))).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/InstructionError/),
    });
    expect(fx.tokens(destination)).toBe(0n);
  });

  it('signs nothing without the tokens, the SOL for fee and rent, or with a mint of other decimals', async () => {
    const t = await token();
    const m = await miner(1, SOL / 100n);
    const s = splSender(m, t);
    await expect(s.sign(request(await fresh(), 1n, 'solusdc'))).rejects.toThrow(/does not exist/);
    await fx.mintTo(t.issuer, t.mint, m.key.address, 10n, USDC_DECIMALS);
    await expect(s.sign(request(await fresh(), 11n, 'solusdc'))).rejects.toBeInstanceOf(InsufficientFunds);
    const poor = await miner(1, rentExempt + ataRent);
    await fx.mintTo(t.issuer, t.mint, poor.key.address, 10n, USDC_DECIMALS);
    await expect(splSender(poor, t).sign(request(await fresh(), 1n, 'solusdc'))).rejects.toThrow(
      /rent of the destination's new token account/,
    );
    await expect(splSender(m, t, 9).sign(request(await fresh(), 1n, 'solusdc'))).rejects.toBeInstanceOf(MintProblem);
    expect(s.nonces.heldCount()).toBe(0);
  });
});
