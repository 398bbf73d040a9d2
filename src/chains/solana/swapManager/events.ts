/**
 * The swap manager's events, as Anchor's `emit!` logs them: a `Program data: <base64>` line
 * holding sha256("event:<Name>")[0..8] then the Borsh body (events.rs). Only the swap events
 * are decoded; a line of another program, another event or a body that does not fit its layout
 * is skipped (null), never guessed at.
 */
import { createHash } from 'node:crypto';
import { BorshDecodeError, BorshReader } from './borsh.ts';
import { MAX_ADDR_LEN, MAX_CHAIN_LEN, MAX_TX_LEN } from './layout.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function eventDiscriminator(name: string): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(`event:${name}`).digest().subarray(0, 8));
}

export type SwapEventRecord =
  | { kind: 'SwapClaimed'; swapKey: string; miner: string; user: string; fromTxHash: string; fromTxBlock: number }
  | {
      kind: 'SwapInitiated';
      swapKey: string;
      user: string;
      miner: string;
      collateralAmount: bigint;
      fromAmount: bigint;
      toAmount: bigint;
      initiatedAt: bigint;
      collateralChain: string;
    }
  | { kind: 'FulfillmentGraceApplied'; swapKey: string; miner: string; timeoutAt: bigint }
  | { kind: 'SwapFulfilled'; swapKey: string; miner: string; toTxHash: string; toAmount: bigint }
  | { kind: 'SwapTimeoutExtended'; swapKey: string; miner: string; validator: string; timeoutAt: bigint }
  | {
      kind: 'SwapCompleted';
      swapKey: string;
      miner: string;
      collateralAmount: bigint;
      fee: bigint;
      fromChain: string;
      toChain: string;
      fromAmount: bigint;
      toAmount: bigint;
      rate: bigint;
      collateralChain: string;
    }
  | {
      kind: 'SwapTimedOut';
      swapKey: string;
      miner: string;
      collateralAmount: bigint;
      slash: bigint;
      collateralChain: string;
      penalty: bigint;
      reimbursement: bigint;
      payee: string;
      hotkey: string;
    }
  | {
      kind: 'SwapCancelled';
      swapKey: string;
      miner: string;
      collateralChain: string;
      collateralAmount: bigint;
      reason: number;
    }
  | { kind: 'StaleClaimClosed'; swapKey: string; miner: string };

export type SwapEventKind = SwapEventRecord['kind'];

type BodyDecoder = (r: BorshReader) => SwapEventRecord;

const key = (r: BorshReader): string => hex(r.bytesFixed('swap_key', 32));

const BODIES: Readonly<Record<SwapEventKind, BodyDecoder>> = {
  SwapClaimed: (r) => ({
    kind: 'SwapClaimed',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    user: r.pubkey('user'),
    fromTxHash: r.string('from_tx_hash', MAX_TX_LEN),
    fromTxBlock: r.u32('from_tx_block'),
  }),
  SwapInitiated: (r) => ({
    kind: 'SwapInitiated',
    swapKey: key(r),
    user: r.pubkey('user'),
    miner: r.pubkey('miner'),
    collateralAmount: r.u64('collateral_amount'),
    fromAmount: r.u128('from_amount'),
    toAmount: r.u128('to_amount'),
    initiatedAt: r.i64('initiated_at'),
    collateralChain: r.string('collateral_chain', MAX_CHAIN_LEN),
  }),
  FulfillmentGraceApplied: (r) => ({
    kind: 'FulfillmentGraceApplied',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    timeoutAt: r.i64('timeout_at'),
  }),
  SwapFulfilled: (r) => ({
    kind: 'SwapFulfilled',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    toTxHash: r.string('to_tx_hash', MAX_TX_LEN),
    toAmount: r.u128('to_amount'),
  }),
  SwapTimeoutExtended: (r) => ({
    kind: 'SwapTimeoutExtended',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    validator: r.pubkey('validator'),
    timeoutAt: r.i64('timeout_at'),
  }),
  SwapCompleted: (r) => ({
    kind: 'SwapCompleted',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    collateralAmount: r.u64('collateral_amount'),
    fee: r.u64('fee'),
    fromChain: r.string('from_chain', MAX_CHAIN_LEN),
    toChain: r.string('to_chain', MAX_CHAIN_LEN),
    fromAmount: r.u128('from_amount'),
    toAmount: r.u128('to_amount'),
    rate: r.u128('rate'),
    collateralChain: r.string('collateral_chain', MAX_CHAIN_LEN),
  }),
  SwapTimedOut: (r) => ({
    kind: 'SwapTimedOut',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    collateralAmount: r.u64('collateral_amount'),
    slash: r.u64('slash'),
    collateralChain: r.string('collateral_chain', MAX_CHAIN_LEN),
    penalty: r.u64('penalty'),
    reimbursement: r.u64('reimbursement'),
    payee: r.string('payee', MAX_ADDR_LEN),
    hotkey: hex(r.bytesFixed('hotkey', 32)),
  }),
  SwapCancelled: (r) => ({
    kind: 'SwapCancelled',
    swapKey: key(r),
    miner: r.pubkey('miner'),
    collateralChain: r.string('collateral_chain', MAX_CHAIN_LEN),
    collateralAmount: r.u64('collateral_amount'),
    reason: r.u8('reason'),
  }),
  StaleClaimClosed: (r) => ({ kind: 'StaleClaimClosed', swapKey: key(r), miner: r.pubkey('miner') }),
};

const BY_DISCRIMINATOR = new Map<string, BodyDecoder>(
  (Object.keys(BODIES) as SwapEventKind[]).map((kind) => [hex(eventDiscriminator(kind)), BODIES[kind]]),
);

/** One event from its bytes (discriminator + body), or null if it is not one of ours. */
export function decodeSwapEvent(bytes: Uint8Array): SwapEventRecord | null {
  if (bytes.length < 8) return null;
  const decode = BY_DISCRIMINATOR.get(hex(bytes.subarray(0, 8)));
  if (decode === undefined) return null;
  try {
    return decode(new BorshReader(bytes.subarray(8)));
  } catch (error) {
    if (error instanceof BorshDecodeError) return null;
    throw error;
  }
}

const PROGRAM_DATA = 'Program data: ';

/**
 * The swap events in a transaction's log lines, in order. Only lines logged while our program
 * is the innermost one running count: another program could log bytes that look like ours.
 */
export function swapEventsInLogs(logs: readonly string[], programId: string): SwapEventRecord[] {
  const events: SwapEventRecord[] = [];
  const stack: string[] = [];
  for (const line of logs) {
    const invoke = /^Program (\w+) invoke \[\d+\]$/.exec(line);
    if (invoke !== null) {
      stack.push(invoke[1]!);
      continue;
    }
    if (/^Program \w+ (success|failed)/.test(line)) {
      stack.pop();
      continue;
    }
    if (!line.startsWith(PROGRAM_DATA) || stack.at(-1) !== programId) continue;
    const event = decodeSwapEvent(Buffer.from(line.slice(PROGRAM_DATA.length), 'base64'));
    if (event !== null) events.push(event);
  }
  return events;
}
