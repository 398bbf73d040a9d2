/** The recovery-log entry of a stuck swap, from its final context: what a person needs to act. */
import { SWAP_KIND, type StateMeta, type SwapContext } from '../../../machines/index.ts';
import type { RecoveryEntry } from '../../store/recoveryLog.ts';

type RecordKind = NonNullable<StateMeta['record']>;

export function swapRecoveryEntry(id: string, state: string, kind: RecordKind, c: SwapContext): RecoveryEntry {
  const txHashes: Record<string, string> = { source: c.terms.sourceTxHash };
  if (c.transfer !== null) txHashes['destTransfer'] = c.transfer.hash;
  return {
    key: id,
    obligation: SWAP_KIND,
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
