/**
 * The daemon's kill -9 torture: `settle daemon` as a real child process against a local EVM
 * node (hardhat: swap transfers in its coin, jobs paid through the project's Escrow) and the
 * fake Subtensor (the allways contract), killed with SIGKILL at random instants and restarted
 * each time, while swaps are assigned and jobs end and publish. Then it runs to the end,
 * stops on SIGTERM, and the chains are checked:
 * - exactly one transfer to the user of every Fulfilled swap, marked with that transfer's
 *   hash; none for a swap that ended without sending; at most one (and a recovery entry) for
 *   one in Recovery; no mark_fulfilled executed twice;
 * - every job that ended with a cost is claimed: min(cost, lock) reached the payee, once;
 * - every machine in Recovery has its recovery-log entry, and the log has no other.
 * Used by test/torture/torture.test.ts (CI) and `npm run torture -- --kills N`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { Contract, Wallet, getAddress, type TransactionResponse } from 'ethers';
import prand from 'pure-rand';
import { knownMachineVersions, type JobContext, type SwapContext } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { readRecoveryLog } from '../../src/store/recoveryLog.ts';
import { jobIdHex } from '../../src/chains/evm/evmEscrow.ts';
import { deployEscrow, type EscrowFixture } from '../support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';
import { FakeSubtensor } from '../support/fakeSubtensor/fakeSubtensor.ts';

const SETTLE = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));
const CHAIN_ID = 31337;

export interface TortureOptions {
  readonly kills: number;
  readonly seed: number;
  readonly swaps: number;
  readonly jobs: number;
  /** Progress, one line at a time. */
  readonly progress?: (line: string) => void;
}

export interface TortureReport {
  readonly dir: string;
  readonly kills: number;
  readonly restarts: number;
  readonly swapStates: Record<string, number>;
  readonly jobStates: Record<string, number>;
  readonly transfers: number;
  readonly claimed: bigint;
  readonly recoveryEntries: number;
  readonly violations: string[];
}

interface PlannedJob {
  readonly id: bigint;
  readonly expiry: number;
  readonly lock: bigint;
  readonly cost: bigint;
  endsAtStep: number;
}

