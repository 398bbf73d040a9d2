/**
 * ocean-node's jobs as a JobSource: read from its C2D database (read-only, see oceanNodeDb.ts),
 * priced from its compute-environment configuration (oceanNodePricing.ts), each job's lock
 * read from the chain. ocean-node's own claim timer keeps running beside settle: whichever of
 * the two claims a lock second finds it gone, and settle's batch claimer then finds the
 * Claimed event and finishes the job (ocean-node's claim is a payment like ours).
 *
 * - A job is adopted (handed to the host) when first seen running or billed with a lock of
 *   ours on a configured chain and a price in its environment: its terms (the escrow's job id
 *   0x sha256(jobId), payer = the row's owner, token, the lock from getLocks or, once gone,
 *   from the Lock event of its payment.lockTx) are appended to `adoptedFile` (fsynced) before
 *   the host sees them. A job ocean-node finished before settle saw it is not adopted.
 * - Phases: in-progress statuses are running; the billed ones (AlgorithmFailed 41,
 *   DiskQuotaExceeded 42, ResultsFetchFailed 61, ResultsUploadFailed 62, JobSettle 71) and
 *   JobFinished 70 are published with the cost ocean-node would claim; the failures ocean-node
 *   never bills are published with cost 0 (nothing to claim).
 * - Bad input (a body that is not JSON, payment fields missing, a chain not configured, a
 *   token the escrow does not know, no price): one error line naming the job and the reason,
 *   the job skipped, the others go on. Nothing is guessed.
 * Crash: the adopted file holds every job the host may have a machine for; a torn last line
 * is a job not yet handed over (it is adopted again).
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { getAddress, isAddress } from 'ethers';
import type { JobTerms } from '../../machines/index.ts';
import type { JobObservation, JobSource, Logger } from '../host/ports.ts';
import { readC2dJobs, type C2dJobRow } from './oceanNodeDb.ts';
import {
  costOf,
  feeOf,
  loadEnvironments,
  type JobForPricing,
  type PricedEnvironment,
  type PricingSources,
} from './oceanNodePricing.ts';

/** What the source needs of a chain's escrow client (EvmEscrow). */
export interface OceanNodeEscrow {
  readonly address: string;
  locksOfPayee(): Promise<Map<string, { amount: bigint; expiry: number }>>;
  locksOfTx(
    txHash: string,
  ): Promise<Array<{ jobId: string; payer: string; token: string; amount: bigint; expiry: number }>>;
  userTokens(user: string): Promise<Set<string>>;
  decimals(token: string): Promise<number>;
}

export interface OceanNodeChain {
  /** The chain's name in settle's configuration. */
  readonly name: string;
  readonly chainId: number;
  readonly payee: string;
  readonly escrow: OceanNodeEscrow;
}

export interface OceanNodeJobsOptions {
  readonly database: string;
  readonly pricing: PricingSources;
  readonly chains: readonly OceanNodeChain[];
  /** settle's own file (in its data directory) of the jobs handed to the host. */
  readonly adoptedFile: string;
  readonly log: Logger;
}

const RUNNING = new Set([0, 1, 10, 12, 20, 30, 40, 50, 60]);
const BILLED = new Set([41, 42, 61, 62, 71, 70]);
const JOB_FINISHED = 70;

interface Payment {
  readonly chainId: number;
  readonly token: string;
  readonly lockTx: string;
}

/** A job that cannot be taken, and why: logged once per job and reason. */
class Skip extends Error {}

const lockKey = (jobId: string, payer: string, token: string): string =>
  `${jobId}|${payer.toLowerCase()}|${token.toLowerCase()}`;

export class OceanNodeJobs implements JobSource {
  private readonly environments: PricedEnvironment[];
  private adopted: Map<string, JobTerms> | null = null;
  private readonly reported = new Map<string, string>();

  constructor(private readonly options: OceanNodeJobsOptions) {
    // Read at start: a configuration that does not parse stops the daemon with its reason.
    this.environments = loadEnvironments(options.pricing);
  }

