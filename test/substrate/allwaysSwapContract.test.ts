/**
 * The allways contract adapter (the SwapContract port) over WebSocket JSON-RPC against the fake
 * Subtensor: what listAssigned reads and returns, the bytes mark_fulfilled dry-runs and submits
 * (checked against bytes built by hand from the metadata), every refusal and client error it
 * reports, what getSwap says of live and removed swaps, and that a missing contract or node
 * makes the reads throw rather than look empty.
 *
 * Blocks are produced by the tests (no block timer), so every step happens at a known height.
 */
import { readFileSync } from 'node:fs';
import type { KeyringPair } from '@polkadot/keyring/types';
import { compactStripLength, hexToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, encodeAddress } from '@polkadot/util-crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_ERRORS } from '../../machines/markFulfilledErrors.ts';
import { AllwaysAbi, VENDORED_METADATA_PATH } from '../../src/chains/substrate/allwaysAbi.ts';
import {
  AllwaysSwapContract,
  DEFAULT_MIN_FREE_BALANCE,
  type AllwaysSwapContractOptions,
} from '../../src/chains/substrate/allwaysSwapContract.ts';
import { ExtrinsicSearch } from '../../src/chains/substrate/extrinsicSearch.ts';
import { SubstrateChain } from '../../src/chains/substrate/substrateChain.ts';
import type { MarkRequest } from '../../src/host/ports.ts';
import { FakeSubtensor, FEE } from '../support/fakeSubtensor/fakeSubtensor.ts';
import { decodeContractsCallParams, registry } from '../support/fakeSubtensor/runtime.ts';
import { devAccounts } from '../support/devAccounts.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';

// ---------------------------------------------------------------------------------------------
// The metadata, read here by hand (not through AllwaysAbi).

interface MetadataJson {
  spec: { messages: { label: string; selector: string; returnType: { type: number } }[] };
  types: {
    id: number;
    type: {
      path?: string[];
      def: { variant?: { variants: { index: number; name: string; fields?: { type: number }[] }[] } };
    };
  }[];
}

const metadata = JSON.parse(readFileSync(VENDORED_METADATA_PATH, 'utf8')) as MetadataJson;
const selectorOf = (label: string): Uint8Array =>
  hexToU8a(metadata.spec.messages.find((m) => m.label === label)!.selector);
const typeById = (id: number) => metadata.types.find((t) => t.id === id)!.type;
/** mark_fulfilled returns Result<Result<(), Error>, LangError>: Ok's field, then the inner Err's field. */
const CONTRACT_ERROR_NAMES: string[] = (() => {
  const outer = typeById(metadata.spec.messages.find((m) => m.label === 'mark_fulfilled')!.returnType.type);
  const inner = typeById(outer.def.variant!.variants.find((v) => v.name === 'Ok')!.fields![0]!.type);
  const error = typeById(inner.def.variant!.variants.find((v) => v.name === 'Err')!.fields![0]!.type);
  return [...error.def.variant!.variants].sort((a, b) => a.index - b.index).map((v) => v.name);
})();

// ---------------------------------------------------------------------------------------------
// SCALE by hand.

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Fixed-width little endian. */
function le(value: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = 0; i < width; i += 1) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  if (value >> BigInt(8 * width) !== 0n) throw new Error(`${value} does not fit ${width} bytes`);
  return out;
}

/** SCALE compact, single- and two-byte modes (below 2^14). */
function compact(n: number): Uint8Array {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return le(BigInt((n << 2) | 0b01), 2);
  throw new Error('compact() here only covers lengths below 2^14');
}

