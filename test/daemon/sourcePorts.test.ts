/**
 * swaps.sources in the daemon's configuration and the ports built from it: which source chains
 * are verified where and how deep (the reference's defaults, a miner's overrides), the explicit
 * opt-out logged at every start, a chain that cannot be verified refused with the key to set,
 * and the verifiers and balance readers working against the endpoints the tests serve (fake
 * Esplora, the LiteSVM Solana node).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETWORK, p2wpkh } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import { stringify as toYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SOURCE_CONFIRMATIONS, requiredConfirmations } from '../../src/chains/sourceConfirmations.ts';
import { loadConfig, type SwapsConfig } from '../../src/daemon/config.ts';
import { resolveSources, type SwapsSourcesInput } from '../../src/daemon/sourceConfig.ts';
import { buildSourcePorts, NoBalanceReader } from '../../src/daemon/sourcePorts.ts';
import { ConfigError } from '../../src/errors.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { startFakeEsplora, type FakeEsplora } from '../support/esplora/fakeEsplora.ts';
import { startSolanaTestNode, type SolanaTestNode } from '../support/solana/litesvmRpc.ts';
import { SolanaFixture } from '../support/solana/solanaFixture.ts';
import { newKeypair } from '../support/solana/keys.ts';

const miner = newKeypair();
const NONCE = newKeypair().address;
const SOLANA_RPC = 'https://api.devnet.solana.com';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-sources-'));
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'id.json'), miner.json);
  chmodSync(join(dir, 'keys', 'id.json'), 0o600);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const solDest = {
  type: 'solana',
  rpcUrl: SOLANA_RPC,
  key: { file: 'keys/id.json' },
  asset: 'sol',
  nonceAccounts: [NONCE],
};
const ethDest = { type: 'evm', rpcUrl: 'http://127.0.0.1:8545', key: { env: 'ETH_KEY' }, asset: 'eth' };

function config(swaps: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dataDir: './data',
    swaps: {
      contract: 'solana',
      solana: { rpcUrl: SOLANA_RPC, cluster: 'devnet', keypair: { file: 'keys/id.json' } },
      destinations: { sol: solDest },
      ...swaps,
    },
  };
}

function load(raw: unknown): SwapsConfig {
  const path = join(dir, 'settle.yaml');
  writeFileSync(path, toYaml(raw));
  return loadConfig(path).swaps!;
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

const resolved = (swaps: SwapsConfig) =>
  Object.fromEntries(resolveSources(swaps as SwapsSourcesInput).sources.map((s) => [s.chain, s]));

describe('confirmation defaults', () => {
  it("are the reference's per asset, and a configured count wins", () => {
    expect(DEFAULT_SOURCE_CONFIRMATIONS).toMatchObject({
      sol: 32,
      solusdc: 32,
      tao: 6,
      btc: 2,
      eth: 32,
      hype: 2,
      bnb: 15,
      avax: 2,
      cro: 2,
      pol: 100,
      arbusdc: 90,
      baseusdc: 120,
      ethusdc: 32,
      polusdc: 100,
      aster: 15,
      uni: 32,
      qnt: 32,
      paxg: 32,
    });
    expect(requiredConfirmations('btc', { btc: 6 })).toBe(6);
    expect(() => requiredConfirmations('localevm')).toThrow(/swaps\.sources\.localevm\.confirmations/);
  });
});

describe('swaps.sources in the configuration', () => {
  it('verifies every destination chain and the hub by default, over the endpoints already configured', () => {
    process.env.ETH_KEY = `0x${'11'.repeat(32)}`;
    const swaps = load(config({ destinations: { sol: solDest, eth: ethDest } }));
    delete process.env.ETH_KEY;
    const s = resolved(swaps);
    expect(s.sol).toEqual({
      chain: 'sol',
      kind: 'solana',
      rpcUrl: SOLANA_RPC,
      asset: { kind: 'sol' },
      confirmations: 32,
    });
    expect(s.solusdc).toMatchObject({
      kind: 'solana',
      asset: { kind: 'spl', mint: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU' },
    });
    expect(s.eth).toEqual({
      chain: 'eth',
      kind: 'evm',
      rpcUrl: 'http://127.0.0.1:8545',
      chainId: 1,
      asset: { kind: 'native' },
      confirmations: 32,
    });
    expect(s.tao).toBeUndefined(); // no Subtensor configured, and no TAO destination or source named
  });

  it("takes an EVM destination's deployment (chain id, token) for the same chain's deposits", () => {
    process.env.ETH_KEY = `0x${'11'.repeat(32)}`;
    const token = '0x00000000000000000000000000000000000000aa';
    const usdc = { ...ethDest, asset: 'ethusdc', chainId: 31337, token, decimals: 6 };
    const swaps = load(config({ destinations: { sol: solDest, ethusdc: usdc } }));
    delete process.env.ETH_KEY;
    expect(resolved(swaps).ethusdc).toMatchObject({
      kind: 'evm',
      chainId: 31337,
      asset: { kind: 'erc20', token: '0x00000000000000000000000000000000000000AA' },
      confirmations: 32,
    });
  });

  it("takes a miner's endpoint, confirmations and token overrides per chain", () => {
    const swaps = load(
      config({
        sources: {
          sol: { confirmations: 64 },
          btc: { esploraUrls: ['https://blockstream.info/api'], confirmations: 3 },
          ethusdc: { rpcUrl: 'https://eth.example', network: 'testnet' },
          tao: { url: 'wss://entrypoint-finney.opentensor.ai:443' },
        },
      }),
    );
    const s = resolved(swaps);
    expect(s.sol).toMatchObject({ confirmations: 64 });
    expect(s.btc).toEqual({
      chain: 'btc',
      kind: 'bitcoin',
      esploraUrls: ['https://blockstream.info/api'],
      confirmations: 3,
    });
    expect(s.ethusdc).toMatchObject({
      kind: 'evm',
      chainId: 11_155_111,
      asset: { kind: 'erc20', token: '0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238' },
      confirmations: 32,
    });
    expect(s.tao).toMatchObject({ kind: 'subtensor', confirmations: 6 });
  });

  it('refuses a source chain it cannot verify, naming the key to set, unless opted out', () => {
    expect(problems(config({ sources: { btc: {} } }))).toEqual([
      'swaps.sources.btc.esploraUrls: no Esplora endpoint to verify BTC deposits: set it; or write swaps.sources.btc: unverified (deposits then paid unchecked)',
    ]);
    expect(problems(config({ sources: { tao: { confirmations: 12 } } }))[0]).toMatch(
      /^swaps\.sources\.tao\.url: no Subtensor endpoint/,
    );
    expect(problems(config({ sources: { eth: {} } }))[0]).toMatch(/^swaps\.sources\.eth\.rpcUrl: /);
    expect(problems(config({ sources: { dogecoin: {} } }))[0]).toMatch(
      /^swaps\.sources\.dogecoin: 'dogecoin' is neither an allways chain id nor a configured destination/,
    );
    expect(problems(config({ sources: { btc: { esploraUrls: ['https://x.example'], confirmations: 0 } } }))[0]).toMatch(
      /^swaps\.sources\.btc\.confirmations: /,
    );
    expect(problems(config({ sources: { btc: 'maybe' } }))[0]).toMatch(/^swaps\.sources\.btc: .*unverified/);
    const swaps = load(config({ sources: { btc: 'unverified', hype: 'unverified' } }));
    expect(resolved(swaps)).toMatchObject({ btc: { kind: 'unverified' }, hype: { kind: 'unverified' } });
  });
});

describe('buildSourcePorts', () => {
  let esplora: FakeEsplora;
  let solana: SolanaTestNode;
  beforeAll(async () => {
    esplora = await startFakeEsplora(NETWORK);
    solana = await startSolanaTestNode();
  });
  afterAll(async () => {
    await esplora?.close();
    await solana?.close();
  });

  function swapsOf(): SwapsConfig {
    return {
      contract: 'solana',
      solana: { rpcUrl: solana.url, cluster: 'devnet', keypair: { file: 'x' } },
      destinations: {
        sol: { ...solDest, rpcUrl: solana.url, network: 'devnet', commitment: 'finalized' },
        btc: {
          type: 'bitcoin',
          network: 'mainnet',
          esploraUrls: [esplora.url],
          key: { file: 'x' },
          address: 'x',
          confirmations: 2,
          feeRateMultiplier: 1.25,
          minFeeRateSatVb: 5,
          fallbackFeeRateSatVb: 15,
          maxFeeRateSatVb: 500,
        },
      },
      sources: { btc: { confirmations: 1 }, hype: 'unverified' },
    } as unknown as SwapsConfig;
  }

  it('builds a verifier per verified chain, logs each opt-out, and reads destination balances', async () => {
    const lines: LogLine[] = [];
    const ports = await buildSourcePorts(swapsOf(), collectingLogger(lines));
    try {
      expect(ports.verifiers.map((v) => v.chains[0]).sort()).toEqual(['btc', 'sol', 'solusdc']);
      expect(ports.unverified).toEqual(['hype']);
      const warned = lines.filter((l) => JSON.stringify(l).includes('NOT verified'));
      expect(warned).toHaveLength(1);
      expect(JSON.stringify(warned[0])).toContain('swaps.sources.hype');

      // A BTC deposit verified at the configured 1 confirmation, through the built port.
      const user = p2wpkh(pubECDSA(Uint8Array.from(Buffer.from('55'.repeat(32), 'hex')), true));
      const minerAddress = p2wpkh(pubECDSA(Uint8Array.from(Buffer.from('66'.repeat(32), 'hex')), true));
      const deposit = esplora.chain.fund(minerAddress.script, 80_000n);
      const btc = ports.verifiers.find((v) => v.chains.includes('btc'))!;
      const claim = {
        chain: 'btc',
        txHash: deposit.txid,
        blockHint: 0,
        recipient: minerAddress.address!,
        sender: user.address!,
        minAmount: 80_000n,
      };
      // Funded from nowhere: found at 1 confirmation, its sender unprovable.
      expect(await btc.verify(claim)).toMatchObject({
        kind: 'wrong',
        evidence: { confirmations: 1, required: 1, amountSeen: 80_000n },
      });

      // Balances: BTC confirmed UTXOs via Esplora, SOL lamports via the Solana node.
      expect(await ports.balances.balanceOf('btc', minerAddress.address!)).toBe(80_000n);
      const fx = new SolanaFixture(solana);
      const wallet = await fx.fundedKey(3_000_000_000n);
      expect(await ports.balances.balanceOf('sol', wallet.address)).toBe(3_000_000_000n);
      await expect(ports.balances.balanceOf('eth', wallet.address)).rejects.toBeInstanceOf(NoBalanceReader);
      solana.server.failNext('getBalance', 'before');
      await expect(ports.balances.balanceOf('sol', wallet.address)).rejects.toThrow();
    } finally {
      await ports.close();
    }
  });

  it('answers pending when a check outlasts its timeout (an endpoint that hangs)', async () => {
    const hang = await import('node:http').then(
      (http) =>
        new Promise<{ url: string; close: () => void }>((resolve) => {
          const server = http.createServer(() => undefined); // never answers
          server.listen(0, '127.0.0.1', () => {
            const port = (server.address() as { port: number }).port;
            resolve({
              url: `http://127.0.0.1:${port}`,
              close: () => {
                server.closeAllConnections();
                server.close();
              },
            });
          });
        }),
    );
    const swaps = swapsOf();
    (swaps as { sources: object }).sources = { btc: { esploraUrls: [hang.url], confirmations: 1 } };
    const ports = await buildSourcePorts(swaps, collectingLogger([]), { timeoutMs: 300 });
    try {
      const btc = ports.verifiers.find((v) => v.chains.includes('btc'))!;
      const verdict = await btc.verify({
        chain: 'btc',
        txHash: 'ab'.repeat(32),
        blockHint: 0,
        recipient: 'x',
        sender: 'y',
        minAmount: 1n,
      });
      expect(verdict).toMatchObject({ kind: 'pending', evidence: { required: 1 } });
      expect(verdict.kind === 'pending' && verdict.reason).toContain('took over 300 ms');
    } finally {
      await ports.close();
      hang.close();
    }
  });
});
