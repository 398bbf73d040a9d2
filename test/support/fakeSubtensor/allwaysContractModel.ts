/**
 * The allways_swap_manager contract as the fake Subtensor runs it: the semantics of the
 * ink! contract (docs/DESIGN.md, "The allways swap manager") for what a miner calls, with
 * calls decoded and results and events encoded from the real metadata. Validators are the
 * test: it creates, confirms and times out swaps directly.
 */
import type { AbiMessage } from '@polkadot/api-contract/types';
import { u8aConcat, u8aEq } from '@polkadot/util';
import { blake2AsU8a, decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { scaleString, type AllwaysAbi } from '../../../src/chains/substrate/allwaysAbi.ts';

export type Status = 'Active' | 'Fulfilled' | 'Completed' | 'TimedOut';

export interface ModelSwap {
  id: bigint;
  user: string;
  miner: string;
  sourceChain: string;
  destChain: string;
  sourceAmount: bigint;
  destAmount: bigint;
  taoAmount: bigint;
  userSourceAddress: string;
  userDestAddress: string;
  minerSourceAddress: string;
  minerDestAddress: string;
  rate: string;
  sourceTxHash: string;
  sourceTxBlock: number;
  destTxHash: string;
  destTxBlock: number;
  status: Status;
  initiatedBlock: number;
  timeoutBlock: number;
  fulfilledBlock: number;
  completedBlock: number;
}

export interface ContractEvent {
  readonly data: Uint8Array;
  readonly topics: Uint8Array[];
}

export interface CallOutcome {
  /** The message's encoded return value (a MessageResult). */
  readonly data: Uint8Array;
  /** ink! sets the revert flag when a message returns Err: nothing it did is kept. */
  readonly revert: boolean;
  readonly events: ContractEvent[];
}

const STRING_FIELDS = [
  'sourceChain',
  'destChain',
  'userSourceAddress',
  'userDestAddress',
  'minerSourceAddress',
  'minerDestAddress',
  'rate',
  'sourceTxHash',
  'destTxHash',
] as const;

/** Strings as their SCALE bytes, so hex-looking text stays text (see scaleString). */
function encodableSwap(swap: ModelSwap): Record<string, unknown> {
  const out: Record<string, unknown> = { ...swap };
  for (const key of STRING_FIELDS) out[key] = scaleString(swap[key]);
  return out;
}

const ZERO_ACCOUNT = encodeAddress(new Uint8Array(32), 42);

export class AllwaysContractModel {
  readonly swaps = new Map<bigint, ModelSwap>();
  nextSwapId = 0n;
  halted = false;
  /** When set, every mark_fulfilled returns this Error variant (to test each one's decoding). */
  forcedRefusal: string | null = null;
  /** Every mark_fulfilled the contract executed (not dry runs), for the tests to count. */
  readonly executedMarks: { swapId: bigint; destTxHash: string; destTxBlock: number; destAmount: bigint }[] = [];

  constructor(
    readonly abi: AllwaysAbi,
    readonly address: string,
  ) {}

  /** What a quorum of vote_initiate does: a new Active swap. */
  createSwap(
    fields: Partial<ModelSwap> & { miner: string; destChain: string; userDestAddress: string; destAmount: bigint },
    block: number,
    timeoutBlocks = 30,
  ): ModelSwap {
    const id = this.nextSwapId;
    this.nextSwapId += 1n;
    const swap: ModelSwap = {
      id,
      user: ZERO_ACCOUNT,
      sourceChain: 'btc',
      sourceAmount: 1_000n,
      taoAmount: 5_000_000_000n,
      userSourceAddress: 'bc1qsource',
      minerSourceAddress: 'bc1qminer',
      minerDestAddress: '',
      rate: '1000000000000000000',
      sourceTxHash: `0x${id.toString(16).padStart(64, '0')}`,
      sourceTxBlock: 1,
      destTxHash: '',
      destTxBlock: 0,
      status: 'Active',
      initiatedBlock: block,
      timeoutBlock: block + timeoutBlocks,
      fulfilledBlock: 0,
      completedBlock: 0,
      ...fields,
    };
    this.swaps.set(id, swap);
    return swap;
  }

  /** confirm_swap by a quorum: Completed, removed; only the event remains. */
  confirm(id: bigint): ContractEvent {
    const swap = this.swaps.get(id);
    if (swap === undefined || swap.status !== 'Fulfilled') throw new Error(`swap ${id} is not Fulfilled`);
    this.swaps.delete(id);
    return this.event('SwapCompleted', [id, swap.miner, swap.taoAmount, swap.taoAmount / 100n]);
  }

  /** timeout_swap by a quorum: TimedOut, removed. */
  timeOut(id: bigint): ContractEvent {
    const swap = this.swaps.get(id);
    if (swap === undefined || (swap.status !== 'Active' && swap.status !== 'Fulfilled'))
      throw new Error(`swap ${id} cannot time out`);
    this.swaps.delete(id);
    return this.event('SwapTimedOut', [id, swap.miner, swap.taoAmount, swap.taoAmount]);
  }

  /**
   * Runs a message (selector and arguments, length-prefixed) as `caller`. With `commit` false (a dry run) nothing changes. Returns null
   * for a message this model does not implement.
   */
  call(caller: Uint8Array, input: Uint8Array, block: number, commit: boolean): CallOutcome {
    const { message, args } = this.abi.abi.decodeMessage(input);
    switch (message.method) {
      case 'getNextSwapId':
        return this.returns(message, { Ok: this.nextSwapId });
      case 'getSwap': {
        const swap = this.swaps.get(BigInt(args[0]!.toString()));
        return this.returns(message, { Ok: swap === undefined ? null : encodableSwap(swap) });
      }
      case 'markFulfilled': {
        const [swapId, destTxHash, destTxBlock, destAmount] = [
          BigInt(args[0]!.toString()),
          args[1]!.toString(),
          Number(args[2]!.toString()),
          BigInt(args[3]!.toString()),
        ];
        const refusal = this.markRefusal(caller, swapId, destAmount);
        if (refusal !== null) return { ...this.returns(message, { Ok: { Err: refusal } }), revert: true };
        if (!commit) return this.returns(message, { Ok: { Ok: null } });
        const swap = this.swaps.get(swapId)!;
        swap.status = 'Fulfilled';
        swap.destTxHash = destTxHash;
        swap.destTxBlock = destTxBlock;
        swap.fulfilledBlock = block;
        this.executedMarks.push({ swapId, destTxHash, destTxBlock, destAmount });
        return {
          ...this.returns(message, { Ok: { Ok: null } }),
          events: [this.event('SwapFulfilled', [swapId, swap.miner, destTxHash])],
        };
      }
      default:
        throw new Error(`the fake contract does not implement ${message.identifier}`);
    }
  }

  private markRefusal(caller: Uint8Array, swapId: bigint, destAmount: bigint): string | null {
    if (this.forcedRefusal !== null) return this.forcedRefusal;
    if (this.halted) return 'SystemHalted';
    const swap = this.swaps.get(swapId);
    if (swap === undefined) return 'SwapNotFound';
    if (!u8aEq(decodeAddress(swap.miner), caller)) return 'NotAssignedMiner';
    if (swap.status !== 'Active') return 'InvalidStatus';
    if (destAmount === 0n) return 'InvalidAmount';
    return null;
  }

  private returns(message: AbiMessage, value: unknown): CallOutcome {
    const type = message.returnType!;
    const data = this.abi.abi.registry.createTypeUnsafe(type.lookupName ?? type.type, [value]).toU8a();
    return { data, revert: false, events: [] };
  }

  /** ink! 5 event: all fields as data; topics: the signature, then each indexed field. */
  event(name: string, values: readonly unknown[]): ContractEvent {
    const event = this.abi.abi.events.find((e) => e.identifier.endsWith(`::${name}`));
    if (event === undefined) throw new Error(`no event ${name}`);
    const encoded = event.args.map((arg, i) => {
      const value =
        typeof values[i] === 'string' && arg.type.type === 'Text' ? scaleString(values[i] as string) : values[i];
      return this.abi.abi.registry.createTypeUnsafe(arg.type.lookupName ?? arg.type.type, [value]).toU8a();
    });
    const topics = [this.abi.abi.registry.createType('Hash', event.signatureTopic!).toU8a()];
    event.args.forEach((arg, i) => {
      if (!arg.indexed) return;
      const bytes = encoded[i]!;
      topics.push(bytes.length > 32 ? blake2AsU8a(bytes, 256) : u8aConcat(bytes, new Uint8Array(32 - bytes.length)));
    });
    return { data: u8aConcat(...encoded), topics };
  }
}
