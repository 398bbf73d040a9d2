/**
 * The product's simulated obligations, in the order the host observes them: swap fulfillment,
 * then job settlement. `settle sim`, `settle start` and the proofs run these.
 */
import type { SimModule } from '../simModule.ts';
import { jobModule } from './jobModule.ts';
import { swapModule } from './swapModule.ts';

export const PRODUCT_MODULES: readonly SimModule[] = [swapModule, jobModule];
