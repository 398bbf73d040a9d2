/**
 * Swap fulfillment as an engine plug-in: the machine (machines/swapFulfillment.ts), its
 * observer (the allways contract), one handler per effect of SWAP_EFFECTS, the signed
 * transfers handed back to their senders at restore, and the ordering that broadcasts bytes
 * signed before a crash before anything new is signed.
 *
 * Restored without a swap contract (a daemon configured for jobs only), the effects that need
 * the contract wait for one; recovery entries are still written.
 */
import {
  machineCatalog,
  migrateSnapshot,
  SWAP_KIND,
  type SwapContext,
  type SwapEffect,
  type SwapEvent,
} from '../../../machines/index.ts';
import { ContractMismatch } from '../../errors.ts';
import type { EffectCall, EffectHandler, Obligation } from '../../engine/obligation.ts';
import type { Logger, SwapContract, TransferSender } from '../../host/ports.ts';
import { followTransfer, markFulfilled, readSwap, sendTransfer, type SwapEffectPorts } from './effects.ts';
import { observeSwaps } from './observer.ts';
import { swapRecoveryEntry } from './recovery.ts';

export interface SwapPorts {
  /** Null: swaps are not served (restored swap machines wait). */
  readonly contract: SwapContract | null;
  readonly senders: ReadonlyMap<string, TransferSender>;
  readonly log: Logger;
  /** The first-send cushion in the contract's unit (blocks or seconds); the machine's default when absent. */
  readonly cushion?: number | undefined;
}

export interface SwapFulfillmentObligation extends Obligation<SwapContext, SwapEvent, SwapEffect> {
  /** Its ports, for interceptors that need the chains (the planted bugs of the proofs). */
  readonly ports: SwapPorts;
}

type Handler = EffectHandler<SwapContext, SwapEvent>;

export function swapFulfillmentObligation(ports: SwapPorts): SwapFulfillmentObligation {
  let now: number | null = null;
  const effectPorts: SwapEffectPorts | null =
    ports.contract === null ? null : { contract: ports.contract, senders: ports.senders, log: ports.log };
  const withPorts = (
    perform: (p: SwapEffectPorts, call: EffectCall<SwapContext>) => Promise<SwapEvent | null>,
  ): Handler => ({
    perform: (call) => (effectPorts === null ? Promise.resolve(null) : perform(effectPorts, call)),
  });
  const handlers = {
    sendTransfer: withPorts((p, call) => sendTransfer(p, call.id, call.context)),
    markFulfilled: withPorts((p, call) =>
      now === null ? Promise.resolve(null) : markFulfilled(p, call.id, call.context, now),
    ),
    followTransfer: withPorts((p, call) => followTransfer(p, call.id, call.context)),
    readSwap: withPorts((p, call) => readSwap(p, call.id, call.context)),
    recordRecovery: {
      perform: (call) =>
        call.record(swapRecoveryEntry(call.id, call.state, call.meta.record ?? 'stuck-funds', call.context)),
    },
  } satisfies Record<SwapEffect, Handler>;
  const contract = ports.contract;
  return {
    kind: SWAP_KIND,
    ports,
    // Version 1 records (ink! only) are read through the catalogue's migrations, run by the
    // engine at restore and written back before any effect (machines/swapFulfillmentMigration.ts).
    definition: {
      ...machineCatalog.swapFulfillment,
      migratesFrom: 1,
      migrate: (snapshot, fromVersion) => migrateSwapRecord(fromVersion, snapshot),
    },
    handlers,
    async observe(scope) {
      if (contract === null) {
        now = null;
        return { created: 0, status: 'off' };
      }
      return observeSwaps({ contract, senders: ports.senders, cushion: ports.cushion }, scope, (n) => (now = n));
    },
    revived(id, context) {
      // A swap of the other deployment would be read and marked on a contract that never held it.
      if (contract !== null && context.terms.contract !== contract.kind)
        throw new ContractMismatch(id, context.terms.contract, contract.kind);
      // Signed by an earlier life of the process: its nonce must not go to another transfer.
      if (context.transfer !== null) ports.senders.get(context.terms.destChain)?.adopt?.(context.transfer);
    },
    priority: (context) => (context.transfer !== null ? -1 : 0),
  };
}

/** A swap snapshot of an older version as this version reads it; a missing step is a refusal. */
function migrateSwapRecord(fromVersion: number, snapshot: unknown): unknown {
  const { name, version } = machineCatalog.swapFulfillment;
  const migrated = migrateSnapshot(name, fromVersion, version, snapshot);
  if (migrated === null) throw new Error(`${name}: no migration from version ${fromVersion} to ${version}`);
  return migrated;
}