  async poll(): Promise<JobObservation[]> {
    this.adopted ??= await this.readAdopted();
    const adopted = this.adopted;
    const rows = await readC2dJobs(this.options.database);
    const locks = new Map<string, Promise<Map<string, { amount: bigint; expiry: number }>>>();
    const newlyAdopted: Array<[string, JobTerms]> = [];
    const observations: JobObservation[] = [];
    for (const row of rows) {
      try {
        const observation = await this.observe(row, adopted, locks, newlyAdopted);
        if (observation !== null) observations.push(observation);
      } catch (error) {
        if (!(error instanceof Skip)) throw error;
        this.report(row.jobId, error.message);
      }
    }
    await this.appendAdopted(newlyAdopted);
    for (const [id, terms] of newlyAdopted) adopted.set(id, terms);
    return observations;
  }

  private report(jobId: string, reason: string): void {
    if (this.reported.get(jobId) === reason) return;
    this.reported.set(jobId, reason);
    this.options.log.error(
      { job: jobId, database: this.options.database, reason },
      'ocean-node job skipped: nothing is claimed for it',
    );
  }

  private async observe(
    row: C2dJobRow,
    adopted: Map<string, JobTerms>,
    locks: Map<string, Promise<Map<string, { amount: bigint; expiry: number }>>>,
    newlyAdopted: Array<[string, JobTerms]>,
  ): Promise<JobObservation | null> {
    let terms = adopted.get(row.jobId) ?? null;
    const charged = RUNNING.has(row.status) || (BILLED.has(row.status) && row.status !== JOB_FINISHED);
    if (terms === null && !charged) return null; // settled by ocean-node, or never billed, before we saw it
    const body = parseBody(row);
    if (terms === null && (body['isFree'] === true || body['payment'] === null || body['payment'] === undefined))
      return null; // free: nothing to claim
    const payment = paymentOf(body);
    const chain = this.options.chains.find((c) => c.chainId === payment.chainId);
    if (chain === undefined) throw new Skip(`pays on chain id ${payment.chainId}, which no configured job chain is`);
    const pricing = this.pricingOf(row, body, payment);
    const priced = feeOf(this.environments, pricing);
    if (typeof priced === 'string') throw new Skip(`${priced}: left unclaimed`);
    const decimals = await chain.escrow.decimals(payment.token).catch(() => {
      throw new Skip(`token ${payment.token} does not answer decimals(): not an ERC-20 the escrow can hold`);
    });
    if (terms === null) {
      terms = await this.termsOf(row, payment, chain, locks);
      newlyAdopted.push([row.jobId, terms]);
    }
    if (RUNNING.has(row.status)) return { terms, phase: 'running', cost: null };
    if (!BILLED.has(row.status)) return { terms, phase: 'published', cost: '0' };
    const { cost, seconds } = costOf(pricing, priced.env, priced.fee, decimals);
    return { terms, phase: 'published', cost: cost.toString(), durationSecs: seconds };
  }

  private pricingOf(row: C2dJobRow, body: Record<string, unknown>, payment: Payment): JobForPricing {
    const resources = Array.isArray(body['resources'])
      ? (body['resources'] as Array<{ id: string; amount: number }>)
      : [];
    const text = (key: string): string | undefined =>
      typeof body[key] === 'string' ? (body[key] as string) : undefined;
    return {
      environment: row.environment,
      chainId: payment.chainId,
      token: payment.token,
      maxJobDuration: row.expireTimestamp ?? Number.POSITIVE_INFINITY,
      resources: resources.filter((r) => typeof r?.id === 'string' && typeof r?.amount === 'number'),
      ...(text('algoStartTimestamp') === undefined ? {} : { algoStartTimestamp: text('algoStartTimestamp')! }),
      ...(text('algoStopTimestamp') === undefined ? {} : { algoStopTimestamp: text('algoStopTimestamp')! }),
      ...(text('buildStartTimestamp') === undefined ? {} : { buildStartTimestamp: text('buildStartTimestamp')! }),
      ...(text('buildStopTimestamp') === undefined ? {} : { buildStopTimestamp: text('buildStopTimestamp')! }),
    };
  }

