/**
 * The daemon's configuration: defaults, paths taken from the config file's directory, YAML and
 * JSON alike, and every problem reported at once with its dotted path, never with a secret.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAddress } from 'ethers';
import { stringify as toYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBitcoinKey } from '../../src/daemon/bitcoinPorts.ts';
import { solanaKeypairText } from '../support/solanaKeys.ts';
import {
  DEFAULT_CLAIM_INTERVAL_SECS,
  DEFAULT_FIRST_CLAIM_DELAY_SECS,
  DEFAULT_MARGIN_BLOCKS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_POLL_INTERVAL_MS,
} from '../../src/defaults.ts';
import { loadConfig, type InkSwapsConfig } from '../../src/daemon/config.ts';
import { ConfigError } from '../../src/errors.ts';

const HARDHAT_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ALICE_SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
/** Checksummed, mixed case. */
const TOKEN = getAddress(`0x${'ab'.repeat(20)}`);
const ESCROW = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const ENV_KEY = 'SETTLE_CONFIG_TEST_BASE_KEY';
/** A Solana CLI keypair file's text: the seed 1..32 and its public key. */
const SOLANA_KEYPAIR = solanaKeypairText();
const UNSET_ENV = 'SETTLE_CONFIG_TEST_NEVER_SET';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-config-'));
  mkdirSync(join(dir, 'keys'));
  process.env[ENV_KEY] = HARDHAT_KEY;
  delete process.env[UNSET_ENV];
});

afterEach(() => {
  delete process.env[ENV_KEY];
  rmSync(dir, { recursive: true, force: true });
});

