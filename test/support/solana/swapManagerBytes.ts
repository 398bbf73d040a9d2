/**
 * Bytes of the allways swap manager built by hand from the reference
 * (allways-solana-swap-manager.md, sections 3, 4 and 11), for the tests and the served
 * endpoint: nothing here comes from src/. Discriminators are the reference's literal bytes;
 * layouts are written field by field in the reference's order (the Swap) or at the
 * reference's offsets (MinerState).
 */
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';

export const REF = {
  programId: '6JVBEj5w27J2SVjERmv2c7wXgFee9nSSBKUJevHehyBD',
  swapDiscriminator: [53, 206, 146, 152, 44, 97, 120, 177],
  minerStateDiscriminator: [171, 93, 72, 78, 139, 153, 97, 8],
  markFulfilledDiscriminator: [40, 188, 159, 127, 20, 151, 228, 191],
  swapDiscriminatorBase58: '9zzgj4NEBqr',
  minerStateDiscriminatorBase58: 'VfT45N8BAPh',
  swapSpace: 862,
  minerStateSpace: 261,
  events: {
    SwapClaimed: '027c9054a05c9e01',
    SwapInitiated: '58c5641cbd526202',
    FulfillmentGraceApplied: 'c962553ebfa20416',
    SwapFulfilled: '3ec9ec3eea4c1127',
    SwapTimeoutExtended: '7d3f5764ba4be379',
    SwapCompleted: '765dda4dd7a5704c',
    SwapTimedOut: 'd8152d81fffa6ba6',
    SwapCancelled: 'd2e835797eec428e',
    StaleClaimClosed: '61491365e7243dba',
  },
  /** Grace after a mark, by destination chain id (case-insensitive); 600 s for any other. */
  graceSecs: { btc: 1800, sol: 120, tao: 180 } as Record<string, number>,
  otherGraceSecs: 600,
  hubBits: { sol: 0x01, tao: 0x02 } as Record<string, number>,
  hubSlots: { sol: 0, tao: 1 } as Record<string, number>,
} as const;

const b58 = getBase58Encoder();
export const pubkeyBytes = (address: string): Uint8Array => Uint8Array.from(b58.encode(address));

