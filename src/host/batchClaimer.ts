/**
 * Settles jobs in batches: one claimLocks transaction per chain for every lock due, one
 * cancelExpiredLocks for every expired one.
 *
 * 1. Read every job's lock and events first: a claim that already happened (a crash after
 *    broadcast, a lost receipt) or a lock the payer cancelled is found, never claimed again.
 * 2. Dry-run the batch; if it would revert, bisect with dry runs to set the bad entries aside
 *    (log2(n) dry runs per bad entry, no gas spent), then claim all the rest in one transaction.
 * 3. Settle each job from the receipt's events: Claimed is payment, Canceled is a claim that
 *    arrived after expiry, neither means read the chain again. A transaction that succeeded is
 *    no proof of payment.
 */
import type { JobContext, JobEvent, JobTerms } from '../../machines/index.ts';
import { isSimulatedCrash } from '../engine/crashpoints.ts';
import {
  BatchReverted,
  type ClaimEntry,
  type Escrow,
  type EscrowReceipt,
  type Logger,
  type Settlement,
  type SettlementRecord,
} from './ports.ts';

export interface ClaimTask {
  readonly id: string;
  readonly terms: JobTerms;
  /** What to claim, gross: the cost capped by the lock. */
  readonly amount: bigint;
  /** What the proof bytes say about the job; null: empty proof. */
  readonly record?: SettlementRecord | null;
}

/** The claim (or cancel) task of a job machine, from its persisted context. */
export function claimTaskOf(id: string, context: JobContext): ClaimTask {
  const record: SettlementRecord | null =
    context.cost === null
      ? null
      : {
          sourceJobId: context.terms.sourceJobId ?? context.terms.jobId,
          cost: BigInt(context.cost),
          durationSecs: context.durationSecs ?? null,
          resultHash: context.resultHash ?? null,
        };
  return { id, terms: context.terms, amount: BigInt(context.claimAmount ?? '0'), record };
}

/** An event names the task's lock when its payer and token (if the adapter read them) match. */
const sameLock = (e: { payer?: string; token?: string }, terms: JobTerms): boolean =>
  (e.payer === undefined || e.payer === terms.payer.toLowerCase()) &&
  (e.token === undefined || e.token === terms.token.toLowerCase());

const feeString = (fee: bigint | null | undefined): string | null =>
  fee === null || fee === undefined ? null : fee.toString();

/** A batch that passed its dry run may still revert when mined; it is re-checked this often. */
const MAX_SEND_ATTEMPTS = 3;

/**
 * The most jobs in one transaction: a batch must fit in a block (about 45k gas a claim on the
 * project's Escrow, against blocks of 30M gas); more jobs make more transactions.
 */
export const MAX_BATCH_SIZE = 200;

async function inChunks(
  tasks: readonly ClaimTask[],
  settle: (chunk: readonly ClaimTask[]) => Promise<Map<string, JobEvent>>,
): Promise<Map<string, JobEvent>> {
  const events = new Map<string, JobEvent>();
  for (let start = 0; start < tasks.length; start += MAX_BATCH_SIZE) {
    for (const [id, event] of await settle(tasks.slice(start, start + MAX_BATCH_SIZE))) events.set(id, event);
  }
  return events;
}

function rethrowCrash(error: unknown): void {
  if (isSimulatedCrash(error)) throw error;
}

/**
 * The event a settlement already on chain implies, if it decides the job. A cancelled lock is
 * reported as the machine's state expects it: a claim that met a cancel, or a cancel done.
 */
function decided(s: Settlement, canceled: 'CLAIM_CANCELED' | 'LOCK_CANCELED'): JobEvent | null {
  switch (s.kind) {
    case 'claimed':
      return { type: 'CLAIMED', txHash: s.txHash, amount: s.amount.toString(), fee: feeString(s.fee) };
    case 'canceled':
      return { type: canceled, txHash: s.txHash };
    case 'absent':
      return { type: 'LOCK_GONE', reason: 'no lock, no Claimed and no Canceled event for this job' };
    case 'locked':
      return null;
  }
}