  /** The job's terms: its lock from getLocks, or from its lockTx's Lock event once gone. */
  private async termsOf(
    row: C2dJobRow,
    payment: Payment,
    chain: OceanNodeChain,
    locks: Map<string, Promise<Map<string, { amount: bigint; expiry: number }>>>,
  ): Promise<JobTerms> {
    if (!isAddress(row.owner)) throw new Skip(`owner ${JSON.stringify(row.owner)} is not an EVM address (the payer)`);
    const jobId = `0x${createHash('sha256').update(row.jobId, 'utf8').digest('hex')}`;
    let byChain = locks.get(chain.name);
    if (byChain === undefined) {
      byChain = chain.escrow.locksOfPayee();
      locks.set(chain.name, byChain);
    }
    let lock = (await byChain).get(lockKey(jobId, row.owner, payment.token)) ?? null;
    if (lock === null) {
      const fromTx = (await chain.escrow.locksOfTx(payment.lockTx)).find(
        (l) => l.jobId === jobId && lockKey(jobId, l.payer, l.token) === lockKey(jobId, row.owner, payment.token),
      );
      lock = fromTx === undefined ? null : { amount: fromTx.amount, expiry: fromTx.expiry };
    }
    if (lock === null) {
      const known = await chain.escrow.userTokens(row.owner);
      if (!known.has(payment.token.toLowerCase()))
        throw new Skip(
          `token ${payment.token} is not known to the escrow ${chain.escrow.address} for payer ${row.owner} (never deposited)`,
        );
      throw new Skip(
        `no lock of ours for job id ${jobId} (payer ${row.owner}, token ${payment.token}) on ${chain.name}, nor in its lockTx ${payment.lockTx}`,
      );
    }
    return {
      jobId,
      chain: chain.name,
      escrow: chain.escrow.address,
      token: getAddress(payment.token),
      payer: getAddress(row.owner),
      payee: chain.payee,
      sourceJobId: row.jobId,
      lock: { amount: lock.amount.toString(), expiry: lock.expiry },
    };
  }

  private async readAdopted(): Promise<Map<string, JobTerms>> {
    const adopted = new Map<string, JobTerms>();
    let text: string;
    try {
      text = await readFile(this.options.adoptedFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return adopted;
      throw error;
    }
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        const entry = JSON.parse(line) as { jobId: string; terms: JobTerms };
        adopted.set(entry.jobId, entry.terms);
      } catch {
        // Only the last line can be torn (a crash mid-append): that job is adopted again.
        if (index < lines.length - 1 && lines.slice(index + 1).some((l) => l.trim() !== ''))
          throw new Error(`${this.options.adoptedFile}, line ${index + 1}: not JSON`);
      }
    });
    return adopted;
  }

  private async appendAdopted(entries: ReadonlyArray<[string, JobTerms]>): Promise<void> {
    if (entries.length === 0) return;
    const handle = await open(this.options.adoptedFile, 'a', 0o600);
    try {
      await handle.write(entries.map(([jobId, terms]) => `${JSON.stringify({ jobId, terms })}\n`).join(''));
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
}

function parseBody(row: C2dJobRow): Record<string, unknown> {
  if (row.body === null) throw new Skip('row has no body');
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    throw new Skip('body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Skip('body is not a JSON object');
  return body as Record<string, unknown>;
}

function paymentOf(body: Record<string, unknown>): Payment {
  const payment = body['payment'] as Record<string, unknown> | null | undefined;
  const missing = ['chainId', 'token', 'lockTx'].filter(
    (key) => payment?.[key] === undefined || payment?.[key] === null,
  );
  if (payment === null || payment === undefined || typeof payment !== 'object' || missing.length > 0) {
    throw new Skip(`payment lacks ${missing.length > 0 ? missing.join(', ') : 'its fields'}`);
  }
  const chainId = Number(payment['chainId']);
  if (!Number.isSafeInteger(chainId) || chainId <= 0)
    throw new Skip(`payment.chainId ${JSON.stringify(payment['chainId'])} is not a chain id`);
  if (typeof payment['token'] !== 'string' || !isAddress(payment['token']))
    throw new Skip(`payment.token ${JSON.stringify(payment['token'])} is not an EVM address`);
  if (typeof payment['lockTx'] !== 'string') throw new Skip('payment.lockTx is not a transaction hash');
  return { chainId, token: payment['token'], lockTx: payment['lockTx'] };
}
