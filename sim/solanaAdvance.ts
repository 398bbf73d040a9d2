/**
 * One block of the simulated Solana swap manager (sim/modules/solanaSwapModule.ts calls
 * these): transfers are included on the destination ledgers, then the validators act as the
 * reference's do: confirm a Fulfilled swap once its payout checks out (recipient, amount at least
 * to_amount - floor(to_amount / 100), sender equal to the pin, not older than the swap, with the
 * ledger's confirmations), extend a Fulfilled swap whose payout is visible but unconfirmed when
 * its deadline nears, time out what is overdue; now and then they also extend an Active swap
 * (the program allows it) or cancel one (a no-fault cancel). Those last two are drawn from a hash
 * of (seed, swap, block), never from the world's generator: a run with restarts meets them where
 * a run without does.
 */
import { requiredPayout, type SwapTerms } from '../machines/index.ts';
import { addressFor } from './addresses.ts';
import { includeTransfers } from './advance.ts';
import { sha256Hex } from './sha256.ts';
import {
  addDeposit,
  MINER_SOURCE_ADDRESS,
  SIM_SOURCE_CONFIRMATIONS,
  userSourceAddressOf,
  type DepositFate,
} from './chains/simSource.ts';
import { clusterTimeAt, minerAddressOn, type SimManagerSwap, type World } from './world.ts';

export const SOLANA_DEST_CHAINS = ['sol', 'eth', 'tao'] as const;
/** The fulfillment timeout of the simulated program (600 s, the canonical deploy value). */
export const FULFILLMENT_TIMEOUT_SECS = 600;
export const MAX_TOTAL_EXTENSION_SECS = 8_400;
/** The reference validators extend only when the deadline is this close. */
const EXTENSION_PADDING_SECS = 120;
const HUBS = ['sol', 'tao'] as const;

export function advanceSwapManager(world: World): void {
  for (const ledger of Object.values(world.state.ledgers)) includeTransfers(world, ledger.chain);
  runManagerValidators(world);
}

/** A decision drawn from (seed, site): the same in every run of the seed, restarts or not. */
function drawn(world: World, site: string, perMille: number): boolean {
  return Number.parseInt(sha256Hex(`${world.state.seed}:${site}`).slice(0, 4), 16) % 1_000 < perMille;
}

/** Whether the swap's payout passes the validators' check now. */
export function payoutVerified(world: World, swap: SimManagerSwap): boolean {
  const ledger = world.state.ledgers[swap.terms.destChain];
  const transfer = ledger?.transfers[swap.destTxHash];
  if (ledger === undefined || transfer === undefined || transfer.includedBlock === null) return false;
  const { terms } = swap;
  return (
    ledger.height - transfer.includedBlock + 1 >= ledger.confirmations &&
    transfer.to === terms.userDestAddress &&
    BigInt(transfer.amount) >= requiredPayout('solana', BigInt(terms.destAmount)) &&
    (terms.senderPin === '' || transfer.from === terms.senderPin) &&
    transfer.from !== transfer.to &&
    transfer.includedBlock >= swap.initiatedHeight
  );
}

function runManagerValidators(world: World): void {
  const sm = world.state.swapManager;
  const now = clusterTimeAt(world.height);
  const close = (key: string, swap: SimManagerSwap, kind: 'Completed' | 'TimedOut' | 'Cancelled'): void => {
    delete sm.swaps[key];
    sm.events.push({ block: world.height, swapId: key, kind, miner: swap.miner, destTxHash: swap.destTxHash });
  };
  const extend = (key: string, swap: SimManagerSwap, target: number): void => {
    swap.timeoutAt = target;
    sm.events.push({
      block: world.height,
      swapId: key,
      kind: 'Extended',
      miner: swap.miner,
      destTxHash: '',
      at: target,
    });
  };
  for (const key of Object.keys(sm.swaps).sort()) {
    const swap = sm.swaps[key]!;
    const ceiling = swap.terms.maxExtendAt ?? swap.timeoutAt;
    const visible = world.state.ledgers[swap.terms.destChain]?.transfers[swap.destTxHash] !== undefined;
    if (swap.status === 'Fulfilled' && payoutVerified(world, swap)) close(key, swap, 'Completed');
    else if (
      swap.status === 'Fulfilled' &&
      visible &&
      swap.timeoutAt - now <= EXTENSION_PADDING_SECS &&
      swap.timeoutAt < ceiling
    ) {
      extend(key, swap, Math.min(now + 600, ceiling));
    } else if (
      swap.status === 'Active' &&
      drawn(world, `extend:${key}:b${world.height}`, 15) &&
      swap.timeoutAt + 60 <= ceiling
    ) {
      extend(key, swap, swap.timeoutAt + 60);
    } else if (drawn(world, `cancel:${key}:b${world.height}`, 4)) close(key, swap, 'Cancelled');
    else if (now >= swap.timeoutAt) close(key, swap, 'TimedOut');
  }
}

