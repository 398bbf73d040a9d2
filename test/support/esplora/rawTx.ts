/**
 * Bitcoin transactions read and hashed by hand, for the fake Esplora and for the tests that
 * check the bytes the sender makes: the serialization (BIP144), txid and weight, and the two
 * signature hashes a payout uses (legacy for P2PKH, BIP143 for P2WPKH and P2SH-P2WPKH). It
 * shares no code with @scure/btc-signer, so a mistake there is not repeated here.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

export interface RawInput {
  /** Display order (as Esplora writes txids). */
  readonly txid: string;
  readonly vout: number;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
}

export interface RawOutput {
  readonly value: bigint;
  readonly script: Uint8Array;
}

export interface ParsedTx {
  readonly version: number;
  readonly inputs: readonly RawInput[];
  readonly outputs: readonly RawOutput[];
  readonly witnesses: readonly (readonly Uint8Array[])[];
  readonly locktime: number;
  readonly segwit: boolean;
  readonly txid: string;
  readonly weight: number;
  readonly vsize: number;
  readonly hex: string;
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const bytesOf = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const reversed = (b: Uint8Array): Uint8Array => Uint8Array.from(b).reverse();
export const dsha256 = (b: Uint8Array): Uint8Array => sha256(sha256(b));
export const hash160 = (b: Uint8Array): Uint8Array => ripemd160(sha256(b));

class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}
  get offset(): number {
    return this.at;
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new Error('transaction ends early');
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(): number {
    return this.bytes(1)[0]!;
  }
  u32(): number {
    return Buffer.from(this.bytes(4)).readUInt32LE(0);
  }
  u64(): bigint {
    return Buffer.from(this.bytes(8)).readBigUInt64LE(0);
  }
  varint(): number {
    const first = this.u8();
    if (first < 0xfd) return first;
    if (first === 0xfd) return Buffer.from(this.bytes(2)).readUInt16LE(0);
    if (first === 0xfe) return this.u32();
    throw new Error('varint too large');
  }
  varbytes(): Uint8Array {
    return this.bytes(this.varint());
  }
  get done(): boolean {
    return this.at === this.b.length;
  }
}

export function varint(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >> 8);
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return b;
}

const u32 = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};
const u64 = (n: bigint): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n, 0);
  return b;
};
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

export function parseTx(hex: string): ParsedTx {
  const bytes = bytesOf(hex);
  if (hexOf(bytes) !== hex.toLowerCase()) throw new Error('not hex');
  const r = new Reader(bytes);
  const version = r.u32();
  let segwit = false;
  let count = r.varint();
  if (count === 0) {
    if (r.u8() !== 1) throw new Error('bad segwit flag');
    segwit = true;
    count = r.varint();
  }
  const inputs: RawInput[] = [];
  for (let i = 0; i < count; i++)
    inputs.push({ txid: hexOf(reversed(r.bytes(32))), vout: r.u32(), scriptSig: r.varbytes(), sequence: r.u32() });
  const outputs: RawOutput[] = [];
  const outCount = r.varint();
  for (let i = 0; i < outCount; i++) outputs.push({ value: r.u64(), script: r.varbytes() });
  const witnessStart = r.offset;
  const witnesses: Uint8Array[][] = inputs.map(() => []);
  if (segwit) for (const stack of witnesses) for (let n = r.varint(), j = 0; j < n; j++) stack.push(r.varbytes());
  const witnessBytes = r.offset - witnessStart + (segwit ? 2 : 0);
  const locktime = r.u32();
  if (!r.done) throw new Error('trailing bytes after the transaction');
  if (segwit && witnesses.every((w) => w.length === 0)) throw new Error('segwit flag with empty witnesses');
  const stripped = serialize({ version, inputs, outputs, locktime });
  const weight = stripped.length * 3 + bytes.length;
  if (bytes.length - witnessBytes !== stripped.length) throw new Error('assertion: stripped size');
  return {
    version,
    inputs,
    outputs,
    witnesses,
    locktime,
    segwit,
    txid: hexOf(reversed(dsha256(stripped))),
    weight,
    vsize: Math.ceil(weight / 4),
    hex: hex.toLowerCase(),
  };
}

