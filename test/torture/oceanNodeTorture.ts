/**
 * The daemon beside ocean-node, under kill -9: `settle daemon` configured by network name
 * (`network: base`: the Escrow address and chain id from @oceanprotocol/contracts' address
 * book) against a hardhat node on chain id 8453 running Ocean's published Escrow bytecode at
 * that very address, its jobs read from an ocean-node-shaped SQLite database, and a second
 * claimer on the same key racing it: ocean-node's strategy (batch, then per job), which then
 * records its claims in the database as ocean-node does (JobFinished, claimTx). The daemon is
 * killed with SIGKILL at random instants and restarted. At the end:
 * - every job was claimed exactly once on chain, for min(cost, lock) (gross), whoever claimed;
 * - every machine ended Finished (a claim found by its Claimed event is Finished, never
 *   Recovery), and the recovery log is empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Contract } from 'ethers';
import prand from 'pure-rand';
import { knownMachineVersions } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { escrowDeployment, type EscrowDeployment } from '../../src/chains/evm/escrowCheck.ts';
import { costOf, feeOf, loadEnvironments } from '../../src/daemon/oceanNodePricing.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { readRecoveryLog } from '../../src/store/recoveryLog.ts';
import { deployEscrow } from '../support/escrowFixture.ts';
import { startEvmNode } from '../support/evmNode.ts';
import { oceanNodeClaimRun } from '../support/oceanNodeClaimer.ts';
import { OceanNodeDbWriter } from '../support/oceanNodeDbWriter.ts';
import {
  endOceanNodeJob,
  environmentConfig,
  environmentId,
  startOceanNodeJob,
  writeConfig,
  type ScenarioJob,
} from '../support/oceanNodeScenario.ts';

const SETTLE = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));
const NETWORK = 'base';

export interface OceanNodeTortureOptions {
  readonly kills: number;
  readonly seed: number;
  readonly jobs: number;
  readonly progress?: (line: string) => void;
}

export interface OceanNodeTortureReport {
  readonly dir: string;
  readonly kills: number;
  readonly jobStates: Record<string, number>;
  /** Jobs whose claim on chain came from the racing claimer, and from settle. */
  readonly claimedByRival: number;
  readonly claimedBySettle: number;
  readonly violations: string[];
}

interface Planned {
  readonly job: ScenarioJob;
  readonly minutes: number;
  owed: bigint;
  ended: boolean;
  rivalDone: boolean;
}

