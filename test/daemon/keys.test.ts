/**
 * loadKeys: every key of the configuration parsed before anything connects, all problems at
 * once with their configuration paths, none revealing a secret; and Secret, which never
 * prints its value.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Wallet } from 'ethers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKeys } from '../../src/daemon/chainPorts.ts';
import { loadConfig, type DaemonConfig } from '../../src/daemon/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { loadSecret, Secret } from '../../src/daemon/secrets.ts';
import {
  DEFAULT_CLAIM_INTERVAL_SECS,
  DEFAULT_FIRST_CLAIM_DELAY_SECS,
  DEFAULT_MARGIN_BLOCKS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_POLL_INTERVAL_MS,
} from '../../src/defaults.ts';

const HARDHAT_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const HARDHAT_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const ALICE_SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BOB_SS58 = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const ENV_KEY = 'SETTLE_KEYS_TEST_EVM_KEY';

let dir: string;
let configFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-keys-'));
  configFile = join(dir, 'settle.yaml');
});

afterEach(() => {
  delete process.env[ENV_KEY];
  rmSync(dir, { recursive: true, force: true });
});

function keyFile(name: string, content: string): { file: string } {
  const file = join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, 0o600);
  return { file };
}

/**
 * A configuration as loadConfig returns it. Built by hand, not loaded: loadConfig already
 * checks that each source is readable, and loadKeys is the step that parses what is inside.
 */
function config(keys: {
  hotkey: { file: string } | { env: string };
  tao: { file: string } | { env: string };
  eth: { file: string } | { env: string };
  jobs: { file: string } | { env: string };
}): DaemonConfig {
  return {
    dataDir: join(dir, 'data'),
    log: { level: 'info' },
    maxBackoffMs: DEFAULT_MAX_BACKOFF_MS,
    swaps: {
      contract: 'ink',
      ink: { address: ALICE_SS58 },
      subtensor: { url: 'ws://127.0.0.1:9944' },
      hotkey: keys.hotkey,
      marginBlocks: DEFAULT_MARGIN_BLOCKS,
      pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
      minFreeBalance: 250_000_000n,
      firstSwapId: 0,
      eventLookbackBlocks: 256,
      destinations: {
        tao: { type: 'subtensor', key: keys.tao },
        eth: {
          type: 'evm',
          rpcUrl: 'http://127.0.0.1:8545',
          chainId: 31337,
          key: keys.eth,
          asset: 'native',
          confirmations: 2,
        },
      },
    },
    jobs: {
      feed: join(dir, 'feed.jsonl'),
      claimIntervalSec: DEFAULT_CLAIM_INTERVAL_SECS,
      firstRunDelaySec: DEFAULT_FIRST_CLAIM_DELAY_SECS,
      pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
      chains: {
        base: {
          rpcUrl: 'http://127.0.0.1:8545',
          chainId: 31337,
          escrow: HARDHAT_ADDRESS,
          escrowDeployBlock: 0,
          logChunkBlocks: 0,
          claimMethod: 'claimLocksAndWithdraw',
          key: keys.jobs,
          confirmations: 1,
        },
      },
    },
  };
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadKeys accepted the keys');
}