/** The serialization without witnesses (the txid's preimage), optionally with scriptSigs replaced. */
export function serialize(
  tx: { version: number; inputs: readonly RawInput[]; outputs: readonly RawOutput[]; locktime: number },
  scriptSigs?: readonly Uint8Array[],
): Uint8Array {
  const parts: Uint8Array[] = [u32(tx.version), varint(tx.inputs.length)];
  tx.inputs.forEach((input, i) => {
    const script = scriptSigs?.[i] ?? input.scriptSig;
    parts.push(reversed(bytesOf(input.txid)), u32(input.vout), varint(script.length), script, u32(input.sequence));
  });
  parts.push(varint(tx.outputs.length));
  for (const o of tx.outputs) parts.push(u64(o.value), varint(o.script.length), o.script);
  parts.push(u32(tx.locktime));
  return concat(...parts);
}

/** A transaction with no witness, made by hand (funding "coinbase" transactions of the fake). */
export function buildTx(inputs: readonly RawInput[], outputs: readonly RawOutput[], version = 1): string {
  return hexOf(serialize({ version, inputs, outputs, locktime: 0 }));
}

/** Legacy signature hash (SIGHASH_ALL only): the input's scriptSig is the script code, the others empty. */
export function legacySighash(tx: ParsedTx, index: number, scriptCode: Uint8Array, hashType: number): Uint8Array {
  const scripts = tx.inputs.map((_, i) => (i === index ? scriptCode : new Uint8Array()));
  return dsha256(concat(serialize(tx, scripts), u32(hashType)));
}

/** BIP143 signature hash (SIGHASH_ALL only) of a version-0 witness input. */
export function bip143Sighash(
  tx: ParsedTx,
  index: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number,
): Uint8Array {
  const input = tx.inputs[index]!;
  const prevouts = dsha256(concat(...tx.inputs.map((i) => concat(reversed(bytesOf(i.txid)), u32(i.vout)))));
  const sequences = dsha256(concat(...tx.inputs.map((i) => u32(i.sequence))));
  const outputs = dsha256(concat(...tx.outputs.map((o) => concat(u64(o.value), varint(o.script.length), o.script))));
  return dsha256(
    concat(
      u32(tx.version),
      prevouts,
      sequences,
      reversed(bytesOf(input.txid)),
      u32(input.vout),
      varint(scriptCode.length),
      scriptCode,
      u64(amount),
      u32(input.sequence),
      outputs,
      u32(tx.locktime),
      u32(hashType),
    ),
  );
}

/** The data pushes of a push-only script, or null if it holds anything else. */
export function pushes(script: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  const r = new Reader(script);
  while (!r.done) {
    const op = r.u8();
    if (op >= 1 && op <= 75) out.push(r.bytes(op));
    else if (op === 0x4c) out.push(r.bytes(r.u8()));
    else if (op === 0x4d) out.push(r.bytes(Buffer.from(r.bytes(2)).readUInt16LE(0)));
    else return null;
  }
  return out;
}

/** The standard output scripts, built from their hashes by hand. */
export const scripts = {
  p2pkh: (hash: Uint8Array): Uint8Array => concat(Uint8Array.of(0x76, 0xa9, 0x14), hash, Uint8Array.of(0x88, 0xac)),
  p2sh: (hash: Uint8Array): Uint8Array => concat(Uint8Array.of(0xa9, 0x14), hash, Uint8Array.of(0x87)),
  p2wpkh: (hash: Uint8Array): Uint8Array => concat(Uint8Array.of(0x00, 0x14), hash),
  p2wsh: (hash: Uint8Array): Uint8Array => concat(Uint8Array.of(0x00, 0x20), hash),
  p2tr: (key: Uint8Array): Uint8Array => concat(Uint8Array.of(0x51, 0x20), key),
};
