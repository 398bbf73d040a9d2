/**
 * What `settle reconcile` and the simulator's operator both do with unknown transactions: find
 * what the chain says each one did, and the open swaps it could have paid (same recipient,
 * amount the contract requires paid; a swap live with nothing signed, or Active on the contract and not yet in the
 * store). Pure but for the chain reads it is given; it decides nothing.
 */
import { requiredPayout, swapMachineId, type SwapContext } from '../../machines/index.ts';
import type { AssignedSwap, ChainActivity, TransferSender } from '../host/ports.ts';
import type { RecordPlace } from '../store/snapshotStore.ts';
import { sameAccount } from './reconcileDecisions.ts';
import type { UnknownItem } from './witnessCheck.ts';

export interface OpenSwap {
  readonly swapId: string;
  readonly state: string;
  readonly chain: string;
  readonly to: string;
  readonly amount: bigint;
}

export interface Finding {
  readonly item: UnknownItem;
  /** What the chain shows of it; null when not found in the blocks read. */
  readonly activity: ChainActivity | null;
  readonly matches: readonly OpenSwap[];
}

/** A live swap's snapshot, as the store holds it. */
export interface LiveSwap {
  readonly value: string;
  readonly context: SwapContext;
}

/**
 * Swaps a forgotten transfer may have paid: live with nothing signed, and those assigned to us
 * that the store has never seen (it is older than them: the host would create them and sign).
 */
export function openSwaps(
  live: readonly LiveSwap[],
  assigned: readonly AssignedSwap[],
  placeOf: (id: string) => RecordPlace | null,
): OpenSwap[] {
  const open = live
    .filter((s) => s.context.transfer === null)
    .map((s) => ({
      swapId: s.context.terms.swapId,
      state: s.value,
      chain: s.context.terms.destChain,
      to: s.context.terms.userDestAddress,
      amount: requiredPayout(s.context.terms.contract, BigInt(s.context.terms.destAmount)),
    }));
  for (const a of assigned) {
    if (a.status !== 'Active' || placeOf(swapMachineId(a.terms.swapId)) !== null) continue;
    open.push({
      swapId: a.terms.swapId,
      state: 'Active on the contract, not yet in the store',
      chain: a.terms.destChain,
      to: a.terms.userDestAddress,
      amount: requiredPayout(a.terms.contract, BigInt(a.terms.destAmount)),
    });
  }
  return open;
}

/** Each unknown item with what the chain shows of it and the open swaps of `chain` it matches. */
export async function findingsOf(
  sender: TransferSender,
  chain: string,
  items: readonly UnknownItem[],
  open: readonly OpenSwap[],
  maxBlocks: number,
): Promise<Finding[]> {
  if (items.length === 0) return [];
  const nonces = items.flatMap((i) => (i.nonce === null ? [] : [i.nonce]));
  const ids = items.flatMap((i) => (i.id === null ? [] : [i.id]));
  const query = {
    maxBlocks,
    ids,
    ...(nonces.length === 0 ? {} : { nonces: { from: Math.min(...nonces), to: Math.max(...nonces) + 1 } }),
  };
  const activities = sender.activity === undefined ? [] : await sender.activity(query);
  const ofChain = open.filter((swap) => swap.chain === chain);
  return items.map((item) => {
    const activity =
      activities.find(
        (a) => (item.id !== null && a.id === item.id) || (item.nonce !== null && a.nonce === item.nonce),
      ) ?? null;
    const matches =
      activity === null || activity.to === null
        ? []
        : ofChain.filter((swap) => sameAccount(swap.to, activity.to!) && swap.amount === activity.amount);
    return { item, activity, matches };
  });
}