/** The mark_fulfilled call data: selector, u64, String (compact length + UTF-8), u32, u128. */
function handBuiltMark(swapId: bigint, destTxHash: string, destTxBlock: number, destAmount: bigint): Uint8Array {
  const text = new TextEncoder().encode(destTxHash);
  return concat(
    selectorOf('mark_fulfilled'),
    le(swapId, 8),
    compact(text.length),
    text,
    le(BigInt(destTxBlock), 4),
    le(destAmount, 16),
  );
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

let alice: KeyringPair; // the miner's hotkey
let bob: KeyringPair; // another miner
let charlie: KeyringPair; // a user
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ({ alice, bob, charlie } = await devAccounts());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

interface Rig {
  readonly node: FakeSubtensor;
  readonly chain: SubstrateChain;
  readonly contract: AllwaysSwapContract;
  readonly log: LogLine[];
  /** Another client of the same chain (a restart, or a different configuration). */
  client(options?: Partial<AllwaysSwapContractOptions>): AllwaysSwapContract;
}

async function rig(options: Partial<AllwaysSwapContractOptions> = {}, finalityLag = 0): Promise<Rig> {
  const node = await FakeSubtensor.start({ finalityLag });
  cleanups.push(() => node.stop());
  node.endow(alice.address, 10n ** 12n);
  node.endow(bob.address, 10n ** 12n);
  node.produceBlock(); // storage reads see an endowment from the next block on
  const log: LogLine[] = [];
  const logger = collectingLogger(log);
  const chain = await SubstrateChain.connect(node.url, { log: logger, timeoutMs: 10_000 });
  cleanups.push(() => chain.disconnect());
  const abi = AllwaysAbi.load();
  const client = (more: Partial<AllwaysSwapContractOptions> = {}): AllwaysSwapContract =>
    new AllwaysSwapContract({
      chain,
      search: new ExtrinsicSearch(chain),
      abi,
      address: node.contractAddress,
      hotkey: alice,
      log: logger,
      pollMs: 5,
      // markThroughBlocks produces more blocks than this: a mark that does not land ends as
      // OutcomeUnknown instead of hanging the test.
      markTimeoutBlocks: 3,
      ...options,
      ...more,
    });
  return { node, chain, contract: client(), log, client };
}

/** Waits for a condition the code under test brings about (not a timing assertion). */
async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Starts a mark, lets its extrinsic reach the pool, runs `between`, then produces `blocks`
 * blocks (4 by default: more than the rig's markTimeoutBlocks, so the mark always ends).
 */
async function markThroughBlocks(
  r: Rig,
  request: MarkRequest,
  options: { between?: () => void; blocks?: number } = {},
): Promise<{ ok: true } | { ok: false; error: string }> {
  const poolBefore = r.node.pool.length;
  let settled = false;
  const pending = r.contract.markFulfilled(request).finally(() => {
    settled = true;
  });
  await until(() => settled || r.node.pool.length > poolBefore, 'the mark extrinsic to reach the pool');
  if (settled) return pending; // refused before submission: let the test see why
  options.between?.();
  for (let i = 0; i < (options.blocks ?? 4); i += 1) r.node.produceBlock();
  return pending;
}

interface ContractCallSeen {
  readonly at: unknown;
  readonly origin: string;
  readonly dest: string;
  /** The call data as sent: compact length prefix included. */
  readonly input: Uint8Array;
}

function contractCallsSince(node: FakeSubtensor, from: number): ContractCallSeen[] {
  return node.requests
    .slice(from)
    .filter((r) => r.method === 'state_call' && r.params[0] === 'ContractsApi_call')
    .map((r) => {
      const { origin, dest, input } = decodeContractsCallParams(hexToU8a(String(r.params[1])));
      return { at: r.params[2], origin: encodeAddress(origin, 42), dest: encodeAddress(dest, 42), input };
    });
}

/** The swap ids of the get_swap calls among `calls`, ascending (a batch is read concurrently). */
function getSwapIds(calls: readonly ContractCallSeen[]): bigint[] {
  const selector = u8aToHex(selectorOf('get_swap'));
  return calls
    .map((c) => compactStripLength(c.input)[1])
    .filter((data) => u8aToHex(data.subarray(0, 4)) === selector)
    .map((data) => {
      let id = 0n;
      for (let i = 0; i < 8; i += 1) id |= BigInt(data[4 + i]!) << BigInt(8 * i);
      return id;
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const submissionsSince = (node: FakeSubtensor, from: number) =>
  node.requests.slice(from).filter((r) => r.method === 'author_submitExtrinsic');

const decodeExtrinsic = (hex: unknown) => registry.createType('Extrinsic', String(hex));

const A_TX_HASH = `0x${'7bc9e01f'.repeat(8)}`; // 66 characters of hex-looking text

function activeSwapFor(node: FakeSubtensor, miner: KeyringPair, destAmount = 123_000_000n) {
  return node.contract.createSwap(
    { miner: miner.address, destChain: 'tao', userDestAddress: charlie.address, destAmount },
    node.best.number,
  );
}

const markOf = (swapId: bigint, destAmount = 123_000_000n, destTxHash = A_TX_HASH, destTxBlock = 5): MarkRequest => ({
  swapId: swapId.toString(),
  destTxHash,
  destTxBlock,
  destAmount,
});

// ---------------------------------------------------------------------------------------------

describe('the contract metadata as read by hand', () => {
  it('has the 28 Error variants the error table classifies, in the same order', () => {
    expect(CONTRACT_ERROR_NAMES).toHaveLength(28);
    expect(CONTRACT_ERROR_NAMES).toEqual([...CONTRACT_ERRORS]);
    expect(u8aToHex(selectorOf('mark_fulfilled'))).toBe('0x2dbeeb8d');
  });
});

describe('listAssigned', () => {
  it("returns this miner's Active and Fulfilled swaps only, with the terms converted exactly", async () => {
    const r = await rig();
    const c = r.node.contract;
    // 0: ours, Active, with the miner stored in Polkadot's format (prefix 0) and u128 amounts.
    c.createSwap(
      {
        miner: encodeAddress(alice.publicKey, 0),
        destChain: 'tao',
        userDestAddress: charlie.address,
        sourceChain: 'btc',
        sourceAmount: 18_446_744_073_709_551_623n, // 2^64 + 7
        destAmount: 1_267_650_600_228_229_401_496_703_205_377n, // 2^100 + 1
        taoAmount: 340_282_366_920_938_463_463_374_607_431_768_211_455n, // 2^128 - 1
        sourceTxHash: `0x${'ab'.repeat(32)}`,
        // The deposit the miner checks before paying (issue 16): read as they are stored.
        userSourceAddress: 'bc1quser-source',
        minerSourceAddress: 'bc1qminer-deposits',
        sourceTxBlock: 840_123,
      },
      7,
      50,
    );
    c.createSwap({ miner: bob.address, destChain: 'tao', userDestAddress: charlie.address, destAmount: 1n }, 8); // 1: another miner's
    c.createSwap(
      {
        miner: alice.address,
        destChain: 'eth',
        userDestAddress: '0x00000000000000000000000000000000000000aa',
        destAmount: 2n,
        status: 'Fulfilled',
        destTxHash: A_TX_HASH,
        destTxBlock: 9,
      },
      9,
      30,
    ); // 2: ours, Fulfilled
    c.createSwap(
      { miner: alice.address, destChain: 'tao', userDestAddress: charlie.address, destAmount: 3n, status: 'TimedOut' },
      10,
    ); // 3: ours, ended
    c.createSwap(
      { miner: alice.address, destChain: 'tao', userDestAddress: charlie.address, destAmount: 4n, status: 'Completed' },
      10,
    ); // 4: ours, ended
    activeSwapFor(r.node, alice);
    c.timeOut(5n); // 5: ours, removed

    const listed = await r.contract.listAssigned();

    expect(listed).toEqual([
      {
        status: 'Active',
        terms: {
          contract: 'ink',
          swapId: '0',
          miner: alice.address,
          sourceChain: 'btc',
          destChain: 'tao',
          sourceAmount: '18446744073709551623',
          destAmount: '1267650600228229401496703205377',
          collateralAmount: '340282366920938463463374607431768211455',
          hub: 'tao',
          userDestAddress: charlie.address,
          senderPin: '',
          sourceTxHash: `0x${'ab'.repeat(32)}`,
          userSourceAddress: 'bc1quser-source',
          minerSourceAddress: 'bc1qminer-deposits',
          sourceTxBlock: 840_123,
          initiatedAt: 7,
          timeoutAt: 57,
          maxExtendAt: null,
        },
      },
      {
        status: 'Fulfilled',
        terms: {
          contract: 'ink',
          swapId: '2',
          miner: alice.address,
          sourceChain: 'btc',
          destChain: 'eth',
          sourceAmount: '1000',
          destAmount: '2',
          collateralAmount: '5000000000',
          hub: 'tao',
          userDestAddress: '0x00000000000000000000000000000000000000aa',
          senderPin: '',
          sourceTxHash: `0x${'2'.padStart(64, '0')}`,
          userSourceAddress: 'bc1qsource',
          minerSourceAddress: 'bc1qminer',
          sourceTxBlock: 1,
          initiatedAt: 9,
          timeoutAt: 39,
          maxExtendAt: null,
        },
      },
    ]);
    expect(listed[0]!.terms.miner.startsWith('5')).toBe(true); // SS58 format 42, not the stored format
    expect(listed[0]!.terms.miner).not.toBe(encodeAddress(alice.publicKey, 0));
    expect(r.contract.miner).toBe(alice.address);
  });

  it('reads every swap of one poll at the same block, the best block when the poll began', async () => {
    const r = await rig();
    for (let i = 0; i < 6; i += 1) activeSwapFor(r.node, i % 2 === 0 ? alice : bob);
    r.node.produceBlock();
    const startedAt = r.node.best;
    // The chain moves on under the poll: a block after every contract read.
    r.node.onRequest = (method) => {
      if (method === 'state_call') r.node.produceBlock();
    };
    const from = r.node.requests.length;
    const listed = await r.contract.listAssigned();
    r.node.onRequest = null;

    const calls = contractCallsSince(r.node, from);
    expect(calls).toHaveLength(7); // get_next_swap_id, then get_swap for 0..5
    expect(getSwapIds(calls)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    expect(new Set(calls.map((c) => c.at))).toEqual(new Set([startedAt.hash]));
    expect(r.node.best.number).toBe(startedAt.number + 7); // the chain did move during the poll
    expect(calls.every((c) => c.dest === r.node.contractAddress && c.origin === alice.address)).toBe(true);
    expect(listed.map((s) => s.terms.swapId)).toEqual(['0', '2', '4']);
  });

  it('moves its scan window past the swaps that left storage, and only past a removed prefix', async () => {
    const r = await rig();
    for (let i = 0; i < 5; i += 1) activeSwapFor(r.node, alice);
    r.node.contract.timeOut(0n);
    r.node.contract.timeOut(1n);
    const poll = async (): Promise<{ read: bigint[]; listed: string[] }> => {
      // A block between polls, as in production: reads at a block hash already asked about are
      // answered from @polkadot/api's cache without a request.
      r.node.produceBlock();
      const from = r.node.requests.length;
      const listed = (await r.contract.listAssigned()).map((s) => s.terms.swapId);
      return { read: getSwapIds(contractCallsSince(r.node, from)), listed };
    };

    expect(await poll()).toEqual({ read: [0n, 1n, 2n, 3n, 4n], listed: ['2', '3', '4'] });
    expect(await poll()).toEqual({ read: [2n, 3n, 4n], listed: ['2', '3', '4'] });
    r.node.contract.timeOut(3n); // a hole, not a prefix: swap 2 is still there
    expect(await poll()).toEqual({ read: [2n, 3n, 4n], listed: ['2', '4'] });
    r.node.contract.timeOut(2n);
    expect(await poll()).toEqual({ read: [2n, 3n, 4n], listed: ['4'] });
    expect(await poll()).toEqual({ read: [4n], listed: ['4'] });
    activeSwapFor(r.node, alice); // 5
    expect(await poll()).toEqual({ read: [4n, 5n], listed: ['4', '5'] });
  });

  it('rejects, never returns [], when the contract is not at the address', async () => {
    const r = await rig();
    activeSwapFor(r.node, alice);
    const elsewhere = r.client({ address: encodeAddress(blake2AsU8a('not the allways contract', 256), 42) });
    await expect(elsewhere.listAssigned()).rejects.toThrow(/ContractNotFound/);
    await expect(elsewhere.getSwap('0')).rejects.toThrow(/ContractNotFound/);
    expect(await r.contract.listAssigned()).toHaveLength(1); // the same chain, the right address
  });

  it('rejects when the node fails the contract reads', async () => {
    const r = await rig();
    activeSwapFor(r.node, alice);
    r.node.failing.add('state_call');
    await expect(r.contract.listAssigned()).rejects.toThrow();
    await expect(r.contract.getSwap('0')).rejects.toThrow();
    r.node.failing.delete('state_call');
    // @polkadot/api keeps the failed answer for that block hash: the next block's poll reads again.
    r.node.produceBlock();
    expect(await r.contract.listAssigned()).toHaveLength(1);
  });

  it('rejects when the node is unreachable', async () => {
    const r = await rig();
    activeSwapFor(r.node, alice);
    expect(await r.contract.listAssigned()).toHaveLength(1);
    await r.node.goAway();
    await expect(r.contract.listAssigned()).rejects.toThrow();
    await expect(r.contract.getSwap('0')).rejects.toThrow();
    await expect(r.contract.now()).rejects.toThrow();
  });
});

describe('markFulfilled', () => {
  it('marks the swap with the exact hash text, block and amount: dry run and extrinsic carry the hand-built call', async () => {
    const r = await rig();
    r.node.contract.nextSwapId = 0x0102_0304_0506_0708n; // an id whose byte order shows
    const swap = activeSwapFor(r.node, alice, (1n << 64n) + 5n);
    const request = markOf(swap.id, (1n << 64n) + 5n, A_TX_HASH, 0x00a1_b2c3);
    const from = r.node.requests.length;

    const result = await markThroughBlocks(r, request);

    expect(result).toEqual({ ok: true });
    const stored = r.node.contract.swaps.get(swap.id)!;
    expect(stored.status).toBe('Fulfilled');
    expect(stored.destTxHash).toBe(A_TX_HASH);
    expect(stored.destTxHash).toHaveLength(66);
    expect(stored.destTxBlock).toBe(0x00a1_b2c3);
    expect(r.node.contract.executedMarks).toEqual([
      { swapId: swap.id, destTxHash: A_TX_HASH, destTxBlock: 0x00a1_b2c3, destAmount: (1n << 64n) + 5n },
    ]);

    const expected = handBuiltMark(swap.id, A_TX_HASH, 0x00a1_b2c3, (1n << 64n) + 5n);
    expect(expected).toHaveLength(4 + 8 + 2 + 66 + 4 + 16);
    expect(u8aToHex(expected.subarray(4, 12))).toBe('0x0807060504030201');
    expect(u8aToHex(expected.subarray(12, 14))).toBe('0x0901'); // compact(66)
    expect(u8aToHex(expected.subarray(80, 84))).toBe('0xc3b2a100');
    expect(u8aToHex(expected.subarray(84))).toBe('0x05000000000000000100000000000000');

    // The dry run: one ContractsApi_call whose input is the call data, length-prefixed.
    const dryRuns = contractCallsSince(r.node, from);
    expect(dryRuns).toHaveLength(1);
    expect(dryRuns[0]!.origin).toBe(alice.address);
    expect(dryRuns[0]!.dest).toBe(r.node.contractAddress);
    expect(u8aToHex(dryRuns[0]!.input)).toBe(u8aToHex(concat(compact(expected.length), expected)));

    // The extrinsic: one contracts.call, signed by the hotkey, to the contract, carrying the same bytes.
    const submitted = submissionsSince(r.node, from);
    expect(submitted).toHaveLength(1);
    const extrinsic = decodeExtrinsic(submitted[0]!.params[0]);
    expect(`${extrinsic.method.section}.${extrinsic.method.method}`).toBe('contracts.call');
    expect(extrinsic.signer.toString()).toBe(alice.address);
    expect(encodeAddress(extrinsic.method.args[0]!.toU8a().subarray(1), 42)).toBe(r.node.contractAddress);
    expect(BigInt(extrinsic.method.args[1]!.toString())).toBe(0n); // no value transferred
    expect(u8aToHex(extrinsic.method.args[4]!.toU8a(true))).toBe(u8aToHex(expected));
    expect(u8aToHex(extrinsic.method.args[4]!.toU8a())).toBe(u8aToHex(concat(compact(expected.length), expected)));

    expect(r.node.nonceOf(alice.address)).toBe(1);
    expect(r.node.balanceOf(alice.address)).toBe(10n ** 12n - FEE);
  });

  it('returns each of the 28 Error variants the dry run reports, and submits nothing', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);
    const from = r.node.requests.length;
    const seen: unknown[] = [];
    for (const name of CONTRACT_ERROR_NAMES) {
      r.node.contract.forcedRefusal = name;
      seen.push(await r.contract.markFulfilled(markOf(swap.id)));
    }
    expect(seen).toEqual(CONTRACT_ERROR_NAMES.map((name) => ({ ok: false, error: name })));
    expect(contractCallsSince(r.node, from)).toHaveLength(28); // each one a dry run
    expect(submissionsSince(r.node, from)).toEqual([]);
    expect(r.node.nonceOf(alice.address)).toBe(0);
    expect(r.node.balanceOf(alice.address)).toBe(10n ** 12n);
    expect(r.node.pool).toEqual([]);
    expect(r.node.contract.executedMarks).toEqual([]);
    expect(r.node.contract.swaps.get(swap.id)!.status).toBe('Active');

    // The nonce was never taken: once the refusal is lifted the mark signs with nonce 0 and lands.
    r.node.contract.forcedRefusal = null;
    const at = r.node.requests.length;
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    expect(decodeExtrinsic(submissionsSince(r.node, at)[0]!.params[0]).nonce.toNumber()).toBe(0);
  });

  it("reports the contract's real refusals in its check order, submitting none of them", async () => {
    const r = await rig();
    const ours = activeSwapFor(r.node, alice);
    const theirs = activeSwapFor(r.node, bob);
    const from = r.node.requests.length;

    expect(await r.contract.markFulfilled(markOf(99n))).toEqual({ ok: false, error: 'SwapNotFound' });
    // Not our swap, with a zero amount too: the miner check comes first.
    expect(await r.contract.markFulfilled(markOf(theirs.id, 0n))).toEqual({ ok: false, error: 'NotAssignedMiner' });
    expect(await r.contract.markFulfilled(markOf(ours.id, 0n))).toEqual({ ok: false, error: 'InvalidAmount' });
    r.node.contract.halted = true;
    expect(await r.contract.markFulfilled(markOf(ours.id))).toEqual({ ok: false, error: 'SystemHalted' });
    expect(submissionsSince(r.node, from)).toEqual([]);
    expect(r.node.nonceOf(alice.address)).toBe(0);

    r.node.contract.halted = false;
    expect(await markThroughBlocks(r, markOf(ours.id))).toEqual({ ok: true });
    const afterMark = r.node.requests.length;
    // Marked already, with a zero amount too: the status check comes before the amount's.
    expect(await r.contract.markFulfilled(markOf(ours.id))).toEqual({ ok: false, error: 'InvalidStatus' });
    expect(await r.contract.markFulfilled(markOf(ours.id, 0n))).toEqual({ ok: false, error: 'InvalidStatus' });
    expect(submissionsSince(r.node, afterMark)).toEqual([]);
    expect(r.node.contract.executedMarks).toHaveLength(1);
    expect(r.node.contract.swaps.get(theirs.id)!.status).toBe('Active');
  });

  it('refuses below the free-balance floor without submitting, and goes ahead at the floor', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);
    r.node.endow(alice.address, DEFAULT_MIN_FREE_BALANCE - 1n);
    r.node.produceBlock();
    const from = r.node.requests.length;

    expect(await r.contract.markFulfilled(markOf(swap.id))).toEqual({ ok: false, error: 'InsufficientBalance' });
    expect(submissionsSince(r.node, from)).toEqual([]);
    expect(r.node.nonceOf(alice.address)).toBe(0);
    expect(r.node.balanceOf(alice.address)).toBe(DEFAULT_MIN_FREE_BALANCE - 1n);
    expect(r.log.some((l) => l.level === 'warn' && l.fields['floor'] === DEFAULT_MIN_FREE_BALANCE.toString())).toBe(
      true,
    );

    r.node.endow(alice.address, DEFAULT_MIN_FREE_BALANCE);

    r.node.produceBlock();
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
  });

  it('reports InsufficientBalance when the pool refuses the fee, and gives the nonce back', async () => {
    const r = await rig({ minFreeBalance: 0n });
    const swap = activeSwapFor(r.node, alice);
    r.node.endow(alice.address, FEE - 1n);
    r.node.produceBlock();
    const from = r.node.requests.length;

    expect(await r.contract.markFulfilled(markOf(swap.id))).toEqual({ ok: false, error: 'InsufficientBalance' });
    expect(submissionsSince(r.node, from)).toHaveLength(1); // submitted, refused by the pool
    expect(r.node.pool).toEqual([]);

    r.node.endow(alice.address, 10n ** 12n);

    r.node.produceBlock();
    const again = r.node.requests.length;
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    expect(decodeExtrinsic(submissionsSince(r.node, again)[0]!.params[0]).nonce.toNumber()).toBe(0);
  });

  it('reports RpcFailure when the node fails the submission, and the next attempt signs with the same nonce', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);
    r.node.failing.add('author_submitExtrinsic');
    const from = r.node.requests.length;

    expect(await r.contract.markFulfilled(markOf(swap.id))).toEqual({ ok: false, error: 'RpcFailure' });
    const failed = submissionsSince(r.node, from);
    expect(failed).toHaveLength(1);
    expect(decodeExtrinsic(failed[0]!.params[0]).nonce.toNumber()).toBe(0);
    expect(r.node.pool).toEqual([]);
    expect(r.node.contract.swaps.get(swap.id)!.status).toBe('Active');

    r.node.failing.delete('author_submitExtrinsic');
    const again = r.node.requests.length;
    // A nonce 1 here would wait in the pool behind a nonce 0 that never comes: the mark would not land.
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    const retried = submissionsSince(r.node, again);
    expect(retried).toHaveLength(1);
    expect(decodeExtrinsic(retried[0]!.params[0]).nonce.toNumber()).toBe(0);
    expect(r.node.contract.executedMarks).toHaveLength(1);
  });

  it('after a mark the pool dropped (OutcomeUnknown), the next one takes the same nonce and lands: no gap', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);
    const from = r.node.requests.length;
    // The pool loses the extrinsic (evicted, or its era ended) before any block includes it.
    expect(await markThroughBlocks(r, markOf(swap.id), { between: () => void r.node.pool.splice(0) })).toEqual({
      ok: false,
      error: 'OutcomeUnknown',
    });
    expect(decodeExtrinsic(submissionsSince(r.node, from)[0]!.params[0]).nonce.toNumber()).toBe(0);
    expect(r.node.contract.swaps.get(swap.id)!.status).toBe('Active');

    const again = r.node.requests.length;
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    expect(decodeExtrinsic(submissionsSince(r.node, again)[0]!.params[0]).nonce.toNumber()).toBe(0);
    expect(r.node.contract.executedMarks).toHaveLength(1);
  });

  it('reports CallFailed when the dry run passed but the swap timed out before the extrinsic ran', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);

    const result = await markThroughBlocks(r, markOf(swap.id), {
      between: () => r.node.emitContractEvent(r.node.contract.timeOut(swap.id)),
    });

    expect(result).toEqual({ ok: false, error: 'CallFailed' });
    expect(r.node.contract.executedMarks).toEqual([]);
    expect(r.node.nonceOf(alice.address)).toBe(1); // it was included, and failed
    expect(r.node.balanceOf(alice.address)).toBe(10n ** 12n - FEE);
    expect(
      r.log.some((l) => l.level === 'warn' && /^contracts\.ContractReverted$/i.test(String(l.fields['failure']))),
    ).toBe(true);
    expect(await r.contract.getSwap(swap.id.toString())).toEqual({
      status: 'TimedOut',
      miner: alice.address,
      destTxHash: '',
      deadline: null,
    });
  });

  it('reports OutcomeUnknown when finality stalls past markTimeoutBlocks, though the mark is in a block', async () => {
    const r = await rig({}, 1_000);
    const swap = activeSwapFor(r.node, alice);

    const result = await markThroughBlocks(r, markOf(swap.id), { blocks: 5 }); // markTimeoutBlocks is 3

    expect(result).toEqual({ ok: false, error: 'OutcomeUnknown' });
    // It did land in an unfinalized block: "unknown" is the truth, neither ok nor a failure.
    expect(r.node.contract.executedMarks).toHaveLength(1);
    expect(r.node.finalized.number).toBe(0);
    // Reading the swap back is how the machine learns what happened.
    expect(await r.contract.getSwap(swap.id.toString())).toEqual({
      status: 'Fulfilled',
      miner: alice.address,
      destTxHash: A_TX_HASH,
      deadline: swap.timeoutBlock,
    });
  });
});

