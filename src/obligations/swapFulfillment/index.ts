/**
 * Swap fulfillment as an engine plug-in: the machine (machines/swapFulfillment.ts), its
 * observer (the allways contract), one handler per effect of SWAP_EFFECTS, the signed
 * transfers handed back to their senders at restore, and the ordering that broadcasts bytes
 * signed before a crash before anything new is signed.
 *
 * Restored without a swap contract (a daemon configured for jobs only), the effects that need
 * the contract wait for one; recovery entries are still written.
 *
 * Source ports (sourceCheck.ts): the deposit verifiers and the destination balances. The daemon
 * always gives them. A host built without them (tests of other parts, library users) records
 * every deposit `unchecked` and gates nothing, and says so in its log when it is built.
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
import type { EffectCall, EffectHandler, Obligation, ObligationScope } from '../../engine/obligation.ts';
import type { Logger, SwapContract, TransferSender } from '../../host/ports.ts';
import { followTransfer, markFulfilled, readSwap, sendTransfer, type SwapEffectPorts } from './effects.ts';
import { observeSwaps } from './observer.ts';
import { swapRecoveryEntry } from './recovery.ts';
import { fundsShortfall, verifyDeposit, type GateView, type SwapSourcePorts } from './sourceCheck.ts';

export interface SwapPorts {
  /** Null: swaps are not served (restored swap machines wait). */
  readonly contract: SwapContract | null;
  readonly senders: ReadonlyMap<string, TransferSender>;
  readonly log: Logger;
  /** The first-send cushion in the contract's unit (blocks or seconds); the machine's default when absent. */
  readonly cushion?: number | undefined;
  /** Deposit verifiers and destination balances; absent: deposits unchecked, no funds gate (logged). */
  readonly sources?: SwapSourcePorts | undefined;
}

export interface SwapFulfillmentObligation extends Obligation<SwapContext, SwapEvent, SwapEffect> {
  /** Its ports, for interceptors that need the chains (the planted bugs of the proofs). */
  readonly ports: SwapPorts;
}

type Handler = EffectHandler<SwapContext, SwapEvent>;

export function swapFulfillmentObligation(ports: SwapPorts): SwapFulfillmentObligation {
  let now: number | null = null;
  let scope: ObligationScope<SwapEvent> | null = null;
  // The terms as the contract listed them at the last observation: version-1 records lack the deposit's.
  let listed = new Map<string, SwapContext['terms']>();
  const sources = ports.sources;
  if (sources === undefined)
    ports.log.warn({}, 'swaps: no source ports given: deposits are NOT verified and payouts are not gated on funds');
  const effectPorts: SwapEffectPorts | null =
    ports.contract === null
      ? null
      : {
          contract: ports.contract,
          senders: ports.senders,
          log: ports.log,
          ...(sources === undefined
            ? {}
            : {
                fundsShortfall: (id: string, c: SwapContext) =>
                  fundsShortfall(sources, ports.log, id, c, gateView(scope)),
              }),
        };
  const withPorts = (
    perform: (p: SwapEffectPorts, call: EffectCall<SwapContext>) => Promise<SwapEvent | null>,
  ): Handler => ({
    perform: (call) => (effectPorts === null ? Promise.resolve(null) : perform(effectPorts, call)),
  });
  const handlers = {
    verifyDeposit: withPorts((_, call) =>
      sources === undefined
        ? Promise.resolve(uncheckedDeposit(call.context))
        : verifyDeposit(sources, ports.log, call.id, call.context, (swapId) => listed.get(swapId)),
    ),
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
    async observe(engineScope) {
      scope = engineScope;
      if (contract === null) {
        now = null;
        return { created: 0, status: 'off' };
      }
      return observeSwaps(
        { contract, senders: ports.senders, cushion: ports.cushion },
        engineScope,
        (n) => (now = n),
        (swaps) => (listed = new Map(swaps.map((s) => [s.terms.swapId, s.terms]))),
      );
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

/** The live swaps still to end, for the funds gate (the engine's own view, as of now). */
function gateView(scope: ObligationScope<SwapEvent> | null): GateView[] {
  if (scope === null) return [];
  return scope
    .live()
    .filter((m) => m.snapshot.status !== 'done')
    .map((m) => ({ id: m.id, context: m.snapshot.context as SwapContext }));
}

/** A host without source ports: the deposit is recorded as not checked (and said so at start). */
function uncheckedDeposit(c: SwapContext): SwapEvent {
  return {
    type: 'DEPOSIT_VERIFIED',
    deposit: {
      verdict: 'unchecked',
      reason: 'this host was built without source ports',
      txHash: c.terms.sourceTxHash,
      block: null,
      amountSeen: null,
      senderSeen: '',
      confirmations: 0,
      required: 0,
    },
  };
}

/** A swap snapshot of an older version as this version reads it; a missing step is a refusal. */
function migrateSwapRecord(fromVersion: number, snapshot: unknown): unknown {
  const { name, version } = machineCatalog.swapFulfillment;
  const migrated = migrateSnapshot(name, fromVersion, version, snapshot);
  if (migrated === null) throw new Error(`${name}: no migration from version ${fromVersion} to ${version}`);
  return migrated;
}
