/**
 * The recovery-log entry of a stuck swap, from its final context: what a person needs to act.
 * Its key is the swap's machine id, `swap:<swap id>`: for the Solana swap manager the swap id is
 * the swap key (keccak256 of the source tx hash, hex), what validators and explorers show.
 */
import { requiredPayout, SWAP_KIND, TIME_UNIT, type StateMeta, type SwapContext } from '../../../machines/index.ts';
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
    chains: { source: c.terms.sourceChain, dest: c.terms.destChain, hub: c.terms.hub, contract: c.terms.contract },
    amounts: {
      source: c.terms.sourceAmount,
      dest: c.terms.destAmount,
      payout: requiredPayout(c.terms.contract, BigInt(c.terms.destAmount)).toString(),
      collateral: c.terms.collateralAmount,
    },
    txHashes,
    // The contract's clock when it ended: a Subtensor block, or the Solana cluster's unix time.
    block: TIME_UNIT[c.terms.contract] === 'block' ? c.now : null,
    time: TIME_UNIT[c.terms.contract] === 'unixSecs' ? c.now : null,
  };
}