export async function runOceanNodeTorture(options: OceanNodeTortureOptions): Promise<OceanNodeTortureReport> {
  const say = options.progress ?? (() => undefined);
  let rng = prand.xoroshiro128plus(options.seed);
  const draw = (min: number, max: number): number => {
    const [value, next] = prand.uniformIntDistribution(min, max, rng);
    rng = next;
    return value;
  };
  const book = escrowDeployment(NETWORK) as EscrowDeployment;
  const evm = await startEvmNode(60_000, book.chainId);
  const children: ChildProcess[] = [];
  try {
    const f = await deployEscrow(evm, { at: book.escrow });
    await evm.provider.send('evm_setIntervalMining', [500]);
    const dir = mkdtempSync(join(tmpdir(), 'settle-ocean-torture-'));
    mkdirSync(join(dir, 'ocean-node', 'databases'), { recursive: true });
    const database = join(dir, 'ocean-node', 'databases', 'c2dDatabase.sqlite');
    const writer = new OceanNodeDbWriter(database);
    const token = await f.token.getAddress();
    const config = environmentConfig(token, [{ id: 'cpu', price: 0.001 }], 60, book.chainId);
    writeConfig(join(dir, 'ocean-node', 'config.json'), config);
    const environments = loadEnvironments({ configFile: join(dir, 'ocean-node', 'config.json') });
    const environment = environmentId(config);
    writeFileSync(join(dir, 'payee.key'), `${f.payee.privateKey}\n`, { mode: 0o600 });
    const configPath = join(dir, 'settle.yaml');
    writeFileSync(
      configPath,
      `dataDir: ./data
log: { level: info }
maxBackoffMs: 2000
jobs:
  oceanNode: { database: ./ocean-node/databases/c2dDatabase.sqlite, config: ./ocean-node/config.json }
  claimIntervalSec: 2
  firstRunDelaySec: 1
  pollIntervalMs: 250
  chains:
    ${NETWORK}: { network: ${NETWORK}, rpcUrl: "${evm.url}", escrowDeployBlock: 0, key: { file: ./payee.key } }
`,
    );
    const logStream = createWriteStream(join(dir, 'daemon.log'), { flags: 'a' });
    const dataDir = join(dir, 'data');
    const spawnDaemon = (): { child: ChildProcess; started: Promise<boolean>; exited: Promise<number | null> } => {
      const init = !existsSync(join(dataDir, 'store', 'store.json'));
      const child = spawn(process.execPath, [SETTLE, 'daemon', '--config', configPath, ...(init ? ['--init'] : [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let text = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const started = new Promise<boolean>((resolve) => {
        const take = (chunk: Buffer): void => {
          text += chunk.toString();
          logStream.write(chunk);
          if (text.includes('"msg":"daemon started"')) resolve(true);
        };
        child.stdout!.on('data', take);
        child.stderr!.on('data', take);
        void exited.then(() => resolve(false));
      });
      return { child, started, exited };
    };

    const planned: Planned[] = [];
    for (let i = 0; i < options.jobs; i += 1) {
      const minutes = draw(1, 9);
      const job = await startOceanNodeJob(f, writer, {
        environment,
        chainId: book.chainId,
        lockAmount: BigInt(draw(1, 9)) * 10n ** 15n,
        resources: [{ id: 'cpu', amount: 1 }],
        expirySeconds: 7 * 86_400,
      });
      planned.push({ job, minutes, owed: 0n, ended: false, rivalDone: false });
    }
    say(`${options.jobs} ocean-node jobs running, Escrow at ${book.escrow} on chain ${book.chainId} (${NETWORK})`);

    // ocean-node's side: jobs end now and then; its claim timer races settle on the same key.
    const costOfJob = (p: Planned): bigint => {
      const body = p.job.row.body as Record<string, unknown>;
      const pricing = {
        environment,
        chainId: book.chainId,
        token,
        maxJobDuration: 3_600,
        resources: [{ id: 'cpu', amount: 1 }],
        algoStartTimestamp: String(body['algoStartTimestamp']),
        algoStopTimestamp: String(body['algoStopTimestamp']),
      };
      const found = feeOf(environments, pricing);
      if (typeof found === 'string') throw new Error(found);
      return costOf(pricing, found.env, found.fee, 18).cost;
    };
    let rivalClaims = 0;
    let stop = false;
    const oceanNode = async (): Promise<void> => {
      for (let step = 0; !stop; step += 1) {
        const waiting = planned.filter((p) => !p.ended);
        if (waiting.length > 0 && draw(0, 1) === 1) {
          const p = waiting[draw(0, waiting.length - 1)]!;
          endOceanNodeJob(writer, p.job, p.minutes * 60 - 30);
          p.ended = true;
          const cost = costOfJob(p);
          // biome-ignore lint/complexity/useMathMinMax: bigints; Math.min does not take them
          p.owed = cost < p.job.lockAmount ? cost : p.job.lockAmount;
        }
        if (step % 3 === 2) {
          const due = planned.filter((p) => p.ended && !p.rivalDone);
          if (due.length > 0) {
            const run = await oceanNodeClaimRun(
              f.payee,
              book.escrow,
              due.map((p) => ({
                jobId: BigInt(p.job.jobIdHash),
                token,
                payer: p.job.row.owner,
                amount: costOfJob(p),
                proof: '0x',
              })),
            ).catch(() => null);
            for (const p of due) {
              if (run?.recorded.includes(BigInt(p.job.jobIdHash))) {
                p.rivalDone = true;
                rivalClaims += 1;
                const body = p.job.row.body as Record<string, unknown>;
                p.job.row.body = { ...body, payment: { ...(body['payment'] as object), claimTx: run.txs.at(-1) } };
                p.job.row.status = 70;
                writer.upsert(p.job.row);
              }
            }
          }
        }
        await sleep(draw(200, 700));
      }
    };
    let daemon = spawnDaemon();
    // ocean-node's claim timer first fires a minute after its start: settle has seen its jobs
    // running by then (a job ocean-node settled before settle ever saw it is not settle's).
    const adoptedFile = join(dataDir, 'ocean-node-jobs.jsonl');
    const adoptedBy = Date.now() + 120_000;
    while (!existsSync(adoptedFile) || readFileSync(adoptedFile, 'utf8').trim().split('\n').length < options.jobs) {
      if (Date.now() > adoptedBy) throw new Error('the daemon did not adopt the running jobs within 120 s');
      await sleep(200);
    }
    const scenario = oceanNode();
    for (let kill = 1; kill <= options.kills; kill += 1) {
      if (draw(1, 5) === 1) await sleep(draw(0, 3_000));
      else if (await Promise.race([daemon.started, sleep(60_000).then(() => false)])) await sleep(draw(0, 1_500));
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      if (kill % 10 === 0 || kill === options.kills) say(`kill -9 #${kill}/${options.kills}`);
      daemon = spawnDaemon();
    }
    while (planned.some((p) => !p.ended)) await sleep(200);
    stop = true;
    await scenario;
    say('kills done, every job ended; letting the daemon finish');
    const deadline = Date.now() + 240_000;
    while ((await archived(dataDir)) !== options.jobs) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.jobs} machines to finish`);
      await sleep(250);
    }
    await daemon.started;
    daemon.child.kill('SIGTERM');
    const code = await daemon.exited;
    writer.close();
    logStream.end();

    const violations: string[] = code === 0 ? [] : [`the daemon exited ${code} on SIGTERM, not 0`];
    const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
      create: false,
      readOnly: true,
      knownMachines: knownMachineVersions,
    });
    const finals = await finalMachines(store);
    const { entries } = await readRecoveryLog(join(dataDir, 'recovery.jsonl'));
    if (entries.length > 0) violations.push(`recovery entries: ${entries.map((e) => e.key).join(', ')}`);
    const escrow = new Contract(book.escrow, f.escrow.interface, evm.provider);
    const claimedLogs = await escrow.queryFilter(escrow.filters.Claimed!(), f.deployBlock);
    const claims = new Map<string, Array<{ amount: bigint; tx: string }>>();
    for (const log of claimedLogs) {
      const args = (log as unknown as { args: { jobId: bigint; amount: bigint } }).args;
      const id = `0x${args.jobId.toString(16).padStart(64, '0')}`;
      claims.set(id, [...(claims.get(id) ?? []), { amount: args.amount, tx: log.transactionHash }]);
    }
    const jobStates: Record<string, number> = {};
    let bySettle = 0;
    for (const p of planned) {
      const id = `job:${NETWORK}:${p.job.jobIdHash}`;
      const machine = finals.get(id);
      jobStates[machine?.state ?? 'missing'] = (jobStates[machine?.state ?? 'missing'] ?? 0) + 1;
      const onChain = claims.get(p.job.jobIdHash) ?? [];
      if (onChain.length !== 1 || onChain[0]!.amount !== p.owed)
        violations.push(`${id}: claims [${onChain.map((c) => c.amount).join(', ')}], owed ${p.owed}`);
      if (machine?.state !== 'Finished') violations.push(`${id}: ended ${machine?.state ?? 'missing'}, not Finished`);
      else if ((machine.context as { claimTx: string }).claimTx !== onChain[0]?.tx)
        violations.push(
          `${id}: recorded claim ${(machine.context as { claimTx: string }).claimTx}, on chain ${onChain[0]?.tx}`,
        );
      if (!p.rivalDone) bySettle += 1;
    }
    return { dir, kills: options.kills, jobStates, claimedByRival: rivalClaims, claimedBySettle: bySettle, violations };
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await evm.stop();
  }
}

async function archived(dataDir: string): Promise<number> {
  try {
    const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
      create: false,
      readOnly: true,
      knownMachines: knownMachineVersions,
    });
    return store.archivedIds.size;
  } catch {
    return -1;
  }
}
