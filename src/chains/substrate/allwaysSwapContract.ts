/**
 * The allways swap contract on Subtensor, seen by one miner (the `SwapContract` port).
 *
 * Reads are `ContractsApi_call` dry runs at one block, so a poll sees one consistent state.
 * `mark_fulfilled` is dry-run first: a refusal comes back as the contract's Error variant
 * without spending a fee. Only then is a signed `contracts.call` submitted and followed to a
 * finalized block. What cannot be known is said so (OutcomeUnknown), never guessed: the
 * machine reads the swap back before deciding anything from it.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { u8aEq } from '@polkadot/util';
import type { SwapTerms, SwapView } from '../../../machines/index.ts';
import type { AssignedSwap, Logger, MarkRequest, SwapContract } from '../../host/ports.ts';
import type { AllwaysAbi, SwapData, SwapEventRecord } from './allwaysAbi.ts';
import type { ExtrinsicSearch } from './extrinsicSearch.ts';
import { SubmitRefused, type BlockRef, type SubstrateChain } from './substrateChain.ts';
import { SUBTENSOR_SS58_FORMAT } from '../keys.ts';
import { errorField } from '../../errors.ts';

/** 0.25 TAO in rao: the Python miner's floor before any write. */
export const DEFAULT_MIN_FREE_BALANCE = 250_000_000n;
/** A mark extrinsic is valid this many blocks; a retry after that cannot meet an old one. */
export const MARK_ERA_BLOCKS = 64;

export interface AllwaysSwapContractOptions {
  readonly chain: SubstrateChain;
  readonly search: ExtrinsicSearch;
  readonly abi: AllwaysAbi;
  /** The contract's SS58 address. */
  readonly address: string;
  /** The miner's hotkey: the swaps' `miner`, and the signer of mark_fulfilled. */
  readonly hotkey: KeyringPair;
  readonly log: Logger;
  /** Below this free balance (rao) no mark is submitted: InsufficientBalance, retried. */
  readonly minFreeBalance?: bigint;
  /** Best blocks to wait for a submitted mark to be finalized before calling it unknown. */
  readonly markTimeoutBlocks?: number;
  /** And wall-clock time, for a chain that stops making blocks. */
  readonly markTimeoutMs?: number;
  /** The daemon is stopping: stop waiting (the machine, still in Marking, reads the swap back). */
  readonly stopping?: () => boolean;
  readonly pollMs?: number;
  /** The lowest swap id the first poll reads (ids below it are taken as gone). */
  readonly firstSwapId?: bigint;
  /** How far back (blocks) to look for the events of a swap that left storage. */
  readonly eventLookbackBlocks?: number;
  /** get_swap calls in flight at once while polling. */
  readonly readConcurrency?: number;
}

export class AllwaysSwapContract implements SwapContract {
  readonly kind = 'ink' as const;
  readonly miner: string;
  private readonly minerKey: Uint8Array;
  /** Every id below this is known to have left storage (ids are never reused). */
  private lowestOpenId: bigint;

  constructor(private readonly options: AllwaysSwapContractOptions) {
    this.miner = encodeAddress(options.hotkey.publicKey, SUBTENSOR_SS58_FORMAT);
    this.minerKey = options.hotkey.publicKey;
    this.lowestOpenId = options.firstSwapId ?? 0n;
  }

  /** The ink! contract's clock: Subtensor's best block. */
  async now(): Promise<number> {
    return (await this.options.chain.best()).number;
  }

  async listAssigned(): Promise<AssignedSwap[]> {
    const at = (await this.options.chain.best()).hash;
    const next = this.options.abi.decodeGetNextSwapId(await this.read(this.options.abi.encodeGetNextSwapId(), at));
    const ids: bigint[] = [];
    for (let id = this.lowestOpenId; id < next; id += 1n) ids.push(id);
    const swaps = await this.readSwaps(ids, at);
    let prefixGone = 0;
    while (prefixGone < swaps.length && swaps[prefixGone] === null) prefixGone += 1;
    this.lowestOpenId += BigInt(prefixGone);
    const assigned: AssignedSwap[] = [];
    for (const swap of swaps) {
      if (swap === null || !this.isOurs(swap.miner)) continue;
      if (swap.status !== 'Active' && swap.status !== 'Fulfilled') continue;
      assigned.push({ terms: termsOf(swap), status: swap.status });
    }
    return assigned;
  }

