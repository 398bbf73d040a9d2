/**
 * Wires the real host and the real store to the simulated chains: the same code the daemon
 * runs, with the world in place of Subtensor, the destination ledgers and the escrow.
 */
import { join } from 'node:path';
import { knownMachineVersions } from '../machines/index.ts';
import type { ClaimScheduleOptions } from '../src/host/claimSchedule.ts';
import type { CrashHook } from '../src/engine/crashpoints.ts';
import { openHost, type ChainPortOptions, type Host } from '../src/host/host.ts';
import type { Logger } from '../src/host/ports.ts';
import { openLowdbSnapshotStore } from '../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryLog } from '../src/store/recoveryLog.ts';
import type { SnapshotStore } from '../src/store/snapshotStore.ts';
import { SimCompute } from './chains/simCompute.ts';
import { SimEscrow } from './chains/simEscrow.ts';
import { SimSwapContract } from './chains/simSwapContract.ts';
import { SimTransferSender } from './chains/simTransferSender.ts';
import type { World } from './world.ts';

export const SIM_CLAIM_SCHEDULE: ClaimScheduleOptions = { intervalSec: 120, firstRunDelaySec: 24 };

export interface SimHostOptions {
  readonly create: boolean;
  readonly log: Logger;
  readonly crashHook?: CrashHook;
  readonly claimSchedule?: ClaimScheduleOptions;
}

/** A store whose archive can be listed: the real one, or the simulator's memory disk. */
export type ListableStore = SnapshotStore & { readonly archivedIds: Iterable<string> };

export interface SimHost {
  readonly host: Host;
  readonly store: ListableStore;
  readonly recoveryLog: RecoveryLog;
}

export type ChainPorts = ChainPortOptions;

/** Every chain port of the host, over the simulated world. */
export function simPorts(world: World): ChainPorts {
  const compute = new SimCompute(world);
  const escrow = new SimEscrow(world);
  return {
    swapContract: new SimSwapContract(world),
    senders: new Map(Object.keys(world.state.ledgers).map((chain) => [chain, new SimTransferSender(world, chain)])),
    escrows: new Map([[escrow.chain, escrow]]),
    clock: compute,
    jobSource: compute,
  };
}

/** `dir` holds store/ and recovery.jsonl. */
export async function openSimHost(world: World, dir: string, options: SimHostOptions): Promise<SimHost> {
  const store = await openLowdbSnapshotStore(join(dir, 'store'), { create: options.create, knownMachines: knownMachineVersions });
  const { log: recoveryLog, tornTailSavedTo } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  if (tornTailSavedTo !== null) options.log.warn({ savedTo: tornTailSavedTo }, 'recovery log ended in a torn line; kept aside');
  const host = await openHost({
    store,
    recoveryLog,
    ...simPorts(world),
    log: options.log,
    marginBlocks: world.state.plan.marginBlocks,
    claimSchedule: options.claimSchedule ?? SIM_CLAIM_SCHEDULE,
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
