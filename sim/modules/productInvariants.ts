/**
 * The product's invariants, checked against what the simulated chains hold: every figure comes
 * from ledgers, contract events and escrow events, compared with the final machines and the
 * recovery log. Swaps: no double send, no lost send, no send too late. Jobs: no lost claim, no
 * double claim (and never more than the lock).
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { jobMachineId, minAmount, swapMachineId, type JobContext } from '../../machines/index.ts';
import { recoveryCounts, type InvariantResult, type RunOutcome } from '../invariants.ts';
import type { SwapTerms } from '../../machines/index.ts';
import type { EscrowEventRecord, SimTransfer, SwapEventRecord, WorldState } from '../world.ts';
import { payoutInvariants } from './payoutInvariants.ts';

/** What a swap contract of the world records: every swap's terms and its events. */
export interface ContractRecord {
  readonly history: Readonly<Record<string, SwapTerms>>;
  readonly events: readonly SwapEventRecord[];
}

/** Why a transfer was signed too late, or null: each contract judges in its own unit. */
export type TooLate = (swapId: string, terms: SwapTerms, signedHeight: number) => string | null;

export const inkRecord = (world: WorldState): ContractRecord => world.subtensor;

const NO_TRANSFERS: readonly SimTransfer[] = [];

/** Every transfer on the destination ledgers, by the swap it pays, in ledger order: one pass, not one per swap. */
export function transfersBySwap(world: WorldState): (swapId: string) => readonly SimTransfer[] {
  const bySwap = new Map<string, SimTransfer[]>();
  for (const ledger of Object.values(world.ledgers)) {
    for (const transfer of Object.values(ledger.transfers)) {
      const list = bySwap.get(transfer.swapId);
      if (list === undefined) bySwap.set(transfer.swapId, [transfer]);
      else list.push(transfer);
    }
  }
  return (swapId) => bySwap.get(swapId) ?? NO_TRANSFERS;
}

/** The ink! contract's swaps: the core invariants, the cushion in blocks, and the payout rules. */
export function swapInvariants(world: WorldState, outcome: RunOutcome): InvariantResult[] {
  const record = inkRecord(world);
  const tooLate: TooLate = (swapId, terms, signedHeight) =>
    signedHeight + outcome.marginBlocks > terms.timeoutAt
      ? `swap ${swapId}: signed at block ${signedHeight}, margin ${outcome.marginBlocks}, timeout ${terms.timeoutAt}`
      : null;
  return [...coreSwapInvariants(world, outcome, record, tooLate), ...payoutInvariants(world, outcome, record)];
}

/** No double send, no lost send, no send too late, over any contract's record. */
export function coreSwapInvariants(
  world: WorldState,
  outcome: RunOutcome,
  record: ContractRecord,
  tooLate: TooLate,
): InvariantResult[] {
  const swapIds = Object.keys(record.history);
  const transfersOf = transfersBySwap(world);
  const atEnd = outcome.final ?? true;
  const recoveryKeys = recoveryCounts(outcome);

  const noDoubleSend: InvariantResult = { name: INVARIANT.noDoubleSend, checked: 0, violations: [] };
  const noLostSend: InvariantResult = { name: INVARIANT.noLostSend, checked: 0, violations: [] };
  const noSendTooLate: InvariantResult = { name: INVARIANT.noSendTooLate, checked: 0, violations: [] };
  for (const swapId of swapIds) {
    const terms = record.history[swapId]!;
    const transfers = transfersOf(swapId);
    noDoubleSend.checked += 1;
    if (transfers.length > 1) {
      noDoubleSend.violations.push(
        `swap ${swapId}: ${transfers.length} transfers broadcast (${transfers.map((t) => t.hash.slice(0, 10)).join(', ')})`,
      );
    }
    for (const transfer of transfers) {
      noSendTooLate.checked += 1;
      const signed = world.observations.signatures[transfer.hash];
      if (signed === undefined)
        noSendTooLate.violations.push(`swap ${swapId}: transfer ${transfer.hash} was never signed by us`);
      else {
        const late = tooLate(swapId, terms, signed.height);
        if (late !== null) noSendTooLate.violations.push(late);
      }
      noLostSend.checked += 1;
      const id = swapMachineId(swapId);
      const final = outcome.finals.get(id);
      const markedWithIt = record.events.some(
        (e) => e.swapId === swapId && e.kind === 'Fulfilled' && e.destTxHash === transfer.hash,
      );
      if (final === undefined) {
        // A store put back from an older copy may never meet a swap its forgotten life paid
        // and marked: the contract shows it done, with this very transfer. Not lost.
        if (markedWithIt && !outcome.live.has(id)) continue;
        if (outcome.forgotten?.has(id) === true) continue;
        if (atEnd || !outcome.live.has(id)) {
          noLostSend.violations.push(
            `swap ${swapId}: transfer ${transfer.hash} broadcast, machine ${outcome.live.has(id) ? 'still live' : 'missing'}`,
          );
        }
      } else if (final.state !== 'Fulfilled' && outcome.forgotten?.has(id) === true) {
        // See RunOutcome.forgotten: the put-back store never knew this transfer was made.
      } else if (final.state === 'Fulfilled' ? !markedWithIt : !(final.state === 'Recovery' && recoveryKeys.has(id))) {
        noLostSend.violations.push(
          `swap ${swapId}: transfer ${transfer.hash} broadcast, machine ended ${final.state}, marked on chain: ${markedWithIt}, in recovery log: ${recoveryKeys.has(id)}`,
        );
      }
    }
  }

  return [noDoubleSend, noLostSend, noSendTooLate];
}

