/**
 * Wires the real engine and the real store to the simulated chains: the same code the daemon
 * runs, with the world's modules (their chains in place of Subtensor, the destination ledgers
 * and the escrow) bringing the obligations.
 */
import { join } from 'node:path';
import type { CrashHook } from '../src/engine/crashpoints.ts';
import { Engine } from '../src/engine/engine.ts';
import type { Host } from '../src/host/host.ts';
import type { Logger } from '../src/host/ports.ts';
import { openLowdbSnapshotStore } from '../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryLog } from '../src/store/recoveryLog.ts';
import type { SnapshotStore } from '../src/store/snapshotStore.ts';
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
}

/** `dir` holds store/ and recovery.jsonl; the chains are the world's, without faults. */
export async function openSimHost(world: World, dir: string, options: SimHostOptions): Promise<SimHost> {
  const obligations = world.modules.map((module) => module.connect(world, null).obligation(options.log));
  const store = await openLowdbSnapshotStore(join(dir, 'store'), {
    create: options.create,
    knownMachines: Engine.knownMachines(obligations),
  });
  const { log: recoveryLog, tornTailSavedTo } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  if (tornTailSavedTo !== null)
    options.log.warn({ savedTo: tornTailSavedTo }, 'recovery log ended in a torn line; kept aside');
  const host = await Engine.restore({
    store,
    recoveryLog,
    log: options.log,
    obligations,
    ...(options.crashHook === undefined ? {} : { crashHook: options.crashHook }),
  });
  return { host, store, recoveryLog };
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
