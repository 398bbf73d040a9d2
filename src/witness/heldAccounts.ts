/**
 * The accounts whose signatures the witness holds, as the files say (for `settle status`,
 * which never asks a chain): the unknown activity the daemon wrote to the witness journal,
 * less what the operator decided. Read the journal before the store: every broadcast it holds
 * was then made at a position the store read after has reached.
 */
import type { StoreHistory } from '../store/snapshotStore.ts';
import { FileDecisions, type Decision } from './reconcileDecisions.ts';
import { judge } from './witnessCheck.ts';
import { readWitnessJournal, type WitnessEntry } from './witnessJournal.ts';

export interface HeldAccount {
  readonly chain: string;
  readonly account: string;
  readonly unknown: number;
}

export interface WitnessFiles {
  readonly entries: readonly WitnessEntry[];
  readonly decisions: readonly Decision[];
}

export async function readWitnessFiles(journalPath: string, decisionsPath: string): Promise<WitnessFiles> {
  return { entries: await readWitnessJournal(journalPath), decisions: await new FileDecisions(decisionsPath).read() };
}

export function heldAccounts({ entries, decisions }: WitnessFiles, history: StoreHistory | null): HeldAccount[] {
  const accounts = new Map(entries.map((e) => [`${e.chain}|${e.account}`, e]));
  return [...accounts.values()]
    .map((e) =>
      judge({
        chain: e.chain,
        account: e.account,
        entries,
        decisions,
        opened: history,
        storeKnows: new Map(),
        report: null,
      }),
    )
    .filter((v) => v.unknown.length > 0)
    .map((v) => ({ chain: v.chain, account: v.account, unknown: v.unknown.length }));
}

/**
 * Whether the store is older than its witness journal (only it was put back, or it lost its
 * newest writes): broadcasts this store journaled at positions beyond the one it is at now.
 * Null when not; said by `settle status` without asking any chain.
 */
export function storeBehindJournal(
  { entries }: WitnessFiles,
  history: StoreHistory | null,
): { readonly broadcasts: number; readonly highest: number; readonly position: number } | null {
  if (history === null) return null;
  const ahead = entries.filter(
    (e) => e.kind === 'broadcast' && e.storeId === history.storeId && e.position > history.position,
  );
  if (ahead.length === 0) return null;
  const highest = Math.max(...ahead.map((e) => (e.kind === 'broadcast' ? e.position : 0)));
  return { broadcasts: ahead.length, highest, position: history.position };
}
