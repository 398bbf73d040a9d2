/**
 * settle as a library: what a TypeScript program (a compute node, a miner's own tooling)
 * imports to embed the engine instead of running `settle daemon`. Everything here is the
 * same module the daemon and the simulator use; nothing is re-implemented for embedding.
 *
 * - the engine: `Engine.restore`, `tick`, interceptors, the obligation plug-in interface;
 * - `openHost`: the engine with the two product obligations (swap fulfillment, job settlement);
 * - the two obligations, to compose with obligations of one's own;
 * - the durable store and the recovery log (and the SnapshotStore port to bring another);
 * - the chain ports an embedding program implements or takes from `src/chains/`;
 * - the errors an operator must read, `assert` and `errorField`.
 *
 * The machines are `settle/machines`, the simulator `settle/sim`. The package ships TypeScript
 * source: run it with tsx (as the CLI does) or a TypeScript-aware bundler or test runner.
 */
export { Engine, type EngineOptions, type TickSummary } from './engine/engine.ts';
export type { EngineInterceptor } from './engine/interceptors.ts';
export {
  checkHandlers,
  type AnyObligation,
  type BatchedEffect,
  type EffectHandler,
  type MachineDefinition,
  type Obligation,
  type ObligationScope,
  type ObserveResult,
  type SingleEffect,
} from './engine/obligation.ts';
export { isFatalToHost, StoreWriteFailed, type DurableTransition } from './engine/live.ts';
export { openHost, productObligations, type Host, type HostOptions } from './host/host.ts';
export { swapFulfillmentObligation, type SwapPorts } from './obligations/swapFulfillment/index.ts';
export { jobSettlementObligation, type JobPorts } from './obligations/jobSettlement/index.ts';
export { openLowdbSnapshotStore, LowdbSnapshotStore, type OpenStoreOptions } from './store/lowdbSnapshotStore.ts';
export type { MachineRecord, SnapshotStore } from './store/snapshotStore.ts';
export { openRecoveryLog, readRecoveryLog, type RecoveryEntry, type RecoveryLog } from './store/recoveryLog.ts';
export type * from './host/ports.ts';
export { BatchReverted, NeverLands } from './host/ports.ts';
export * from './errors.ts';
export * from './defaults.ts';
