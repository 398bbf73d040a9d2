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