export async function runTorture(options: TortureOptions): Promise<TortureReport> {
  const say = options.progress ?? (() => undefined);
  let rng = prand.xoroshiro128plus(options.seed);
  const draw = (min: number, max: number): number => {
    const [value, next] = prand.uniformIntDistribution(min, max, rng);
    rng = next;
    return value;
  };
  await cryptoWaitReady();
  const dir = mkdtempSync(join(tmpdir(), 'settle-torture-'));
  const evm = await startEvmNode();
  const subtensor = await FakeSubtensor.start({ blockTimeMs: 250, finalityLag: 1 });
  let daemon: ChildProcess | null = null;
  try {
    const fixture = await deployEscrow(evm);
    // A real chain makes blocks whether or not we send: the claim schedule reads its clock
    // from block time, which an automine-only node freezes between transactions.
    await evm.provider.send('evm_setIntervalMining', [500]);
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const hotkey = keyring.addFromUri('//Alice');
    subtensor.endow(hotkey.address, 10n ** 12n);
    const transferWallet = evm.wallet(4);
    const payee = fixture.payee;
    writeKey(join(dir, 'hotkey.key'), '//Alice');
    writeKey(join(dir, 'transfer.key'), transferWallet.privateKey);
    writeKey(join(dir, 'payee.key'), payee.privateKey);
    const configPath = join(dir, 'settle.yaml');
    writeFileSync(configPath, configYaml(subtensor, evm, fixture));
    const feed = join(dir, 'jobs.jsonl');
    const daemonLog = createWriteStream(join(dir, 'daemon.log'), { flags: 'a' });

    // Jobs: locks first (the payee creates them), then the engine reports them running.
    const jobs: PlannedJob[] = [];
    const tokenAddress = await fixture.token.getAddress();
    const payer = fixture.payers[0]!;
    for (let i = 0; i < options.jobs; i += 1) {
      const lock = BigInt(draw(1_000, 9_000)) * 10n ** 12n;
      const cost = i % 7 === 3 ? lock + 5n : BigInt(draw(0, 9_000)) * 10n ** 12n; // some above the lock, some free
      jobs.push({ id: 0n, expiry: 0, lock, cost, endsAtStep: 0 });
    }
    for (const job of jobs) {
      const [terms] = await fixture.lock(1, { amount: job.lock, expirySeconds: 7 * 86_400 });
      Object.assign(job, { id: BigInt(terms!.jobId), expiry: terms!.lock!.expiry });
      appendFileSync(feed, `${feedLine(job, tokenAddress, payer.address, 'running')}\n`);
    }

    let restarts = 0;
    let started: Promise<boolean> = Promise.resolve(false);
    const spawnDaemon = (): ChildProcess => {
      const init = !existsSync(join(dir, 'data', 'store', 'store.json'));
      const child = spawn(process.execPath, [SETTLE, 'daemon', '--config', configPath, ...(init ? ['--init'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.pipe(daemonLog, { end: false });
      child.stderr!.pipe(daemonLog, { end: false });
      // Ready once it logs that it started (restored, connected): most kills aim after that.
      started = new Promise((resolve) => {
        let seen = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          seen = (seen + chunk.toString()).slice(-4_096);
          if (seen.includes('"msg":"daemon started"')) resolve(true);
        });
        child.once('exit', () => resolve(false));
      });
      restarts += 1;
      return child;
    };
    const exited = (child: ChildProcess): Promise<number | null> =>
      child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

    // The first start creates the store before any swap is assigned (a new store refuses to
    // start when swaps of ours already exist: it could not know whether it sent for them).
    daemon = spawnDaemon();
    await waitFor(() => existsSync(join(dir, 'data', 'store', 'store.json')), 60_000, 'the first daemon to create its store');
    say(`store created in ${join(dir, 'data')}`);

    // Steps of the scenario run while the daemon is being killed.
    const users: string[] = [];
    const steps = Math.max(options.swaps, options.jobs) + 4;
    jobs.forEach((job, i) => (job.endsAtStep = Math.floor((i * steps) / Math.max(1, options.jobs))));
    let step = 0;
    // Spread the scenario over the kills (about 3.5 s a kill: a start and some work).
    const stepMs = Math.max(400, Math.floor((options.kills * 3_500) / steps));
    const scenario = async (): Promise<void> => {
      for (; step < steps; step += 1) {
        if (step < options.swaps) {
          const user = Wallet.createRandom().address;
          users.push(user);
          subtensor.contract.createSwap({ miner: hotkey.address, destChain: 'eth', userDestAddress: user, destAmount: BigInt(draw(1, 1_000)) * 10n ** 12n }, subtensor.best.number, 2_400);
        }
        for (const job of jobs) {
          if (job.endsAtStep === step) appendFileSync(feed, `${feedLine(job, tokenAddress, payer.address, 'ended')}\n`);
          if (job.endsAtStep + 2 === step) appendFileSync(feed, `${feedLine(job, tokenAddress, payer.address, 'published')}\n`);
        }
        await sleep(stepMs);
      }
      for (const job of jobs) if (job.endsAtStep + 2 >= steps) appendFileSync(feed, `${feedLine(job, tokenAddress, payer.address, 'published')}\n`);
    };
    const scenarioDone = scenario();

    for (let kill = 1; kill <= options.kills; kill += 1) {
      // One kill in five at any instant of the start (restore, connect); the others while
      // it works: the daemon takes seconds to start, so a blind timer would mostly hit that.
      if (draw(1, 5) === 1) await sleep(draw(0, 3_000));
      else if (await Promise.race([started, sleep(60_000).then(() => false)])) await sleep(draw(0, 1_500));
      daemon.kill('SIGKILL');
      await exited(daemon);
      if (kill % 10 === 0 || kill === options.kills) say(`kill -9 #${kill}/${options.kills} (scenario step ${step}/${steps})`);
      daemon = spawnDaemon();
    }
    await scenarioDone;

    // Run to the end: every machine finished.
    say('kills done; letting the daemon finish every obligation');
    const total = options.swaps + options.jobs;
    await waitFor(async () => (await storeCounts(dir)).archived === total, 240_000, `all ${total} machines to finish`);
    daemon.kill('SIGTERM');
    const code = await exited(daemon);
    daemon = null;
    const violations: string[] = [];
    if (code !== 0) violations.push(`the daemon exited ${code} on SIGTERM, not 0`);

    const report = await verify(dir, subtensor, evm, fixture, transferWallet.address, users, jobs, violations);
    return { ...report, dir, kills: options.kills, restarts };
  } finally {
    if (daemon !== null) daemon.kill('SIGKILL');
    await subtensor.stop();
    await evm.stop();
  }
}

function writeKey(path: string, secret: string): void {
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
}

function configYaml(subtensor: FakeSubtensor, evm: EvmNode, fixture: EscrowFixture): string {
  return `# written by the torture run
dataDir: ./data
log: { level: info }
maxBackoffMs: 2000
swaps:
  subtensor: { url: "${subtensor.url}" }
  contract: { address: "${subtensor.contractAddress}" }
  hotkey: { file: ./hotkey.key }
  marginBlocks: 3
  pollIntervalMs: 200
  destinations:
    eth: { type: evm, rpcUrl: "${evm.url}", chainId: ${CHAIN_ID}, key: { file: ./transfer.key }, confirmations: 1 }
jobs:
  feed: ./jobs.jsonl
  claimIntervalSec: 2
  firstRunDelaySec: 1
  pollIntervalMs: 200
  chains:
    eth: { rpcUrl: "${evm.url}", chainId: ${CHAIN_ID}, escrow: "${fixture.escrow.target as string}", escrowDeployBlock: ${fixture.deployBlock}, key: { file: ./payee.key } }
`;
}

function feedLine(job: PlannedJob, token: string, payer: string, phase: 'running' | 'ended' | 'published'): string {
  return JSON.stringify({
    jobId: jobIdHex(job.id),
    chain: 'eth',
    token,
    payer,
    lock: { amount: job.lock.toString(), expiry: job.expiry },
    phase,
    cost: phase === 'running' ? null : job.cost.toString(),
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function storeCounts(dir: string): Promise<{ archived: number }> {
  try {
    const store = await openLowdbSnapshotStore(join(dir, 'data', 'store'), { create: false, knownMachines: knownMachineVersions });
    return { archived: store.archivedIds.size };
  } catch {
    return { archived: -1 };
  }
}

async function verify(
  dir: string,
  subtensor: FakeSubtensor,
  evm: EvmNode,
  fixture: EscrowFixture,
  transferFrom: string,
  users: readonly string[],
  jobs: readonly PlannedJob[],
  violations: string[],
): Promise<Omit<TortureReport, 'dir' | 'kills' | 'restarts'>> {
  const store = await openLowdbSnapshotStore(join(dir, 'data', 'store'), { create: false, knownMachines: knownMachineVersions });
  const finals = await finalMachines(store);
  const { entries } = await readRecoveryLog(join(dir, 'data', 'recovery.jsonl'));
  const recoveryKeys = new Set(entries.map((e) => e.key));
  const count = (kind: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [id, m] of finals) if (id.startsWith(`${kind}:`)) out[m.state] = (out[m.state] ?? 0) + 1;
    return out;
  };

  // Every transaction the transfer wallet sent, from the node's blocks.
  const sent = new Map<string, TransactionResponse[]>();
  const head = await evm.provider.getBlockNumber();
  for (let n = 0; n <= head; n += 1) {
    const block = await evm.provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== transferFrom.toLowerCase() || tx.to === null) continue;
      const to = getAddress(tx.to);
      sent.set(to, [...(sent.get(to) ?? []), tx]);
    }
  }
  let transfers = 0;
  users.forEach((user, index) => {
    const id = `swap:${index}`;
    const machine = finals.get(id);
    const txs = sent.get(getAddress(user)) ?? [];
    transfers += txs.length;
    if (machine === undefined) return void violations.push(`${id}: never finished`);
    const swap = subtensor.contract.swaps.get(BigInt(index));
    const marks = subtensor.contract.executedMarks.filter((m) => m.swapId === BigInt(index)).length;
    if (marks > 1) violations.push(`${id}: mark_fulfilled executed ${marks} times`);
    if (machine.state === 'Fulfilled') {
      if (txs.length !== 1) violations.push(`${id}: Fulfilled with ${txs.length} transfers to the user`);
      else if (swap?.destTxHash !== txs[0]!.hash) violations.push(`${id}: marked with ${swap?.destTxHash}, but the transfer is ${txs[0]!.hash}`);
      const context = machine.context as SwapContext;
      if (txs.length === 1 && txs[0]!.value !== BigInt(context.terms.destAmount)) violations.push(`${id}: sent ${txs[0]!.value}, owed ${context.terms.destAmount}`);
    } else if (machine.state === 'Recovery') {
      if (txs.length > 1) violations.push(`${id}: ${txs.length} transfers`);
      if (!recoveryKeys.has(id)) violations.push(`${id}: in Recovery without a recovery entry`);
    } else if (txs.length !== 0) {
      violations.push(`${id}: ended ${machine.state} but ${txs.length} transfer(s) reached the user`);
    }
  });

  // Claims: what the escrow says about each job, from its events.
  const escrowEvents = await (fixture.escrow as Contract).queryFilter((fixture.escrow as Contract).filters.Claimed!(), fixture.deployBlock);
  const claimedById = new Map<bigint, bigint[]>();
  for (const event of escrowEvents) {
    const args = (event as unknown as { args: { jobId: bigint; amount: bigint } }).args;
    claimedById.set(args.jobId, [...(claimedById.get(args.jobId) ?? []), args.amount]);
  }
  let claimed = 0n;
  for (const job of jobs) {
    const id = `job:eth:${jobIdHex(job.id)}`;
    const machine = finals.get(id);
    const claims = claimedById.get(job.id) ?? [];
    claimed += claims.reduce((a, b) => a + b, 0n);
    if (machine === undefined) {
      violations.push(`${id}: never finished`);
      continue;
    }
    const owed = job.cost < job.lock ? job.cost : job.lock;
    if (owed === 0n) {
      if (claims.length !== 0) violations.push(`${id}: cost 0 but claimed ${claims.join(', ')}`);
      continue;
    }
    if (machine.state === 'Recovery') {
      if (!recoveryKeys.has(id)) violations.push(`${id}: in Recovery without a recovery entry`);
      continue;
    }
    if (claims.length !== 1 || claims[0] !== owed) violations.push(`${id}: ${machine.state}, claims [${claims.join(', ')}], owed ${owed}`);
    const context = machine.context as JobContext;
    if (context.terms.payee.toLowerCase() !== fixture.payee.address.toLowerCase()) violations.push(`${id}: payee ${context.terms.payee}`);
  }
  for (const key of recoveryKeys) {
    if (finals.get(key)?.state !== 'Recovery') violations.push(`recovery entry ${key} for a machine that is ${finals.get(key)?.state ?? 'unknown'}`);
  }
  return { swapStates: count('swap'), jobStates: count('job'), transfers, claimed, recoveryEntries: entries.length, violations };
}
