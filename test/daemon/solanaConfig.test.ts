/**
 * The daemon's configuration for the Solana swap manager: the example file, defaults, every
 * problem at once with its path (never a secret), the keys loaded, and the cluster checked by
 * its genesis hash at start.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSolanaRpc } from '@solana/kit';
import { stringify as toYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKeys } from '../../src/daemon/chainPorts.ts';
import { loadConfig, type SolanaSwapsConfig } from '../../src/daemon/config.ts';
import { checkCluster } from '../../src/daemon/swapPorts.ts';
import { EndpointUnreachable } from '../../src/chains/substrate/substrateChain.ts';
import { ClusterMismatch, ConfigError } from '../../src/errors.ts';
import { FakeCluster } from '../support/solana/fakeCluster.ts';
import { newKeypair } from '../support/solana/keys.ts';

const DEVNET = 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG';
let dir: string;
const miner = newKeypair();
const NONCE = newKeypair().address;
const solDest = (over: Record<string, unknown> = {}) => ({
  type: 'solana',
  rpcUrl: 'https://api.devnet.solana.com',
  key: { file: 'keys/id.json' },
  asset: 'sol',
  nonceAccounts: [NONCE],
  ...over,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-solcfg-'));
  mkdirSync(join(dir, 'keys'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, 'keys', name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

function minimal(over: Record<string, unknown> = {}): Record<string, unknown> {
  keyFile('id.json', miner.json);
  return {
    dataDir: './data',
    swaps: {
      contract: 'solana',
      solana: { rpcUrl: 'https://api.devnet.solana.com', cluster: 'devnet', keypair: { file: 'keys/id.json' } },
      destinations: { sol: solDest() },
      ...over,
    },
  };
}

const load = (raw: unknown) => loadConfig(writeConfig(raw));
function writeConfig(raw: unknown): string {
  const path = join(dir, 'settle.yaml');
  writeFileSync(path, toYaml(raw));
  return path;
}

function problems(raw: unknown): string[] {
  try {
    load(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('accepted');
}

describe('swaps.contract: solana', () => {
  it('the example file loads: the swap manager on mainnet, SOL, TAO and ETH destinations', () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      SETTLE_SOL_KEY: miner.json,
      SETTLE_TAO_KEY: '//Bob',
      SETTLE_ETH_KEY: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
      SETTLE_BASE_KEY: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
      SETTLE_BTC_WIF: 'KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617', // the Bitcoin wiki's WIF vector
    });
    try {
      const config = loadConfig(fileURLToPath(new URL('../../docs/daemon/settle.example.yaml', import.meta.url)));
      const swaps = config.swaps as SolanaSwapsConfig;
      expect(swaps.contract).toBe('solana');
      expect(swaps.solana).toMatchObject({
        cluster: 'mainnet',
        programId: '6JVBEj5w27J2SVjERmv2c7wXgFee9nSSBKUJevHehyBD',
        markTimeoutSecs: 90,
      });
      expect(Object.keys(swaps.destinations)).toEqual(['tao', 'eth', 'baseusdc', 'sol', 'solusdc', 'btc']);
      expect(config.jobs!.chains['base']!.chainId).toBe(8453);
    } finally {
      process.env = saved;
    }
  });

  it('applies the defaults: the reference program id, a 216 s cushion, 90 s to follow a mark, 100 signatures of history', () => {
    const swaps = load(minimal()).swaps as SolanaSwapsConfig;
    expect(swaps.solana).toEqual({
      rpcUrl: 'https://api.devnet.solana.com',
      cluster: 'devnet',
      programId: '6JVBEj5w27J2SVjERmv2c7wXgFee9nSSBKUJevHehyBD',
      keypair: { file: join(dir, 'keys/id.json') },
      markTimeoutSecs: 90,
      historyLimit: 100,
    });
    expect(swaps.cushionSecs).toBe(216);
    expect(swaps.subtensor).toBeUndefined();
  });

  it('reports every problem at once, each with its path, never quoting a key', () => {
    keyFile('bad.json', '[1,2,3]');
    keyFile('open.json', miner.json, 0o644);
    const raw = minimal({
      solana: {
        rpcUrl: 'ws://node:8900',
        cluster: 'mainnet-beta',
        programId: 'not-base58!',
        keypair: { file: 'keys/bad.json' },
        markTimeoutSecs: 0,
      },
      cushionSecs: -1,
      destinations: {
        sol: solDest({ key: { file: 'keys/open.json' } }),
        ethereum: { type: 'evm', rpcUrl: 'https://eth.example', chainId: 1, key: { env: 'SETTLE_SOLCFG_UNSET' } },
        tao: { type: 'subtensor', key: { env: 'SETTLE_SOLCFG_UNSET' } },
      },
    });
    const found = problems(raw);
    const paths = found.map((p) => p.slice(0, p.indexOf(': ')));
    expect(paths).toEqual(
      expect.arrayContaining([
        'swaps.solana.rpcUrl',
        'swaps.solana.cluster',
        'swaps.solana.programId',
        'swaps.solana.keypair',
        'swaps.solana.markTimeoutSecs',
        'swaps.cushionSecs',
        'swaps.destinations.sol.key',
        'swaps.destinations.ethereum.key',
      ]),
    );
    expect(found.find((p) => p.startsWith('swaps.solana.cluster'))).toMatch(/mainnet, devnet, testnet/);
    expect(found.find((p) => p.startsWith('swaps.solana.keypair'))).toMatch(/does not hold a Solana keypair/);
    expect(found.find((p) => p.startsWith('swaps.destinations.sol.key'))).toMatch(/mode 0644/);
    expect(found.join('\n')).not.toContain(miner.json.slice(1, 30));
  });

  it('refuses destination names the swap manager does not use, and a TAO destination without a Subtensor', () => {
    keyFile('tao', '//Bob\n');
    const found = problems(
      minimal({
        destinations: {
          ethereum: solDest(),
          tao: { type: 'subtensor', key: { file: 'keys/tao' } },
        },
      }),
    );
    expect(found).toContain(
      "swaps.destinations.ethereum: 'ethereum' is not a destination chain id of the swap manager (btc, sol, solusdc, tao, eth, ...)",
    );
    expect(found).toContain("swaps.subtensor: a Subtensor URL for the TAO destination 'tao'");
  });

  it('names the contracts it knows when the contract is another', () => {
    expect(problems(minimal({ contract: 'evm' }))).toEqual([
      expect.stringMatching(/^swaps\.contract: the swap contract: contract: solana, or contract: ink/),
    ]);
  });

  it("loads the miner's keypair and the SOL payout key", async () => {
    const config = load(minimal());
    const keys = await loadKeys(config, join(dir, 'settle.yaml'));
    expect(keys.solanaMiner?.address).toBe(miner.address);
    expect(keys.hotkey).toBeNull();
    expect((keys.destinations.get('sol') as { address: string }).address).toBe(miner.address);
  });
});

describe('the cluster, checked at start by its genesis hash', () => {
  it('passes the named cluster, refuses another naming both, and says unreachable when nothing answers', async () => {
    const cluster = new FakeCluster(DEVNET, 1_780_000_000);
    const url = await cluster.listen();
    const rpc = createSolanaRpc(url);
    try {
      await expect(checkCluster(() => rpc.getGenesisHash().send().then(String), 'devnet')).resolves.toBeUndefined();
      const refused = checkCluster(() => rpc.getGenesisHash().send().then(String), 'mainnet');
      await expect(refused).rejects.toBeInstanceOf(ClusterMismatch);
      await expect(checkCluster(() => rpc.getGenesisHash().send().then(String), 'mainnet')).rejects.toThrow(
        `swaps.solana: the endpoint serves the cluster with genesis hash ${DEVNET}, not mainnet (5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d)`,
      );
    } finally {
      await cluster.close();
    }
    await expect(checkCluster(() => rpc.getGenesisHash().send().then(String), 'devnet')).rejects.toBeInstanceOf(
      EndpointUnreachable,
    );
  });
});
