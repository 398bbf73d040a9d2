/**
 * Everything `settle daemon` needs to run as a real child process in a test: a local EVM node
 * (hardhat, with the project's Escrow and token) behind a TCP proxy that can go away, the fake
 * Subtensor with the allways contract, key files (mode 0600), a configuration file, a job
 * feed, and a way to start the daemon and watch its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdtempSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { Wallet } from 'ethers';
import { jobIdHex } from '../../src/chains/evm/evmEscrow.ts';
import { deployEscrow, type EscrowFixture } from './escrowFixture.ts';
import { startEvmNode, type EvmNode } from './evmNode.ts';
import { FakeSubtensor } from './fakeSubtensor/fakeSubtensor.ts';
import { startTcpProxy, type TcpProxy } from './tcpProxy.ts';

const SETTLE = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));
export const EVM_CHAIN_ID = 31337;
/** The EVM chain's name in the daemon's configuration (swap destination and job chain). */
export const EVM_CHAIN = 'eth';
/** Every rig swap's deposit: what its user pays the miner on the EVM chain, and where. */
export const DEPOSIT_WEI = 10n ** 15n;
export const MINER_DEPOSIT_ADDRESS = '0x000000000000000000000000000000000000dEaD';
/** Confirmations the rig's daemon requires of a deposit (the chain mines every 500 ms). */
export const DEPOSIT_CONFIRMATIONS = 2;

/** What a `settle` command run to its end printed, and how it exited. */
export interface SettleRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `settle <args>` in a child process, to its end; killed after `timeoutMs` (a hang fails the
 * test that waits for it). Never spawnSync: the fake Subtensor answers from this process.
 */
