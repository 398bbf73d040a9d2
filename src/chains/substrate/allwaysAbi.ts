/**
 * The allways_swap_manager contract's ABI, read from its ink! metadata: the three messages a
 * miner calls and the three events that say how a removed swap ended, encoded and decoded by
 * @polkadot/api-contract. Loading asserts that the metadata has them with the selectors and
 * argument types this code was written against, so a changed contract is refused up front
 * rather than mis-encoded at the first mark.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Abi } from '@polkadot/api-contract';
import type { AbiMessage } from '@polkadot/api-contract/types';
import type { Codec } from '@polkadot/types/types';
import { compactAddLength, stringToU8a, u8aToHex } from '@polkadot/util';
import { CONTRACT_ERRORS } from '../../../machines/markFulfilledErrors.ts';
import { AbiMismatch } from '../../errors.ts';

export const VENDORED_METADATA_PATH = fileURLToPath(new URL('./allways_swap_manager.metadata.json', import.meta.url));

/** The messages this client calls, with the selectors and argument types it encodes for. */
const EXPECTED_MESSAGES = {
  mark_fulfilled: { selector: '0x2dbeeb8d', args: ['u64', 'Text', 'u32', 'Balance'] },
  get_swap: { selector: '0xa35f1bbf', args: ['u64'] },
  get_next_swap_id: { selector: '0xd80244d2', args: [] },
} as const;

const SWAP_EVENTS = ['SwapFulfilled', 'SwapCompleted', 'SwapTimedOut'] as const;

/** A swap as `get_swap` returns it; amounts in the chain's smallest unit. */
export interface SwapData {
  readonly id: bigint;
  readonly user: string;
  readonly miner: string;
  readonly sourceChain: string;
  readonly destChain: string;
  readonly sourceAmount: bigint;
  readonly destAmount: bigint;
  readonly taoAmount: bigint;
  readonly userDestAddress: string;
  /** user_source_address: where the user's deposit must come from. */
  readonly userSourceAddress: string;
  /** miner_source_address: where the user's deposit must go. */
  readonly minerSourceAddress: string;
  readonly sourceTxHash: string;
  /** source_tx_block: the block the deposit is said to be in. */
  readonly sourceTxBlock: number;
  readonly destTxHash: string;
  readonly destTxBlock: number;
  readonly status: 'Active' | 'Fulfilled' | 'Completed' | 'TimedOut';
  readonly initiatedBlock: number;
  readonly timeoutBlock: number;
}

export interface SwapEventRecord {
  readonly kind: (typeof SWAP_EVENTS)[number];
  readonly swapId: bigint;
  readonly miner: string;
  /** SwapFulfilled only. */
  readonly destTxHash: string | null;
}

export type MarkOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

export class AllwaysAbi {
  private constructor(
    readonly abi: Abi,
    readonly source: string,
  ) {}

