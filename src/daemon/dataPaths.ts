/**
 * What a data directory holds, for the daemon, `settle start` and the operator commands
 * alike. A module of its own so `settle status` and `settle recovery` do not load the chain
 * libraries (seconds of start-up) to learn six file names.
 */
import { join } from 'node:path';

export function dataPaths(dataDir: string) {
  return {
    store: join(dataDir, 'store'),
    recoveryLog: join(dataDir, 'recovery.jsonl'),
    resolutions: join(dataDir, 'recovery-resolutions.jsonl'),
    lock: join(dataDir, 'daemon.lock'),
    /** The witness journal: each broadcast with the store's position (src/witness/). */
    witness: join(dataDir, 'witness.jsonl'),
    /** The operator's reconcile decisions (settle reconcile). */
    reconcile: join(dataDir, 'reconcile.jsonl'),
  };
}

export type DataPaths = ReturnType<typeof dataPaths>;