const decidedForClaim = (s: Settlement): JobEvent | null => decided(s, 'CLAIM_CANCELED');
const decidedForCancel = (s: Settlement): JobEvent | null => decided(s, 'LOCK_CANCELED');

/** Reads each task's settlement; returns decided events and the tasks still locked. */
async function reconcile(
  escrow: Escrow,
  tasks: readonly ClaimTask[],
  decide: (s: Settlement) => JobEvent | null,
  failed: (error: string) => JobEvent,
  events: Map<string, JobEvent>,
): Promise<ClaimTask[]> {
  if (tasks.length === 0) return [];
  let settlements: Settlement[];
  try {
    settlements = await escrow.readSettlements(tasks.map((t) => t.terms));
  } catch (error) {
    rethrowCrash(error);
    for (const task of tasks) events.set(task.id, failed(`reading the locks failed: ${String(error)}`));
    return [];
  }
  const locked: ClaimTask[] = [];
  tasks.forEach((task, i) => {
    const event = decide(settlements[i]!);
    if (event === null) locked.push(task);
    else events.set(task.id, event);
  });
  return locked;
}

const entriesOf = (tasks: readonly ClaimTask[]): ClaimEntry[] =>
  tasks.map((t) => ({ terms: t.terms, amount: t.amount, record: t.record ?? null }));

/** The tasks whose entry makes the batch revert, found by bisection with dry runs. */
async function findBad(
  escrow: Escrow,
  tasks: readonly ClaimTask[],
): Promise<Array<{ task: ClaimTask; reason: string }>> {
  const reason = await escrow.checkClaims(entriesOf(tasks));
  if (reason === null) return [];
  if (tasks.length === 1) return [{ task: tasks[0]!, reason }];
  const middle = Math.ceil(tasks.length / 2);
  return [...(await findBad(escrow, tasks.slice(0, middle))), ...(await findBad(escrow, tasks.slice(middle)))];
}

export function claimInBatches(
  escrow: Escrow,
  tasks: readonly ClaimTask[],
  log: Logger,
): Promise<Map<string, JobEvent>> {
  return inChunks(tasks, (chunk) => claimBatch(escrow, chunk, log));
}

async function claimBatch(escrow: Escrow, tasks: readonly ClaimTask[], log: Logger): Promise<Map<string, JobEvent>> {
  const events = new Map<string, JobEvent>();
  const failed = (error: string): JobEvent => ({ type: 'CLAIM_FAILED', error });
  let due = await reconcile(escrow, tasks, decidedForClaim, failed, events);
  for (let attempt = 1; due.length > 0; attempt += 1) {
    let bad: Array<{ task: ClaimTask; reason: string }>;
    try {
      bad = await findBad(escrow, due);
    } catch (error) {
      rethrowCrash(error);
      log.warn(
        { chain: escrow.chain, jobs: due.length, err: String(error) },
        'claim batch dry run failed; its jobs wait for the next run',
      );
      for (const task of due) events.set(task.id, failed(`dry run failed: ${String(error)}`));
      return events;
    }
    if (bad.length > 0) {
      log.warn(
        { chain: escrow.chain, setAside: bad.map((b) => ({ machine: b.task.id, reason: b.reason })) },
        'claim batch: entries set aside',
      );
      // A bad entry is often a lock that changed under us: its settlement says what happened;
      // one still locked failed its dry run for a reason of its own, and waits for the next run.
      await reconcile(
        escrow,
        bad.map((b) => b.task),
        decidedForClaim,
        failed,
        events,
      );
      for (const b of bad) if (!events.has(b.task.id)) events.set(b.task.id, failed(b.reason));
      const setAside = new Set(bad.map((b) => b.task.id));
      due = due.filter((t) => !setAside.has(t.id));
      if (due.length === 0) break;
    }
    let receipt: EscrowReceipt;
    try {
      receipt = await escrow.claimLocks(entriesOf(due));
    } catch (error) {
      rethrowCrash(error);
      if (error instanceof BatchReverted && attempt < MAX_SEND_ATTEMPTS) {
        log.warn({ chain: escrow.chain, reason: error.reason }, 'claim batch reverted when mined; checking it again');
        continue;
      }
      // Outcome unknown or refused again: the next run reads the chain before claiming.
      failAll(log, escrow, 'claim', due, events, failed, error);
      return events;
    }
    log.info(
      {
        chain: escrow.chain,
        tx: receipt.txHash,
        jobs: due.length,
        withdrawn: (receipt.withdrawn ?? []).map((w) => ({ token: w.token, amount: w.amount.toString() })),
      },
      'claim batch mined',
    );
    await settleFromReceipt(escrow, receipt, due, events, 'CLAIM_CANCELED', failed);
    break;
  }
  return events;
}

