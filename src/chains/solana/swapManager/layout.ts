/**
 * The allways swap manager's on-chain shapes, from the program's source as the reference
 * describes it (state.rs, events.rs, lib.rs): account discriminators, the Swap and MinerState
 * accounts, the `mark_fulfilled` instruction data, and the events a miner reads from
 * `Program data:` log lines.
 *
 * Discriminators are computed here from their Anchor names (sha256 of "account:<Name>",
 * "global:<ix>", "event:<Name>", first 8 bytes); the tests hold the reference's literal bytes,
 * so a typo in a name fails them. Decoding is strict: anything that does not fit the layout is a
 * BorshDecodeError naming the field, never a half-read swap.
 */
import { createHash } from 'node:crypto';
import { BorshDecodeError, BorshReader, BorshWriter } from './borsh.ts';

/** The program id of every cluster (Anchor.toml: "Same program id across all clusters"). */
export const DEFAULT_PROGRAM_ID = '6JVBEj5w27J2SVjERmv2c7wXgFee9nSSBKUJevHehyBD';

export const MAX_CHAIN_LEN = 16;
export const MAX_ADDR_LEN = 80;
export const MAX_TX_LEN = 128;
/** The Swap account's allocation (8 + INIT_SPACE); the Borsh data is shorter, then padding. */
export const SWAP_ACCOUNT_SPACE = 862;
export const MINER_STATE_SPACE = 261;
/** `miner` is the Swap's second field, after the discriminator and `user`: a fixed offset. */
export const SWAP_MINER_OFFSET = 40;
/** Hubs (backings) and their bit in MinerState.active_swap_backings; one live swap per hub. */
export const HUB_BITS: Readonly<Record<string, number>> = { sol: 0x01, tao: 0x02 };

function discriminator(preimage: string): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(preimage).digest().subarray(0, 8));
}

export const SWAP_DISCRIMINATOR = discriminator('account:Swap');
export const MINER_STATE_DISCRIMINATOR = discriminator('account:MinerState');
export const MARK_FULFILLED_DISCRIMINATOR = discriminator('global:mark_fulfilled');

export type SwapStatus = 'Active' | 'Fulfilled' | 'PendingAttestation';
const SWAP_STATUSES: readonly SwapStatus[] = ['Active', 'Fulfilled', 'PendingAttestation'];

/** A Swap account as stored (Borsh field order of `Swap` in state.rs). */
export interface SwapAccount {
  readonly user: string;
  readonly miner: string;
  readonly fromChain: string;
  readonly toChain: string;
  readonly userFromAddr: string;
  readonly userToAddr: string;
  readonly minerFromAddr: string;
  readonly minerToAddr: string;
  readonly rate: bigint;
  readonly collateralChain: string;
  readonly collateralAmount: bigint;
  readonly fromAmount: bigint;
  readonly toAmount: bigint;
  readonly fromTxHash: string;
  readonly fromTxBlock: number;
  readonly toTxHash: string;
  readonly toTxBlock: number;
  readonly status: SwapStatus;
  /** Unix seconds of the cluster's clock (0 while PendingAttestation). */
  readonly initiatedAt: number;
  readonly timeoutAt: number;
  readonly maxExtendAt: number;
  readonly fulfilledAt: number;
  readonly bump: number;
  /** The Bittensor hotkey pinned at initiate, hex; all zeros when never bound. */
  readonly hotkey: string;
}

export interface MinerStateAccount {
  readonly miner: string;
  readonly collateral: bigint;
  readonly active: boolean;
  readonly activeBackings: number;
  readonly hasActiveSwap: boolean;
  readonly activeSwapBackings: number;
  readonly busyUntil: readonly number[];
  readonly settlingUntil: readonly number[];
  readonly reservedCollateral: readonly bigint[];
  readonly deactivationAt: number;
  readonly successfulSwaps: number;
  readonly failedSwaps: number;
  readonly bump: number;
}

function expectDiscriminator(reader: BorshReader, expected: Uint8Array, name: string): void {
  const found = reader.bytesFixed(`${name} discriminator`, 8);
  if (!found.every((b, i) => b === expected[i])) {
    throw new BorshDecodeError(`not a ${name} account: discriminator ${Buffer.from(found).toString('hex')}`);
  }
}

/** An i64 of unix seconds as a number: beyond 2^53 it is not a time, it is damage. */
function seconds(reader: BorshReader, field: string): number {
  const value = reader.i64(field);
  if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BorshDecodeError(`${field}: ${value} is not a plausible unix time`);
  }
  return Number(value);
}

