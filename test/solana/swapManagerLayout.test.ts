/**
 * The swap manager's bytes, checked against bytes built by hand from the reference
 * (test/support/solana/swapManagerBytes.ts): discriminators, the mark_fulfilled instruction
 * data, swap keys and PDAs, the Swap and MinerState accounts, and every swap event as a
 * `Program data:` log line. Nothing expected here is produced by the code under test.
 */
import { createHash } from 'node:crypto';
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';
import { describe, expect, it } from 'vitest';
import { BorshDecodeError } from '../../src/chains/solana/swapManager/borsh.ts';
import { swapEventsInLogs } from '../../src/chains/solana/swapManager/events.ts';
import {
  decodeMinerStateAccount,
  decodeSwapAccount,
  DEFAULT_PROGRAM_ID,
  encodeMarkFulfilledData,
  MARK_FULFILLED_DISCRIMINATOR,
  MINER_STATE_DISCRIMINATOR,
  SWAP_ACCOUNT_SPACE,
  SWAP_DISCRIMINATOR,
  SWAP_MINER_OFFSET,
} from '../../src/chains/solana/swapManager/layout.ts';
import { minerStateAddress, swapAddress, swapKeyOf } from '../../src/chains/solana/swapManager/pdas.ts';
import { findPda } from '../support/solana/pda.ts';
import {
  eventBytes,
  minerStateBytes,
  programDataLine,
  pubkeyBytes,
  REF,
  swapAccountBytes,
  type SwapFields,
} from '../support/solana/swapManagerBytes.ts';

const addressOf = (fill: number): string => getBase58Decoder().decode(new Uint8Array(32).fill(fill));
const MINER = addressOf(7);
const USER = addressOf(9);
const VALIDATOR = addressOf(11);
const HOTKEY = 'ab'.repeat(32);

const sampleSwap = (over: Partial<SwapFields> = {}): SwapFields => ({
  user: USER,
  miner: MINER,
  fromChain: 'btc',
  toChain: 'sol',
  userFromAddr: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
  userToAddr: addressOf(13),
  minerFromAddr: 'bc1qminerdeposit0000000000000000000000000',
  minerToAddr: addressOf(15),
  rate: 123_456_789_000_000_000_000n,
  collateralChain: 'sol',
  collateralAmount: 5_000_000_000n,
  fromAmount: 100_000n,
  toAmount: 2_000_000_199n,
  fromTxHash: 'f'.repeat(64),
  fromTxBlock: 840_000,
  toTxHash: '',
  toTxBlock: 0,
  status: 0,
  initiatedAt: 1_780_000_000,
  timeoutAt: 1_780_000_600,
  maxExtendAt: 1_780_009_000,
  fulfilledAt: 0,
  bump: 254,
  hotkey: HOTKEY,
  ...over,
});

describe('discriminators', () => {
  it('are the reference bytes: Swap, MinerState, mark_fulfilled', () => {
    expect([...SWAP_DISCRIMINATOR]).toEqual(REF.swapDiscriminator);
    expect([...MINER_STATE_DISCRIMINATOR]).toEqual(REF.minerStateDiscriminator);
    expect([...MARK_FULFILLED_DISCRIMINATOR]).toEqual(REF.markFulfilledDiscriminator);
    expect([...getBase58Encoder().encode(REF.swapDiscriminatorBase58)]).toEqual(REF.swapDiscriminator);
    expect([...getBase58Encoder().encode(REF.minerStateDiscriminatorBase58)]).toEqual(REF.minerStateDiscriminator);
  });
});

