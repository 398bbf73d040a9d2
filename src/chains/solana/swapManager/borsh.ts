/**
 * A strict Borsh reader and writer for the few shapes the swap manager uses: integers
 * (little-endian), fixed byte arrays, public keys, u32-length-prefixed UTF-8 strings with a
 * maximum length, and u8 enum tags.
 *
 * Why not @solana/kit's codecs: its UTF-8 decoder drops NUL characters and replaces invalid
 * bytes, and a swap key is keccak256 of the exact bytes of `from_tx_hash`; a silently altered
 * string would derive another swap's PDA. Here a string that is not valid UTF-8, longer than its
 * maximum, or running past the end of the account is refused with where and why.
 */
import { getBase58Decoder } from '@solana/kit';

/** The bytes do not hold the layout: the field and the offset say where it broke. */
export class BorshDecodeError extends Error {
  override readonly name = 'BorshDecodeError';
}

const base58 = getBase58Decoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class BorshReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get position(): number {
    return this.offset;
  }

  private take(field: string, length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) {
      throw new BorshDecodeError(
        `${field}: needs ${length} bytes at offset ${this.offset}, the data has ${this.bytes.length}`,
      );
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  private view(field: string, length: number): DataView {
    const slice = this.take(field, length);
    return new DataView(slice.buffer, slice.byteOffset, slice.byteLength);
  }

  bytesFixed(field: string, length: number): Uint8Array {
    return Uint8Array.from(this.take(field, length));
  }

  /** A public key, as its base58 address. */
  pubkey(field: string): string {
    return base58.decode(this.take(field, 32));
  }

  u8(field: string): number {
    return this.view(field, 1).getUint8(0);
  }

  bool(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) throw new BorshDecodeError(`${field}: bool byte ${value} at offset ${this.offset - 1}`);
    return value === 1;
  }

  u32(field: string): number {
    return this.view(field, 4).getUint32(0, true);
  }

  u64(field: string): bigint {
    return this.view(field, 8).getBigUint64(0, true);
  }

  i64(field: string): bigint {
    return this.view(field, 8).getBigInt64(0, true);
  }

  u128(field: string): bigint {
    const view = this.view(field, 16);
    return view.getBigUint64(0, true) | (view.getBigUint64(8, true) << 64n);
  }

  /** A Borsh String: u32 LE byte length, then UTF-8, at most `maxBytes` bytes. */
  string(field: string, maxBytes: number): string {
    const start = this.offset;
    const length = this.u32(field);
    if (length > maxBytes)
      throw new BorshDecodeError(`${field}: length ${length} at offset ${start} exceeds the maximum ${maxBytes}`);
    try {
      return strictUtf8.decode(this.take(field, length));
    } catch (error) {
      if (error instanceof BorshDecodeError) throw error;
      throw new BorshDecodeError(`${field}: not valid UTF-8 at offset ${start + 4}`);
    }
  }
}

/** Writes Borsh values into a growing buffer (instruction data). */
export class BorshWriter {
  private readonly parts: Uint8Array[] = [];

  raw(bytes: Uint8Array): this {
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
      throw new RangeError(`u32 out of range: ${value}`);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value, true);
    return this.raw(bytes);
  }

  string(value: string): this {
    const bytes = new TextEncoder().encode(value);
    return this.u32(bytes.length).raw(bytes);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