describe('loadKeys', () => {
  it('parses good keys: the hotkey, a TAO and an EVM destination, a job chain', async () => {
    const keys = await loadKeys(
      config({
        hotkey: keyFile('hotkey', '//Alice\n'),
        tao: keyFile('tao', '//Bob'),
        eth: keyFile('eth', `${HARDHAT_KEY}\n`),
        jobs: keyFile('jobs', HARDHAT_KEY),
      }),
      configFile,
    );
    expect(keys.hotkey!.address).toBe(ALICE_SS58);
    expect((keys.destinations.get('tao') as { address: string }).address).toBe(BOB_SS58);
    expect(keys.destinations.get('eth')).toBeInstanceOf(Wallet);
    expect((keys.destinations.get('eth') as Wallet).address).toBe(HARDHAT_ADDRESS);
    expect([...keys.jobChains.keys()]).toEqual(['base']);
    expect(keys.jobChains.get('base')!.address).toBe(HARDHAT_ADDRESS);
  });

  it('takes a key from an environment variable', async () => {
    process.env[ENV_KEY] = `  ${HARDHAT_KEY}\n`;
    const keys = await loadKeys(
      config({
        hotkey: keyFile('hotkey', '//Alice'),
        tao: keyFile('tao', '//Bob'),
        eth: { env: ENV_KEY },
        jobs: { env: ENV_KEY },
      }),
      configFile,
    );
    expect((keys.destinations.get('eth') as Wallet).address).toBe(HARDHAT_ADDRESS);
    expect(keys.jobChains.get('base')!.address).toBe(HARDHAT_ADDRESS);
  });

  it('needs no hotkey without swaps', async () => {
    const jobsOnly = {
      ...config({
        hotkey: { file: 'unused' },
        tao: { file: 'unused' },
        eth: { file: 'unused' },
        jobs: keyFile('jobs', HARDHAT_KEY),
      }),
      swaps: undefined,
    };
    const keys = await loadKeys(jobsOnly, configFile);
    expect(keys.hotkey).toBeNull();
    expect(keys.destinations.size).toBe(0);
    expect(keys.jobChains.get('base')!.address).toBe(HARDHAT_ADDRESS);
  });

  it('reports garbage in an EVM key file and in the hotkey file together, without the garbage', async () => {
    const evmGarbage = 'GARBAGE-not-a-private-key-0123';
    const hotkeyGarbage = 'GARBAGE-hot-key-words!';
    const eth = keyFile('eth', `${evmGarbage}\n`);
    const hotkey = keyFile('hotkey', `${hotkeyGarbage}\n`);
    const error = await configError(
      loadKeys(config({ hotkey, tao: keyFile('tao', '//Bob'), eth, jobs: keyFile('jobs', HARDHAT_KEY) }), configFile),
    );
    expect(error.file).toBe(configFile);
    expect(error.problems).toEqual([
      `swaps.hotkey: file ${hotkey.file} does not hold a Substrate secret (a mnemonic, a 0x seed, or a //derivation URI)`,
      `swaps.destinations.eth.key: file ${eth.file} does not hold an EVM private key (0x and 64 hex digits)`,
    ]);
    for (const text of [error.message, ...error.problems, String(error.stack)]) {
      expect(text).not.toContain('GARBAGE');
    }
  });

  it('reports a key that loadConfig accepted but that went away meanwhile, with its path', async () => {
    const error = await configError(
      loadKeys(
        config({
          hotkey: keyFile('hotkey', '//Alice'),
          tao: keyFile('tao', '//Bob'),
          eth: keyFile('eth', HARDHAT_KEY),
          jobs: { env: ENV_KEY },
        }),
        configFile,
      ),
    );
    expect(error.problems).toEqual([`jobs.chains.base.key: environment variable ${ENV_KEY} is not set`]);
  });

  it('refuses a TAO destination key equal to the hotkey, with its path', async () => {
    const error = await configError(
      loadKeys(
        config({
          hotkey: keyFile('hotkey', '//Alice'),
          tao: keyFile('tao', '//Alice\n'),
          eth: keyFile('eth', HARDHAT_KEY),
          jobs: keyFile('jobs', HARDHAT_KEY),
        }),
        configFile,
      ),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^swaps\.destinations\.tao\.key: the TAO account is the hotkey/);
    expect(error.message).not.toContain('//Alice');
  });

  it('works on a configuration read by loadConfig', async () => {
    keyFile('hotkey', '//Alice');
    keyFile('tao', '//Bob');
    keyFile('jobs', HARDHAT_KEY);
    writeFileSync(
      configFile,
      [
        'dataDir: data',
        'swaps:',
        '  subtensor: { url: "ws://127.0.0.1:9944" }',
        `  contract: { address: "${ALICE_SS58}" }`,
        '  hotkey: { file: hotkey }',
        '  destinations:',
        '    tao: { type: subtensor, key: { file: tao } }',
        'jobs:',
        '  feed: feed.jsonl',
        '  chains:',
        `    base: { rpcUrl: "http://127.0.0.1:8545", chainId: 31337, escrow: "${HARDHAT_ADDRESS}", key: { file: jobs } }`,
        '',
      ].join('\n'),
    );
    const keys = await loadKeys(loadConfig(configFile), configFile);
    expect(keys.hotkey!.address).toBe(ALICE_SS58);
    expect((keys.destinations.get('tao') as { address: string }).address).toBe(BOB_SS58);
    expect(keys.jobChains.get('base')!.address).toBe(HARDHAT_ADDRESS);
  });

  // @polkadot's createFromUri takes any phrase of 32 bytes or less that is not 12..24 words as
  // a raw seed, padded with spaces: a typo'd hotkey file would start a daemon on an account
  // nobody registered, which silently never sees a swap.
  it('refuses a hotkey file holding a plain word, which is none of the accepted forms', async () => {
    const hotkey = keyFile('hotkey', 'garbage\n');
    const error = await configError(
      loadKeys(
        config({
          hotkey,
          tao: keyFile('tao', '//Bob'),
          eth: keyFile('eth', HARDHAT_KEY),
          jobs: keyFile('jobs', HARDHAT_KEY),
        }),
        configFile,
      ),
    );
    expect(error.problems).toEqual([
      `swaps.hotkey: file ${hotkey.file} does not hold a Substrate secret (a mnemonic, a 0x seed, or a //derivation URI)`,
    ]);
  });
});

describe('Secret', () => {
  it('never prints its value: JSON, String, template, util.inspect', () => {
    const secret = new Secret(HARDHAT_KEY, 'file /etc/settle/eth');
    const shown = '[secret from file /etc/settle/eth]';
    expect(JSON.stringify(secret)).toBe(JSON.stringify(shown));
    expect(JSON.stringify({ key: secret })).toBe(`{"key":"${shown}"}`);
    expect(String(secret)).toBe(shown);
    expect(`${secret}`).toBe(shown);
    expect(inspect(secret)).toBe(shown);
    expect(inspect({ nested: { secret } }, { depth: 5 })).not.toContain(HARDHAT_KEY.slice(2));
    expect(Object.keys(secret)).not.toContain('value');
    expect(secret.reveal()).toBe(HARDHAT_KEY);
  });

  it('loaded from a file or the environment, names its origin and trims the value', () => {
    const fromFile = loadSecret(keyFile('k', `${HARDHAT_KEY}\n`));
    expect(String(fromFile)).toBe(`[secret from file ${join(dir, 'k')}]`);
    expect(fromFile.reveal()).toBe(HARDHAT_KEY);
    const fromEnv = loadSecret({ env: ENV_KEY }, { [ENV_KEY]: ` ${HARDHAT_KEY} ` });
    expect(inspect(fromEnv)).toBe(`[secret from environment variable ${ENV_KEY}]`);
    expect(fromEnv.reveal()).toBe(HARDHAT_KEY);
  });
});
