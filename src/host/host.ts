/**
 * The settle host: the engine (src/engine/) running the product's two obligations, swap
 * fulfillment and job settlement, over the chain ports it is given. This is the one place that
 * names both; the engine names neither. A crash leaves what the engine leaves: every snapshot
 * that asks for an effect on disk before the effect, redone from the store at the next start.
 */
import type { InspectionEvent } from 'xstate';
import { Engine, type TickSummary } from '../engine/engine.ts';
import type { CrashHook } from '../engine/crashpoints.ts';
import type { EngineInterceptor } from '../engine/interceptors.ts';
import type { AnyObligation } from '../engine/obligation.ts';
import { jobSettlementObligation } from '../obligations/jobSettlement/index.ts';
import { swapFulfillmentObligation } from '../obligations/swapFulfillment/index.ts';
import type { SwapSourcePorts } from '../obligations/swapFulfillment/sourceCheck.ts';
import type { RecoveryLog } from '../store/recoveryLog.ts';
import type { SnapshotStore } from '../store/snapshotStore.ts';
import type { ClaimScheduleOptions } from './claimSchedule.ts';
import type { Clock, Escrow, JobSource, Logger, SwapContract, TransferSender } from './ports.ts';

export { isFatalToHost, StoreWriteFailed, type DurableTransition } from '../engine/live.ts';
export type { TickSummary };
/** The host is an engine: tick, machines, liveCount, memoryImage. */
export type Host = Engine;

/** The chain ports of both obligations. */
export interface ChainPortOptions {
  readonly swapContract: SwapContract | null;
  readonly senders: ReadonlyMap<string, TransferSender>;
  readonly escrows: ReadonlyMap<string, Escrow>;
  readonly clock: Clock | null;
  readonly jobSource: JobSource | null;
  /** Deposit verifiers and destination balances for the swaps (absent: unchecked, logged). */
  readonly sources?: SwapSourcePorts | undefined;
}

export interface HostOptions extends ChainPortOptions {
  readonly store: SnapshotStore;
  readonly recoveryLog: RecoveryLog;
  readonly log: Logger;
  /** The first-send cushion of new swaps, in the swap contract's unit (its default when absent). */
  readonly cushion?: number;
  readonly claimSchedule?: ClaimScheduleOptions;
  /** Tests and the simulator kill the host at named points through this. */
  readonly crashHook?: CrashHook;
  /** Effects one machine may perform in one tick: a bound on any retry loop. */
  readonly maxEffectStepsPerTick?: number;
  /** XState inspection of every machine's microsteps (transition coverage). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** Metrics, traces, planted bugs: composed around the engine, outermost first. */
  readonly interceptors?: readonly EngineInterceptor[];
}

/** Swap fulfillment, then job settlement: the order they are observed in at every tick. */
export function productObligations(
  options: ChainPortOptions & Pick<HostOptions, 'log' | 'cushion' | 'claimSchedule'>,
): AnyObligation[] {
  return [
    swapFulfillmentObligation({
      contract: options.swapContract,
      senders: options.senders,
      log: options.log,
      cushion: options.cushion,
      sources: options.sources,
    }),
    jobSettlementObligation({
      escrows: options.escrows,
      clock: options.clock,
      jobSource: options.jobSource,
      log: options.log,
      claimSchedule: options.claimSchedule,
    }),
  ];
}

/** Builds the host and its machines from every live record in the store. */
export function openHost(options: HostOptions): Promise<Host> {
  return Engine.restore({
    store: options.store,
    recoveryLog: options.recoveryLog,
    log: options.log,
    obligations: productObligations(options),
    ...(options.interceptors === undefined ? {} : { interceptors: options.interceptors }),
    ...(options.crashHook === undefined ? {} : { crashHook: options.crashHook }),
    ...(options.maxEffectStepsPerTick === undefined ? {} : { maxEffectStepsPerTick: options.maxEffectStepsPerTick }),
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  });
}
