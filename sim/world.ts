/**
 * The simulated world: a block clock, a seeded generator and the chains of each simulated
 * obligation (sim/simModule.ts), each module adding its own part of the state. The product's
 * modules (sim/modules/) add the allways contract on a simulated Subtensor, destination
 * ledgers, an Ocean-style escrow and a compute engine, and the scripts that feed them swaps
 * and jobs; their state types are declared here, where every simulated chain reads them.
 *
 * The world is plain JSON. With a path, every mutation is written durably before the call that
 * made it returns, so a killed process meets, on restart, exactly the chain it left: a
 * mutation either happened and is on disk, or never happened (like an RPC that failed).
 */
import { readFileSync } from 'node:fs';
import type { JobTerms, SwapTerms } from '../machines/index.ts';
import { writeFileDurablySync } from '../src/store/durableFile.ts';
import { StoreError } from '../src/errors.ts';
import { addressFor, SIM_BTC_MINER } from './addresses.ts';
import { SimRandom } from './rng.ts';
import { sha256Hex } from './sha256.ts';
import type { UtxoState } from './chains/simUtxoChain.ts';
import type { SimModule } from './simModule.ts';
import { newSourcesState, type SourcesState } from './chains/simSource.ts';

export const WORLD_FORMAT = 'settle/sim-world';
export const WORLD_VERSION = 3;
export const BLOCK_SECONDS = 12;
export const GENESIS_TIME = 1_767_225_600; // 2026-01-01T00:00:00Z

export interface SimSwap {
  readonly terms: SwapTerms;
  /** The assigned miner and the timeout as they are now: reassignment and extensions move them. */
  miner: string;
  timeoutBlock: number;
  extensions: number;
  status: 'Active' | 'Fulfilled';
  destTxHash: string;
  destTxBlock: number;
  fulfilledBlock: number;
}

export interface SwapEventRecord {
  readonly block: number;
  readonly swapId: string;
  /** Extended and Cancelled: the Solana swap manager only. */
  readonly kind: 'Initiated' | 'Fulfilled' | 'Completed' | 'TimedOut' | 'Extended' | 'Cancelled';
  readonly miner: string;
  readonly destTxHash: string;
  /** Extended: the new deadline (unix seconds). */
  readonly at?: number;
}

/** A swap of the simulated Solana swap manager, as its account holds it (times: unix seconds). */
export interface SimManagerSwap {
  readonly terms: SwapTerms;
  readonly miner: string;
  timeoutAt: number;
  status: 'Active' | 'Fulfilled';
  destTxHash: string;
  destTxBlock: number;
  fulfilledAt: number;
  /** The world block it was initiated at (freshness of a payout). */
  readonly initiatedHeight: number;
}

export interface SimTransfer {
  readonly hash: string;
  readonly raw: string;
  readonly chain: string;
  readonly from: string;
  readonly to: string;
  readonly amount: string;
  readonly nonce: number;
  readonly swapId: string;
  /** Ledger height from which it may be included (simulated propagation). */
  readonly includeFrom: number;
  includedBlock: number | null;
  /** On a Solana ledger: until when the transfer can be included (sim/chains/simSolana.ts). */
  readonly lifetime?: SimLifetime;
}

/** A Solana transaction's lifetime: a recent blockhash, or a durable nonce value. */
export type SimLifetime =
  | { readonly kind: 'blockhash'; readonly validUntil: number }
  | { readonly kind: 'nonce'; readonly account: string; readonly value: string };

/** What a Solana ledger holds beyond an account ledger's (sim/chains/simSolana.ts). */
export interface SolanaLedger {
  /** Blocks a recent blockhash stays valid after the block it names. */
  readonly blockhashValidBlocks: number;
  /** The miner's durable nonce accounts: account -> its current nonce value. */
  readonly nonceAccounts: Record<string, string>;
  /** Hashes of transfers dropped from the pool because their lifetime ended. */
  readonly expired: string[];
}

export interface Ledger {
  readonly chain: string;
  height: number;
  readonly confirmations: number;
  readonly balances: Record<string, string>;
  readonly nonces: Record<string, number>;
  /** Accounts whose transfers cannot be included until the given height (funds frozen). */
  readonly frozenUntil: Record<string, number>;
  /** Every broadcast transfer, by hash: pending ones have includedBlock null. */
  readonly transfers: Record<string, SimTransfer>;
  /** Present on a Solana ledger: transactions expire with their lifetime. */
  readonly solana?: SolanaLedger;
  /** A UTXO chain's transactions (BTC, sim/chains/simUtxoChain.ts); absent on account chains. */
  readonly utxo?: UtxoState;
}

export interface SimLock {
  readonly jobId: string;
  readonly token: string;
  readonly payer: string;
  readonly payee: string;
  readonly amount: string;
  readonly expiry: number;
}

