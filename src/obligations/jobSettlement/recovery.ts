/** The recovery-log entry of an unsettled job, from its final context: what a person needs to act. */
import { JOB_KIND, type JobContext, type StateMeta } from '../../../machines/index.ts';
import type { RecoveryEntry } from '../../store/recoveryLog.ts';

type RecordKind = NonNullable<StateMeta['record']>;

export function jobRecoveryEntry(id: string, state: string, kind: RecordKind, c: JobContext): RecoveryEntry {
  const amounts: Record<string, string> = {};
  if (c.terms.lock !== null) amounts['locked'] = c.terms.lock.amount;
  if (c.cost !== null) amounts['cost'] = c.cost;
  if (c.claimAmount !== null) amounts['owed'] = c.claimAmount;
  const txHashes: Record<string, string> = {};
  if (c.claimTx !== null) txHashes['claim'] = c.claimTx;
  if (c.cancelTx !== null) txHashes['cancel'] = c.cancelTx;
  return {
    key: id,
    obligation: JOB_KIND,
    kind,
    reason: c.reason ?? `ended in ${state}`,
    state,
    chains: { escrow: c.terms.chain },
    amounts,
    txHashes,
    block: null,
    time: c.now,
  };
}
