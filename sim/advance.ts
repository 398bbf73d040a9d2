/**
 * One block of the product's simulated chains (sim/modules/ calls these): transfers are
 * included, validators confirm or time out swaps, payers cancel expired locks, and the scripts
 * create new swaps and jobs. `advanceBlock` (sim/world.ts) runs every module's, then commits
 * once: a crash mid-block loses the block.
 */
import type { SwapTerms } from '../machines/index.ts';
import { addressFor } from './addresses.ts';
import { includeSolanaBlock } from './chains/simSolana.ts';
import { includeUtxoTransfers } from './chains/simUtxoChain.ts';
import {
  addDeposit,
  MINER_SOURCE_ADDRESS,
  SIM_SOURCE_CONFIRMATIONS,
  userSourceAddressOf,
  type DepositFate,
} from './chains/simSource.ts';
import { BLOCK_SECONDS, type World } from './world.ts';

export { advanceBlock } from './world.ts';

/** Blocks after a confirmed fulfilment at which validators vote the swap Completed. */
export const CONFIRM_DELAY_BLOCKS = 4;

/** The swap side of a block: the Subtensor's height, inclusion on every ledger, the validators. */
export function advanceSwapChains(world: World): void {
  world.state.subtensor.height += 1;
  for (const ledger of Object.values(world.state.ledgers)) {
    if (ledger.solana === undefined) includeTransfers(world, ledger.chain);
    else includeSolanaBlock(ledger);
  }
  runValidators(world);
}

/** The job side of a block: the escrow chain's time, payers who cancel expired locks. */
export function advanceJobChains(world: World): void {
  world.state.escrow.time += BLOCK_SECONDS;
  runPayers(world);
}

export function includeTransfers(world: World, chain: string): void {
  const ledger = world.state.ledgers[chain]!;
  if (ledger.utxo !== undefined) {
    includeUtxoTransfers(ledger);
    return;
  }
  ledger.height += 1;
  const pending = Object.values(ledger.transfers)
    .filter((t) => t.includedBlock === null && t.includeFrom <= ledger.height)
    .sort((a, b) => a.nonce - b.nonce);
  for (const transfer of pending) {
    const nonce = ledger.nonces[transfer.from] ?? 0;
    if (transfer.nonce !== nonce) continue;
    if ((ledger.frozenUntil[transfer.from] ?? 0) > ledger.height) continue;
    const balance = BigInt(ledger.balances[transfer.from] ?? '0');
    if (balance < BigInt(transfer.amount)) continue;
    ledger.balances[transfer.from] = (balance - BigInt(transfer.amount)).toString();
    ledger.balances[transfer.to] = (BigInt(ledger.balances[transfer.to] ?? '0') + BigInt(transfer.amount)).toString();
    ledger.nonces[transfer.from] = nonce + 1;
    transfer.includedBlock = ledger.height;
  }
  // A pending transfer whose nonce another transaction used can never be included: the
  // chain's nodes drop it from their mempools.
  for (const transfer of Object.values(ledger.transfers)) {
    if (transfer.includedBlock === null && transfer.nonce < (ledger.nonces[transfer.from] ?? 0))
      delete ledger.transfers[transfer.hash];
  }
}

/** Blocks a timeout extension adds; validators grant at most two, to Fulfilled swaps only. */
export const EXTENSION_BLOCKS = 10;

/** Validators: confirm a Fulfilled swap whose dest transfer is confirmed; time out the rest. */
function runValidators(world: World): void {
  const st = world.state.subtensor;
  for (const swap of Object.values(st.swaps)) {
    const id = swap.terms.swapId;
    const ledger = world.state.ledgers[swap.terms.destChain];
    const transfer = ledger?.transfers[swap.destTxHash];
    const confirmed =
      swap.status === 'Fulfilled' &&
      transfer !== undefined &&
      transfer.includedBlock !== null &&
      transfer.to === swap.terms.userDestAddress &&
      transfer.amount === swap.terms.destAmount &&
      st.height >= swap.fulfilledBlock + CONFIRM_DELAY_BLOCKS;
    if (confirmed) {
      delete st.swaps[id];
      st.events.push({
        block: st.height,
        swapId: id,
        kind: 'Completed',
        miner: swap.miner,
        destTxHash: swap.destTxHash,
      });
    } else if (swap.status === 'Fulfilled' && swap.extensions < 2 && st.height >= swap.timeoutBlock - 1) {
      // The destination leg is not confirmed yet: validators vote to wait longer.
      swap.timeoutBlock += EXTENSION_BLOCKS;
      swap.extensions += 1;
    } else if (st.height >= swap.timeoutBlock) {
      delete st.swaps[id];
      st.events.push({
        block: st.height,
        swapId: id,
        kind: 'TimedOut',
        miner: swap.miner,
        destTxHash: swap.destTxHash,
      });
    }
  }
}

