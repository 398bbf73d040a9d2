/**
 * The witness of one data directory, as the daemon and `settle start` open it: the journal
 * and the operator's decisions beside the store, a gate over the store as it was opened, and
 * every transfer sender wrapped. Opened after the store and before the host restores (the
 * restore tells the wrapped senders which transfers the store holds); `startWitness` then
 * asks every chain once.
 */
import { dirname, join } from 'node:path';
import type { Logger, TransferSender } from '../host/ports.ts';
import type { RecoveryLog } from '../store/recoveryLog.ts';
import type { SnapshotStore, StoreHistory } from '../store/snapshotStore.ts';
import { FileDecisions, RECONCILE_FILE } from './reconcileDecisions.ts';
import { archivedIn, COMPACT_FROM_ENTRIES, compactEntries } from './witnessCompaction.ts';
import type { Verdict } from './witnessCheck.ts';
import { isHeld, WitnessGate } from './witnessGate.ts';
import { FileWitnessJournal, WITNESS_JOURNAL_FILE } from './witnessJournal.ts';
import { WitnessedSender } from './witnessedSender.ts';

export interface OpenedWitness {
  readonly gate: WitnessGate;
  readonly senders: ReadonlyMap<string, WitnessedSender>;
  readonly journal: FileWitnessJournal;
}

export interface OpenWitnessOptions {
  readonly dataDir: string;
  readonly store: SnapshotStore;
  readonly opened: StoreHistory | null;
  readonly senders: ReadonlyMap<string, TransferSender>;
  readonly log: Logger;
  readonly now?: () => string;
  /** Each unknown transaction is written there too (WitnessGateOptions.recoveryLog). */
  readonly recoveryLog?: RecoveryLog;
}

export function witnessPaths(dataDir: string): { journal: string; decisions: string } {
  return { journal: join(dataDir, WITNESS_JOURNAL_FILE), decisions: join(dataDir, RECONCILE_FILE) };
}

export async function openWitness(options: OpenWitnessOptions): Promise<OpenedWitness> {
  const paths = witnessPaths(options.dataDir);
  const journal = await FileWitnessJournal.open(paths.journal);
  const gate = new WitnessGate({
    journal,
    decisions: new FileDecisions(paths.decisions),
    store: options.store,
    opened: options.opened,
    log: options.log,
    now: options.now ?? (() => new Date().toISOString()),
    ...(options.recoveryLog === undefined ? {} : { recoveryLog: options.recoveryLog }),
  });
  const senders = new Map([...options.senders].map(([chain, sender]) => [chain, new WitnessedSender(sender, gate)]));
  for (const [chain, sender] of options.senders) {
    if (sender.witness === undefined)
      options.log.warn(
        { chain },
        'this sender has no witness: a store behind the chain is recognised only through the witness journal',
      );
  }
  return { gate, senders, journal };
}

/**
 * For a store that begins now (created, or given its history now): what every chain shows
 * becomes the baseline, before anything can be signed. Asks until every chain has answered
 * (waiting `waitMs` between rounds, while `stopping` says no): a baseline recorded later could
 * cover a transfer made meanwhile by a copy of this store. False if stopped first.
 */
export async function recordBaselines(
  witness: OpenedWitness,
  log: Logger,
  waitMs: number,
  stopping: () => boolean,
  sleep: (ms: number) => Promise<void>,
): Promise<boolean> {
  const pending = new Map(witness.senders);
  for (let round = 1; pending.size > 0; round += 1) {
    for (const [chain, sender] of [...pending]) {
      try {
        const report = await sender.report();
        if (report !== null) await witness.gate.baseline(chain, report);
        pending.delete(chain);
      } catch (error) {
        log.warn(
          { chain, round, err: String((error as Error).message ?? error) },
          'a new store waits for every chain to say what its paying account did before it',
        );
      }
    }
    if (pending.size === 0) return true;
    await sleep(waitMs);
    if (stopping()) return false;
  }
  return true;
}

/**
 * Asks every chain once. A chain that does not answer is logged and asked again before the
 * first signature (the check runs before every signature anyway); a held account is logged by
 * the gate. Returns the verdicts of the chains that answered.
 */
export async function startWitness(witness: OpenedWitness, log: Logger): Promise<Verdict[]> {
  await witness.gate.recordJournalAhead();
  const verdicts: Verdict[] = [];
  for (const sender of witness.senders.values()) {
    try {
      verdicts.push(...(await witness.gate.start([sender])));
    } catch (error) {
      log.warn(
        { chain: sender.chain, err: String((error as Error).message ?? error) },
        'witness check at start failed; it runs again before every signature',
      );
    }
  }
  const held = verdicts.filter(isHeld);
  if (held.length === 0)
    log.info({ chains: verdicts.map((v) => v.chain) }, 'witness: every chain shows only what this store knows');
  return verdicts;
}

/**
 * Bounds the witness journal (witnessCompaction.ts) once it holds COMPACT_FROM_ENTRIES entries:
 * after the start check (what each chain showed is then known) and the restore. Returns how
 * many entries went. A failure is logged and leaves the journal as it was.
 */
export async function compactWitness(
  witness: OpenedWitness,
  store: SnapshotStore,
  log: Logger,
  now: () => string = () => new Date().toISOString(),
): Promise<number> {
  const entries = witness.journal.entries();
  if (entries.length < COMPACT_FROM_ENTRIES) return 0;
  try {
    const { kept, removed } = compactEntries({
      entries,
      decisions: await new FileDecisions(witnessPaths(dirname(witness.journal.path)).decisions).read(),
      archived: archivedIn((id) => store.placeOf(id)),
      reports: witness.gate.reports,
      storeId: store.history?.()?.storeId ?? 'none',
      at: now(),
    });
    if (removed === 0) return 0;
    await witness.journal.rewrite(kept);
    log.info(
      { removed, kept: kept.length },
      'witness journal compacted: entries of archived swaps the chain shows done',
    );
    return removed;
  } catch (error) {
    log.warn({ err: String((error as Error).message ?? error) }, 'witness journal not compacted; it is kept whole');
    return 0;
  }
}