/** What a test may fix about a new swap of the swap manager; the rest is drawn from the world's seed. */
export interface ManagerSwapSpec {
  /** The user's deposit: sound unless a fault decides otherwise after this block (null), or as given. */
  readonly deposit?: DepositFate;
  readonly destChain?: string;
  readonly destAmount?: string;
  readonly userDestAddress?: string;
  readonly senderPin?: string;
  readonly hub?: string;
  /** Seconds from now to the swap's deadline. */
  readonly windowSecs?: number;
}

export function addManagerSwap(world: World, spec: ManagerSwapSpec = {}): string {
  const s = world.state;
  const r = world.random;
  const sm = s.swapManager;
  const index = sm.nextIndex;
  sm.nextIndex += 1;
  const key = sha256Hex(`swap-key-${s.seed}-${index}`);
  const destChain = spec.destChain ?? r.pick(SOLANA_DEST_CHAINS);
  const now = clusterTimeAt(world.height);
  const timeoutAt = now + (spec.windowSecs ?? FULFILLMENT_TIMEOUT_SECS);
  const terms: SwapTerms = {
    contract: 'solana',
    swapId: key,
    miner: s.miner,
    sourceChain: 'btc',
    destChain,
    sourceAmount: String(r.int(10_000, 5_000_000)),
    destAmount: spec.destAmount ?? (BigInt(r.int(1, 5_000)) * 10n ** 6n + BigInt(r.int(0, 199))).toString(),
    collateralAmount: (BigInt(r.int(1, 100)) * 10n ** 9n).toString(),
    hub: spec.hub ?? (destChain === 'tao' ? 'tao' : 'sol'),
    userDestAddress: spec.userDestAddress ?? addressFor(destChain, `user-${index}`),
    senderPin: spec.senderPin ?? minerAddressOn(destChain),
    sourceTxHash: `btc-${s.seed}-${index}`,
    userSourceAddress: userSourceAddressOf(key),
    minerSourceAddress: MINER_SOURCE_ADDRESS,
    sourceTxBlock: Math.max(0, world.height - SIM_SOURCE_CONFIRMATIONS + 1),
    initiatedAt: now,
    timeoutAt,
    maxExtendAt: timeoutAt + MAX_TOTAL_EXTENSION_SECS,
  };
  sm.swaps[key] = {
    terms,
    miner: s.miner,
    timeoutAt,
    status: 'Active',
    destTxHash: '',
    destTxBlock: 0,
    fulfilledAt: 0,
    initiatedHeight: world.height,
  };
  sm.history[key] = terms;
  addDeposit(world, terms, spec.deposit ?? null);
  // A second live swap of ours on one hub: the host refuses one of the two (the funds invariant counts neither).
  const sameHub = Object.values(sm.swaps).filter((o) => o.miner === s.miner && o.terms.hub === terms.hub);
  if (sameHub.length > 1) for (const o of sameHub) s.sources.contested[o.terms.swapId] = true;
  sm.events.push({ block: world.height, swapId: key, kind: 'Initiated', miner: s.miner, destTxHash: '' });
  return key;
}

/** The script: now and then a new swap on a free hub (the program allows one live swap per hub). */
export function managerScript(world: World, planned: number): void {
  const sm = world.state.swapManager;
  if (sm.nextIndex - 1 >= planned || !world.random.chance(0.5)) return;
  const r = world.random;
  const { hostility } = world.state.plan;
  // Every draw is made whatever the outcome, so the rates never shift the rest of the world.
  const bad = r.chance(hostility.badData);
  const badKind = r.int(0, 2);
  const tight = r.chance(hostility.tightWindow);
  const tightSecs = r.int(1, 21) * 12;
  const destChain = r.pick(SOLANA_DEST_CHAINS);
  // The backing is the miner's choice per pool, not the destination's: two live swaps (one per
  // hub) may owe on one destination chain, which is what the funds gate is for.
  const hub = r.pick(HUBS);
  if (Object.values(sm.swaps).some((s) => s.terms.hub === hub && s.miner === world.state.miner)) return;
  if (tight) world.state.observations.hostile.tightWindows += 1;
  addManagerSwap(world, {
    destChain,
    hub,
    ...(bad && badKind === 0 ? { destAmount: '0' } : {}),
    ...(bad && badKind === 1 ? { senderPin: addressFor(destChain, 'someone-else') } : {}),
    ...(bad && badKind === 2 ? { userDestAddress: 'not-an-address' } : {}),
    ...(tight ? { windowSecs: tightSecs } : {}),
  });
}
