/**
 * What ocean-node charges for a job, computed as ocean-node 3.2.0 computes it at claim time
 * (compute_engine_docker.ts claimPayments, compute_engine_base.ts getTotalCostOfJob, escrow.ts
 * getPaymentAmountInWei): the prices are not in its database but in its compute-environment
 * configuration, which is read here too.
 *
 * - Environments come from ocean-node's config file (dockerComputeEnvironments, validated by
 *   its zod schema: minJobDuration defaults to 60, keys in schema order) or from the value of
 *   DOCKER_COMPUTE_ENVIRONMENTS (taken unvalidated by ocean-node: no defaults, keys as written).
 * - A job names its environment as `<cluster hash>-<0x sha256(JSON of its fees + id or index)>`;
 *   the fees are first filtered to the supported networks (a fee without feeToken gets the
 *   network's Ocean token), exactly as ocean-node does before hashing. No match: no price.
 * - duration = (algoStop - algoStart) + valid build time, abs, capped at the job's
 *   maxJobDuration, raised to the environment's minJobDuration; cost = sum of price x amount x
 *   ceil(duration / 60) over the job's resources, in token units (floating point, as
 *   ocean-node), then to the smallest unit by parseUnits(Number(cost.toFixed(decimals))).
 * A price that cannot be found is an answer (a reason), never a guess.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseUnits } from 'ethers';

const require = createRequire(import.meta.url);
const ADDRESS_BOOK = require('@oceanprotocol/contracts/addresses/address.json') as Record<
  string,
  { chainId?: number; Ocean?: string }
>;

interface FeeEntry {
  feeToken?: string;
  prices?: Array<{ id: string; price: number }>;
}
type Fees = Record<string, FeeEntry[]>;

export interface PricedEnvironment {
  /** '0x' + sha256 hex: the part of a job's environment id after the cluster hash. */
  readonly idHash: string;
  readonly fees: Fees | null;
  readonly minJobDuration: number | null;
}

export interface PricingSources {
  /** ocean-node's JSON config file. */
  readonly configFile?: string;
  /** The value of DOCKER_COMPUTE_ENVIRONMENTS (replaces the file's). */
  readonly dockerComputeEnvironments?: string;
  /** The value of SUPPORTED_NETWORKS (replaces the file's). */
  readonly supportedNetworks?: string;
}

/** ocean-node's configuration cannot be read: named, with the reason. */
export class OceanNodeConfigError extends Error {
  override readonly name = 'OceanNodeConfigError';
}

const sha256 = (text: string): string => `0x${createHash('sha256').update(text, 'utf8').digest('hex')}`;

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new OceanNodeConfigError(`${what} is not JSON: ${(error as Error).message}`);
  }
}

/** zod's output order for a validated environment's fees: { feeToken, prices: [{ id, price }] }. */
function schemaOrdered(fees: Fees): Fees {
  const out: Fees = {};
  for (const [chain, entries] of Object.entries(fees)) {
    out[chain] = entries.map((e) => ({
      ...(e.feeToken === undefined ? {} : { feeToken: e.feeToken }),
      ...(e.prices === undefined ? {} : { prices: e.prices.map((p) => ({ id: p.id, price: p.price })) }),
    }));
  }
  return out;
}

function oceanTokenOf(chainId: number): string | undefined {
  return Object.values(ADDRESS_BOOK).find((entry) => entry.chainId === chainId)?.Ocean;
}

/** ocean-node's processFeesForEnvironment: supported chains only, entries with prices, a token each. */
function processFees(raw: Fees | undefined, supported: readonly number[]): Fees | null {
  if (raw === undefined || raw === null || Object.keys(raw).length === 0) return null;
  let fees: Fees | null = null;
  for (const chain of Object.keys(raw)) {
    if (!supported.includes(Number.parseInt(chain, 10))) continue;
    fees ??= {};
    const kept: FeeEntry[] = [];
    for (const entry of raw[chain] ?? []) {
      if (entry.prices === undefined || entry.prices.length === 0) continue;
      if (entry.feeToken === undefined || entry.feeToken === '') {
        const token = oceanTokenOf(Number.parseInt(chain, 10));
        // Assigned after the prices, as ocean-node's mutation does: the JSON key order is hashed.
        if (token !== undefined) kept.push(Object.assign({ ...entry }, { feeToken: token }));
      } else kept.push(entry);
    }
    fees[chain] = kept;
  }
  return fees;
}