export interface EscrowEventRecord {
  readonly kind: 'Lock' | 'Claimed' | 'Canceled';
  readonly jobId: string;
  /** Claimed: gross (what left the lock); Canceled: what went back to the payer. */
  readonly amount: string;
  readonly txHash: string;
  readonly time: number;
  /** Who sent the transaction that emitted it. */
  readonly by: string;
  /** Claimed: the OPC fee taken from the amount (absent in worlds written before fees). */
  readonly fee?: string;
}

/**
 * The escrow's money besides its locks (absent in worlds written before fees were modelled:
 * read as no fee, nothing credited): the OPC fee rate (1e18 = 100%), what the fee collector
 * received, and per payee what sits in the escrow (available) and what was withdrawn to its
 * wallet.
 */
export interface SimEscrowFunds {
  feeRate: string;
  collected: string;
  available: Record<string, string>;
  withdrawn: Record<string, string>;
}

/** The OPC fee of a fresh world: 0.1%, the router's rate for Ocean-approved tokens. */
export const DEFAULT_FEE_RATE = 10n ** 15n;

export interface ComputeJob {
  readonly terms: JobTerms;
  readonly endsAt: number;
  readonly publishedAt: number;
  readonly cost: string;
  /** A payer that cancels the lock itself as soon as it expires. */
  readonly payerCancelsOnExpiry: boolean;
}

/** What the simulator observed of the host's actions, for the invariant checker. */
export interface Observations {
  /** Every signature made: hash -> Subtensor height at signing and swap id. */
  readonly signatures: Record<string, { readonly height: number; readonly swapId: string }>;
  /** Hashes of transfers a reorg dropped from a destination chain. */
  readonly reorgedOut: string[];
  /** Hostile obligations the script created: swaps near their timeout, locks too short. */
  readonly hostile: { tightWindows: number; shortLocks: number };
}

export interface WorldPlan {
  /** Obligations each module's script creates, by the module's kind. */
  readonly counts: Readonly<Record<string, number>>;
  readonly marginBlocks: number;
  readonly hostility: Hostility;
}

/** A plan as callers write it: the product's counts by name, any module's in `counts`. */
export interface PlanInput {
  readonly swaps?: number;
  readonly jobs?: number;
  readonly counts?: Readonly<Record<string, number>>;
  readonly marginBlocks: number;
  readonly hostility?: Hostility;
}

/** How often the script creates the obligations that go wrong in the wild (probabilities). */
export interface Hostility {
  /** A swap with a zero amount or an address that does not parse. */
  readonly badData: number;
  /** A swap created with only a few blocks before its timeout. */
  readonly tightWindow: number;
  /** A lock that expires before the claimer can run. */
  readonly shortLock: number;
  /** A payer who cancels an expired lock before we do. */
  readonly payerCancels: number;
}

/** The mix `settle start` shows a newcomer: mostly sound, a few of each hostile case. */
export const DEFAULT_HOSTILITY: Hostility = { badData: 0.08, tightWindow: 0.06, shortLock: 0.15, payerCancels: 0.5 };

/** What every world holds, whatever its modules. */
export interface BaseWorldState {
  readonly format: typeof WORLD_FORMAT;
  readonly version: number;
  readonly seed: number;
  rng: number[];
  readonly plan: WorldPlan;
  /** The block every chain of the world is at (the Subtensor's, in the product's world). */
  height: number;
}

/** The product's world: the fields below exist when its swap and job modules are in it. */
export interface WorldState extends BaseWorldState {
  readonly miner: string;
  readonly payee: string;
  subtensor: {
    height: number;
    nextSwapId: number;
    swaps: Record<string, SimSwap>;
    events: SwapEventRecord[];
    /** The terms of every swap ever created: storage forgets removed swaps, the checker must not. */
    history: Record<string, SwapTerms>;
  };
  readonly ledgers: Record<string, Ledger>;
  /** The Solana swap manager (when the world has the Solana swap module instead of the ink! one). */
  swapManager: {
    nextIndex: number;
    swaps: Record<string, SimManagerSwap>;
    events: SwapEventRecord[];
    history: Record<string, SwapTerms>;
  };
  escrow: {
    chain: string;
    address: string;
    token: string;
    time: number;
    txCount: number;
    locks: SimLock[];
    events: EscrowEventRecord[];
    funds?: SimEscrowFunds;
  };
  compute: { jobs: Record<string, ComputeJob>; created: number };
  /** The swaps' source chain: deposits, wallet refills, the audits of every signature (sim/chains/simSource.ts). */
  readonly sources: SourcesState;
  readonly observations: Observations;
}