export function jobInvariants(world: WorldState, outcome: RunOutcome): InvariantResult[] {
  const atEnd = outcome.final ?? true;
  const recoveryKeys = recoveryCounts(outcome);
  const noLostClaim: InvariantResult = { name: INVARIANT.noLostClaim, checked: 0, violations: [] };
  const noDoubleClaim: InvariantResult = { name: INVARIANT.noDoubleClaim, checked: 0, violations: [] };
  const feeRecorded: InvariantResult = { name: INVARIANT.claimRecordedAsPaid, checked: 0, violations: [] };
  for (const job of Object.values(world.compute.jobs)) {
    const { jobId, lock } = job.terms;
    const id = jobMachineId(job.terms);
    const events = world.escrow.events.filter((e) => e.jobId === jobId);
    const claims = events.filter((e) => e.kind === 'Claimed');
    noDoubleClaim.checked += 1;
    if (claims.length > 1) noDoubleClaim.violations.push(`job ${jobId}: ${claims.length} Claimed events`);
    if (lock !== null && claims.some((c) => BigInt(c.amount) > BigInt(lock.amount))) {
      noDoubleClaim.violations.push(`job ${jobId}: claimed more than the lock of ${lock.amount}`);
    }
    const owed = lock === null ? '0' : minAmount(job.cost, lock.amount);
    if (owed === '0') continue;
    noLostClaim.checked += 1;
    const final = outcome.finals.get(id);
    const canceled = events.some((e) => e.kind === 'Canceled');
    if (final === undefined) {
      if (atEnd)
        noLostClaim.violations.push(
          `job ${jobId}: owed ${owed}, machine ${outcome.live.has(id) ? 'still live' : 'missing'}`,
        );
    } else if (claims.length === 1) {
      // Judged on the gross: what left the lock, min(cost, lock); the fee is the escrow's cut.
      if (claims[0]!.amount !== owed)
        noLostClaim.violations.push(`job ${jobId}: claimed ${claims[0]!.amount} gross, owed ${owed}`);
      if (final.state !== 'Finished')
        noLostClaim.violations.push(`job ${jobId}: claimed on chain, machine ended ${final.state}`);
      else checkRecordedClaim(jobId, claims[0]!, final.context as JobContext, feeRecorded);
    } else if (!(canceled && recoveryKeys.has(id) && (final.state === 'Cancelled' || final.state === 'Recovery'))) {
      noLostClaim.violations.push(
        `job ${jobId}: owed ${owed}, never claimed; machine ${final.state}, lock cancelled: ${canceled}, in recovery log: ${recoveryKeys.has(id)}`,
      );
    }
  }

  checkEscrowBooks(world, feeRecorded);
  return [noLostClaim, noDoubleClaim, feeRecorded];
}

