/**
 * Defaults that belong to the machines themselves, defined once: the CLI's options, the
 * daemon's configuration, the simulator, the tests and the benchmarks import them from here.
 * Nothing here is read at run time from anywhere else.
 */
import { DEFAULT_CUSHION } from './swapRules.ts';

/**
 * Blocks that must remain before an ink! swap's timeout for a first send to start. Three
 * Subtensor blocks (about 36 s) cover signing, broadcast and inclusion on a destination chain
 * with a 12 s block; a send already made is marked whatever the time. (The Solana swap
 * manager's cushion, in seconds, is DEFAULT_CUSHION.solana.)
 */
export const DEFAULT_MARGIN_BLOCKS = DEFAULT_CUSHION.ink;