export const MINER_HOTKEY = addressFor('tao', 'miner');
export const PAYEE = `0x${'ab'.repeat(20)}`;
export const DEST_CHAINS = ['tao', 'eth'] as const;

/** Addresses each simulated chain accepts; the real adapters parse with their own libraries. */
export const ADDRESS_PATTERNS: Readonly<Record<string, RegExp>> = {
  tao: /^5[1-9A-HJ-NP-Za-km-z]{47}$/,
  eth: /^0x[0-9a-fA-F]{40}$/,
  sol: /^[1-9A-HJ-NP-Za-km-z]{43,44}$/,
  btc: /^bc1q[02-9ac-hj-np-z]{38}$/,
};

/** The Solana cluster's unix time at a world block (12 s blocks from GENESIS_TIME). */
export const clusterTimeAt = (height: number): number => GENESIS_TIME + height * BLOCK_SECONDS;

export class World {
  readonly random: SimRandom;

  private constructor(
    readonly state: WorldState,
    /** The simulated obligations of this world, in the order their chains move each block. */
    readonly modules: readonly SimModule[],
    private readonly path: string | null,
  ) {
    this.random = SimRandom.fromState(state.rng);
  }

  static create(seed: number, plan: PlanInput, modules: readonly SimModule[], path: string | null = null): World {
    const counts = { swap: plan.swaps ?? 0, job: plan.jobs ?? 0, ...plan.counts };
    const base: BaseWorldState = {
      format: WORLD_FORMAT,
      version: WORLD_VERSION,
      seed,
      rng: SimRandom.fromSeed(seed).state(),
      plan: { counts, marginBlocks: plan.marginBlocks, hostility: plan.hostility ?? DEFAULT_HOSTILITY },
      height: 1,
    };
    // Each module adds its chains to the state; the product's fields exist once theirs have.
    const world = new World(base as WorldState, modules, path);
    for (const module of modules) module.init(world);
    world.commit();
    return world;
  }

  static load(path: string, modules: readonly SimModule[]): World {
    const text = readFileSync(path, 'utf8');
    let state: WorldState;
    try {
      state = JSON.parse(text) as WorldState;
    } catch (error) {
      throw new StoreError(path, `the simulated chain file is not valid JSON (${(error as Error).message})`);
    }
    if (state.format !== WORLD_FORMAT)
      throw new StoreError(path, `not a simulated chain file (format ${JSON.stringify(state.format)})`);
    if (state.version !== WORLD_VERSION) {
      throw new StoreError(
        path,
        `simulated chain version ${state.version}; this release reads ${WORLD_VERSION}: delete its directory for a new run`,
      );
    }
    // Written before swaps had a source chain: no deposits (its swaps' deposits are never found).
    if (state.sources === undefined) (state as { sources: SourcesState }).sources = newSourcesState();
    return new World(state, modules, path);
  }

  /** Makes the current state durable (when the world has a file). */
  commit(): void {
    // In memory (the simulator's runs), nothing to do: the state is the live object, and the
    // generator's position is read from `random` itself.
    if (this.path === null) return;
    this.state.rng = this.random.state();
    writeFileDurablySync(this.path, JSON.stringify(this.state));
  }

  get height(): number {
    return this.state.height;
  }

  /** Obligations a module's script creates in this world. */
  planned(kind: string): number {
    return this.state.plan.counts[kind] ?? 0;
  }

  nextEscrowTx(): string {
    this.state.escrow.txCount += 1;
    return `0x${sha256Hex(`escrow-tx-${this.state.seed}-${this.state.escrow.txCount}`)}`;
  }

  /** Whether every module's script has created every obligation planned. */
  get scriptDone(): boolean {
    return this.modules.every((module) => module.scriptDone(this));
  }
}

/**
 * One block for every chain of the world: each module moves its chains (inclusion,
 * validators, payers...), then each module's script may create an obligation. Committed once
 * at the end: a crash mid-block loses the block.
 */
export function advanceBlock(world: World): void {
  world.state.height += 1;
  for (const module of world.modules) module.advance(world);
  for (const module of world.modules) module.script(world);
  world.commit();
}

/**
 * An empty record that V8 keeps as a hash table from the start. Signatures are keyed by
 * transaction hash, a key never seen before: in a plain object each one costs a hidden-class
 * transition, and that insertion was 2.5% of a run. Only for records that are written and
 * looked up, not scanned: scanning a dictionary-mode object is slower. JSON.stringify writes
 * it exactly as a plain object.
 */
export function dictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function minerAddressOn(chain: string): string {
  if (chain === 'sol') return addressFor('sol', 'miner');
  if (chain === 'btc') return SIM_BTC_MINER;
  return chain === 'eth' ? `0x${'11'.repeat(20)}` : MINER_HOTKEY;
}
