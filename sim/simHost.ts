/**
 * Wires the real engine and the real store to the simulated chains: the same code the daemon
 * runs, with the world's modules (their chains in place of Subtensor, the destination ledgers
 * and the escrow) bringing the obligations, and the witness around every transfer sender
 * (its journal and the operator's decisions beside the store, as in a daemon's data directory).
 */
import { join } from 'node:path';
import type { CrashHook } from '../src/engine/crashpoints.ts';
import { Engine } from '../src/engine/engine.ts';
import type { Host } from '../src/host/host.ts';
import type { Logger, TransferSender } from '../src/host/ports.ts';
import { openLowdbSnapshotStore } from '../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryLog } from '../src/store/recoveryLog.ts';
import type { SnapshotStore } from '../src/store/snapshotStore.ts';
import { FileDecisions, RECONCILE_FILE } from '../src/witness/reconcileDecisions.ts';
import type { Verdict } from '../src/witness/witnessCheck.ts';
import { WitnessGate } from '../src/witness/witnessGate.ts';
import { FileWitnessJournal, WITNESS_JOURNAL_FILE } from '../src/witness/witnessJournal.ts';
import { WitnessedSender } from '../src/witness/witnessedSender.ts';
import type { World } from './world.ts';

export { SIM_CLAIM_SCHEDULE } from './modules/jobModule.ts';

export interface SimHostOptions {
  readonly create: boolean;
  readonly log: Logger;
  readonly crashHook?: CrashHook;
}

/** A store whose archive can be listed: the real one, or the simulator's memory disk. */
export type ListableStore = SnapshotStore & { readonly archivedIds: Iterable<string> };

export interface SimHost {
  readonly host: Host;
  readonly store: ListableStore;
  readonly recoveryLog: RecoveryLog;
  /** The witness of this host's life, and what each chain showed when it started. */
  readonly witness?: { readonly gate: WitnessGate; readonly verdicts: readonly Verdict[] };
}

/** `dir` holds store/ and recovery.jsonl; the chains are the world's, without faults. */
export async function openSimHost(world: World, dir: string, options: SimHostOptions): Promise<SimHost> {
  const connections = world.modules.map((module) => module.connect(world, null));
  const knownMachines = Engine.knownMachines(connections.map((connection) => connection.obligation(options.log)));
  const store = await openLowdbSnapshotStore(join(dir, 'store'), { create: options.create, knownMachines });
  const { log: recoveryLog, tornTailSavedTo } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  if (tornTailSavedTo !== null)
    options.log.warn({ savedTo: tornTailSavedTo }, 'recovery log ended in a torn line; kept aside');
  const gate = new WitnessGate({
    journal: await FileWitnessJournal.open(join(dir, WITNESS_JOURNAL_FILE)),
    decisions: new FileDecisions(join(dir, RECONCILE_FILE)),
    store,
    opened: store.openedHistory,
    log: options.log,
    now: () => `block ${world.height}`,
  });
  const witnessed: WitnessedSender[] = [];
  const wrapSender = (sender: TransferSender): TransferSender => {
    const wrapped = new WitnessedSender(sender, gate);
    witnessed.push(wrapped);
    return wrapped;
  };
  const obligations = connections.map((connection) => connection.obligation(options.log, { wrapSender }));
  const host = await Engine.restore({
    store,
    recoveryLog,
    log: options.log,
    obligations,
    ...(options.crashHook === undefined ? {} : { crashHook: options.crashHook }),
  });
  // A store that begins now: what the chains show is before it (settle start's chains always answer).
  if (store.createdNow || store.historyBegins) {
    for (const sender of witnessed) {
      const report = await sender.report();
      if (report !== null) await gate.baseline(sender.chain, report);
    }
  }
  // After the restore: the wrapped senders know which transfers the store holds.
  await gate.recordJournalAhead();
  const verdicts = await gate.start(witnessed);
  return { host, store, recoveryLog, witness: { gate, verdicts } };
}

/** The archived machines' final states, read back from the store. */
export async function finalMachines(store: ListableStore): Promise<Map<string, { state: string; context: unknown }>> {
  const finals = new Map<string, { state: string; context: unknown }>();
  for (const id of [...store.archivedIds].sort()) {
    const record = await store.readArchived(id);
    const snapshot = record.snapshot as { value: string; context: unknown };
    finals.set(id, { state: snapshot.value, context: snapshot.context });
  }
  return finals;
}