/**
 * Decides each task from the receipt's events (Claimed is payment, Canceled is a lock gone back
 * to the payer); a task the receipt says nothing about is read from the chain again.
 */
async function settleFromReceipt(
  escrow: Escrow,
  receipt: EscrowReceipt,
  tasks: readonly ClaimTask[],
  events: Map<string, JobEvent>,
  canceled: 'CLAIM_CANCELED' | 'LOCK_CANCELED',
  failed: (error: string) => JobEvent,
): Promise<void> {
  const unexplained: ClaimTask[] = [];
  for (const task of tasks) {
    const event = receipt.events.find((e) => e.jobId === task.terms.jobId && sameLock(e, task.terms));
    if (event === undefined) unexplained.push(task);
    else
      events.set(
        task.id,
        event.kind === 'Claimed'
          ? { type: 'CLAIMED', txHash: receipt.txHash, amount: event.amount.toString(), fee: feeString(event.fee) }
          : { type: canceled, txHash: receipt.txHash },
      );
  }
  await reconcile(escrow, unexplained, (s) => decided(s, canceled), failed, events);
  for (const task of unexplained)
    if (!events.has(task.id))
      events.set(task.id, failed(`transaction ${receipt.txHash} carried no event for this job`));
}

/** A batch whose outcome is unknown: every job in it waits for the next run, which reads first. */
function failAll(
  log: Logger,
  escrow: Escrow,
  what: 'claim' | 'cancel',
  tasks: readonly ClaimTask[],
  events: Map<string, JobEvent>,
  failed: (error: string) => JobEvent,
  error: unknown,
): void {
  log.warn(
    { chain: escrow.chain, jobs: tasks.length, err: String(error) },
    `${what} batch failed; its jobs are read again at the next run`,
  );
  for (const task of tasks) events.set(task.id, failed(String(error)));
}

export function cancelInBatches(
  escrow: Escrow,
  tasks: readonly ClaimTask[],
  log: Logger,
): Promise<Map<string, JobEvent>> {
  return inChunks(tasks, (chunk) => cancelBatch(escrow, chunk, log));
}

async function cancelBatch(escrow: Escrow, tasks: readonly ClaimTask[], log: Logger): Promise<Map<string, JobEvent>> {
  const events = new Map<string, JobEvent>();
  const failed = (error: string): JobEvent => ({ type: 'CANCEL_FAILED', error });
  const due = await reconcile(escrow, tasks, decidedForCancel, failed, events);
  if (due.length === 0) return events;
  let receipt: EscrowReceipt;
  try {
    receipt = await escrow.cancelExpiredLocks(due.map((t) => t.terms));
  } catch (error) {
    rethrowCrash(error);
    failAll(log, escrow, 'cancel', due, events, failed, error);
    return events;
  }
  log.info({ chain: escrow.chain, tx: receipt.txHash, jobs: due.length }, 'cancel batch mined');
  await settleFromReceipt(escrow, receipt, due, events, 'LOCK_CANCELED', failed);
  return events;
}