  async getSwap(swapId: string): Promise<SwapView | null> {
    const id = BigInt(swapId);
    const best = await this.options.chain.best();
    const swap = this.options.abi.decodeGetSwap(await this.read(this.options.abi.encodeGetSwap(id), best.hash));
    if (swap !== null)
      return { status: swap.status, miner: swap.miner, destTxHash: swap.destTxHash, deadline: swap.timeoutBlock };
    return this.viewFromEvents(id, best);
  }

  async markFulfilled(request: MarkRequest): Promise<{ ok: true } | { ok: false; error: string }> {
    const { chain, abi, log } = this.options;
    const input = abi.encodeMarkFulfilled(
      BigInt(request.swapId),
      request.destTxHash,
      request.destTxBlock,
      request.destAmount,
    );
    const free = await chain.freeBalance(this.miner);
    const floor = this.options.minFreeBalance ?? DEFAULT_MIN_FREE_BALANCE;
    if (free < floor) {
      log.warn(
        { swap: request.swapId, free: free.toString(), floor: floor.toString() },
        'hotkey free balance below the floor; mark_fulfilled waits',
      );
      return { ok: false, error: 'InsufficientBalance' };
    }
    const dry = await chain.callContract({ origin: this.miner, contract: this.options.address, input });
    if (!dry.ok) {
      log.warn({ swap: request.swapId, dispatchError: dry.dispatchError }, 'mark_fulfilled dry run did not complete');
      return { ok: false, error: 'CallFailed' };
    }
    const refusal = abi.decodeMarkFulfilled(dry.data);
    if (!refusal.ok) return refusal;

    const gas = { refTime: (dry.gasRequired.refTime * 3n) / 2n, proofSize: (dry.gasRequired.proofSize * 3n) / 2n };
    const extrinsic = chain.api.tx.contracts.call(this.options.address, 0, gas, null, input);
    const start = await chain.best();
    // The pool-aware next nonce, not an allocator: marks go one at a time, and a mark that was
    // dropped (its era ended, the pool evicted it) must leave no gap for the next one to wait on.
    const nonce = await chain.nextNonce(this.miner);
    await extrinsic.signAsync(this.options.hotkey, { nonce, era: MARK_ERA_BLOCKS });
    const hash = extrinsic.hash.toHex();
    try {
      await chain.submit(extrinsic.toHex());
    } catch (error) {
      if (!(error instanceof SubmitRefused) || error.kind !== 'known') {
        log.warn({ swap: request.swapId, err: errorField(error) }, 'mark_fulfilled submission failed');
        if (error instanceof SubmitRefused)
          return { ok: false, error: error.kind === 'payment' ? 'InsufficientBalance' : 'RpcFailure' };
        // The request may have reached the pool before the connection failed: not "never sent".
        return { ok: false, error: 'OutcomeUnknown' };
      }
    }
    return this.awaitMark(request.swapId, hash, start.number);
  }

