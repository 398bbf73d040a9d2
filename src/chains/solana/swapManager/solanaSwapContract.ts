/**
 * The allways swap manager on Solana as the host's SwapContract port: swaps as the machine's
 * terms (the swap key as the swap's id, times in unix seconds of the cluster's clock, the
 * pinned miner_to_addr as the sender pin), marks through the client, and read-backs that fall
 * back on the program's events once the Swap account is closed, and on nothing else: a closed
 * swap whose ending no event shows is unknown (null), never "completed" by guess.
 */
import type { SwapTerms, SwapView } from '../../../../machines/index.ts';
import type { AssignedSwap, MarkRequest, SwapContract } from '../../../host/ports.ts';
import type { SwapAccount } from './layout.ts';
import type { SwapManagerClient } from './swapManagerClient.ts';

export class SolanaSwapContract implements SwapContract {
  readonly kind = 'solana' as const;
  readonly miner: string;

  constructor(private readonly client: SwapManagerClient) {
    this.miner = client.miner;
  }

  now(): Promise<number> {
    return this.client.clusterTime();
  }

  async listAssigned(): Promise<AssignedSwap[]> {
    const assigned: AssignedSwap[] = [];
    for (const { key, account, problem } of await this.client.listOurs()) {
      // PendingAttestation swaps are not ours to serve until the validators attest the deposit.
      if (account.status !== 'Active' && account.status !== 'Fulfilled') continue;
      assigned.push({ terms: termsOfSwap(key, account), status: account.status, problem });
    }
    return assigned;
  }

  markFulfilled(request: MarkRequest): Promise<{ ok: true } | { ok: false; error: string }> {
    // No amount: the program pays out against the pinned to_amount.
    return this.client.markFulfilled(request.swapId, request.destTxHash, request.destTxBlock);
  }

  async getSwap(swapId: string): Promise<SwapView | null> {
    const swap = await this.client.readSwap(swapId);
    if (swap !== null)
      return { status: swap.status, miner: swap.miner, destTxHash: swap.toTxHash, deadline: swap.timeoutAt };
    const closed = await this.client.closedSwap(swapId);
    return closed === null
      ? null
      : { status: closed.status, miner: closed.miner, destTxHash: closed.toTxHash, deadline: null };
  }
}

/** The machine's terms of a Swap account; amounts as decimal strings. */
export function termsOfSwap(key: string, s: SwapAccount): SwapTerms {
  return {
    contract: 'solana',
    swapId: key,
    miner: s.miner,
    sourceChain: s.fromChain,
    destChain: s.toChain,
    sourceAmount: s.fromAmount.toString(),
    destAmount: s.toAmount.toString(),
    collateralAmount: s.collateralAmount.toString(),
    hub: s.collateralChain,
    userDestAddress: s.userToAddr,
    senderPin: s.minerToAddr,
    sourceTxHash: s.fromTxHash,
    userSourceAddress: s.userFromAddr,
    minerSourceAddress: s.minerFromAddr,
    sourceTxBlock: s.fromTxBlock,
    initiatedAt: s.initiatedAt,
    timeoutAt: s.timeoutAt,
    maxExtendAt: s.maxExtendAt,
  };
}
