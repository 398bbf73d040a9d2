/**
 * The swap contract's rules the machine obeys, per contract flavour: the ink! contract on
 * Subtensor (deadlines in Subtensor blocks, pays `dest_amount`, marks after inclusion) and the
 * allways swap manager on Solana (deadlines in unix seconds of the cluster's clock, pays
 * `to_amount - floor(to_amount / 100)` from the pinned `miner_to_addr`, marks when the
 * destination chain's policy says). Pure functions of the swap's terms: the simulator, the
 * host and the diagrams read the same rules from here.
 */
import { classifyMarkError, type MarkErrorClass } from './markFulfilledErrors.ts';
import { classifySolanaMarkError } from './solanaMarkFulfilledErrors.ts';

export type SwapContractKind = 'ink' | 'solana';
export const SWAP_CONTRACT_KINDS: readonly SwapContractKind[] = ['ink', 'solana'];

/** The unit of every deadline, clock value and cushion of a swap of this contract. */
export const TIME_UNIT: Readonly<Record<SwapContractKind, 'block' | 'unixSecs'>> = { ink: 'block', solana: 'unixSecs' };

/**
 * When a first send may no longer start: fewer than this remain before the deadline, in the
 * contract's unit. ink!: 3 Subtensor blocks (about 36 s: sign, broadcast, include on a 12 s
 * chain). Solana: 216 s, the reference miner's MINER_TIMEOUT_CUSHION_SECS.
 */
export const DEFAULT_CUSHION: Readonly<Record<SwapContractKind, number>> = { ink: 3, solana: 216 };

/** One step of the mark retry backoff (1, 2, 4 ... 16 steps): a Subtensor block, or 12 s. */
export const MARK_RETRY_STEP: Readonly<Record<SwapContractKind, number>> = { ink: 1, solana: 12 };
export const MAX_MARK_BACKOFF_STEPS = 16;

/** The divisor of the Solana swap manager's fee (FEE_DIVISOR): the user receives 99%. */
export const SOLANA_FEE_DIVISOR = 100n;

/** The amount the contract requires us to pay, in the destination's smallest unit. */
export function requiredPayout(contract: SwapContractKind, destAmount: bigint): bigint {
  // The fee is floored, so rounding favours the user: to_amount 199 pays 198.
  return contract === 'solana' ? destAmount - destAmount / SOLANA_FEE_DIVISOR : destAmount;
}

/**
 * When to call mark_fulfilled, by destination chain:
 * - broadcast: as soon as the network accepted the transfer, with block 0. BTC and EVM assets:
 *   their grace (1800 s, 600 s) would not cover confirmation, and validators look them up by
 *   hash. The machine keeps following the transfer to inclusion after the mark.
 * - landed: once in a block (Solana `confirmed`, Subtensor inclusion), with that block: SOL and
 *   USDC-on-Solana confirm within their 120 s / 600 s grace; TAO validators search ±3 blocks
 *   around the block given, so it must be the real one.
 * - included: with the confirmations the sender requires (the ink! contract's rule: it has no
 *   grace to protect, and a mark is a statement that the funds arrived).
 */
export type MarkPoint = 'broadcast' | 'landed' | 'included';

const SOLANA_MARK_POINTS: Readonly<Record<string, MarkPoint>> = {
  sol: 'landed',
  solusdc: 'landed',
  tao: 'landed',
  btc: 'broadcast',
  // EVM coins and ERC-20 tokens of the reference's asset table.
  ...Object.fromEntries(
    [
      'eth',
      'hype',
      'bnb',
      'avax',
      'cro',
      'pol',
      'arbusdc',
      'baseusdc',
      'ethusdc',
      'polusdc',
      'aster',
      'uni',
      'qnt',
      'paxg',
    ].map((c) => [c, 'broadcast']),
  ),
};

/** Null: a destination chain the Solana swap manager's validators do not know (never paid). */
export function markPointOf(contract: SwapContractKind, destChain: string): MarkPoint | null {
  if (contract === 'ink') return 'included';
  return Object.hasOwn(SOLANA_MARK_POINTS, destChain) ? SOLANA_MARK_POINTS[destChain]! : null;
}

/** The hubs of the Solana swap manager: one live swap per hub for a miner. */
export const SOLANA_HUBS: readonly string[] = ['sol', 'tao'];

export function classifyMarkFailure(contract: SwapContractKind, error: string): MarkErrorClass {
  return contract === 'solana' ? classifySolanaMarkError(error) : classifyMarkError(error);
}
