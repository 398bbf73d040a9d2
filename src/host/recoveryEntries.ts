/** Recovery-log entries built from a final machine's context: what a person needs to act. */
import type { JobContext, StateMeta, SwapContext } from '../../machines/index.ts';
import type { RecoveryEntry } from '../store/recoveryLog.ts';

type RecordKind = NonNullable<StateMeta['record']>;

export function swapRecoveryEntry(id: string, state: string, kind: RecordKind, c: SwapContext): RecoveryEntry {
  const txHashes: Record<string, string> = { source: c.terms.sourceTxHash };
  if (c.transfer !== null) txHashes['destTransfer'] = c.transfer.hash;
  return {
    key: id,
    obligation: 'swap',
    kind,
    reason: c.reason ?? `ended in ${state}`,
    state,
    chains: { source: c.terms.sourceChain, dest: c.terms.destChain },
    amounts: { source: c.terms.sourceAmount, dest: c.terms.destAmount, tao: c.terms.taoAmount },
    txHashes,
    block: c.block,
    time: null,
  };
}

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
    obligation: 'job',
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