/** A Finished job records the Claimed event's gross, the fee the escrow took and the net credited. */
function checkRecordedClaim(
  jobId: string,
  claim: EscrowEventRecord,
  context: JobContext,
  result: InvariantResult,
): void {
  result.checked += 1;
  // A world written before fees has Claimed events without one: a record migrated from
  // version 1 then rightly says "fee unknown".
  if (
    claim.fee === undefined &&
    context.claimFee === null &&
    context.claimedNet === null &&
    context.claimedGross === claim.amount
  )
    return;
  const fee = claim.fee ?? '0';
  const net = (BigInt(claim.amount) - BigInt(fee)).toString();
  const recorded = [context.claimedGross, context.claimFee, context.claimedNet];
  if (recorded[0] !== claim.amount || recorded[1] !== fee || recorded[2] !== net) {
    result.violations.push(
      `job ${jobId}: recorded gross/fee/net ${recorded.join('/')}, the escrow says ${claim.amount}/${fee}/${net}`,
    );
  }
}

/** The escrow's books balance: every claim's fee went to the collector, its net to the payee. */
function checkEscrowBooks(world: WorldState, result: InvariantResult): void {
  const funds = world.escrow.funds;
  if (funds === undefined) return;
  result.checked += 1;
  // Claims without a fee field were made before the world modelled the escrow's money.
  const claims = world.escrow.events.filter((e) => e.kind === 'Claimed' && e.fee !== undefined);
  const fees = claims.reduce((sum, e) => sum + BigInt(e.fee ?? '0'), 0n);
  const nets = claims.reduce((sum, e) => sum + BigInt(e.amount) - BigInt(e.fee ?? '0'), 0n);
  const credited = [...Object.values(funds.available), ...Object.values(funds.withdrawn)].reduce(
    (sum, v) => sum + BigInt(v),
    0n,
  );
  if (fees !== BigInt(funds.collected))
    result.violations.push(`escrow: fees of the Claimed events ${fees}, collector received ${funds.collected}`);
  if (nets !== credited)
    result.violations.push(`escrow: nets of the Claimed events ${nets}, payees credited ${credited}`);
  for (const claim of claims) {
    if (BigInt(claim.fee ?? '0') !== (BigInt(claim.amount) * BigInt(funds.feeRate)) / 10n ** 18n)
      result.violations.push(`job ${claim.jobId}: fee ${claim.fee} is not the rate's`);
  }
}

/** Which transfers paid each swap and how it was marked on the contract, by machine id. */
export function swapOutcome(world: WorldState, record: ContractRecord = inkRecord(world)): Record<string, string> {
  const out: Record<string, string> = {};
  const transfersOf = transfersBySwap(world);
  for (const swapId of Object.keys(record.history)) {
    const transfers = transfersOf(swapId).map(
      (t) => `${t.chain}:${t.to}:${t.amount}:${t.includedBlock === null ? 'pending' : 'included'}`,
    );
    // Whether and with what the swap was marked; not how far validators got when the run ended.
    // Which nonce (so which hash) a transfer got may depend on signing order; what was paid may not.
    const sent = new Set(transfersOf(swapId).map((t) => t.hash));
    const marks = record.events
      .filter((e) => e.swapId === swapId && e.kind === 'Fulfilled')
      .map((e) => (sent.has(e.destTxHash) ? 'with our transfer' : 'with another hash'));
    out[swapMachineId(swapId)] = `${transfers.join('|') || 'no transfer'} / marked: ${marks.join(',') || 'no'}`;
  }
  return out;
}

/** Which claims and cancels each job's lock met, by machine id. */
export function jobOutcome(world: WorldState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const job of Object.values(world.compute.jobs)) {
    const events = world.escrow.events.filter((e) => e.jobId === job.terms.jobId && e.kind !== 'Lock');
    out[jobMachineId(job.terms)] = events.map((e) => `${e.kind}:${e.amount}`).join('|') || 'none';
  }
  return out;
}