describe('swap keys and PDAs', () => {
  it('swap_key is legacy keccak256 of the exact UTF-8 bytes (not SHA3-256)', () => {
    // The Keccak-256 test vectors (as Ethereum's): '' and 'abc'.
    expect(Buffer.from(swapKeyOf('')).toString('hex')).toBe(
      'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
    expect(Buffer.from(swapKeyOf('abc')).toString('hex')).toBe(
      '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45',
    );
    expect(Buffer.from(swapKeyOf('abc')).toString('hex')).not.toBe(createHash('sha3-256').update('abc').digest('hex'));
  });

  it('Swap = ["swap", swap_key] and MinerState = ["miner", miner] under the program id', async () => {
    const key = swapKeyOf('0xdeadbeef');
    expect(await swapAddress(REF.programId, key)).toBe(findPda([Buffer.from('swap'), key], REF.programId));
    expect(await minerStateAddress(REF.programId, MINER)).toBe(
      findPda([Buffer.from('miner'), pubkeyBytes(MINER)], REF.programId),
    );
    expect(DEFAULT_PROGRAM_ID).toBe(REF.programId);
  });
});

describe('mark_fulfilled instruction data', () => {
  it('is discriminator, swap_key (32), to_tx_hash (u32 LE length + UTF-8), to_tx_block (u32 LE): no amount', () => {
    const key = swapKeyOf('abc');
    const data = encodeMarkFulfilledData(key, '5sig', 0x01020304);
    const expected =
      '28bc9f7f1497e4bf' +
      '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45' +
      '04000000' +
      Buffer.from('5sig').toString('hex') +
      '04030201';
    expect(Buffer.from(data).toString('hex')).toBe(expected);
    expect(data.length).toBe(8 + 32 + 4 + 4 + 4);
  });

  it('takes a 128-byte hash and refuses a longer one before anything is signed', () => {
    expect(encodeMarkFulfilledData(new Uint8Array(32), 'x'.repeat(128), 0).length).toBe(8 + 32 + 4 + 128 + 4);
    expect(() => encodeMarkFulfilledData(new Uint8Array(32), 'x'.repeat(129), 0)).toThrow(/at most 128/);
    expect(() => encodeMarkFulfilledData(new Uint8Array(31), 'x', 0)).toThrow(/32 bytes/);
  });
});

describe('the Swap account', () => {
  it('decodes every field of a hand-built 862-byte account; miner sits at offset 40', () => {
    const fields = sampleSwap({ status: 1, toTxHash: 'sig', toTxBlock: 77, fulfilledAt: 1_780_000_100 });
    const bytes = swapAccountBytes(fields);
    expect(bytes.length).toBe(SWAP_ACCOUNT_SPACE);
    expect(Buffer.from(bytes.subarray(SWAP_MINER_OFFSET, SWAP_MINER_OFFSET + 32))).toEqual(
      Buffer.from(pubkeyBytes(MINER)),
    );
    expect(decodeSwapAccount(bytes)).toEqual({ ...fields, status: 'Fulfilled' });
  });

  it('reads status tags 0, 1, 2 and negative or large i64 times', () => {
    expect(decodeSwapAccount(swapAccountBytes(sampleSwap({ status: 0 }))).status).toBe('Active');
    expect(decodeSwapAccount(swapAccountBytes(sampleSwap({ status: 2, initiatedAt: 0, timeoutAt: 0 }))).status).toBe(
      'PendingAttestation',
    );
    expect(decodeSwapAccount(swapAccountBytes(sampleSwap({ fulfilledAt: -5 }))).fulfilledAt).toBe(-5);
    expect(decodeSwapAccount(swapAccountBytes(sampleSwap({ toAmount: (1n << 128n) - 1n }))).toAmount).toBe(
      (1n << 128n) - 1n,
    );
  });

  const broken: Array<[string, () => Uint8Array, RegExp]> = [
    ['a MinerState passed as a Swap', () => minerStateBytes(sampleMinerState()), /not a Swap account/],
    ['a truncated account', () => swapAccountBytes(sampleSwap(), false).subarray(0, 300), /needs \d+ bytes/],
    ['an unknown status tag', () => swapAccountBytes(sampleSwap({ status: 3 })), /unknown SwapStatus tag 3/],
    [
      'a chain id over 16 bytes',
      () => swapAccountBytes(sampleSwap({ fromChain: 'x'.repeat(17) })),
      /from_chain: length 17 .* exceeds the maximum 16/,
    ],
    ['a tx hash that is not UTF-8', () => invalidUtf8Swap(), /from_tx_hash: not valid UTF-8/],
  ];
  it.each(broken)('refuses %s, naming the field', (_name, build, message) => {
    expect(() => decodeSwapAccount(build())).toThrow(BorshDecodeError);
    expect(() => decodeSwapAccount(build())).toThrow(message);
  });
});

function invalidUtf8Swap(): Uint8Array {
  const bytes = swapAccountBytes(sampleSwap({ fromTxHash: 'aaaa' }));
  const at = Buffer.from(bytes).indexOf(Buffer.from('\x04\x00\x00\x00aaaa', 'latin1'));
  bytes[at + 4] = 0xff;
  return bytes;
}

const sampleMinerState = () => ({
  miner: MINER,
  collateral: 10_000_000_000n,
  active: true,
  activeBackings: 0x03,
  hasActiveSwap: true,
  activeSwapBackings: 0x01,
  busyUntil: [1_780_000_720, 0, 0, 0, 0, 0, 0, 0],
  settlingUntil: [0, 1_780_001_000, 0, 0, 0, 0, 0, 0],
  reservedCollateral: [5_500_000_000n, 0n, 0n, 0n, 0n, 0n, 0n, 0n],
  deactivationAt: 0,
  successfulSwaps: 7,
  failedSwaps: 1,
  bump: 253,
});

describe('the MinerState account', () => {
  it('decodes the 261 bytes written at the reference offsets', () => {
    const fields = sampleMinerState();
    const bytes = minerStateBytes(fields);
    expect(bytes.length).toBe(REF.minerStateSpace);
    expect(decodeMinerStateAccount(bytes)).toEqual(fields);
  });

  it('refuses a bool byte other than 0 or 1 and a Swap passed as MinerState', () => {
    const bytes = minerStateBytes(sampleMinerState());
    bytes[48] = 2;
    expect(() => decodeMinerStateAccount(bytes)).toThrow(/active: bool byte 2/);
    expect(() => decodeMinerStateAccount(swapAccountBytes(sampleSwap()))).toThrow(/not a MinerState account/);
  });
});

describe('events as Program data: log lines', () => {
  const key = 'cd'.repeat(32);
  const inProgram = (lines: string[], programId = REF.programId) => [
    `Program ${programId} invoke [1]`,
    'Program log: Instruction: MarkFulfilled',
    ...lines,
    `Program ${programId} success`,
  ];
  const cases: Array<[keyof typeof REF.events, Uint8Array, object]> = [
    [
      'SwapClaimed',
      eventBytes('SwapClaimed', (w) => w.hex(key).pubkey(MINER).pubkey(USER).str('0xsrc').u32(12)),
      { kind: 'SwapClaimed', swapKey: key, miner: MINER, user: USER, fromTxHash: '0xsrc', fromTxBlock: 12 },
    ],
    [
      'SwapInitiated',
      eventBytes('SwapInitiated', (w) =>
        w.hex(key).pubkey(USER).pubkey(MINER).u64(5n).u128(6n).u128(7n).i64(1_780_000_000).str('tao'),
      ),
      {
        kind: 'SwapInitiated',
        swapKey: key,
        user: USER,
        miner: MINER,
        collateralAmount: 5n,
        fromAmount: 6n,
        toAmount: 7n,
        initiatedAt: 1_780_000_000n,
        collateralChain: 'tao',
      },
    ],
    [
      'FulfillmentGraceApplied',
      eventBytes('FulfillmentGraceApplied', (w) => w.hex(key).pubkey(MINER).i64(1_780_000_720)),
      { kind: 'FulfillmentGraceApplied', swapKey: key, miner: MINER, timeoutAt: 1_780_000_720n },
    ],
    [
      'SwapFulfilled',
      eventBytes('SwapFulfilled', (w) => w.hex(key).pubkey(MINER).str('5sig').u128(2_000_000_199n)),
      { kind: 'SwapFulfilled', swapKey: key, miner: MINER, toTxHash: '5sig', toAmount: 2_000_000_199n },
    ],
    [
      'SwapTimeoutExtended',
      eventBytes('SwapTimeoutExtended', (w) => w.hex(key).pubkey(MINER).pubkey(VALIDATOR).i64(1_780_001_200)),
      { kind: 'SwapTimeoutExtended', swapKey: key, miner: MINER, validator: VALIDATOR, timeoutAt: 1_780_001_200n },
    ],
    [
      'SwapCompleted',
      eventBytes('SwapCompleted', (w) =>
        w.hex(key).pubkey(MINER).u64(5n).u64(1n).str('btc').str('sol').u128(10n).u128(20n).u128(30n).str('sol'),
      ),
      {
        kind: 'SwapCompleted',
        swapKey: key,
        miner: MINER,
        collateralAmount: 5n,
        fee: 1n,
        fromChain: 'btc',
        toChain: 'sol',
        fromAmount: 10n,
        toAmount: 20n,
        rate: 30n,
        collateralChain: 'sol',
      },
    ],
    [
      'SwapTimedOut',
      eventBytes('SwapTimedOut', (w) =>
        w.hex(key).pubkey(MINER).u64(5n).u64(6n).str('sol').u64(7n).u64(8n).str('payee').hex(HOTKEY),
      ),
      {
        kind: 'SwapTimedOut',
        swapKey: key,
        miner: MINER,
        collateralAmount: 5n,
        slash: 6n,
        collateralChain: 'sol',
        penalty: 7n,
        reimbursement: 8n,
        payee: 'payee',
        hotkey: HOTKEY,
      },
    ],
    [
      'SwapCancelled',
      eventBytes('SwapCancelled', (w) => w.hex(key).pubkey(MINER).str('tao').u64(9n).u8(255)),
      { kind: 'SwapCancelled', swapKey: key, miner: MINER, collateralChain: 'tao', collateralAmount: 9n, reason: 255 },
    ],
    [
      'StaleClaimClosed',
      eventBytes('StaleClaimClosed', (w) => w.hex(key).pubkey(MINER)),
      { kind: 'StaleClaimClosed', swapKey: key, miner: MINER },
    ],
  ];

  it.each(cases)('%s decodes from its log line', (_name, bytes, expected) => {
    expect(swapEventsInLogs(inProgram([programDataLine(bytes)]), REF.programId)).toEqual([expected]);
  });

  it('keeps the order of the lines: grace before SwapFulfilled', () => {
    const lines = inProgram([programDataLine(cases[2]![1]), programDataLine(cases[3]![1])]);
    expect(swapEventsInLogs(lines, REF.programId).map((e) => e.kind)).toEqual([
      'FulfillmentGraceApplied',
      'SwapFulfilled',
    ]);
  });

  it('ignores data logged by another program, unknown events and bodies that do not fit', () => {
    const other = addressOf(21);
    const completed = cases[5]![1];
    const lines = [
      `Program ${REF.programId} invoke [1]`,
      `Program ${other} invoke [2]`,
      programDataLine(completed), // logged while another program runs: not ours
      `Program ${other} success`,
      programDataLine(eventBytes('SwapTimedOut', (w) => w.hex(key))), // truncated body
      programDataLine(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)), // unknown discriminator
      programDataLine(completed),
      `Program ${REF.programId} success`,
      programDataLine(completed), // after our program returned
    ];
    expect(swapEventsInLogs(lines, REF.programId)).toHaveLength(1);
  });
});
