/**
 * ocean-node's jobs as settle's job source, against Ocean's published Escrow on a local
 * hardhat node: adoption with the lock read from the chain, the cost as ocean-node computes
 * it, bad rows logged by job and skipped, and the race with ocean-node's own claimer on the
 * node's key (whoever is second converges from the Claimed event: Finished, not Recovery).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Contract, ContractFactory } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownMachineVersions } from '../../machines/index.ts';
import { openHost } from '../../src/host/host.ts';
import { OceanNodeJobs } from '../../src/daemon/oceanNodeJobs.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../../src/store/recoveryLog.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { compileContracts } from '../support/compileContracts.ts';
import { CHAIN, deployEscrow, type EscrowFixture } from '../support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';
import { oceanNodeClaimRun } from '../support/oceanNodeClaimer.ts';
import { OceanNodeDbWriter } from '../support/oceanNodeDbWriter.ts';
import {
  endOceanNodeJob,
  environmentConfig,
  environmentId,
  startOceanNodeJob,
  writeConfig,
} from '../support/oceanNodeScenario.ts';
import { tempDir } from '../support/simFixture.ts';

let node: EvmNode;
let f: EscrowFixture;
let token: string;

beforeAll(async () => {
  node = await startEvmNode();
  f = await deployEscrow(node);
  token = await f.token.getAddress();
}, 120_000);

afterAll(async () => {
  await node?.stop();
});

async function setup(prices = [{ id: 'cpu', price: 0.5 }]) {
  const dir = tempDir('settle-ocean-');
  const database = join(dir, 'c2dDatabase.sqlite');
  const writer = new OceanNodeDbWriter(database);
  const config = environmentConfig(token, prices);
  writeConfig(join(dir, 'config.json'), config);
  const lines: LogLine[] = [];
  const log = Object.assign(collectingLogger(lines), { lines });
  const { escrow } = await f.adapter(join(dir, 'evm'), log);
  const source = new OceanNodeJobs({
    database,
    pricing: { configFile: join(dir, 'config.json') },
    chains: [{ name: CHAIN, chainId: 31337, payee: f.payee.address, escrow }],
    adoptedFile: join(dir, 'adopted.jsonl'),
    log,
  });
  return { dir, database, writer, config, environment: environmentId(config), log, escrow, source };
}

describe("ocean-node's jobs as a job source", () => {
  it('adopts a running job with its lock, then publishes it with the cost ocean-node would claim', async () => {
    const s = await setup();
    const job = await startOceanNodeJob(f, s.writer, {
      environment: s.environment,
      resources: [{ id: 'cpu', amount: 2 }],
    });
    const [running] = await s.source.poll();
    expect(running).toMatchObject({
      phase: 'running',
      cost: null,
      terms: {
        jobId: job.jobIdHash,
        chain: CHAIN,
        payer: f.payers[0]!.address,
        payee: f.payee.address,
        sourceJobId: job.row.jobId,
      },
    });
    expect(running!.terms.lock).toEqual({ amount: job.lockAmount.toString(), expiry: expect.any(Number) });
    endOceanNodeJob(s.writer, job, 150);
    const [published] = await s.source.poll();
    // 0.5 token/min x 2 cpu x ceil(150 / 60) = 3 tokens.
    expect(published).toMatchObject({ phase: 'published', cost: (3n * 10n ** 18n).toString(), durationSecs: 150 });
    // Raised to the environment's minJobDuration (60 s, ocean-node's default) when shorter.
    const short = await startOceanNodeJob(f, s.writer, {
      environment: s.environment,
      resources: [{ id: 'cpu', amount: 1 }],
    });
    await s.source.poll();
    endOceanNodeJob(s.writer, short, 5, 41);
    expect((await s.source.poll()).find((o) => o.terms.jobId === short.jobIdHash)).toMatchObject({
      cost: (5n * 10n ** 17n).toString(),
      durationSecs: 60,
    });
  });

  it('finds the lock of a job adopted after ocean-node claimed it from the Lock event of its lockTx', async () => {
    const s = await setup();
    const job = await startOceanNodeJob(f, s.writer, { environment: s.environment });
    await (
      await (f.escrow.connect(f.payee) as Contract).getFunction('claimLock')(
        BigInt(job.jobIdHash),
        token,
        job.row.owner,
        1n,
        '0x',
      )
    ).wait();
    endOceanNodeJob(s.writer, job, 120);
    const [observed] = await s.source.poll();
    expect(observed!.terms.lock!.amount).toBe(job.lockAmount.toString());
  });

  it('logs each bad row once, naming the job, and skips it; the good ones go on', async () => {
    const s = await setup();
    const good = await startOceanNodeJob(f, s.writer, { environment: s.environment });
    const notJson = await startOceanNodeJob(f, s.writer, { environment: s.environment });
    notJson.row.body = '{"payment": {"chainId": 31337,';
    s.writer.upsert(notJson.row);
    const noPayment = await startOceanNodeJob(f, s.writer, { environment: s.environment });
    noPayment.row.body = { ...(noPayment.row.body as object), payment: { chainId: 31337, lockTx: '0x01' } };
    s.writer.upsert(noPayment.row);
    const otherChain = await startOceanNodeJob(f, s.writer, { environment: s.environment });
    otherChain.row.body = {
      ...(otherChain.row.body as object),
      payment: { chainId: 1, token, lockTx: otherChain.lockTx },
    };
    s.writer.upsert(otherChain.row);
    // A token the escrow never held for this payer (deployed, never deposited), priced anyway.
    const compiled = compileContracts();
    const stranger = (await (
      await new ContractFactory(compiled.TestToken.abi as never, compiled.TestToken.bytecode, node.wallet(0)).deploy(18)
    ).waitForDeployment()) as Contract;
    const strangerAddress = await stranger.getAddress();
    const unknownToken = await startOceanNodeJob(f, s.writer, { environment: s.environment });
    unknownToken.row.body = {
      ...(unknownToken.row.body as object),
      payment: { chainId: 31337, token: strangerAddress, lockTx: unknownToken.lockTx },
    };
    s.writer.upsert(unknownToken.row);
    const noPrice = await startOceanNodeJob(f, s.writer, { environment: `0x${'c1'.repeat(32)}-0x${'ee'.repeat(32)}` });
    const priced = { ...s.config };
    priced.dockerComputeEnvironments[0]!.environments[0]!.fees['31337']!.push({
      feeToken: strangerAddress,
      prices: [{ id: 'cpu', price: 1 }],
    });
    writeConfig(join(s.dir, 'config.json'), priced);
    const source = new OceanNodeJobs({
      database: s.database,
      pricing: { configFile: join(s.dir, 'config.json') },
      chains: [{ name: CHAIN, chainId: 31337, payee: f.payee.address, escrow: s.escrow }],
      adoptedFile: join(s.dir, 'adopted2.jsonl'),
      log: s.log,
    });
    const unknownTokenEnv = environmentId(priced);
    s.writer.upsert({ ...unknownToken.row, environment: unknownTokenEnv });
    s.writer.upsert({ ...good.row, environment: unknownTokenEnv });
    const observed = await source.poll();
    await source.poll(); // logged once, not at every poll
    expect(observed.map((o) => o.terms.jobId)).toEqual([good.jobIdHash]);
    const skipped = s.log.lines.filter((l) => l.message === 'ocean-node job skipped: nothing is claimed for it');
    const reasons = Object.fromEntries(skipped.map((l) => [l.fields['job'], String(l.fields['reason'])]));
    expect(Object.keys(reasons).sort()).toEqual(
      [notJson, noPayment, otherChain, unknownToken, noPrice].map((j) => j.row.jobId).sort(),
    );
    expect(reasons[notJson.row.jobId]).toBe('body is not JSON');
    expect(reasons[noPayment.row.jobId]).toBe('payment lacks token');
    expect(reasons[otherChain.row.jobId]).toMatch(/chain id 1, which no configured job chain is/);
    expect(reasons[unknownToken.row.jobId]).toMatch(new RegExp(`token ${strangerAddress} is not known to the escrow`));
    expect(reasons[noPrice.row.jobId]).toMatch(
      /is not among ocean-node's configured compute environments: left unclaimed/,
    );
    expect(skipped).toHaveLength(5);
  });
});

describe('settle beside ocean-node claiming on the same key', () => {
  it("finishes every job: ocean-node's claims found by their Claimed events, the rest claimed by settle, none lost or claimed twice", async () => {
    const s = await setup();
    const jobs = [];
    for (let i = 0; i < 6; i += 1)
      jobs.push(
        await startOceanNodeJob(f, s.writer, { environment: s.environment, resources: [{ id: 'cpu', amount: 1 }] }),
      );
    const store = await openLowdbSnapshotStore(join(s.dir, 'store'), {
      create: !existsSync(join(s.dir, 'store')),
      knownMachines: knownMachineVersions,
    });
    const { log: recovery } = await openRecoveryLog(join(s.dir, 'recovery.jsonl'));
    const host = await openHost({
      store,
      recoveryLog: recovery,
      swapContract: null,
      senders: new Map(),
      escrows: new Map([[CHAIN, s.escrow]]),
      clock: { now: async () => (await node.provider.getBlock('latest'))!.timestamp },
      jobSource: s.source,
      log: s.log,
      claimSchedule: { intervalSec: 3_600, firstRunDelaySec: 0 },
    });
    // The first tick adopts the running jobs; then they end and publish.
    const first = await host.tick();
    expect(first.created).toBe(6);
    for (const job of jobs) endOceanNodeJob(s.writer, job, 90);
    // ocean-node's timer fires first for the first three: one claimLocksAndWithdraw on our key.
    const oceanNode = await oceanNodeClaimRun(
      f.payee,
      await f.escrow.getAddress(),
      jobs
        .slice(0, 3)
        .map((j) => ({ jobId: BigInt(j.jobIdHash), token, payer: j.row.owner, amount: 10n ** 18n, proof: '0x' })),
    );
    expect(oceanNode.txs).toHaveLength(1);
    await node.increaseTime(3_700); // settle's next claim run is due (the first ran at adoption)
    for (let tick = 0; tick < 5 && host.liveCount > 0; tick += 1) await host.tick();
    expect(host.liveCount).toBe(0);
    const finals = await Promise.all(
      jobs.map(
        async (j) =>
          (await store.readArchived(`job:${CHAIN}:${j.jobIdHash}`)).snapshot as {
            value: string;
            context: Record<string, unknown>;
          },
      ),
    );
    expect(finals.map((x) => x.value)).toEqual(Array(6).fill('Finished'));
    expect(finals.slice(0, 3).map((x) => x.context['claimTx'])).toEqual(Array(3).fill(oceanNode.txs[0]));
    const ours = new Set(finals.slice(3).map((x) => x.context['claimTx']));
    expect(ours.size).toBe(1);
    expect(ours.has(oceanNode.txs[0])).toBe(false);
    expect(recovery.entries()).toEqual([]);
    // Then ocean-node's next run finds no lock for the others: it sends nothing.
    const late = await oceanNodeClaimRun(
      f.payee,
      await f.escrow.getAddress(),
      jobs
        .slice(3)
        .map((j) => ({ jobId: BigInt(j.jobIdHash), token, payer: j.row.owner, amount: 10n ** 18n, proof: '0x' })),
    );
    expect(late.txs).toEqual([]);
    expect(late.recorded).toEqual([]);
  });
});
