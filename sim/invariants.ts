/**
 * The invariants of DESIGN.md, checked against what the simulated chains hold (not against
 * what the host believes): every figure comes from ledgers, contract events and escrow events,
 * compared with the final machines and the recovery log.
 */
import { minAmount, type JobContext } from '../machines/index.ts';
import type { RecoveryEntry } from '../src/store/recoveryLog.ts';
import type { EscrowEventRecord, SimTransfer, WorldState } from './world.ts';

export interface InvariantResult {
  readonly name: string;
  checked: number;
  readonly violations: string[];
}

export interface FinalMachine {
  readonly state: string;
  readonly context: unknown;
}

export interface RunOutcome {
  /** id -> final state of every archived machine. */
  readonly finals: ReadonlyMap<string, FinalMachine>;
  /** Ids still live; at the end of a complete run there are none. */
  readonly live: ReadonlySet<string>;
  readonly recovery: readonly RecoveryEntry[];
  readonly marginBlocks: number;
  /**
   * Whether the run is over. Before the end, an obligation may still be live or not yet seen,
   * and a recovery entry may still be due: those are checked only at the end. Everything
   * else holds at every instant.
   */
  readonly final?: boolean;
}

const NO_TRANSFERS: readonly SimTransfer[] = [];

/** Every transfer on the destination ledgers, by the swap it pays, in ledger order: one pass, not one per swap. */
function transfersBySwap(world: WorldState): (swapId: string) => readonly SimTransfer[] {
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

export function checkInvariants(world: WorldState, outcome: RunOutcome): InvariantResult[] {
  const swapIds = Object.keys(world.subtensor.history);
  const transfersOf = transfersBySwap(world);
  const atEnd = outcome.final ?? true;
  const recoveryKeys = new Map<string, number>();
  for (const entry of outcome.recovery) recoveryKeys.set(entry.key, (recoveryKeys.get(entry.key) ?? 0) + 1);

  const noDoubleSend: InvariantResult = { name: 'no double send', checked: 0, violations: [] };
  const noLostSend: InvariantResult = { name: 'no lost send', checked: 0, violations: [] };
  const noSendTooLate: InvariantResult = { name: 'no send too late', checked: 0, violations: [] };
  for (const swapId of swapIds) {
    const terms = world.subtensor.history[swapId]!;
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
      else if (signed.height + outcome.marginBlocks > terms.timeoutBlock) {
        noSendTooLate.violations.push(
          `swap ${swapId}: signed at block ${signed.height}, margin ${outcome.marginBlocks}, timeout ${terms.timeoutBlock}`,
        );
      }
      noLostSend.checked += 1;
      const id = `swap:${swapId}`;
      const final = outcome.finals.get(id);
      const markedWithIt = world.subtensor.events.some(
        (e) => e.swapId === swapId && e.kind === 'Fulfilled' && e.destTxHash === transfer.hash,
      );
      if (final === undefined) {
        if (atEnd || !outcome.live.has(id)) {
          noLostSend.violations.push(
            `swap ${swapId}: transfer ${transfer.hash} broadcast, machine ${outcome.live.has(id) ? 'still live' : 'missing'}`,
          );
        }
      } else if (final.state === 'Fulfilled' ? !markedWithIt : !(final.state === 'Recovery' && recoveryKeys.has(id))) {
        noLostSend.violations.push(
          `swap ${swapId}: transfer ${transfer.hash} broadcast, machine ended ${final.state}, marked on chain: ${markedWithIt}, in recovery log: ${recoveryKeys.has(id)}`,
        );
      }
    }
  }

  const noLostClaim: InvariantResult = { name: 'no lost claim', checked: 0, violations: [] };
  const feeRecorded: InvariantResult = { name: 'claim recorded as paid (gross, fee, net)', checked: 0, violations: [] };
  const noDoubleClaim: InvariantResult = { name: 'no double claim', checked: 0, violations: [] };
  for (const job of Object.values(world.compute.jobs)) {
    const { jobId, lock } = job.terms;
    const id = `job:${job.terms.chain}:${jobId}`;
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

  const recordedOnce: InvariantResult = { name: 'recovery entry exactly once', checked: 0, violations: [] };
  for (const [id, final] of outcome.finals) {
    const needsEntry = final.state === 'Recovery' || final.state === 'Cancelled';
    recordedOnce.checked += 1;
    const count = recoveryKeys.get(id) ?? 0;
    if (needsEntry ? count !== 1 : count !== 0)
      recordedOnce.violations.push(`${id}: ended ${final.state} with ${count} recovery entries`);
  }
  // Live machines: a Recovery or Cancelled one may be between its entry and its archive.
  for (const id of outcome.live) {
    if ((recoveryKeys.get(id) ?? 0) > 1)
      recordedOnce.violations.push(`${id}: live with ${recoveryKeys.get(id)} recovery entries`);
  }

  return [noDoubleSend, noLostSend, noSendTooLate, noLostClaim, noDoubleClaim, feeRecorded, recordedOnce];
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

/**
 * What the chains hold at the end, without timing: which transfers and claims happened and
 * how each swap ended on the contract. Two runs that differ only by crashes and restarts
 * must produce the same outcome.
 */
export function chainOutcome(world: WorldState): Record<string, string> {
  const out: Record<string, string> = {};
  const transfersOf = transfersBySwap(world);
  for (const swapId of Object.keys(world.subtensor.history)) {
    const transfers = transfersOf(swapId).map(
      (t) => `${t.chain}:${t.to}:${t.amount}:${t.includedBlock === null ? 'pending' : 'included'}`,
    );
    // Whether and with what the swap was marked; not how far validators got when the run ended.
    // Which nonce (so which hash) a transfer got may depend on signing order; what was paid may not.
    const sent = new Set(transfersOf(swapId).map((t) => t.hash));
    const marks = world.subtensor.events
      .filter((e) => e.swapId === swapId && e.kind === 'Fulfilled')
      .map((e) => (sent.has(e.destTxHash) ? 'with our transfer' : 'with another hash'));
    out[`swap:${swapId}`] = `${transfers.join('|') || 'no transfer'} / marked: ${marks.join(',') || 'no'}`;
  }
  for (const job of Object.values(world.compute.jobs)) {
    const events = world.escrow.events.filter((e) => e.jobId === job.terms.jobId && e.kind !== 'Lock');
    out[`job:${job.terms.jobId}`] = events.map((e) => `${e.kind}:${e.amount}`).join('|') || 'none';
  }
  return out;
}