function keyFile(relative: string, content: string, mode = 0o600): string {
  const path = join(dir, relative);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

function write(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A configuration with both sections, as an operator would write it (paths relative). */
function validRaw(absoluteJobKey: string): Record<string, unknown> {
  return {
    dataDir: './data',
    swaps: {
      subtensor: { url: 'wss://entrypoint-finney.opentensor.ai:443' },
      contract: { address: ALICE_SS58, metadata: 'allways.json' },
      hotkey: { file: 'keys/hotkey' },
      destinations: {
        tao: { type: 'subtensor', key: { file: 'keys/tao' } },
        base: {
          type: 'evm',
          rpcUrl: 'https://mainnet.base.org',
          chainId: 8453,
          key: { env: ENV_KEY },
          asset: { erc20: TOKEN },
        },
        eth: { type: 'evm', rpcUrl: 'wss://eth.example', chainId: 1, key: { file: 'keys/eth' } },
      },
    },
    jobs: {
      feed: '../engine/jobs.jsonl',
      chains: {
        base: { rpcUrl: 'https://mainnet.base.org', chainId: 8453, escrow: ESCROW, key: { file: absoluteJobKey } },
      },
    },
  };
}

function writeValidKeys(): string {
  keyFile('keys/hotkey', '//Alice\n');
  keyFile('keys/tao', '//Bob\n');
  keyFile('keys/eth', `${HARDHAT_KEY}\n`);
  return keyFile('keys/jobs', `${HARDHAT_KEY}\n`);
}

function expectedConfig(absoluteJobKey: string) {
  return {
    dataDir: join(dir, 'data'),
    log: { level: 'info' },
    maxBackoffMs: DEFAULT_MAX_BACKOFF_MS,
    swaps: {
      // The older form (contract: { address, metadata }) reads as contract: ink.
      contract: 'ink',
      ink: { address: ALICE_SS58, metadata: join(dir, 'allways.json') },
      subtensor: { url: 'wss://entrypoint-finney.opentensor.ai:443' },
      hotkey: { file: join(dir, 'keys/hotkey') },
      marginBlocks: DEFAULT_MARGIN_BLOCKS,
      pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
      minFreeBalance: 250_000_000n,
      firstSwapId: 0,
      eventLookbackBlocks: 256,
      destinations: {
        tao: { type: 'subtensor', key: { file: join(dir, 'keys/tao') } },
        base: {
          type: 'evm',
          rpcUrl: 'https://mainnet.base.org',
          chainId: 8453,
          key: { env: ENV_KEY },
          asset: { erc20: TOKEN },
        },
        eth: {
          type: 'evm',
          rpcUrl: 'wss://eth.example',
          chainId: 1,
          key: { file: join(dir, 'keys/eth') },
          asset: 'native',
        },
      },
    },
    jobs: {
      feed: resolve(dir, '..', 'engine', 'jobs.jsonl'),
      claimIntervalSec: DEFAULT_CLAIM_INTERVAL_SECS,
      firstRunDelaySec: DEFAULT_FIRST_CLAIM_DELAY_SECS,
      pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
      chains: {
        base: {
          rpcUrl: 'https://mainnet.base.org',
          chainId: 8453,
          escrow: ESCROW,
          escrowDeployBlock: 0,
          logChunkBlocks: 0,
          claimMethod: 'claimLocksAndWithdraw',
          key: { file: absoluteJobKey },
          confirmations: 1,
        },
      },
    },
  };
}

/** The ConfigError loadConfig throws; fails the test if it returns. */
function configError(path: string): ConfigError {
  try {
    loadConfig(path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig(${path}) accepted the configuration`);
}

/** "a.b.c: message" -> "a.b.c". */
const pathOf = (problem: string): string => problem.slice(0, problem.indexOf(': '));

describe('loadConfig: a valid configuration', () => {
  it('loads YAML with every default applied and relative paths taken from the file directory', () => {
    const jobKey = writeValidKeys();
    const file = write('settle.yaml', toYaml(validRaw(jobKey)));
    const config = loadConfig(file);
    expect(config).toEqual(expectedConfig(jobKey));
    expect(typeof (config.swaps as InkSwapsConfig).minFreeBalance).toBe('bigint');
    expect(config.http).toBeUndefined();
  });

  it('resolves relative paths against the file, not the working directory', () => {
    const jobKey = writeValidKeys();
    const file = write('settle.yaml', toYaml(validRaw(jobKey)));
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      expect(loadConfig(file).dataDir).toBe(join(dir, 'data'));
      // A relative path to the configuration itself works too.
      process.chdir(join(dir, 'keys'));
      expect((loadConfig('../settle.yaml').swaps as InkSwapsConfig).hotkey).toEqual({ file: join(dir, 'keys/hotkey') });
    } finally {
      process.chdir(cwd);
    }
  });

  it('loads the same configuration written as JSON identically', () => {
    const jobKey = writeValidKeys();
    const fromYaml = loadConfig(write('settle.yaml', toYaml(validRaw(jobKey))));
    const fromJson = loadConfig(write('settle.json', JSON.stringify(validRaw(jobKey), null, 2)));
    expect(fromJson).toEqual(fromYaml);
    expect(fromJson).toEqual(expectedConfig(jobKey));
  });

  it('keeps amounts beyond 2^53 exact when written as strings', () => {
    const jobKey = writeValidKeys();
    const raw = validRaw(jobKey);
    (raw.swaps as Record<string, unknown>).minFreeBalance = '18446744073709551617';
    expect((loadConfig(write('settle.yaml', toYaml(raw))).swaps as InkSwapsConfig).minFreeBalance).toBe(
      18_446_744_073_709_551_617n,
    );
  });

  it('accepts jobs alone, and takes explicit values over the defaults', () => {
    const jobKey = writeValidKeys();
    const raw = validRaw(jobKey);
    delete raw.swaps;
    raw.http = { port: 9464 };
    raw.log = { level: 'debug' };
    (raw.jobs as Record<string, unknown>).claimIntervalSec = 600;
    const config = loadConfig(write('jobs-only.yaml', toYaml(raw)));
    expect(config.swaps).toBeUndefined();
    expect(config.http).toEqual({ port: 9464 });
    expect(config.log).toEqual({ level: 'debug' });
    expect(config.jobs!.claimIntervalSec).toBe(600);
  });
});

describe('loadConfig: job chains by network name (the address book of @oceanprotocol/contracts)', () => {
  function withChains(chains: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    const raw = validRaw(writeValidKeys());
    delete raw.swaps;
    raw.jobs = { ...(raw.jobs as object), chains, ...extra };
    return write('network.yaml', toYaml(raw));
  }
  const key = () => ({ file: join(dir, 'keys/jobs') });

  it("takes the Escrow address, chain id and start block from the network's entry", () => {
    const config = loadConfig(
      withChains({ base: { network: 'base', rpcUrl: 'https://mainnet.base.org', key: key() } }),
    );
    expect(config.jobs!.chains['base']).toMatchObject({
      network: 'base',
      chainId: 8453,
      escrow: '0x43eC0a34E1b70C7f8E579ab866F37642777727E7',
      escrowDeployBlock: 30562198,
      claimMethod: 'claimLocksAndWithdraw',
    });
    const sepolia = loadConfig(
      withChains({
        s: {
          network: 'sepolia',
          rpcUrl: 'https://rpc.sepolia.org',
          key: key(),
          claimMethod: 'claimLocks',
          escrowDeployBlock: 7,
        },
      }),
    );
    expect(sepolia.jobs!.chains['s']).toMatchObject({
      chainId: 11155111,
      escrow: '0xd09789Ce05aa0f6feFc18315de4964Db07Cc0618',
      escrowDeployBlock: 7,
      claimMethod: 'claimLocks',
    });
  });

  it('keeps an explicit escrow (another deployment), on a network or alone', () => {
    const onNetwork = loadConfig(
      withChains({ op: { network: 'optimism', rpcUrl: 'https://op.example', escrow: ESCROW, key: key() } }),
    );
    expect(onNetwork.jobs!.chains['op']).toMatchObject({ chainId: 10, escrow: ESCROW });
  });

  it('refuses an unknown network, one without an Escrow, a contradicting chain id, and a chain with neither', () => {
    const error = configError(
      withChains({
        a: { network: 'atlantis', rpcUrl: 'https://a.example', key: key() },
        b: { network: 'polygon', rpcUrl: 'https://b.example', key: key() },
        c: { network: 'base', chainId: 10, rpcUrl: 'https://c.example', key: key() },
        d: { rpcUrl: 'https://d.example', key: key() },
      }),
    );
    const problems = Object.fromEntries(error.problems.map((p) => [pathOf(p), p]));
    expect(problems['jobs.chains.a.network']).toMatch(
      /'atlantis' is not in @oceanprotocol\/contracts 2\.6\.0 addresses\/address\.json \(networks with an Escrow: base, mainnet, oasis_sapphire, optimism, optimism_sepolia, sepolia\)/,
    );
    expect(problems['jobs.chains.b.network']).toMatch(/'polygon' has no Escrow/);
    expect(problems['jobs.chains.c.chainId']).toMatch(/network 'base' is chain id 8453, not 10/);
    expect(problems['jobs.chains.d.chainId']).toMatch(/required without network/);
    expect(problems['jobs.chains.d.escrow']).toMatch(/required without network/);
  });

  it('takes ocean-node as the job source instead of a feed, never both', () => {
    const config = loadConfig(
      withChains(
        { base: { network: 'base', rpcUrl: 'https://mainnet.base.org', key: key() } },
        { feed: undefined, oceanNode: { database: 'ocean/databases/c2dDatabase.sqlite', config: 'ocean/config.json' } },
      ),
    );
    expect(config.jobs!.oceanNode).toEqual({
      database: join(dir, 'ocean/databases/c2dDatabase.sqlite'),
      config: join(dir, 'ocean/config.json'),
    });
    const both = configError(
      withChains(
        { base: { network: 'base', rpcUrl: 'https://mainnet.base.org', key: key() } },
        { oceanNode: { database: 'x.sqlite' } },
      ),
    );
    expect(both.problems.join('\n')).toMatch(/exactly one source/);
  });
});

describe('loadConfig: every problem at once', () => {
  const HOTKEY_SECRET = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

  function badConfig(): string {
    keyFile('keys/hotkey', `${HOTKEY_SECRET}\n`, 0o644);
    const good = getAddress(`0x${'cd'.repeat(20)}`);
    // Flip the case of one letter: still mixed case, no longer the checksum.
    const index = [...good].findIndex((c, i) => i > 1 && /[a-f]/i.test(c));
    const wrongChecksum =
      good.slice(0, index) +
      (good[index] === good[index]!.toUpperCase() ? good[index]!.toLowerCase() : good[index]!.toUpperCase()) +
      good.slice(index + 1);
    expect(wrongChecksum.toLowerCase()).toBe(good.toLowerCase());
    expect(wrongChecksum).not.toBe(good);
    return write(
      'bad.yaml',
      toYaml({
        dataDir: 'data',
        bogus: 1,
        log: { level: 'loud' },
        http: { port: 70_000 },
        maxBackoffMs: 'fast',
        swaps: {
          subtensor: { url: 'http://node.example:9944' },
          contract: { address: `${ALICE_SS58.slice(0, -1)}Z` },
          hotkey: { file: 'keys/hotkey' },
          marginBlocks: '3',
          extra: true,
          destinations: {},
        },
        jobs: {
          feed: 'feed.jsonl',
          chains: {
            base: { rpcUrl: 'not a url', chainId: 8453, escrow: '0x1234', key: { file: 'keys/missing' } },
            op: {
              rpcUrl: 'https://op.example',
              chainId: '10',
              escrow: wrongChecksum,
              key: { env: UNSET_ENV },
              surplus: 1,
            },
            arb: {
              rpcUrl: 'https://arb.example',
              chainId: 42161,
              escrow: ESCROW,
              key: { env: ENV_KEY, file: 'keys/hotkey' },
            },
          },
        },
      }),
    );
  }

  it('lists each problem with its dotted path in one ConfigError', () => {
    const error = configError(badConfig());
    expect(error.file).toBe(join(dir, 'bad.yaml'));
    // One problem per path here: the exact list, in any order.
    expect([...error.problems.map(pathOf)].sort()).toEqual(
      [
        '(top level)',
        'log.level',
        'http.port',
        'maxBackoffMs',
        'swaps',
        'swaps.subtensor.url',
        'swaps.contract.address',
        'swaps.hotkey',
        'swaps.marginBlocks',
        'swaps.destinations',
        'jobs.chains.base.rpcUrl',
        'jobs.chains.base.escrow',
        'jobs.chains.base.key',
        'jobs.chains.op',
        'jobs.chains.op.chainId',
        'jobs.chains.op.escrow',
        'jobs.chains.op.key',
        'jobs.chains.arb.key',
      ].sort(),
    );
  });

  it('says what is wrong in each problem, naming unknown keys and files, without the secret', () => {
    const error = configError(badConfig());
    const problem = (path: string, pattern: RegExp) =>
      expect(error.problems.filter((p) => pathOf(p) === path && pattern.test(p))).toHaveLength(1);
    problem('(top level)', /Unrecognized key: "bogus"/);
    problem('swaps', /Unrecognized key: "extra"/);
    problem('jobs.chains.op', /Unrecognized key: "surplus"/);
    problem('http.port', /65535/);
    problem('swaps.subtensor.url', /ws:\/\/ or wss:\/\//);
    problem('swaps.contract.address', /SS58/);
    problem('swaps.hotkey', new RegExp(`key file ${join(dir, 'keys/hotkey')} has mode 0644.*chmod 600`));
    problem('swaps.destinations', /at least one destination/);
    problem('jobs.chains.base.rpcUrl', /a URL/);
    problem('jobs.chains.base.escrow', /EVM address/);
    problem('jobs.chains.op.escrow', /checksummed/);
    problem('jobs.chains.base.key', new RegExp(`key file ${join(dir, 'keys/missing')} cannot be read: ENOENT`));
    problem('jobs.chains.op.key', new RegExp(`environment variable ${UNSET_ENV} is not set`));
    problem('jobs.chains.arb.key', /a key source/);
    // The mode-0644 file's contents and the set variable's value are never shown.
    for (const text of [error.message, ...error.problems]) {
      expect(text).not.toContain('bottom drive');
      expect(text).not.toContain(HARDHAT_KEY.slice(2, 20));
    }
    expect(error.message).toContain(join(dir, 'bad.yaml'));
    expect(error.message).toContain(`${error.problems.length} problems`);
  });

  it('refuses a configuration with neither swaps nor jobs, alongside its other problems', () => {
    const error = configError(write('idle.yaml', 'dataDir: data\nhttp: { port: 0 }\n'));
    expect(error.problems).toEqual([
      'http.port: Too small: expected number to be >=1',
      '(top level): nothing to do: configure swaps, jobs, or both',
    ]);
  });

  it('refuses empty chains under jobs and a bad chain name', () => {
    const jobKey = writeValidKeys();
    const raw = validRaw(jobKey);
    (raw.jobs as Record<string, unknown>).chains = {};
    ((raw.swaps as Record<string, unknown>).destinations as Record<string, unknown>).Bad_Chain = {
      type: 'subtensor',
      key: { file: 'keys/tao' },
    };
    const error = configError(write('settle.yaml', toYaml(raw)));
    expect(error.problems.map(pathOf).sort()).toEqual(['jobs.chains', 'swaps.destinations.Bad_Chain']);
  });

  it('refuses a key source giving both a file and an environment variable', () => {
    const jobKey = writeValidKeys();
    const raw = validRaw(jobKey);
    (raw.swaps as Record<string, unknown>).hotkey = { file: 'keys/hotkey', env: ENV_KEY };
    const error = configError(write('settle.yaml', toYaml(raw)));
    expect(error.problems).toEqual(['swaps.hotkey: a key source: { file: <path, mode 0600> } or { env: <VARIABLE> }']);
  });

  it('refuses an empty key file and a key file that is a directory', () => {
    const jobKey = writeValidKeys();
    keyFile('keys/tao', '  \n');
    mkdirSync(join(dir, 'keys/eth.d'));
    const raw = validRaw(jobKey);
    const destinations = (raw.swaps as Record<string, Record<string, unknown>>).destinations!;
    (destinations.eth as Record<string, unknown>).key = { file: 'keys/eth.d' };
    const error = configError(write('settle.yaml', toYaml(raw)));
    expect(error.problems).toEqual([
      `swaps.destinations.tao.key: key file ${join(dir, 'keys/tao')} is empty`,
      `swaps.destinations.eth.key: key file ${join(dir, 'keys/eth.d')} is not a regular file`,
    ]);
  });
});

describe('loadConfig: files that cannot be read as a configuration', () => {
  it('names a missing file', () => {
    const error = configError(join(dir, 'nowhere.yaml'));
    expect(error.file).toBe(join(dir, 'nowhere.yaml'));
    expect(error.problems).toEqual(['cannot read: ENOENT']);
    expect(error.message).toContain(join(dir, 'nowhere.yaml'));
  });

  it('names a directory given as the file', () => {
    const error = configError(join(dir, 'keys'));
    expect(error.problems).toEqual(['cannot read: EISDIR']);
    expect(error.message).toContain(join(dir, 'keys'));
  });

  it.each([
    ['an unclosed flow sequence', 'dataDir: [data\n'],
    ['broken JSON', '{"dataDir": "data",, }'],
    ['a tab-indented block', 'swaps:\n\tsubtensor: x\n'],
  ])('names the file and says it is not YAML or JSON: %s', (_, text) => {
    const file = write('broken.yaml', text);
    const error = configError(file);
    expect(error.message).toContain(file);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^not YAML or JSON: \S/);
  });

  it('refuses YAML that is not a mapping, at the top level', () => {
    const error = configError(write('scalar.yaml', 'just some words\n'));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^\(top level\): .*expected object/);
  });
});

describe('the example configuration in docs/daemon', () => {
  it('is valid as documented, given its keys in the environment', () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      SETTLE_HOTKEY: '//Alice',
      SETTLE_TAO_KEY: '//Bob',
      SETTLE_ETH_KEY: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
      SETTLE_BASE_KEY: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
      SETTLE_SOL_KEY: SOLANA_KEYPAIR,
      SETTLE_BTC_WIF: 'KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617', // the Bitcoin wiki's WIF vector
    });
    try {
      const config = loadConfig(fileURLToPath(new URL('../../docs/daemon/settle.ink.example.yaml', import.meta.url)));
      expect(config.swaps!.contract).toBe('ink');
      expect(Object.keys(config.swaps!.destinations)).toEqual(['tao', 'eth', 'baseusdc', 'sol', 'solusdc', 'btc']);
      const btc = config.swaps!.destinations['btc'];
      expect(btc?.type === 'bitcoin' && loadBitcoinKey(btc)).toMatchObject({ kind: 'bitcoin' });
      expect(config.jobs!.chains['base']!.chainId).toBe(8453);
      expect(config.http).toEqual({ port: 9464 });
    } finally {
      process.env = saved;
    }
  });
});

describe('key contents', () => {
  it('are checked with every other problem, in the same report, without quoting them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'settle-keys-'));
    const key = (name: string, value: string): string => {
      const path = join(dir, name);
      writeFileSync(path, `${value}\n`, { mode: 0o600 });
      return path;
    };
    const hotkey = key('hotkey', 'garbage');
    const eth = key('eth', 'not-a-key-0x1234');
    const base = key('base', `0x${'00'.repeat(32)}`); // zero: not a private key
    writeFileSync(
      join(dir, 'settle.yaml'),
      toYaml({
        dataDir: './data',
        http: { port: 0 },
        swaps: {
          subtensor: { url: 'ws://127.0.0.1:9944' },
          contract: { address: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' },
          hotkey: { file: hotkey },
          destinations: { eth: { type: 'evm', rpcUrl: 'http://127.0.0.1:8545', chainId: 1, key: { file: eth } } },
        },
        jobs: {
          feed: './jobs.jsonl',
          chains: {
            base: {
              rpcUrl: 'http://127.0.0.1:8545',
              chainId: 1,
              escrow: '0x0000000000000000000000000000000000000001',
              key: { file: base },
            },
          },
        },
      }),
    );
    let error: ConfigError | null = null;
    try {
      loadConfig(join(dir, 'settle.yaml'));
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect([...error!.problems].sort()).toEqual(
      [
        'http.port: Too small: expected number to be >=1',
        `jobs.chains.base.key: file ${base} does not hold an EVM private key (0x and 64 hex digits)`,
        `swaps.destinations.eth.key: file ${eth} does not hold an EVM private key (0x and 64 hex digits)`,
        `swaps.hotkey: file ${hotkey} does not hold a Substrate secret (a mnemonic, a 0x seed, or a //derivation URI)`,
      ].sort(),
    );
    expect(error!.message).not.toMatch(
      /garbage|not-a-key|0x0000000000000000000000000000000000000000000000000000000000000000/,
    );
  });
});
