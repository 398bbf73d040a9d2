/**
 * The TAO transfer sender (the TransferSender port on Subtensor) over WebSocket JSON-RPC
 * against the fake Subtensor: sign without touching the chain, broadcast the same bytes as
 * often as asked, look the transfer up in finalized blocks only (also from a fresh process),
 * name a transfer that failed on chain, and say NeverLands only once the finalized chain
 * proves its nonce was used by another extrinsic.
 *
 * Blocks are produced by the tests (no block timer), so every step happens at a known height.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { base58Decode, base58Encode, blake2AsU8a, encodeAddress } from '@polkadot/util-crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignedTransfer } from '../../machines/index.ts';
import { NonceAllocator } from '../../src/chains/nonceAllocator.ts';
import { ExtrinsicSearch } from '../../src/chains/substrate/extrinsicSearch.ts';
import { SubmitRefused, SubstrateChain } from '../../src/chains/substrate/substrateChain.ts';
import { TaoTransferSender } from '../../src/chains/substrate/taoTransferSender.ts';
import { NeverLands, type SignedBytes, type TransferRequest } from '../../src/host/ports.ts';
import { AssertionFailed } from '../../src/errors.ts';
import { FakeSubtensor, FEE } from '../support/fakeSubtensor/fakeSubtensor.ts';
import { registry } from '../support/fakeSubtensor/runtime.ts';
import { devAccounts } from '../support/devAccounts.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';

let bob: KeyringPair; // the miner's TAO wallet: it pays every transfer
let charlie: KeyringPair; // a user
let dave: KeyringPair; // another user
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ({ bob, charlie, dave } = await devAccounts());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** Above 2^53: a number would round it. */
const BIG = 9_007_199_254_740_993n;
const START = 10n ** 18n;

interface Rig {
  readonly node: FakeSubtensor;
  readonly chain: SubstrateChain;
  readonly sender: TaoTransferSender;
  readonly log: LogLine[];
  /** A new process: its own connection, search and nonce allocator. */
  restart(): Promise<{ chain: SubstrateChain; sender: TaoTransferSender }>;
}

async function connect(
  node: FakeSubtensor,
  log: LogLine[],
): Promise<{ chain: SubstrateChain; sender: TaoTransferSender }> {
  const logger = collectingLogger(log);
  const chain = await SubstrateChain.connect(node.url, { log: logger, timeoutMs: 10_000 });
  cleanups.push(() => chain.disconnect());
  const sender = new TaoTransferSender({
    chain,
    search: new ExtrinsicSearch(chain),
    signer: bob,
    nonces: new NonceAllocator(),
    log: logger,
  });
  return { chain, sender };
}

async function rig(finalityLag = 0, bobHas = START): Promise<Rig> {
  const node = await FakeSubtensor.start({ finalityLag });
  cleanups.push(() => node.stop());
  node.endow(bob.address, bobHas);
  // Storage reads see an endowment from the next block on; lag + 1 blocks finalize it.
  for (let i = 0; i <= finalityLag; i += 1) node.produceBlock();
  const log: LogLine[] = [];
  const { chain, sender } = await connect(node, log);
  return { node, chain, sender, log, restart: () => connect(node, log) };
}

const toCharlie = (amount: bigint): TransferRequest => ({ swapId: '7', chain: 'tao', to: charlie.address, amount });
const asTransfer = (signed: SignedBytes, decidedAt: number): SignedTransfer => ({
  raw: signed.raw,
  hash: signed.hash,
  decidedAt,
  anchorBlock: null,
});
const decode = (raw: string) => registry.createType('Extrinsic', raw);
const blocksHolding = (node: FakeSubtensor, raw: string): number[] =>
  node.blocks.filter((b) => b.extrinsics.includes(raw)).map((b) => b.number);