function runPayers(world: World): void {
  const e = world.state.escrow;
  for (const lock of [...e.locks]) {
    const job = world.state.compute.jobs[lock.jobId];
    if (job?.payerCancelsOnExpiry === true && e.time > lock.expiry) {
      e.locks.splice(e.locks.indexOf(lock), 1);
      e.events.push({
        kind: 'Canceled',
        jobId: lock.jobId,
        amount: lock.amount,
        txHash: world.nextEscrowTx(),
        time: e.time,
        by: lock.payer,
      });
    }
  }
}

/** The swap script: now and then a new swap, until the plan's count is reached. */
export function swapScript(world: World, planned: number): void {
  if (world.state.subtensor.nextSwapId - 1 < planned && world.random.chance(0.6)) createSwap(world);
}

/** The job script: now and then a new job, until the plan's count is reached. */
export function jobScript(world: World, planned: number): void {
  if (world.state.compute.created < planned && world.random.chance(0.6)) createJob(world);
}

/** A swap's amount is drawn as 1 to 5,000 of these: 0.001 to 5 coins of 18 decimals, 1,000 to 5,000,000 sat. */
const DEST_UNITS: Readonly<Record<string, bigint>> = { btc: 1_000n };

/** What a test may fix about a new swap; the rest is drawn from the world's seed. */
export interface SwapSpec {
  readonly destChain?: string;
  readonly destAmount?: string;
  readonly userDestAddress?: string;
  /** Blocks from now to the swap's timeout. */
  readonly window?: number;
  /** The user's deposit: sound unless a fault decides otherwise after this block (null), or as given. */
  readonly deposit?: DepositFate;
}

function createSwap(world: World): void {
  const r = world.random;
  const { hostility, marginBlocks } = world.state.plan;
  // Mostly sound swaps; now and then the hostile cases a miner meets in the wild. Every draw
  // is made whatever the rates, so the rates never shift the rest of the world.
  const bad = r.chance(hostility.badData);
  const badAmount = r.chance(0.5);
  const tight = r.chance(hostility.tightWindow);
  const tightWindow = r.int(1, marginBlocks + 3);
  const window = r.int(12, 40);
  if (tight) world.state.observations.hostile.tightWindows += 1;
  addSwap(world, {
    destChain: r.pick(Object.keys(world.state.ledgers)),
    ...(bad && badAmount ? { destAmount: '0' } : {}),
    ...(bad && !badAmount ? { userDestAddress: 'not-an-address' } : {}),
    window: tight ? tightWindow : window,
  });
}

