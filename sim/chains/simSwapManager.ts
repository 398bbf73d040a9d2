/**
 * The allways swap manager on Solana as the miner's client sees it, over the simulated world:
 * swaps keyed by swap key, deadlines in unix seconds of the cluster's clock (12 s a block),
 * `mark_fulfilled`'s checks in the program's order (a closed account, another miner's swap, a
 * hash over 128 bytes, a status not Active), the grace a mark applies, and closed swaps
 * explained by their events or not at all.
 */
import type { SwapView } from '../../machines/index.ts';
import type { AssignedSwap, MarkRequest, SwapContract } from '../../src/host/ports.ts';
import { clusterTimeAt, type World } from '../world.ts';

/** The program's fulfillment_grace_secs by destination chain id; 600 s for any other. */
export function graceSecs(chain: string): number {
  return ({ btc: 1_800, sol: 120, tao: 180 } as Record<string, number>)[chain.toLowerCase()] ?? 600;
}

export class SimSwapManager implements SwapContract {
  readonly kind = 'solana' as const;

  constructor(private readonly world: World) {}

  get miner(): string {
    return this.world.state.miner;
  }

  async now(): Promise<number> {
    return clusterTimeAt(this.world.height);
  }

  async listAssigned(): Promise<AssignedSwap[]> {
    return Object.values(this.world.state.swapManager.swaps)
      .filter((swap) => swap.miner === this.miner)
      .map((swap) => ({ terms: { ...swap.terms, timeoutAt: swap.timeoutAt }, status: swap.status }));
  }

  async markFulfilled(request: MarkRequest): Promise<{ ok: true } | { ok: false; error: string }> {
    const sm = this.world.state.swapManager;
    const swap = sm.swaps[request.swapId];
    if (swap === undefined) return { ok: false, error: 'AccountNotInitialized' };
    if (swap.miner !== this.miner) return { ok: false, error: 'ConstraintHasOne' };
    if (Buffer.byteLength(request.destTxHash) > 128) return { ok: false, error: 'StringTooLong' };
    if (swap.status !== 'Active') return { ok: false, error: 'InvalidStatus' };
    const now = clusterTimeAt(this.world.height);
    swap.status = 'Fulfilled';
    swap.destTxHash = request.destTxHash;
    swap.destTxBlock = request.destTxBlock;
    swap.fulfilledAt = now;
    const target = Math.min(now + graceSecs(swap.terms.destChain), swap.terms.maxExtendAt ?? swap.timeoutAt);
    if (target > swap.timeoutAt) {
      swap.timeoutAt = target;
      sm.events.push({
        block: this.world.height,
        swapId: request.swapId,
        kind: 'Extended',
        miner: swap.miner,
        destTxHash: '',
        at: target,
      });
    }
    sm.events.push({
      block: this.world.height,
      swapId: request.swapId,
      kind: 'Fulfilled',
      miner: swap.miner,
      destTxHash: request.destTxHash,
    });
    this.world.commit();
    return { ok: true };
  }

  async getSwap(swapId: string): Promise<SwapView | null> {
    const sm = this.world.state.swapManager;
    const swap = sm.swaps[swapId];
    if (swap !== undefined)
      return { status: swap.status, miner: swap.miner, destTxHash: swap.destTxHash, deadline: swap.timeoutAt };
    const events = sm.events.filter((e) => e.swapId === swapId);
    const end = events.findLast((e) => e.kind === 'Completed' || e.kind === 'TimedOut' || e.kind === 'Cancelled');
    if (end === undefined) return null;
    const fulfilled = events.findLast((e) => e.kind === 'Fulfilled');
    return {
      status: end.kind as 'Completed' | 'TimedOut' | 'Cancelled',
      miner: end.miner,
      destTxHash: fulfilled?.destTxHash ?? '',
      deadline: null,
    };
  }
}
