/**
 * A local EVM node for tests and benchmarks: `hardhat node` (a project dependency) started as
 * a child process on 127.0.0.1 and a free port.
 *
 * One node serves every file a vitest worker runs (the worker keeps its modules between files,
 * vitest.config.ts): `stop()` hands the node back and the next `startEvmNode` resets it with
 * `hardhat_reset` (genesis again: balances, blocks, clock, mining mode from the config), so
 * each file still meets a fresh chain. Why: a start costs about a second of CPU, and npm test
 * started twelve. A node in use is never handed out twice (a file may hold two at once).
 * Nodes die with this process: on its exit, and when its stdin pipe closes (a worker killed
 * by a signal runs no exit handler; exitWithParent.cjs makes the node notice).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HDNodeWallet, JsonRpcProvider, type Wallet } from 'ethers';
import { freePort } from './freePort.ts';

const CONFIG = fileURLToPath(new URL('../evm/hardhat.config.cjs', import.meta.url));
const EXIT_WITH_PARENT = fileURLToPath(new URL('./exitWithParent.cjs', import.meta.url));
/** Hardhat's well-known development mnemonic: its accounts hold test ether only. */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
/** Idle nodes kept per chain id; more are stopped when handed back. */
const MAX_IDLE_PER_CHAIN = 2;

export interface EvmNode {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  /** Funded development accounts, as wallets that sign locally. */
  wallet(index: number): Wallet;
  /** Moves the chain's clock forward and mines a block. */
  increaseTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

/** A running `hardhat node` process. */
interface NodeProcess {
  readonly url: string;
  readonly chainId: number;
  readonly child: ChildProcess;
}

/** chain id -> nodes started by this process and not in use. */
const idle = new Map<number, NodeProcess[]>();

/** Whether a node answers on `url` yet. */
const answers = (url: string): Promise<boolean> =>
  rpc(url, 'eth_chainId', []).then(
    () => true,
    () => false,
  );

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method} on ${url}: ${body.error.message}`);
  return body.result;
}

async function spawnNode(timeoutMs: number, chainId: number): Promise<NodeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cli = createRequire(import.meta.url).resolve('hardhat/internal/cli/cli.js');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--require', EXIT_WITH_PARENT, cli, '--config', CONFIG, 'node', '--hostname', '127.0.0.1', '--port', String(port)],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', SETTLE_HARDHAT_CHAIN_ID: String(chainId) },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  process.once('exit', () => void child.kill('SIGKILL'));
  // An idle node must not keep this process alive (a benchmark, `npm run torture`): it ends with it.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(url))) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`hardhat node did not answer on ${url} within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, chainId, child };
}

/** An idle node of this chain reset to genesis, or a new one. */
async function leaseNode(timeoutMs: number, chainId: number): Promise<NodeProcess> {
  const pool = idle.get(chainId) ?? [];
  for (let node = pool.pop(); node !== undefined; node = pool.pop()) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
    if ((await rpc(node.url, 'hardhat_reset', []).catch(() => false)) === true) return node;
    node.child.kill('SIGKILL');
  }
  return spawnNode(timeoutMs, chainId);
}

async function stopNode(node: NodeProcess): Promise<void> {
  const { child } = node;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function startEvmNode(timeoutMs = 60_000, chainId = 31337): Promise<EvmNode> {
  const node = await leaseNode(timeoutMs, chainId);
  const { url } = node;
  // No response cache: nonces and receipts must be read fresh every time.
  const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  let handedBack = false;
  return {
    url,
    provider,
    wallet: (index) =>
      HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).connect(
        provider,
      ) as unknown as Wallet,
    increaseTime: async (seconds) => {
      await provider.send('evm_increaseTime', [seconds]);
      await provider.send('evm_mine', []);
    },
    stop: async () => {
      if (handedBack) return;
      handedBack = true;
      provider.destroy();
      const pool = idle.get(chainId) ?? [];
      idle.set(chainId, pool);
      if (pool.length < MAX_IDLE_PER_CHAIN) pool.push(node);
      else await stopNode(node);
    },
  };
}