export function decodeSwapAccount(data: Uint8Array): SwapAccount {
  const r = new BorshReader(data);
  expectDiscriminator(r, SWAP_DISCRIMINATOR, 'Swap');
  const user = r.pubkey('user');
  const miner = r.pubkey('miner');
  const fromChain = r.string('from_chain', MAX_CHAIN_LEN);
  const toChain = r.string('to_chain', MAX_CHAIN_LEN);
  const userFromAddr = r.string('user_from_addr', MAX_ADDR_LEN);
  const userToAddr = r.string('user_to_addr', MAX_ADDR_LEN);
  const minerFromAddr = r.string('miner_from_addr', MAX_ADDR_LEN);
  const minerToAddr = r.string('miner_to_addr', MAX_ADDR_LEN);
  const rate = r.u128('rate');
  const collateralChain = r.string('collateral_chain', MAX_CHAIN_LEN);
  const collateralAmount = r.u64('collateral_amount');
  const fromAmount = r.u128('from_amount');
  const toAmount = r.u128('to_amount');
  const fromTxHash = r.string('from_tx_hash', MAX_TX_LEN);
  const fromTxBlock = r.u32('from_tx_block');
  const toTxHash = r.string('to_tx_hash', MAX_TX_LEN);
  const toTxBlock = r.u32('to_tx_block');
  const tag = r.u8('status');
  const status = SWAP_STATUSES[tag];
  if (status === undefined) throw new BorshDecodeError(`status: unknown SwapStatus tag ${tag}`);
  return {
    user,
    miner,
    fromChain,
    toChain,
    userFromAddr,
    userToAddr,
    minerFromAddr,
    minerToAddr,
    rate,
    collateralChain,
    collateralAmount,
    fromAmount,
    toAmount,
    fromTxHash,
    fromTxBlock,
    toTxHash,
    toTxBlock,
    status,
    initiatedAt: seconds(r, 'initiated_at'),
    timeoutAt: seconds(r, 'timeout_at'),
    maxExtendAt: seconds(r, 'max_extend_at'),
    fulfilledAt: seconds(r, 'fulfilled_at'),
    bump: r.u8('bump'),
    hotkey: Buffer.from(r.bytesFixed('hotkey', 32)).toString('hex'),
  };
}

export function decodeMinerStateAccount(data: Uint8Array): MinerStateAccount {
  const r = new BorshReader(data);
  expectDiscriminator(r, MINER_STATE_DISCRIMINATOR, 'MinerState');
  const miner = r.pubkey('miner');
  const collateral = r.u64('collateral');
  const active = r.bool('active');
  const activeBackings = r.u8('active_backings');
  const hasActiveSwap = r.bool('has_active_swap');
  const activeSwapBackings = r.u8('active_swap_backings');
  const slots = <T>(field: string, read: (f: string) => T): T[] =>
    Array.from({ length: 8 }, (_, i) => read(`${field}[${i}]`));
  const busyUntil = slots('busy_until', (f) => seconds(r, f));
  const settlingUntil = slots('settling_until', (f) => seconds(r, f));
  const reservedCollateral = slots('reserved_collateral', (f) => r.u64(f));
  return {
    miner,
    collateral,
    active,
    activeBackings,
    hasActiveSwap,
    activeSwapBackings,
    busyUntil,
    settlingUntil,
    reservedCollateral,
    deactivationAt: seconds(r, 'deactivation_at'),
    successfulSwaps: r.u32('successful_swaps'),
    failedSwaps: r.u32('failed_swaps'),
    bump: r.u8('bump'),
  };
}

/** `mark_fulfilled(swap_key: [u8;32], to_tx_hash: String, to_tx_block: u32)`: no amount. */
export function encodeMarkFulfilledData(swapKey: Uint8Array, toTxHash: string, toTxBlock: number): Uint8Array {
  if (swapKey.length !== 32) throw new RangeError(`swap_key must be 32 bytes, got ${swapKey.length}`);
  const hashBytes = new TextEncoder().encode(toTxHash).length;
  // The program would refuse it (StringTooLong) after charging the fee: refuse it here.
  if (hashBytes > MAX_TX_LEN)
    throw new RangeError(`to_tx_hash is ${hashBytes} bytes; the program takes at most ${MAX_TX_LEN}`);
  return new BorshWriter().raw(MARK_FULFILLED_DISCRIMINATOR).raw(swapKey).string(toTxHash).u32(toTxBlock).finish();
}