describe('sign', () => {
  it('touches nothing on chain and yields an immortal transferKeepAlive whose hash is the blake2-256 of its bytes', async () => {
    const r = await rig();
    const from = r.node.requests.length;
    const blocks = r.node.blocks.length;

    const signed = await r.sender.sign(toCharlie(BIG));

    const methods = r.node.requests.slice(from).map((q) => q.method);
    expect(methods.filter((m) => m.startsWith('author_'))).toEqual([]);
    expect(r.node.pool).toEqual([]);
    expect(r.node.blocks.length).toBe(blocks);
    expect(r.node.balanceOf(bob.address)).toBe(START);
    expect(r.node.balanceOf(charlie.address)).toBe(0n);
    expect(r.node.nonceOf(bob.address)).toBe(0);

    expect(signed.hash).toBe(u8aToHex(blake2AsU8a(hexToU8a(signed.raw), 256)));
    const extrinsic = decode(signed.raw);
    expect(extrinsic.isSigned).toBe(true);
    expect(extrinsic.era.isImmortalEra).toBe(true);
    expect(extrinsic.signer.toString()).toBe(bob.address);
    expect(extrinsic.nonce.toNumber()).toBe(0);
    expect(`${extrinsic.method.section}.${extrinsic.method.method}`).toBe('balances.transferKeepAlive');
    expect(encodeAddress(extrinsic.method.args[0]!.toU8a().subarray(1), 42)).toBe(charlie.address);
    expect(BigInt(extrinsic.method.args[1]!.toString())).toBe(BIG);
  });

  it('refuses a zero or negative amount, another chain and a bad address without taking a nonce', async () => {
    const r = await rig();
    const from = r.node.requests.length;
    await expect(r.sender.sign(toCharlie(0n))).rejects.toThrow(AssertionFailed);
    await expect(r.sender.sign(toCharlie(-1n))).rejects.toThrow(AssertionFailed);
    await expect(r.sender.sign({ ...toCharlie(BIG), chain: 'eth' })).rejects.toThrow(/eth/);
    await expect(r.sender.sign({ ...toCharlie(BIG), to: u8aToHex(charlie.publicKey) })).rejects.toThrow(
      u8aToHex(charlie.publicKey),
    );
    expect(r.node.requests.slice(from).map((q) => q.method)).toEqual([]);

    const signed = await r.sender.sign(toCharlie(BIG));
    expect(decode(signed.raw).nonce.toNumber()).toBe(0);
  });

  it('gives two transfers signed in a row consecutive nonces, and both land', async () => {
    const r = await rig();
    const decided = r.node.best.number;
    const first = await r.sender.sign(toCharlie(BIG));
    const second = await r.sender.sign({ swapId: '8', chain: 'tao', to: dave.address, amount: 5n });
    expect([decode(first.raw).nonce.toNumber(), decode(second.raw).nonce.toNumber()]).toEqual([0, 1]);
    expect(second.hash).not.toBe(first.hash);

    await r.sender.broadcast(second.raw); // the later nonce first: it waits for the earlier one
    await r.sender.broadcast(first.raw);
    const block = r.node.produceBlock();

    expect(await r.sender.lookup(asTransfer(first, decided))).toEqual({ kind: 'included', block: block.number });
    expect(await r.sender.lookup(asTransfer(second, decided))).toEqual({ kind: 'included', block: block.number });
    expect(r.node.balanceOf(charlie.address)).toBe(BIG);
    expect(r.node.balanceOf(dave.address)).toBe(5n);
    expect(r.node.balanceOf(bob.address)).toBe(START - BIG - 5n - 2n * FEE);
  });
});

