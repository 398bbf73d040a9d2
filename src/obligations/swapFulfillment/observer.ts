/**
 * How swaps reach their machines: each tick reads the Subtensor height and the swaps assigned
 * to this miner, starts a machine for each new Active swap (rejected at once when this miner
 * cannot serve it), then feeds every swap machine the height (BLOCK) and tells those no longer
 * listed that they are gone (SWAP_GONE). A listing that failed says nothing about which swaps
 * exist: nothing is treated as gone then (allways #353).
 */
import { swapMachineId, type SwapContext, type SwapEvent, type SwapTerms } from '../../../machines/index.ts';
import type { Change } from '../../engine/live.ts';
import type { ObligationScope, ObserveResult } from '../../engine/obligation.ts';
import { readOrNull } from '../../engine/readOrNull.ts';
import type { SwapContract, TransferSender } from '../../host/ports.ts';

export interface SwapObserverPorts {
  readonly contract: SwapContract;
  readonly senders: ReadonlyMap<string, TransferSender>;
  /** The margin the machines of new swaps are given (the machine's default when absent). */
  readonly marginBlocks: number | undefined;
}

/** Observes once; `setHeight` keeps the tick's height for the effects (null: unreachable). */
export async function observeSwaps(
  ports: SwapObserverPorts,
  scope: ObligationScope<SwapEvent>,
  setHeight: (h: number | null) => void,
): Promise<ObserveResult> {
  const height = await readOrNull(
    scope.log,
    () => ports.contract.currentBlock(),
    'swap contract unreachable; swaps wait for the next tick',
  );
  setHeight(height);
  if (height === null) return { created: 0, status: 'unreachable' };
  const listed = await readOrNull(
    scope.log,
    () => ports.contract.listAssigned(),
    'listing swaps failed; no swap is treated as gone this tick',
  );
  const created: Change[] = [];
  for (const { terms, status } of listed ?? []) {
    const id = swapMachineId(terms.swapId);
    if (scope.get(id) !== undefined || scope.onDisk(id)) continue;
    if (status !== 'Active') {
      // Only a store that lost records could meet one of our swaps already Fulfilled.
      scope.log.error(
        { machine: id, status },
        'swap assigned to us is unknown to the store and not Active; not touching it',
      );
      continue;
    }
    created.push(createSwap(ports, scope, terms, height));
  }
  // Each step below is one commit for every machine it changes (group commit).
  await scope.commit(created);
  for (const change of created) {
    if (change.snapshot.value === 'Rejected') {
      scope.log.warn(
        { machine: change.machine.id, reason: (change.snapshot.context as SwapContext).reason },
        'swap rejected: nothing will be sent',
      );
    }
  }
  const swaps = scope.live();
  await scope.dispatchAll(swaps.map((machine) => [machine, { type: 'BLOCK', height }]));
  if (listed !== null) {
    const listedIds = new Set(listed.map((s) => s.terms.swapId));
    const gone = swaps.filter(
      (m) => scope.isLive(m) && !listedIds.has((m.snapshot.context as SwapContext).terms.swapId),
    );
    await scope.dispatchAll(gone.map((machine) => [machine, { type: 'SWAP_GONE' }]));
  }
  return { created: created.length, status: listed === null ? 'partial' : 'ok' };
}

/** A new swap's machine, rejected at once if this miner cannot serve it; not yet on disk. */
function createSwap(
  ports: SwapObserverPorts,
  scope: ObligationScope<SwapEvent>,
  terms: SwapTerms,
  height: number,
): Change {
  const margin = ports.marginBlocks;
  const input = { terms, block: height, ...(margin === undefined ? {} : { marginBlocks: margin }) };
  return scope.create(swapMachineId(terms.swapId), input, (machine) => {
    const problem = chainProblem(ports, terms, height);
    return problem !== null && machine.snapshot.value === 'Pending' ? { type: 'REJECT', reason: problem } : null;
  });
}

/** What this miner's chains say is wrong with a swap: no sender, a bad address, too late. */
function chainProblem(ports: SwapObserverPorts, terms: SwapTerms, height: number): string | null {
  const sender = ports.senders.get(terms.destChain);
  if (sender === undefined) return `no transfer sender is configured for destination chain '${terms.destChain}'`;
  const addressProblem = sender.addressProblem(terms.userDestAddress);
  if (addressProblem !== null) return addressProblem;
  if (terms.timeoutBlock <= height)
    return `timeout_block ${terms.timeoutBlock} is already past (current block ${height})`;
  return null;
}