export function runSettle(args: readonly string[], timeoutMs = 120_000): Promise<SettleRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SETTLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface DaemonChild {
  readonly child: ChildProcess;
  /** Resolves true once the daemon logs that it started; false if it exited first. */
  readonly started: Promise<boolean>;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

export interface JobPlan {
  readonly id: bigint;
  readonly expiry: number;
  readonly lock: bigint;
  readonly cost: bigint;
}

/** Starts `settle daemon` on a configuration (with --init while no store exists yet); output to `log`. */
export function spawnSettleDaemon(
  configPath: string,
  dataDir: string,
  log: WriteStream,
  children: ChildProcess[],
  extraArgs: readonly string[] = [],
): DaemonChild {
  const init = !existsSync(join(dataDir, 'store', 'store.json'));
  const child = spawn(
    process.execPath,
    [SETTLE, 'daemon', '--config', configPath, ...(init ? ['--init'] : []), ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let text = '';
  const take = (chunk: Buffer): void => {
    text += chunk.toString();
    log.write(chunk);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<boolean>((resolve) => {
    child.stdout!.on('data', () => {
      if (text.includes('"msg":"daemon started"')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  return { child, started, exited, output: () => text };
}

export interface DaemonRig {
  readonly dir: string;
  readonly configPath: string;
  readonly dataDir: string;
  readonly evm: EvmNode;
  readonly evmProxy: TcpProxy;
  readonly fixture: EscrowFixture;
  readonly subtensor: FakeSubtensor;
  readonly hotkey: KeyringPair;
  readonly transferWallet: Wallet;
  readonly tokenAddress: string;
  /** Starts `settle daemon` (with --init while no store exists yet). */
  spawn(extraArgs?: readonly string[]): DaemonChild;
  /**
   * Assigns a swap to the miner whose destination is the EVM chain's coin, after its user's
   * deposit (DEPOSIT_WEI from `depositor` to MINER_DEPOSIT_ADDRESS) is mined on that chain: the
   * daemon verifies it there before paying (issue 16).
   */
  assignSwap(user: string, amount: bigint, timeoutBlocks?: number): Promise<bigint>;
  /** The users' side of every deposit: the EVM account swaps say their deposits come from. */
  readonly depositor: Wallet;
  /** Creates escrow locks for jobs (as the payee does) and reports them running. */
  startJobs(plans: readonly { lock: bigint; cost: bigint }[]): Promise<JobPlan[]>;
  report(job: JobPlan, phase: 'running' | 'ended' | 'published'): void;
  stop(): Promise<void>;
}

export interface DaemonRigOptions {
  readonly httpPort?: number;
  readonly subtensorBlockMs?: number;
  readonly claimIntervalSec?: number;
  readonly maxBackoffMs?: number;
  /** Written into the config as is (YAML lines at the top level), e.g. 'maxBackoffMs: 1000'. */
  readonly extraConfig?: string;
}

export async function startDaemonRig(options: DaemonRigOptions = {}): Promise<DaemonRig> {
  await cryptoWaitReady();
  const dir = mkdtempSync(join(tmpdir(), 'settle-daemon-'));
  const evm = await startEvmNode();
  const evmProxy = await startTcpProxy(Number(new URL(evm.url).port));
  const subtensor = await FakeSubtensor.start({ blockTimeMs: options.subtensorBlockMs ?? 250, finalityLag: 1 });
  const fixture = await deployEscrow(evm);
  // A real chain makes blocks whether or not we send: the claim schedule reads its clock from
  // block time, which an automine-only node freezes between transactions.
  await evm.provider.send('evm_setIntervalMining', [500]);
  const hotkey = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice');
  subtensor.endow(hotkey.address, 10n ** 12n);
  const transferWallet = evm.wallet(4);
  const depositor = evm.wallet(7);
  const writeKey = (name: string, secret: string): void =>
    writeFileSync(join(dir, name), `${secret}\n`, { mode: 0o600 });
  writeKey('hotkey.key', '//Alice');
  writeKey('transfer.key', transferWallet.privateKey);
  writeKey('payee.key', fixture.payee.privateKey);
  const evmUrl = `http://127.0.0.1:${evmProxy.port}`;
  const configPath = join(dir, 'settle.yaml');
  writeFileSync(
    configPath,
    `dataDir: ./data
log: { level: info }
maxBackoffMs: ${options.maxBackoffMs ?? 2000}
${options.httpPort === undefined ? '' : `http: { port: ${options.httpPort} }\n`}${options.extraConfig ?? ''}
swaps:
  subtensor: { url: "${subtensor.url}" }
  contract: { address: "${subtensor.contractAddress}" }
  hotkey: { file: ./hotkey.key }
  marginBlocks: 3
  pollIntervalMs: 200
  destinations:
    ${EVM_CHAIN}: { type: evm, rpcUrl: "${evmUrl}", chainId: ${EVM_CHAIN_ID}, key: { file: ./transfer.key }, confirmations: 1 }
  sources:
    ${EVM_CHAIN}: { confirmations: ${DEPOSIT_CONFIRMATIONS} }
jobs:
  feed: ./jobs.jsonl
  claimIntervalSec: ${options.claimIntervalSec ?? 2}
  firstRunDelaySec: 1
  pollIntervalMs: 200
  chains:
    ${EVM_CHAIN}: { rpcUrl: "${evmUrl}", chainId: ${EVM_CHAIN_ID}, escrow: "${fixture.escrow.target as string}", escrowDeployBlock: ${fixture.deployBlock}, key: { file: ./payee.key } }
`,
  );
  const dataDir = join(dir, 'data');
  const feed = join(dir, 'jobs.jsonl');
  const tokenAddress = await fixture.token.getAddress();
  const payer = fixture.payers[0]!;
  const log: WriteStream = createWriteStream(join(dir, 'daemon.log'), { flags: 'a' });
  const children: ChildProcess[] = [];

  const rig: DaemonRig = {
    dir,
    configPath,
    dataDir,
    evm,
    evmProxy,
    fixture,
    subtensor,
    hotkey,
    transferWallet,
    tokenAddress,
    spawn(extraArgs = []) {
      return spawnSettleDaemon(configPath, dataDir, log, children, extraArgs);
    },
    depositor,
    async assignSwap(user, amount, timeoutBlocks = 2_400) {
      const deposit = await depositor.sendTransaction({ to: MINER_DEPOSIT_ADDRESS, value: DEPOSIT_WEI });
      const receipt = await deposit.wait();
      return subtensor.contract.createSwap(
        {
          miner: hotkey.address,
          destChain: EVM_CHAIN,
          userDestAddress: user,
          destAmount: amount,
          sourceChain: EVM_CHAIN,
          sourceAmount: DEPOSIT_WEI,
          sourceTxHash: deposit.hash,
          sourceTxBlock: receipt!.blockNumber,
          userSourceAddress: depositor.address,
          minerSourceAddress: MINER_DEPOSIT_ADDRESS,
        },
        subtensor.best.number,
        timeoutBlocks,
      ).id;
    },
    async startJobs(plans) {
      const jobs: JobPlan[] = [];
      for (const plan of plans) {
        const [terms] = await fixture.lock(1, { amount: plan.lock, expirySeconds: 7 * 86_400 });
        const job = { id: BigInt(terms!.jobId), expiry: terms!.lock!.expiry, lock: plan.lock, cost: plan.cost };
        jobs.push(job);
        rig.report(job, 'running');
      }
      return jobs;
    },
    report(job, phase) {
      const line = {
        jobId: jobIdHex(job.id),
        chain: EVM_CHAIN,
        token: tokenAddress,
        payer: payer.address,
        lock: { amount: job.lock.toString(), expiry: job.expiry },
        phase,
        cost: phase === 'running' ? null : job.cost.toString(),
      };
      appendFileSync(feed, `${JSON.stringify(line)}\n`);
    },
    async stop() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      log.end();
      await subtensor.stop();
      await evmProxy.close();
      await evm.stop();
    },
  };
  return rig;
}