describe('broadcast and lookup', () => {
  it('after a restart, a transfer signed but never accepted keeps its nonce: the next one takes the one after', async () => {
    const r = await rig();
    const first = await r.sender.sign(toCharlie(FEE)); // signed, persisted by the host, never broadcast
    await r.chain.disconnect();
    const later = await r.restart();
    later.sender.adopt({ ...first, decidedAt: 0, anchorBlock: null });
    const second = await later.sender.sign(toCharlie(2n * FEE));
    expect([decode(first.raw).nonce.toNumber(), decode(second.raw).nonce.toNumber()]).toEqual([0, 1]);
  });

  it('calls bytes with a bad signature (signed under another runtime) NeverLands and gives the nonce back', async () => {
    const r = await rig();
    const signed = await r.sender.sign(toCharlie(FEE));
    // Signed extrinsic v4: 0x84, the signer (MultiAddress::Id, 0x00 + 32 bytes), then the
    // signature (MultiSignature::Sr25519, 0x01 + 64 bytes). Same call, nonce and signer; a
    // signature that checks against nothing, as bytes signed before a runtime upgrade.
    const at = signed.raw.indexOf(`8400${u8aToHex(bob.publicKey).slice(2)}01`) + 2 + 2 + 64 + 2;
    const bad = `${signed.raw.slice(0, at)}${'11'.repeat(64)}${signed.raw.slice(at + 128)}`;
    expect(decode(bad).nonce.toNumber()).toBe(0);
    await expect(r.sender.broadcast(bad)).rejects.toBeInstanceOf(NeverLands);
    expect(decode((await r.sender.sign(toCharlie(FEE))).raw).nonce.toNumber()).toBe(0);
  });

  it('is unknown, then pending, then unknown again until the block holding it is finalized, then included there', async () => {
    const r = await rig(2);
    const decided = r.node.best.number;
    const signed = await r.sender.sign(toCharlie(BIG));
    const transfer = asTransfer(signed, decided);

    expect(await r.sender.lookup(transfer)).toEqual({ kind: 'unknown' });
    await r.sender.broadcast(signed.raw);
    expect(await r.sender.lookup(transfer)).toEqual({ kind: 'pending' });

    const holding = r.node.produceBlock();
    expect(blocksHolding(r.node, signed.raw)).toEqual([holding.number]);
    expect(await r.sender.lookup(transfer)).toEqual({ kind: 'unknown' }); // in a block, not a finalized one
    r.node.produceBlock();
    expect(await r.sender.lookup(transfer)).toEqual({ kind: 'unknown' });
    r.node.produceBlock();
    expect(r.node.finalized.number).toBe(holding.number);
    expect(await r.sender.lookup(transfer)).toEqual({ kind: 'included', block: holding.number });

    expect(r.node.balanceOf(charlie.address)).toBe(BIG);
    expect(r.node.balanceOf(bob.address)).toBe(START - BIG - FEE);
  });

  it('takes the same bytes again harmlessly, before and after inclusion: one transfer', async () => {
    const r = await rig(2);
    const decided = r.node.best.number;
    const signed = await r.sender.sign(toCharlie(BIG));

    await r.sender.broadcast(signed.raw);
    await r.sender.broadcast(signed.raw); // in the pool already
    expect(r.node.pool).toHaveLength(1);
    r.node.produceBlock();
    await r.sender.broadcast(signed.raw); // in an unfinalized block
    r.node.produceBlock();
    r.node.produceBlock();
    await r.sender.broadcast(signed.raw); // finalized
    r.node.produceBlock();

    expect(blocksHolding(r.node, signed.raw)).toHaveLength(1);
    expect(r.node.balanceOf(charlie.address)).toBe(BIG);
    expect(r.node.balanceOf(bob.address)).toBe(START - BIG - FEE);
    expect(r.node.nonceOf(bob.address)).toBe(1);
    expect((await r.sender.lookup(asTransfer(signed, decided))).kind).toBe('included');
  });

  /** A transfer included and finalized, after which the pool's ban on its bytes lapsed. */
  async function landedAndForgotten(r: Rig): Promise<{ signed: SignedBytes; decided: number; block: number }> {
    r.node.banBlocks = 3;
    const decided = r.node.best.number;
    const signed = await r.sender.sign(toCharlie(BIG));
    await r.sender.broadcast(signed.raw);
    const holding = r.node.produceBlock();
    for (let i = 0; i < 3; i += 1) r.node.produceBlock();
    return { signed, decided, block: holding.number };
  }

  it('is refused as outdated by the pool once its ban lapses, and is still found included', async () => {
    const r = await rig();
    const { signed, decided, block } = await landedAndForgotten(r);
    await expect(r.chain.submit(signed.raw)).rejects.toSatisfy(
      (e) => e instanceof SubmitRefused && e.kind === 'stale' && /outdated/.test(e.message),
    );
    expect(await r.sender.lookup(asTransfer(signed, decided))).toEqual({ kind: 'included', block });
    expect(r.node.balanceOf(charlie.address)).toBe(BIG);
  });

  // Once the pool's ban on an included extrinsic lapses (30 min on a real node), its bytes are
  // "outdated": NeverLands then means "look it up" (the port's contract; the host does). A
  // sender that has seen it included does not even ask the pool again.
  it('after a lookup found it included, broadcasting a landed transfer is a no-op; a fresh sender says NeverLands and lookup finds it', async () => {
    const r = await rig();
    const { signed, decided, block } = await landedAndForgotten(r);
    expect(await r.sender.lookup(asTransfer(signed, decided))).toEqual({ kind: 'included', block });
    const submits = r.node.requests.filter((q) => q.method === 'author_submitExtrinsic').length;
    await expect(r.sender.broadcast(signed.raw)).resolves.toBeUndefined();
    expect(r.node.requests.filter((q) => q.method === 'author_submitExtrinsic')).toHaveLength(submits);
    await r.chain.disconnect();
    const later = await r.restart();
    await expect(later.sender.broadcast(signed.raw)).rejects.toBeInstanceOf(NeverLands);
    expect(await later.sender.lookup(asTransfer(signed, decided))).toEqual({ kind: 'included', block });
    expect(r.node.balanceOf(charlie.address)).toBe(BIG);
  });

  it('finds an earlier transfer by hash from its anchor block (else the decision block) after a restart', async () => {
    const r = await rig();
    const decided = r.node.best.number;
    const signed = await r.sender.sign(toCharlie(BIG));
    expect(signed.anchorBlock).toBe(decided); // nothing signed now can be in an earlier block
    r.node.produceBlock();
    r.node.produceBlock();
    await r.sender.broadcast(signed.raw);
    const landed = r.node.produceBlock(); // two blocks after the decision
    for (let i = 0; i < 5; i += 1) r.node.produceBlock();
    expect(blocksHolding(r.node, signed.raw)).toEqual([decided + 3]);
    await r.chain.disconnect();

    const later = await r.restart();
    expect(await later.sender.lookup(asTransfer(signed, decided))).toEqual({ kind: 'included', block: landed.number });
    expect(await later.sender.lookup({ ...asTransfer(signed, 0), anchorBlock: decided })).toEqual({
      kind: 'included',
      block: landed.number,
    });
    // From a block after it, it is not there: the search does start at the anchor or decision block.
    expect(await later.sender.lookup(asTransfer(signed, landed.number + 1))).toEqual({ kind: 'unknown' });
    expect(await later.sender.lookup({ ...asTransfer(signed, 0), anchorBlock: landed.number + 1 })).toEqual({
      kind: 'unknown',
    });
    // The new process's next transfer takes the next nonce, from the chain.
    expect(decode((await later.sender.sign(toCharlie(1n))).raw).nonce.toNumber()).toBe(1);
  });

  it('refuses to sign a transfer the account cannot cover (amount + existential deposit), using no nonce', async () => {
    const r = await rig(0, 10n * FEE);
    await expect(r.sender.sign(toCharlie(100n * FEE))).rejects.toThrow(/short of .* not signing/);
    expect(r.node.requests.filter((q) => q.method === 'system_accountNextIndex')).toHaveLength(0);
    r.node.endow(bob.address, START);
    r.node.produceBlock();
    expect(decode((await r.sender.sign(toCharlie(100n * FEE))).raw).nonce.toNumber()).toBe(0);
  });

  it("says 'failed', naming the error, for a transfer included without effect", async () => {
    const r = await rig();
    const decided = r.node.best.number;
    const signed = await r.sender.sign(toCharlie(100n * FEE));
    r.node.endow(bob.address, 10n * FEE); // drained after signing: pays the fee, not the amount
    r.node.produceBlock();
    await r.sender.broadcast(signed.raw);
    const holding = r.node.produceBlock();

    const status = await r.sender.lookup(asTransfer(signed, decided));
    expect(status.kind).toBe('failed');
    expect(status.kind === 'failed' ? status.reason : '').toMatch(/balances\.InsufficientBalance/i);
    expect(status.kind === 'failed' ? status.reason : '').toContain(`block ${holding.number}`);
    expect(r.node.balanceOf(charlie.address)).toBe(0n);
    expect(r.node.balanceOf(bob.address)).toBe(10n * FEE - FEE);
    expect(r.node.nonceOf(bob.address)).toBe(1);
  });

  it('says NeverLands only once the extrinsic that took its nonce is finalized', async () => {
    const r = await rig(2);
    const decided = r.node.best.number;
    const ours = await r.sender.sign(toCharlie(BIG));
    // Another process of the same account signs its own transfer with the same nonce.
    const log: LogLine[] = [];
    const other = await connect(r.node, log);
    const theirs = await other.sender.sign({ swapId: '9', chain: 'tao', to: dave.address, amount: 11n });
    expect(decode(theirs.raw).nonce.toNumber()).toBe(decode(ours.raw).nonce.toNumber());
    await other.sender.broadcast(theirs.raw);

    await expect(r.chain.submit(ours.raw)).rejects.toSatisfy((e) => e instanceof SubmitRefused && e.kind === 'stale'); // the pool's view
    await expect(r.sender.broadcast(ours.raw)).resolves.toBeUndefined(); // theirs only in the pool
    const holding = r.node.produceBlock();
    await expect(r.sender.broadcast(ours.raw)).resolves.toBeUndefined(); // theirs in an unfinalized block
    r.node.produceBlock();
    await expect(r.sender.broadcast(ours.raw)).resolves.toBeUndefined();
    expect(r.log.filter((l) => l.level === 'warn' && l.fields['refusal'] === 'stale')).toHaveLength(3);
    r.node.produceBlock();
    expect(r.node.finalized.number).toBe(holding.number);
    await expect(r.sender.broadcast(ours.raw)).rejects.toThrow(NeverLands);

    expect(await r.sender.lookup(asTransfer(ours, decided))).toEqual({ kind: 'unknown' });
    expect(r.node.balanceOf(charlie.address)).toBe(0n);
    expect(r.node.balanceOf(dave.address)).toBe(11n);
  });

  it('throws a plain Error, not NeverLands, when the account cannot pay the fee', async () => {
    const r = await rig();
    const signed = await r.sender.sign(toCharlie(1n));
    r.node.endow(bob.address, FEE - 1n); // drained after signing
    r.node.produceBlock();
    const error = await r.sender.broadcast(signed.raw).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NeverLands);
    expect(error).not.toBeInstanceOf(SubmitRefused);
    expect((error as Error).message).toMatch(/cannot pay/);
    expect(r.node.pool).toEqual([]);

    // Once funded, the same bytes go through.
    r.node.endow(bob.address, START);
    await r.sender.broadcast(signed.raw);
    expect(r.node.pool).toHaveLength(1);
  });
});

