/**
 * One life of a data directory around a real chain's sender, for the chains' witness tests: the
 * sender wrapped in a WitnessedSender whose gate reads `journal` and `decisions`, with a store
 * at `position` of `storeId` (`advance` moves it, as each persisted step does).
 */
import type { TransferSender } from '../../src/host/ports.ts';
import type { RecoveryLog } from '../../src/store/recoveryLog.ts';
import type { StoreHistory } from '../../src/store/snapshotStore.ts';
import type { MemoryDecisions } from '../../src/witness/reconcileDecisions.ts';
import { WitnessGate } from '../../src/witness/witnessGate.ts';
import type { MemoryWitnessJournal } from '../../src/witness/witnessJournal.ts';
import { WitnessedSender } from '../../src/witness/witnessedSender.ts';
import { collectingLogger, type LogLine } from './collectingLogger.ts';

export interface LifeOptions {
  readonly journal: MemoryWitnessJournal;
  readonly decisions: MemoryDecisions;
  readonly storeId: string;
  readonly position: number;
  /** What the gate logs, collected. */
  readonly lines: LogLine[];
  readonly recoveryLog?: RecoveryLog;
}

export function witnessedLife(inner: TransferSender, options: LifeOptions) {
  let at = options.position;
  const history = (): StoreHistory => ({ storeId: options.storeId, position: at });
  const gate = new WitnessGate({
    journal: options.journal,
    decisions: options.decisions,
    store: { history } as never,
    opened: history(),
    log: collectingLogger(options.lines),
    now: () => 't',
    ...(options.recoveryLog === undefined ? {} : { recoveryLog: options.recoveryLog }),
  });
  return { sender: new WitnessedSender(inner, gate), gate, lines: options.lines, advance: () => (at += 1) };
}