describe('getSwap', () => {
  it("gives a live swap's status, miner and dest tx hash, the miner as listAssigned gives it", async () => {
    const r = await rig();
    const swap = r.node.contract.createSwap(
      { miner: encodeAddress(alice.publicKey, 0), destChain: 'tao', userDestAddress: charlie.address, destAmount: 7n },
      1,
    );
    expect(await r.contract.getSwap('0')).toEqual({
      status: 'Active',
      miner: alice.address,
      destTxHash: '',
      deadline: swap.timeoutBlock,
    });
    expect((await r.contract.listAssigned())[0]!.terms.miner).toBe(alice.address);
    expect(await markThroughBlocks(r, markOf(swap.id, 7n))).toEqual({ ok: true });
    expect(await r.contract.getSwap('0')).toEqual({
      status: 'Fulfilled',
      miner: alice.address,
      destTxHash: A_TX_HASH,
      deadline: swap.timeoutBlock,
    });
    expect(await r.contract.getSwap('1')).toBeNull(); // never created, no events
  });

  it('says Completed with our dest tx hash for a swap confirmed and removed', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    r.node.produceBlock();
    r.node.emitContractEvent(r.node.contract.confirm(swap.id));
    r.node.produceBlock();
    r.node.produceBlock();
    expect(r.node.contract.swaps.has(swap.id)).toBe(false);
    expect(await r.contract.getSwap(swap.id.toString())).toEqual({
      status: 'Completed',
      miner: alice.address,
      destTxHash: A_TX_HASH,
      deadline: null,
    });
  });

  it('says TimedOut, with the dest tx hash it was marked with, for a swap timed out after a mark', async () => {
    const r = await rig();
    const swap = activeSwapFor(r.node, alice);
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    r.node.emitContractEvent(r.node.contract.timeOut(swap.id));
    r.node.produceBlock();
    expect(await r.contract.getSwap(swap.id.toString())).toEqual({
      status: 'TimedOut',
      miner: alice.address,
      destTxHash: A_TX_HASH,
      deadline: null,
    });
  });

  it('says null for a removed swap whose events are beyond eventLookbackBlocks, or are not ours', async () => {
    const r = await rig({ eventLookbackBlocks: 3 });
    const swap = activeSwapFor(r.node, alice); // 0
    const other = activeSwapFor(r.node, alice); // 1
    expect(await markThroughBlocks(r, markOf(swap.id))).toEqual({ ok: true });
    r.node.emitContractEvent(r.node.contract.confirm(swap.id));
    r.node.produceBlock();
    for (let i = 0; i < 5; i += 1) r.node.produceBlock();

    expect(await r.contract.getSwap('0')).toBeNull();
    // The same chain with a longer look back finds it: the null above is the look back's.
    expect(await r.client({ eventLookbackBlocks: 10 }).getSwap('0')).toEqual({
      status: 'Completed',
      miner: alice.address,
      destTxHash: A_TX_HASH,
      deadline: null,
    });

    // Swap 1 removed without an event from the allways contract: another contract's look-alike
    // SwapTimedOut for it, and the allways contract's events of swap 0, do not count.
    const lookAlike = r.node.contract.timeOut(other.id);
    r.node.emitContractEvent(lookAlike, encodeAddress(blake2AsU8a('an impostor contract', 256), 42));
    r.node.produceBlock();
    expect(await r.client({ eventLookbackBlocks: 50 }).getSwap('1')).toBeNull();
    // The very same event from the allways contract does count.
    r.node.emitContractEvent(lookAlike);
    r.node.produceBlock();
    expect(await r.client({ eventLookbackBlocks: 50 }).getSwap('1')).toEqual({
      status: 'TimedOut',
      miner: alice.address,
      destTxHash: '',
      deadline: null,
    });
  });
});