  /** Follows a submitted mark to a finalized block, or gives up and says the outcome is unknown. */
  private async awaitMark(
    swapId: string,
    hash: string,
    fromBlock: number,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    const { chain, search, log } = this.options;
    const timeoutBlocks = this.options.markTimeoutBlocks ?? 10;
    const pollMs = this.options.pollMs ?? 2_000;
    const deadline = Date.now() + (this.options.markTimeoutMs ?? 300_000);
    for (;;) {
      const found = await search.find(hash, fromBlock);
      if (found !== null) {
        if (found.failure === null) return { ok: true };
        // The contract refused at execution what the dry run accepted (the state moved in
        // between): the next attempt's dry run names the variant.
        log.warn(
          { swap: swapId, block: found.block, failure: found.failure },
          'mark_fulfilled extrinsic failed on chain',
        );
        return { ok: false, error: 'CallFailed' };
      }
      if (
        (await chain.best()).number > fromBlock + timeoutBlocks ||
        Date.now() > deadline ||
        this.options.stopping?.() === true
      ) {
        search.forget(hash);
        return { ok: false, error: 'OutcomeUnknown' };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  private async read(input: Uint8Array, at?: string): Promise<Uint8Array> {
    const result = await this.options.chain.callContract({
      origin: this.miner,
      contract: this.options.address,
      input,
      ...(at === undefined ? {} : { at }),
    });
    if (!result.ok) throw new Error(`contract read failed: ${result.dispatchError}`);
    return result.data;
  }

  private async readSwaps(ids: readonly bigint[], at: string): Promise<(SwapData | null)[]> {
    const { abi } = this.options;
    const width = this.options.readConcurrency ?? 16;
    const swaps: (SwapData | null)[] = [];
    for (let i = 0; i < ids.length; i += width) {
      const batch = ids.slice(i, i + width);
      swaps.push(
        ...(await Promise.all(batch.map(async (id) => abi.decodeGetSwap(await this.read(abi.encodeGetSwap(id), at))))),
      );
    }
    return swaps;
  }

  /**
   * A removed swap ended Completed or TimedOut; its events say which, and SwapFulfilled which
   * dest tx it was marked with. No terminal event found: null (unknown), never "completed".
   */
  private async viewFromEvents(swapId: bigint, head: BlockRef): Promise<SwapView | null> {
    const { chain } = this.options;
    const lookback = this.options.eventLookbackBlocks ?? 256;
    let ending: SwapEventRecord | null = null;
    let fulfilled: SwapEventRecord | null = null;
    // Backwards from the block that said "removed": the ending comes first, then the mark.
    for (let n = head.number; n >= Math.max(0, head.number - lookback) && fulfilled === null; n -= 1) {
      const hash = n === head.number ? head.hash : await chain.blockHash(n);
      if (hash === null) continue;
      for (const event of this.swapEventsAt(await chain.eventsAt(hash))) {
        if (event.swapId !== swapId) continue;
        if (event.kind === 'SwapFulfilled') fulfilled ??= event;
        else ending ??= event;
      }
    }
    if (ending === null) return null;
    return {
      status: ending.kind === 'SwapCompleted' ? 'Completed' : 'TimedOut',
      miner: ending.miner,
      destTxHash: fulfilled?.destTxHash ?? '',
      deadline: null,
    };
  }

  private swapEventsAt(records: Awaited<ReturnType<SubstrateChain['eventsAt']>>): SwapEventRecord[] {
    const { chain, abi } = this.options;
    const contractKey = decodeAddress(this.options.address);
    const events: SwapEventRecord[] = [];
    for (const record of records) {
      if (!chain.api.events.contracts.ContractEmitted.is(record.event)) continue;
      if (!u8aEq(record.event.data[0].toU8a(), contractKey)) continue;
      const event = abi.decodeSwapEvent(record as never);
      if (event !== null) events.push(event);
    }
    return events;
  }

  private isOurs(miner: string): boolean {
    try {
      return u8aEq(decodeAddress(miner), this.minerKey);
    } catch {
      return false;
    }
  }
}

/** The machine's view of a swap: amounts as decimal strings, the miner in Subtensor's format. */
export function termsOf(swap: SwapData): SwapTerms {
  return {
    contract: 'ink',
    swapId: swap.id.toString(),
    miner: encodeAddress(decodeAddress(swap.miner), SUBTENSOR_SS58_FORMAT),
    sourceChain: swap.sourceChain,
    destChain: swap.destChain,
    sourceAmount: swap.sourceAmount.toString(),
    destAmount: swap.destAmount.toString(),
    collateralAmount: swap.taoAmount.toString(),
    hub: 'tao',
    userDestAddress: swap.userDestAddress,
    senderPin: '',
    sourceTxHash: swap.sourceTxHash,
    userSourceAddress: swap.userSourceAddress,
    minerSourceAddress: swap.minerSourceAddress,
    sourceTxBlock: swap.sourceTxBlock,
    initiatedAt: swap.initiatedBlock,
    timeoutAt: swap.timeoutBlock,
    maxExtendAt: null,
  };
}
