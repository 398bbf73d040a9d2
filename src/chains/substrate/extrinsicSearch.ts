/**
 * Finds an extrinsic by hash. Substrate nodes keep no index from extrinsic hash to block, so
 * the search walks finalized blocks forward from a block the caller knows is no later than
 * the extrinsic's (the height at which the machine decided to send), remembering how far it
 * got so that a lookup each tick reads only the new blocks. Only finalized blocks are read: an
 * inclusion that a reorg can undo is not an inclusion to mark a swap with.
 */
import type { SubstrateChain } from './substrateChain.ts';

export interface ExtrinsicOutcome {
  readonly block: number;
  readonly blockHash: string;
  readonly index: number;
  /** Null when the extrinsic succeeded; "Module.Error" (or the error's kind) when it failed. */
  readonly failure: string | null;
}

interface ScannedBlock {
  readonly hash: string;
  readonly extrinsics: readonly string[];
}

/** Blocks kept after scanning, shared by every search: finalized blocks never change. */
const CACHE_BLOCKS = 2_048;

export class ExtrinsicSearch {
  /** For each hash searched: the next block to read. */
  private readonly cursors = new Map<string, number>();
  private readonly cache = new Map<number, ScannedBlock>();

  constructor(private readonly chain: SubstrateChain) {}

  /**
   * The extrinsic's outcome if a finalized block at or after `fromBlock` includes it; null if
   * none up to the finalized head does (yet).
   */
  async find(hash: string, fromBlock: number): Promise<ExtrinsicOutcome | null> {
    const wanted = hash.toLowerCase();
    const finalized = await this.chain.finalized();
    let next = Math.max(this.cursors.get(wanted) ?? fromBlock, 0);
    while (next <= finalized.number) {
      const block = await this.scan(next);
      const index = block.extrinsics.indexOf(wanted);
      if (index >= 0) {
        this.cursors.delete(wanted);
        return this.outcome(next, block.hash, index);
      }
      next += 1;
      this.cursors.set(wanted, next);
    }
    return null;
  }

  /** Stops remembering a search (its extrinsic is settled one way or the other). */
  forget(hash: string): void {
    this.cursors.delete(hash.toLowerCase());
  }

  private async scan(number: number): Promise<ScannedBlock> {
    const cached = this.cache.get(number);
    if (cached !== undefined) return cached;
    const hash = await this.chain.blockHash(number);
    if (hash === null) throw new Error(`the node has no block ${number} although it reports it finalized`);
    const signed = await this.chain.block(hash);
    const scanned: ScannedBlock = {
      hash,
      extrinsics: signed.block.extrinsics.map((e) => e.hash.toHex().toLowerCase()),
    };
    this.cache.set(number, scanned);
    if (this.cache.size > CACHE_BLOCKS) this.cache.delete(this.cache.keys().next().value!);
    return scanned;
  }

  private async outcome(block: number, blockHash: string, index: number): Promise<ExtrinsicOutcome> {
    const records = await this.chain.eventsAt(blockHash);
    const own = records.filter((r) => r.phase.isApplyExtrinsic && r.phase.asApplyExtrinsic.toNumber() === index);
    const api = this.chain.api;
    const failed = own.find((r) => api.events.system.ExtrinsicFailed.is(r.event));
    const succeeded = own.some((r) => api.events.system.ExtrinsicSuccess.is(r.event));
    if (failed === undefined && !succeeded) {
      throw new Error(
        `block ${block} includes extrinsic ${index} but has neither ExtrinsicSuccess nor ExtrinsicFailed for it`,
      );
    }
    const failure =
      failed === undefined
        ? null
        : this.chain.describeDispatchError(
            (failed.event.data as unknown as [import('@polkadot/types/interfaces').DispatchError])[0],
          );
    return { block, blockHash, index, failure };
  }
}