export function addSwap(world: World, spec: SwapSpec = {}): string {
  const s = world.state;
  const r = world.random;
  const swapId = String(s.subtensor.nextSwapId);
  s.subtensor.nextSwapId += 1;
  const destChain = spec.destChain ?? r.pick(Object.keys(s.ledgers));
  const height = s.subtensor.height;
  const terms: SwapTerms = {
    contract: 'ink',
    swapId,
    miner: s.miner,
    sourceChain: 'btc',
    destChain,
    sourceAmount: String(r.int(10_000, 5_000_000)),
    destAmount: spec.destAmount ?? (BigInt(r.int(1, 5_000)) * (DEST_UNITS[destChain] ?? 10n ** 15n)).toString(),
    collateralAmount: (BigInt(r.int(1, 100)) * 10n ** 9n).toString(),
    hub: 'tao',
    userDestAddress: spec.userDestAddress ?? addressFor(destChain, `user-${swapId}`),
    senderPin: '',
    sourceTxHash: `btc-${world.state.seed}-${swapId}`,
    userSourceAddress: userSourceAddressOf(swapId),
    minerSourceAddress: MINER_SOURCE_ADDRESS,
    // Validators attest a deposit they saw confirmed: it is in the previous block.
    sourceTxBlock: Math.max(0, world.height - SIM_SOURCE_CONFIRMATIONS + 1),
    initiatedAt: height,
    timeoutAt: height + (spec.window ?? r.int(12, 40)),
    maxExtendAt: null,
  };
  s.subtensor.swaps[swapId] = {
    terms,
    miner: terms.miner,
    timeoutBlock: terms.timeoutAt,
    extensions: 0,
    status: 'Active',
    destTxHash: '',
    destTxBlock: 0,
    fulfilledBlock: 0,
  };
  s.subtensor.history[swapId] = terms;
  addDeposit(world, terms, spec.deposit ?? null);
  s.subtensor.events.push({ block: height, swapId, kind: 'Initiated', miner: s.miner, destTxHash: '' });
  return swapId;
}

/** What a test may fix about a new job; the rest is drawn from the world's seed. */
export interface JobSpec {
  readonly free?: boolean;
  readonly lockAmount?: bigint;
  /** Seconds from now until the lock expires. */
  readonly lockSeconds?: number;
  readonly runSeconds?: number;
  readonly cost?: bigint;
  readonly payerCancelsOnExpiry?: boolean;
}

function createJob(world: World): void {
  const r = world.random;
  const { hostility } = world.state.plan;
  const runSeconds = r.int(1, 6) * BLOCK_SECONDS;
  const amount = BigInt(r.int(1, 1_000)) * 10n ** 16n;
  const costRoll = r.int(0, 9);
  const free = r.chance(0.15);
  const short = r.chance(hostility.shortLock);
  const longLock = runSeconds + r.int(30, 90) * BLOCK_SECONDS;
  const shortLock = runSeconds + r.int(0, 2) * BLOCK_SECONDS;
  const partialCost = (amount * BigInt(r.int(1, 100))) / 100n;
  if (short && !free) world.state.observations.hostile.shortLocks += 1;
  addJob(world, {
    free,
    lockAmount: amount,
    runSeconds,
    // Some locks are too short for the claim schedule: they expire, are cancelled, and logged.
    lockSeconds: short ? shortLock : longLock,
    // Now and then a job that ran longer than paid for: the claim is capped at the lock.
    cost: costRoll === 0 ? amount * 2n : partialCost,
    payerCancelsOnExpiry: r.chance(hostility.payerCancels),
  });
}

export function addJob(world: World, spec: JobSpec = {}): string {
  const s = world.state;
  s.compute.created += 1;
  const jobId = `0x${s.compute.created.toString(16).padStart(64, '0')}`;
  const runSeconds = spec.runSeconds ?? 2 * BLOCK_SECONDS;
  const amount = spec.lockAmount ?? 10n ** 18n;
  const expiry = s.escrow.time + (spec.lockSeconds ?? runSeconds + 60 * BLOCK_SECONDS);
  const payer = addressFor('eth', `payer-${s.compute.created}`);
  const lock = spec.free === true ? null : { amount: amount.toString(), expiry };
  s.compute.jobs[jobId] = {
    terms: {
      jobId,
      chain: s.escrow.chain,
      escrow: s.escrow.address,
      token: s.escrow.token,
      payer,
      payee: s.payee,
      lock,
    },
    endsAt: s.escrow.time + runSeconds,
    publishedAt: s.escrow.time + runSeconds + BLOCK_SECONDS,
    cost: lock === null ? '0' : (spec.cost ?? amount / 2n).toString(),
    payerCancelsOnExpiry: spec.payerCancelsOnExpiry ?? false,
  };
  if (lock !== null) {
    s.escrow.locks.push({ jobId, token: s.escrow.token, payer, payee: s.payee, amount: lock.amount, expiry });
    s.escrow.events.push({
      kind: 'Lock',
      jobId,
      amount: lock.amount,
      txHash: world.nextEscrowTx(),
      time: s.escrow.time,
      by: s.payee,
    });
  }
  return jobId;
}