/** A little-endian Borsh writer, independent of src/chains/solana. */
export class HandWriter {
  private readonly bytes: number[] = [];
  raw(values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i += 1) this.bytes.push(values[i]!);
    return this;
  }
  uint(value: bigint | number, width: number): this {
    let v = BigInt(value);
    if (v < 0n) v += 1n << BigInt(8 * width); // two's complement for i64
    for (let i = 0; i < width; i += 1) {
      this.bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    return this;
  }
  u8(v: number): this {
    return this.uint(v, 1);
  }
  u32(v: number): this {
    return this.uint(v, 4);
  }
  u64(v: bigint | number): this {
    return this.uint(v, 8);
  }
  i64(v: bigint | number): this {
    return this.uint(v, 8);
  }
  u128(v: bigint | number): this {
    return this.uint(v, 16);
  }
  pubkey(address: string): this {
    return this.raw(pubkeyBytes(address));
  }
  str(value: string): this {
    const utf8 = Buffer.from(value, 'utf8');
    return this.u32(utf8.length).raw(utf8);
  }
  hex(value: string): this {
    return this.raw(Buffer.from(value, 'hex'));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export interface SwapFields {
  user: string;
  miner: string;
  fromChain: string;
  toChain: string;
  userFromAddr: string;
  userToAddr: string;
  minerFromAddr: string;
  minerToAddr: string;
  rate: bigint;
  collateralChain: string;
  collateralAmount: bigint;
  fromAmount: bigint;
  toAmount: bigint;
  fromTxHash: string;
  fromTxBlock: number;
  toTxHash: string;
  toTxBlock: number;
  /** 0 Active, 1 Fulfilled, 2 PendingAttestation */
  status: number;
  initiatedAt: number;
  timeoutAt: number;
  maxExtendAt: number;
  fulfilledAt: number;
  bump: number;
  /** 64 hex digits */
  hotkey: string;
}

/** A Swap account: discriminator, the 24 fields in order, zero padding up to 862 bytes. */
export function swapAccountBytes(s: SwapFields, pad = true): Uint8Array {
  const w = new HandWriter()
    .raw(REF.swapDiscriminator)
    .pubkey(s.user)
    .pubkey(s.miner)
    .str(s.fromChain)
    .str(s.toChain)
    .str(s.userFromAddr)
    .str(s.userToAddr)
    .str(s.minerFromAddr)
    .str(s.minerToAddr)
    .u128(s.rate)
    .str(s.collateralChain)
    .u64(s.collateralAmount)
    .u128(s.fromAmount)
    .u128(s.toAmount)
    .str(s.fromTxHash)
    .u32(s.fromTxBlock)
    .str(s.toTxHash)
    .u32(s.toTxBlock)
    .u8(s.status)
    .i64(s.initiatedAt)
    .i64(s.timeoutAt)
    .i64(s.maxExtendAt)
    .i64(s.fulfilledAt)
    .u8(s.bump)
    .hex(s.hotkey);
  const data = w.done();
  if (!pad) return data;
  if (data.length > REF.swapSpace) throw new Error(`swap data ${data.length} > ${REF.swapSpace}`);
  const out = new Uint8Array(REF.swapSpace);
  out.set(data);
  return out;
}

export interface MinerStateFields {
  miner: string;
  collateral: bigint;
  active: boolean;
  activeBackings: number;
  hasActiveSwap: boolean;
  activeSwapBackings: number;
  busyUntil: number[];
  settlingUntil: number[];
  reservedCollateral: bigint[];
  deactivationAt: number;
  successfulSwaps: number;
  failedSwaps: number;
  bump: number;
}

/** A MinerState account written at the reference's offsets (section 3), 261 bytes. */
export function minerStateBytes(m: MinerStateFields): Uint8Array {
  const buf = Buffer.alloc(REF.minerStateSpace);
  Buffer.from(REF.minerStateDiscriminator).copy(buf, 0);
  Buffer.from(pubkeyBytes(m.miner)).copy(buf, 8);
  buf.writeBigUInt64LE(m.collateral, 40);
  buf.writeUInt8(m.active ? 1 : 0, 48);
  buf.writeUInt8(m.activeBackings, 49);
  buf.writeUInt8(m.hasActiveSwap ? 1 : 0, 50);
  buf.writeUInt8(m.activeSwapBackings, 51);
  for (let i = 0; i < 8; i += 1) {
    buf.writeBigInt64LE(BigInt(m.busyUntil[i] ?? 0), 52 + 8 * i);
    buf.writeBigInt64LE(BigInt(m.settlingUntil[i] ?? 0), 116 + 8 * i);
    buf.writeBigUInt64LE(m.reservedCollateral[i] ?? 0n, 180 + 8 * i);
  }
  buf.writeBigInt64LE(BigInt(m.deactivationAt), 244);
  buf.writeUInt32LE(m.successfulSwaps, 252);
  buf.writeUInt32LE(m.failedSwaps, 256);
  buf.writeUInt8(m.bump, 260);
  return Uint8Array.from(buf);
}

/** Parses a Swap account written by swapAccountBytes back (for the endpoint's own bookkeeping). */
export function readSwapFields(data: Uint8Array): SwapFields {
  const buf = Buffer.from(data);
  let at = 8;
  const b58d = (bytes: Uint8Array) => getBase58Decoder().decode(bytes);
  const pk = () => {
    const v = b58d(buf.subarray(at, at + 32));
    at += 32;
    return v;
  };
  const u = (width: number) => {
    let v = 0n;
    for (let i = width - 1; i >= 0; i -= 1) v = (v << 8n) | BigInt(buf[at + i]!);
    at += width;
    return v;
  };
  const i64 = () => {
    const v = buf.readBigInt64LE(at);
    at += 8;
    return Number(v);
  };
  const str = () => {
    const n = Number(u(4));
    const v = buf.subarray(at, at + n).toString('utf8');
    at += n;
    return v;
  };
  const s: SwapFields = {
    user: pk(),
    miner: pk(),
    fromChain: str(),
    toChain: str(),
    userFromAddr: str(),
    userToAddr: str(),
    minerFromAddr: str(),
    minerToAddr: str(),
    rate: u(16),
    collateralChain: str(),
    collateralAmount: u(8),
    fromAmount: u(16),
    toAmount: u(16),
    fromTxHash: str(),
    fromTxBlock: Number(u(4)),
    toTxHash: str(),
    toTxBlock: Number(u(4)),
    status: Number(u(1)),
    initiatedAt: i64(),
    timeoutAt: i64(),
    maxExtendAt: i64(),
    fulfilledAt: i64(),
    bump: Number(u(1)),
    hotkey: '',
  };
  s.hotkey = buf.subarray(at, at + 32).toString('hex');
  return s;
}

/** An event's bytes: the reference's discriminator, then the body `write` adds. */
export function eventBytes(name: keyof typeof REF.events, write: (w: HandWriter) => HandWriter): Uint8Array {
  return write(new HandWriter().hex(REF.events[name])).done();
}

export const programDataLine = (bytes: Uint8Array): string => `Program data: ${Buffer.from(bytes).toString('base64')}`;
