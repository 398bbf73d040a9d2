/**
 * How swaps reach their machines: each tick reads the contract's clock (a Subtensor height, or
 * the Solana cluster's unix time) and the swaps assigned to this miner, starts a machine for
 * each new Active swap (rejected at once when this miner cannot serve it), then feeds every
 * swap machine the clock (CLOCK), the deadlines the contract moved (DEADLINE), and tells those
 * no longer listed that they are gone (SWAP_GONE). A listing that failed says nothing about
 * which swaps exist: nothing is treated as gone then (allways #353).
 */
import { swapMachineId, type SwapContext, type SwapEvent } from '../../../machines/index.ts';
import type { Change, LiveMachine } from '../../engine/live.ts';
import type { ObligationScope, ObserveResult } from '../../engine/obligation.ts';
import { readOrNull } from '../../engine/readOrNull.ts';
import type { AssignedSwap, SwapContract, TransferSender } from '../../host/ports.ts';

export interface SwapObserverPorts {
  readonly contract: SwapContract;
  readonly senders: ReadonlyMap<string, TransferSender>;
  /** The cushion new machines are given, in the contract's unit (the machine's default when absent). */
  readonly cushion: number | undefined;
}

/**
 * Observes once; `setNow` keeps the tick's clock for the effects (null: unreachable), `setListed`
 * the swaps as listed (the deposit check fills version-1 terms from them).
 */
export async function observeSwaps(
  ports: SwapObserverPorts,
  scope: ObligationScope<SwapEvent>,
  setNow: (now: number | null) => void,
  setListed: (swaps: readonly AssignedSwap[]) => void = () => undefined,
): Promise<ObserveResult> {
  const now = await readOrNull(
    scope.log,
    () => ports.contract.now(),
    'swap contract unreachable; swaps wait for the next tick',
  );
  setNow(now);
  if (now === null) return { created: 0, status: 'unreachable' };
  const listed = await readOrNull(
    scope.log,
    () => ports.contract.listAssigned(),
    'listing swaps failed; no swap is treated as gone this tick',
  );
  if (listed !== null) setListed(listed);
  const created: Change[] = [];
  for (const swap of listed ?? []) {
    const id = swapMachineId(swap.terms.swapId);
    if (scope.get(id) !== undefined || scope.onDisk(id)) continue;
    if (swap.status !== 'Active') {
      // Only a store that lost records could meet one of our swaps already Fulfilled.
      scope.log.error(
        { machine: id, status: swap.status },
        'swap assigned to us is unknown to the store and not Active; not touching it',
      );
      continue;
    }
    created.push(createSwap(ports, scope, swap, listed!, now));
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
  if (listed !== null) await scope.dispatchAll(movedDeadlines(swaps, listed));
  await scope.dispatchAll(swaps.map((machine) => [machine, { type: 'CLOCK', now }]));
  if (listed !== null) {
    const listedIds = new Set(listed.map((s) => s.terms.swapId));
    const gone = swaps.filter(
      (m) => scope.isLive(m) && !listedIds.has((m.snapshot.context as SwapContext).terms.swapId),
    );
    await scope.dispatchAll(gone.map((machine) => [machine, { type: 'SWAP_GONE' }]));
  }
  return { created: created.length, status: listed === null ? 'partial' : 'ok' };
}

/** DEADLINE for each live machine whose swap's deadline, as listed now, is not the one it holds. */
function movedDeadlines(
  swaps: readonly LiveMachine[],
  listed: readonly AssignedSwap[],
): Array<[LiveMachine, SwapEvent]> {
  const deadlines = new Map(listed.map((s) => [s.terms.swapId, s.terms.timeoutAt]));
  const moved: Array<[LiveMachine, SwapEvent]> = [];
  for (const machine of swaps) {
    const context = machine.snapshot.context as SwapContext;
    const at = deadlines.get(context.terms.swapId);
    if (at !== undefined && at !== context.deadline) moved.push([machine, { type: 'DEADLINE', at }]);
  }
  return moved;
}

/** A new swap's machine, rejected at once if this miner cannot serve it; not yet on disk. */
function createSwap(
  ports: SwapObserverPorts,
  scope: ObligationScope<SwapEvent>,
  swap: AssignedSwap,
  listed: readonly AssignedSwap[],
  now: number,
): Change {
  const input = { terms: swap.terms, now, ...(ports.cushion === undefined ? {} : { cushion: ports.cushion }) };
  return scope.create(swapMachineId(swap.terms.swapId), input, (machine) => {
    const problem = chainProblem(ports, swap, listed, now);
    return problem !== null && machine.snapshot.value === 'Pending' ? { type: 'REJECT', reason: problem } : null;
  });
}

/**
 * What this miner's chains say is wrong with a swap: bad data the adapter saw, no sender, an
 * address that does not parse, a pinned sender whose key we do not hold, a deadline already
 * past, a second live swap on one hub.
 */
function chainProblem(
  ports: SwapObserverPorts,
  swap: AssignedSwap,
  listed: readonly AssignedSwap[],
  now: number,
): string | null {
  const { terms } = swap;
  if (swap.problem !== undefined && swap.problem !== null) return swap.problem;
  const sender = ports.senders.get(terms.destChain);
  if (sender === undefined) return `no transfer sender is configured for destination chain '${terms.destChain}'`;
  const addressProblem = sender.addressProblem(terms.userDestAddress);
  if (addressProblem !== null) return addressProblem;
  if (terms.senderPin !== '' && !sender.controls(terms.senderPin)) {
    return `the pinned sender ${terms.senderPin} is not an address this daemon holds the key for on '${terms.destChain}': paying from another would not count`;
  }
  if (terms.timeoutAt <= now) return `the deadline ${terms.timeoutAt} is already past (now ${now})`;
  return ports.contract.kind === 'solana' ? hubProblem(swap, listed) : null;
}

/** The swap manager lets a miner owe one swap per hub; a second one listed is bad data: the newer is refused. */
function hubProblem(swap: AssignedSwap, listed: readonly AssignedSwap[]): string | null {
  const { terms } = swap;
  const older = listed.find(
    (other) =>
      other.terms.swapId !== terms.swapId &&
      other.terms.hub === terms.hub &&
      (other.terms.initiatedAt < terms.initiatedAt ||
        (other.terms.initiatedAt === terms.initiatedAt && other.terms.swapId < terms.swapId)),
  );
  return older === undefined
    ? null
    : `hub '${terms.hub}' already holds swap ${older.terms.swapId} of ours: the program allows one live swap per hub`;
}