  /** Reads and checks ink! metadata; the vendored copy by default. */
  static load(path: string = VENDORED_METADATA_PATH): AllwaysAbi {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new AbiMismatch(`cannot read contract metadata ${path}: ${(error as Error).message}`);
    }
    let abi: Abi;
    try {
      abi = new Abi(json as Record<string, unknown>, { ss58Format: 42 } as never);
    } catch (error) {
      throw new AbiMismatch(`${path} is not ink! contract metadata: ${(error as Error).message}`);
    }
    const loaded = new AllwaysAbi(abi, path);
    loaded.check();
    return loaded;
  }

  private check(): void {
    for (const [name, expected] of Object.entries(EXPECTED_MESSAGES)) {
      const message = this.message(name);
      const selector = message.selector.toHex();
      if (selector !== expected.selector) {
        throw new AbiMismatch(`${this.source}: ${name} has selector ${selector}, expected ${expected.selector}`);
      }
      const args = message.args.map((a) => a.type.type);
      if (args.join(',') !== expected.args.join(',')) {
        throw new AbiMismatch(
          `${this.source}: ${name} takes (${args.join(', ')}), expected (${expected.args.join(', ')})`,
        );
      }
    }
    const errors = this.errorVariants();
    const missing = CONTRACT_ERRORS.filter((name) => !errors.includes(name));
    if (missing.length > 0) throw new AbiMismatch(`${this.source}: the error enum lacks ${missing.join(', ')}`);
    for (const name of SWAP_EVENTS) {
      if (!this.abi.events.some((e) => e.identifier.endsWith(`::${name}`) || e.identifier === name)) {
        throw new AbiMismatch(`${this.source}: no ${name} event`);
      }
    }
  }

  private message(name: string): AbiMessage {
    const message = this.abi.messages.find((m) => m.method === camel(name) || m.identifier === name);
    if (message === undefined) throw new AbiMismatch(`${this.source}: no message ${name}`);
    return message;
  }

  /** The names of the contract's Error enum, in index order. */
  errorVariants(): string[] {
    const inner = this.message('mark_fulfilled').returnType?.sub;
    const okType = Array.isArray(inner) ? inner[0] : undefined;
    const errType = okType !== undefined && Array.isArray(okType.sub) ? okType.sub[1] : undefined;
    if (errType === undefined)
      throw new AbiMismatch(`${this.source}: mark_fulfilled does not return Result<Result<(), Error>, LangError>`);
    const def = this.abi.registry.lookup.getTypeDef(errType.lookupIndex ?? -1);
    return Array.isArray(def.sub) ? def.sub.map((v) => v.name ?? '?') : [];
  }

  /** Selector and SCALE-encoded arguments, with the compact length prefix `Vec<u8>` wants. */
  encodeMarkFulfilled(swapId: bigint, destTxHash: string, destTxBlock: number, destAmount: bigint): Uint8Array {
    assertU64(swapId, 'swap_id');
    if (!Number.isInteger(destTxBlock) || destTxBlock < 0 || destTxBlock > 0xffff_ffff) {
      throw new RangeError(`dest_tx_block ${destTxBlock} does not fit a u32`);
    }
    if (destAmount < 0n || destAmount >= 1n << 128n)
      throw new RangeError(`dest_amount ${destAmount} does not fit a u128`);
    return this.message('mark_fulfilled').toU8a([swapId, scaleString(destTxHash), destTxBlock, destAmount]);
  }

  encodeGetSwap(swapId: bigint): Uint8Array {
    assertU64(swapId, 'swap_id');
    return this.message('get_swap').toU8a([swapId]);
  }

  encodeGetNextSwapId(): Uint8Array {
    return this.message('get_next_swap_id').toU8a([]);
  }

  /** The Result<Result<(), Error>, LangError> of mark_fulfilled, as the Error variant's name. */
  decodeMarkFulfilled(data: Uint8Array): MarkOutcome {
    const inner = this.okOrThrow('mark_fulfilled', data) as unknown as { isOk: boolean; asErr: { type: string } };
    return inner.isOk ? { ok: true } : { ok: false, error: inner.asErr.type };
  }

  decodeGetNextSwapId(data: Uint8Array): bigint {
    return BigInt((this.okOrThrow('get_next_swap_id', data) as unknown as { toString(): string }).toString());
  }

  decodeGetSwap(data: Uint8Array): SwapData | null {
    const option = this.okOrThrow('get_swap', data) as unknown as { isNone: boolean; unwrap(): Record<string, Codec> };
    if (option.isNone) return null;
    const s = option.unwrap();
    const text = (key: string): string => s[key]!.toString();
    const big = (key: string): bigint => BigInt(s[key]!.toString());
    const num = (key: string): number => Number(s[key]!.toString());
    return {
      id: big('id'),
      user: text('user'),
      miner: text('miner'),
      sourceChain: text('sourceChain'),
      destChain: text('destChain'),
      sourceAmount: big('sourceAmount'),
      destAmount: big('destAmount'),
      taoAmount: big('taoAmount'),
      userDestAddress: text('userDestAddress'),
      userSourceAddress: text('userSourceAddress'),
      minerSourceAddress: text('minerSourceAddress'),
      sourceTxHash: text('sourceTxHash'),
      sourceTxBlock: num('sourceTxBlock'),
      destTxHash: text('destTxHash'),
      destTxBlock: num('destTxBlock'),
      status: (s['status'] as unknown as { type: SwapData['status'] }).type,
      initiatedBlock: num('initiatedBlock'),
      timeoutBlock: num('timeoutBlock'),
    };
  }

  /** A ContractEmitted record's event, if it is one of the three that end a swap. */
  decodeSwapEvent(record: Parameters<Abi['decodeEvent']>[0]): SwapEventRecord | null {
    let decoded: ReturnType<Abi['decodeEvent']>;
    try {
      decoded = this.abi.decodeEvent(record);
    } catch {
      return null; // another contract's event, or one this metadata does not know
    }
    const kind = SWAP_EVENTS.find(
      (name) => decoded.event.identifier.endsWith(`::${name}`) || decoded.event.identifier === name,
    );
    if (kind === undefined) return null;
    const field = (name: string): Codec | undefined =>
      decoded.args[decoded.event.args.findIndex((a) => a.name === name)];
    return {
      kind,
      swapId: BigInt(field('swapId')!.toString()),
      miner: field('miner')!.toString(),
      destTxHash: kind === 'SwapFulfilled' ? field('destTxHash')!.toString() : null,
    };
  }

  private okOrThrow(name: string, data: Uint8Array): Codec {
    const returnType = this.message(name).returnType;
    if (returnType === null || returnType === undefined)
      throw new AbiMismatch(`${this.source}: ${name} returns nothing`);
    const result = this.abi.registry.createTypeUnsafe(returnType.lookupName ?? returnType.type, [data]) as unknown as {
      isErr: boolean;
      asErr: Codec;
      asOk: Codec;
    };
    if (result.isErr)
      throw new Error(`${name}: the contract could not read its input (${result.asErr.toString()}): ${u8aToHex(data)}`);
    return result.asOk;
  }
}

/**
 * A String argument as its SCALE encoding. Handing @polkadot/types a plain string that looks
 * like hex ("0x7bc9...", which every tx hash does) would encode the bytes it spells, not the
 * text: the contract would store 32 raw bytes instead of the 66-character hash.
 */
export function scaleString(text: string): Uint8Array {
  return compactAddLength(stringToU8a(text));
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function assertU64(value: bigint, what: string): void {
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`${what} ${value} does not fit a u64`);
}
