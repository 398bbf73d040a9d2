/**
 * What every payout must be, checked against the destination ledgers and the contract's own
 * record, for either contract:
 * - never paid less than the contract requires: each transfer for a swap pays its user at least
 *   the contract's payout (dest_amount for ink!, to_amount - floor(to_amount / 100) for Solana);
 * - never paid from an address other than the pin: each comes from the swap's pinned sender
 *   (ink! pins none: our own account on that chain);
 * - never marked a swap we did not pay: each mark of ours names a transfer of ours for that swap;
 *   one that never landed by the end leaves its machine in Recovery, logged (a slash is expected).
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { requiredPayout, swapMachineId } from '../../machines/index.ts';
import { recoveryCounts, type InvariantResult, type RunOutcome } from '../invariants.ts';
import { minerAddressOn, type WorldState } from '../world.ts';
import { transfersBySwap, type ContractRecord } from './productInvariants.ts';

export function payoutInvariants(world: WorldState, outcome: RunOutcome, record: ContractRecord): InvariantResult[] {
  const transfersOf = transfersBySwap(world);
  const paidShort: InvariantResult = { name: INVARIANT.neverPaidShort, checked: 0, violations: [] };
  const paidFromElsewhere: InvariantResult = { name: INVARIANT.neverPaidFromElsewhere, checked: 0, violations: [] };
  const markedUnpaid: InvariantResult = { name: INVARIANT.neverMarkedUnpaid, checked: 0, violations: [] };
  for (const [swapId, terms] of Object.entries(record.history)) {
    const owed = requiredPayout(terms.contract, BigInt(terms.destAmount));
    const pin = terms.senderPin === '' ? minerAddressOn(terms.destChain) : terms.senderPin;
    for (const transfer of transfersOf(swapId)) {
      paidShort.checked += 1;
      if (transfer.to !== terms.userDestAddress || BigInt(transfer.amount) < owed) {
        paidShort.violations.push(
          `swap ${swapId}: paid ${transfer.amount} to ${transfer.to}; the contract requires ${owed} to ${terms.userDestAddress}`,
        );
      }
      paidFromElsewhere.checked += 1;
      if (transfer.from !== pin)
        paidFromElsewhere.violations.push(`swap ${swapId}: paid from ${transfer.from}, the pin is ${pin}`);
    }
  }
  const atEnd = outcome.final ?? true;
  const recoveryKeys = recoveryCounts(outcome);
  for (const mark of record.events) {
    if (mark.kind !== 'Fulfilled' || mark.miner !== world.miner) continue;
    markedUnpaid.checked += 1;
    const transfer = transfersOf(mark.swapId).find((t) => t.hash === mark.destTxHash);
    // Ours: on the ledger, or signed by us for this swap (a reorg or a taken nonce dropped it).
    const signed = world.observations.signatures[mark.destTxHash];
    if (transfer === undefined && signed?.swapId !== mark.swapId) {
      markedUnpaid.violations.push(`swap ${mark.swapId}: marked with ${mark.destTxHash}, no transfer of ours`);
      continue;
    }
    const id = swapMachineId(mark.swapId);
    const final = outcome.finals.get(id);
    const landed = transfer !== undefined && transfer.includedBlock !== null;
    if (atEnd && !landed && !(final?.state === 'Recovery' && recoveryKeys.has(id))) {
      markedUnpaid.violations.push(
        `swap ${mark.swapId}: marked with ${mark.destTxHash}, which never landed, and the machine ended ${final?.state ?? 'live'} without a recovery entry`,
      );
    }
  }
  return [paidShort, paidFromElsewhere, markedUnpaid];
}
