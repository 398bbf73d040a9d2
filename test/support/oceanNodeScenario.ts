/**
 * ocean-node's side of a job on the local EVM node: a job row as ocean-node writes it (with
 * its payment, resources, timestamps), the lock it creates for it in Ocean's Escrow (the
 * payee's createLock, job id = '0x' + sha256(jobId)), and the compute-environment
 * configuration that prices it (a config file as ocean-node reads it).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Contract } from 'ethers';
import type { EscrowFixture } from './escrowFixture.ts';
import { jobIdHash, oceanJobId, type OceanNodeDbWriter, type OceanNodeJob } from './oceanNodeDbWriter.ts';

export const CHAIN_ID = 31337;
/** ocean-node's cluster hash: any 0x-hash; the environment is matched on what follows it. */
const CLUSTER = `0x${'c1'.repeat(32)}`;

/** The environments of an ocean-node config file: prices per minute, in token units. */
export function environmentConfig(
  token: string,
  prices: Array<{ id: string; price: number }>,
  minJobDuration = 60,
  chainId = CHAIN_ID,
) {
  return {
    supportedNetworks: { [String(chainId)]: { chainId, rpc: 'http://127.0.0.1' } },
    dockerComputeEnvironments: [
      {
        socketPath: '/var/run/docker.sock',
        environments: [{ id: 'paid', minJobDuration, fees: { [String(chainId)]: [{ feeToken: token, prices }] } }],
      },
    ],
  };
}

/** The environment id ocean-node gives jobs of that configuration (config-file form, keys in schema order). */
export function environmentId(config: ReturnType<typeof environmentConfig>): string {
  const env = config.dockerComputeEnvironments[0]!.environments[0]!;
  return `${CLUSTER}-0x${createHash('sha256')
    .update(JSON.stringify(env.fees) + env.id)
    .digest('hex')}`;
}

export function writeConfig(path: string, config: object): void {
  writeFileSync(path, JSON.stringify(config, null, 2));
}

export interface ScenarioJob {
  readonly row: OceanNodeJob;
  readonly jobIdHash: string;
  readonly lockTx: string;
  readonly lockAmount: bigint;
}

let seed = 0;

/** A job ocean-node started: its lock created by the payee, its row written, status running. */
export async function startOceanNodeJob(
  f: EscrowFixture,
  writer: OceanNodeDbWriter,
  options: {
    environment: string;
    lockAmount?: bigint;
    expirySeconds?: number;
    resources?: Array<{ id: string; amount: number }>;
    payer?: number;
    token?: string;
    chainId?: number;
  },
): Promise<ScenarioJob> {
  seed += 1;
  const jobId = oceanJobId(`job-${process.pid}-${seed}-${Date.now()}`);
  const hash = jobIdHash(jobId);
  const payer = f.payers[options.payer ?? 0]!;
  const token = options.token ?? (await f.token.getAddress());
  const lockAmount = options.lockAmount ?? 10n ** 19n;
  const tx = await (f.escrow.connect(f.payee) as Contract).getFunction('createLock')(
    BigInt(hash),
    token,
    payer.address,
    lockAmount,
    BigInt(options.expirySeconds ?? 86_400),
  );
  await tx.wait();
  const row: OceanNodeJob = {
    jobId,
    owner: payer.address,
    status: 40,
    environment: options.environment,
    maxJobDuration: 3_600,
    body: {
      resources: options.resources ?? [{ id: 'cpu', amount: 2 }],
      isFree: false,
      algoStartTimestamp: '1000',
      algoStopTimestamp: '0',
      buildStartTimestamp: '0',
      buildStopTimestamp: '0',
      payment: {
        chainId: options.chainId ?? CHAIN_ID,
        token,
        lockTx: tx.hash as string,
        claimTx: null,
        cancelTx: null,
        cost: 0,
      },
      jobIdHash: hash,
      queueMaxWaitTime: 0,
    },
  };
  writer.upsert(row);
  return { row, jobIdHash: hash, lockTx: tx.hash as string, lockAmount };
}

/** The job's algorithm ran `seconds` and the job is at `status` (71: JobSettle). */
export function endOceanNodeJob(writer: OceanNodeDbWriter, job: ScenarioJob, seconds: number, status = 71): void {
  const body = job.row.body as Record<string, unknown>;
  job.row.body = { ...body, algoStopTimestamp: String(1000 + seconds) };
  job.row.status = status;
  writer.upsert(job.row);
}