/** Every environment of ocean-node's configuration, with the id hash it gives its jobs. */
export function loadEnvironments(sources: PricingSources): PricedEnvironment[] {
  const file =
    sources.configFile === undefined
      ? {}
      : (parseJson(readConfig(sources.configFile), sources.configFile) as Record<string, unknown>);
  const fromEnv = sources.dockerComputeEnvironments !== undefined;
  const clusters =
    (fromEnv
      ? parseJson(sources.dockerComputeEnvironments!, 'DOCKER_COMPUTE_ENVIRONMENTS')
      : file['dockerComputeEnvironments']) ?? [];
  const networks =
    (sources.supportedNetworks === undefined
      ? file['supportedNetworks']
      : parseJson(sources.supportedNetworks, 'SUPPORTED_NETWORKS')) ?? {};
  if (!Array.isArray(clusters)) throw new OceanNodeConfigError('dockerComputeEnvironments is not a list');
  const supported = Object.keys(networks as object).map((c) => Number.parseInt(c, 10));
  const environments: PricedEnvironment[] = [];
  for (const cluster of clusters as Array<{ environments?: unknown }>) {
    const defs = Array.isArray(cluster?.environments)
      ? (cluster.environments as Array<{ id?: string; fees?: Fees; minJobDuration?: number }>)
      : [];
    defs.forEach((def, index) => {
      const raw = def.fees === undefined || fromEnv ? def.fees : schemaOrdered(def.fees);
      const fees = processFees(raw, supported);
      // zod's default of 60 applies to a validated (config file) environment only.
      const minJobDuration = def.minJobDuration ?? (fromEnv ? null : 60);
      environments.push({ idHash: sha256(JSON.stringify(fees) + (def.id || String(index))), fees, minJobDuration });
    });
  }
  return environments;
}

function readConfig(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new OceanNodeConfigError(
      `${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

export interface JobForPricing {
  readonly environment: string | null;
  readonly chainId: number;
  readonly token: string;
  readonly maxJobDuration: number;
  readonly resources: ReadonlyArray<{ id: string; amount: number }>;
  readonly algoStartTimestamp?: string;
  readonly algoStopTimestamp?: string;
  readonly buildStartTimestamp?: string;
  readonly buildStopTimestamp?: string;
}

/** The environment and fee entry that price a job, or why there is none. */
export function feeOf(
  environments: readonly PricedEnvironment[],
  job: JobForPricing,
): { env: PricedEnvironment; fee: FeeEntry } | string {
  const env =
    job.environment === null ? undefined : environments.find((e) => job.environment!.endsWith(`-${e.idHash}`));
  if (env === undefined)
    return `environment ${job.environment ?? '(none)'} is not among ocean-node's configured compute environments`;
  // Exact string comparison, as ocean-node's.
  const fee = env.fees?.[String(job.chainId)]?.find((f) => f.feeToken === job.token);
  if (fee === undefined)
    return `environment ${job.environment} has no price in token ${job.token} on chain ${job.chainId}`;
  return { env, fee };
}

function validBuildSeconds(job: JobForPricing): number {
  const start = Number.parseFloat(job.buildStartTimestamp ?? '');
  const stop = Number.parseFloat(job.buildStopTimestamp ?? '');
  if (!Number.isFinite(start) || !Number.isFinite(stop) || start <= 0 || stop < start) return 0;
  return stop - start;
}

/** Seconds billed, as ocean-node counts them. */
export function billedSeconds(job: JobForPricing, env: PricedEnvironment): number {
  const duration =
    Number.parseFloat(job.algoStopTimestamp ?? '0') -
    Number.parseFloat(job.algoStartTimestamp ?? '0') +
    validBuildSeconds(job);
  let seconds = Math.abs(Number.isFinite(duration) ? duration : 0);
  if (seconds > job.maxJobDuration) seconds = job.maxJobDuration;
  if (env.minJobDuration !== null && env.minJobDuration > 0 && seconds < env.minJobDuration)
    seconds = env.minJobDuration;
  return seconds;
}

/** A number's plain decimal text (no exponent), for parseUnits. */
function plain(value: number, decimals: number): string {
  const text = Number(value.toFixed(decimals)).toString();
  return text.includes('e') ? value.toFixed(decimals) : text;
}

/** The job's cost in the token's smallest unit, and the seconds billed. */
export function costOf(
  job: JobForPricing,
  env: PricedEnvironment,
  fee: FeeEntry,
  decimals: number,
): { cost: bigint; seconds: number } {
  const seconds = billedSeconds(job, env);
  if (seconds <= 0) return { cost: 0n, seconds: 0 };
  let cost = 0;
  for (const request of job.resources) {
    const price = fee.prices?.find((p) => p.id === request.id)?.price;
    if (price) cost += price * request.amount * Math.ceil(seconds / 60);
  }
  return { cost: parseUnits(plain(cost, decimals), decimals), seconds: Math.round(seconds) };
}
