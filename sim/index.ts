/**
 * The simulator as a library (`settle/sim`): run the real engine against simulated chains
 * with injected faults, reproducibly from a seed, with the product's obligations or one's own
 * (a `SimModule` per obligation, as test/payout/ shows).
 */
export { runScenario, type ScenarioOptions, type ScenarioResult } from './scenario.ts';
export { simulate, INVARIANT_NAMES, type SimulateOptions, type SimSummary } from './simulate.ts';
export type { SimModule } from './simModule.ts';
export { FAULT_KINDS, parseFaults, type FaultKind } from './faults.ts';
export { World } from './world.ts';
