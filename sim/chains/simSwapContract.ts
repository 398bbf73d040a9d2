/** The allways swap contract as the miner's client sees it, over the simulated world. */
import type { SwapView } from '../../machines/index.ts';
import type { AssignedSwap, MarkRequest, SwapContract } from '../../src/host/ports.ts';
import type { World } from '../world.ts';

export class SimSwapContract implements SwapContract {
  readonly kind = 'ink' as const;

  constructor(private readonly world: World) {}

  get miner(): string {
    return this.world.state.miner;
  }

  async now(): Promise<number> {
    return this.world.height;
  }

  async listAssigned(): Promise<AssignedSwap[]> {
    return Object.values(this.world.state.subtensor.swaps)
      .filter((swap) => swap.miner === this.miner)
      .map((swap) => ({ terms: { ...swap.terms, timeoutAt: swap.timeoutBlock }, status: swap.status }));
  }

  /** mark_fulfilled, with the contract's checks in the contract's order. */
  async markFulfilled(request: MarkRequest): Promise<{ ok: true } | { ok: false; error: string }> {
    const st = this.world.state.subtensor;
    const swap = st.swaps[request.swapId];
    if (swap === undefined) return { ok: false, error: 'SwapNotFound' };
    if (swap.miner !== this.miner) return { ok: false, error: 'NotAssignedMiner' };
    if (swap.status !== 'Active') return { ok: false, error: 'InvalidStatus' };
    if (request.destAmount === 0n) return { ok: false, error: 'InvalidAmount' };
    swap.status = 'Fulfilled';
    swap.destTxHash = request.destTxHash;
    swap.destTxBlock = request.destTxBlock;
    swap.fulfilledBlock = st.height;
    st.events.push({
      block: st.height,
      swapId: request.swapId,
      kind: 'Fulfilled',
      miner: this.miner,
      destTxHash: request.destTxHash,
    });
    this.world.commit();
    return { ok: true };
  }

  /** get_swap, and for a removed swap what the contract's events tell. */
  async getSwap(swapId: string): Promise<SwapView | null> {
    const swap = this.world.state.subtensor.swaps[swapId];
    if (swap !== undefined)
      return { status: swap.status, miner: swap.miner, destTxHash: swap.destTxHash, deadline: swap.timeoutBlock };
    const events = this.world.state.subtensor.events.filter((e) => e.swapId === swapId);
    const end = events.findLast((e) => e.kind === 'Completed' || e.kind === 'TimedOut');
    if (end === undefined) return null;
    const fulfilled = events.findLast((e) => e.kind === 'Fulfilled');
    return {
      status: end.kind as 'Completed' | 'TimedOut',
      miner: end.miner,
      destTxHash: fulfilled?.destTxHash ?? '',
      deadline: null,
    };
  }
}
