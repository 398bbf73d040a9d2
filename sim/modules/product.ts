/**
 * The product's simulated obligations, in the order the host observes them: swap fulfillment,
 * then job settlement. `settle sim`, `settle start` and the proofs run these; `settle sim
 * --contract solana` and the Solana proofs run the Solana swap manager's flavour.
 */
import type { SimModule } from '../simModule.ts';
import { jobModule } from './jobModule.ts';
import { solanaSwapModule } from './solanaSwapModule.ts';
import { swapModule } from './swapModule.ts';

export const PRODUCT_MODULES: readonly SimModule[] = [swapModule, jobModule];

/** The same, with the allways swap manager on Solana as the swap contract. */
export const SOLANA_PRODUCT_MODULES: readonly SimModule[] = [solanaSwapModule, jobModule];