describe('the witness of the TAO paying account', () => {
  it("says the next nonce with the pool counted, who signed bytes at which nonce, and finds the account's transfers in blocks and in the pool", async () => {
    const r = await rig();
    expect(await r.sender.witness()).toEqual({ kind: 'nonce', account: bob.address, next: 0 });
    const first = await r.sender.sign(toCharlie(5n));
    await r.sender.broadcast(first.raw);
    const block = r.node.produceBlock();
    const second = await r.sender.sign({ swapId: '8', chain: 'tao', to: dave.address, amount: 6n });
    await r.sender.broadcast(second.raw);
    expect(await r.sender.witness()).toEqual({ kind: 'nonce', account: bob.address, next: 2 });
    expect(r.sender.identify(second.raw)).toEqual({ account: bob.address, nonce: 1, id: second.hash });
    const found = await r.sender.activity({ nonces: { from: 0, to: 2 }, maxBlocks: 10 });
    expect(found).toEqual([
      {
        id: first.hash,
        nonce: 0,
        to: charlie.address,
        amount: 5n,
        block: block.number,
        raw: first.raw,
        note: `balances.transferKeepAlive (block ${block.number})`,
      },
      {
        id: second.hash,
        nonce: 1,
        to: dave.address,
        amount: 6n,
        block: null,
        raw: second.raw,
        note: 'balances.transferKeepAlive (in the pool)',
      },
    ]);
    expect(await r.sender.activity({ ids: [first.hash], maxBlocks: 10 })).toMatchObject([{ id: first.hash, nonce: 0 }]);
  });
});

describe('addressProblem', () => {
  it('accepts a Subtensor SS58 address and names every other string it is given', async () => {
    const r = await rig();
    expect(r.sender.addressProblem(charlie.address)).toBeNull();

    const bytes = base58Decode(charlie.address);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    const badChecksum = base58Encode(bytes);
    const polkadotFormat = encodeAddress(charlie.publicKey, 0);
    const hexKey = u8aToHex(charlie.publicKey);
    expect(badChecksum).not.toBe(charlie.address);
    expect(polkadotFormat).not.toBe(charlie.address);

    for (const address of [badChecksum, polkadotFormat, hexKey, '']) {
      const problem = r.sender.addressProblem(address);
      expect(problem, address).toEqual(expect.any(String));
      expect(problem).toContain(`'${address}'`);
    }
  });
});
