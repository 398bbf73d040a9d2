/**
 * Destinations by allways asset id: every EVM row of allways' registry (chain ids, token
 * contracts, decimals, confirmations, issuer checks, as shared/reference/allways-assets.md §1
 * lists them) selected by its id with each value overridable, and Solana destinations (asset,
 * durable nonce accounts, key), with every problem reported at its configuration path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAddress } from 'ethers';
import { stringify as toYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVM_ASSETS, EVM_NETWORKS, resolveEvmDestination, type EvmAssetRow } from '../../src/chains/evm/evmAssets.ts';
import { solanaAssetOf } from '../../src/chains/solana/solanaAssets.ts';
import { loadConfig } from '../../src/daemon/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { solanaKeypairText } from '../support/solanaKeys.ts';

const EVM_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const NONCE_A = 'NonceAccountA111111111111111111111111111111';

/** The reference's table (§1), written out again: id -> [chain id mainnet, testnet, decimals, confirmations, mainnet token]. */
const REFERENCE: Record<string, [number, number, number, number, string | null]> = {
  eth: [1, 11155111, 18, 32, null],
  hype: [999, 998, 18, 2, null],
  bnb: [56, 97, 18, 15, null],
  avax: [43114, 43113, 18, 2, null],
  cro: [25, 338, 18, 2, null],
  pol: [137, 80002, 18, 100, null],
  arbusdc: [42161, 421614, 6, 90, '0xaf88d065e77c8cC2239327C5EDb3A432268e5831'],
  baseusdc: [8453, 84532, 6, 120, '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'],
  ethusdc: [1, 11155111, 6, 32, '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48'],
  polusdc: [137, 80002, 6, 100, '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359'],
  aster: [56, 97, 18, 15, '0x000Ae314E2A2172a039B26378814C252734f556A'],
  uni: [1, 11155111, 18, 32, '0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984'],
  qnt: [1, 11155111, 18, 32, '0x4a220E6096B25EADb88358cb44068A3248254675'],
  paxg: [1, 11155111, 18, 32, '0x45804880De22913dAFE09f4980848ECE6EcbAf78'],
};

const resolved = (input: Parameters<typeof resolveEvmDestination>[0]) => {
  const result = resolveEvmDestination(input);
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result;
};

describe('the EVM asset table', () => {
  it('holds every EVM row of the reference, with its chain ids, decimals, confirmations and contract', () => {
    expect(Object.keys(EVM_ASSETS).sort()).toEqual(Object.keys(REFERENCE).sort());
    for (const [id, [mainnet, testnet, decimals, confirmations, token]] of Object.entries(REFERENCE)) {
      const row: EvmAssetRow = EVM_ASSETS[id as keyof typeof EVM_ASSETS];
      expect(
        [
          EVM_NETWORKS[row.network].mainnet,
          EVM_NETWORKS[row.network].testnet,
          row.decimals,
          row.confirmations,
          row.token?.mainnet ?? null,
        ],
        id,
      ).toEqual([mainnet, testnet, decimals, confirmations, token]);
      for (const address of Object.values(row.token ?? {}))
        if (address !== null) expect(getAddress(address), id).toBe(address); // valid EIP-55
      const onMainnet = resolved({ asset: id });
      expect(onMainnet.chainId).toBe(mainnet);
      expect(onMainnet.confirmations).toBe(confirmations);
      expect(onMainnet.asset).toEqual(
        token === null
          ? { kind: 'native' }
          : { kind: 'erc20', token, decimals, refusalChecks: row.refusalChecks, feeCheck: row.feeCheck },
      );
    }
  });

  it("carries the reference's issuer checks: USDC blacklist and pause, PAX Gold freeze, pause and fee, none for the others", () => {
    for (const id of ['arbusdc', 'baseusdc', 'ethusdc', 'polusdc'] as const)
      expect(EVM_ASSETS[id].refusalChecks).toEqual(['isBlacklisted(address)', 'paused()']);
    expect(EVM_ASSETS.paxg).toMatchObject({
      refusalChecks: ['isFrozen(address)', 'paused()'],
      feeCheck: 'getFeeFor(uint256)',
    });
    for (const id of ['aster', 'uni', 'qnt'] as const)
      expect(EVM_ASSETS[id]).toMatchObject({ refusalChecks: [], feeCheck: null });
  });

  it('overrides any value, picks the test deployment, and names what is missing', () => {
    const custom = getAddress(`0x${'12'.repeat(20)}`);
    expect(resolved({ asset: 'baseusdc', network: 'testnet' })).toMatchObject({
      chainId: 84532,
      asset: { token: '0x036CbD53842c5426634e7929541eC2318f3dCF7e' },
    });
    expect(
      resolved({
        asset: 'paxg',
        chainId: 31337,
        token: custom,
        confirmations: 1,
        decimals: 8,
        refusalChecks: [],
        feeCheck: null,
      }),
    ).toEqual({
      chainId: 31337,
      confirmations: 1,
      asset: { kind: 'erc20', token: custom, decimals: 8, refusalChecks: [], feeCheck: null },
    });
    expect(resolveEvmDestination({ asset: 'paxg', network: 'testnet' })).toEqual({
      problems: [{ key: 'token', message: "paxg has no testnet deployment in allways' registry: give its contract" }],
    });
    expect(resolveEvmDestination({ asset: 'native' })).toEqual({
      problems: [{ key: 'chainId', message: 'required for a coin or token that is not an allways asset id' }],
    });
    expect(resolveEvmDestination({ asset: 'eth', token: custom })).toMatchObject({ problems: [{ key: 'token' }] });
    expect(resolved({ asset: { erc20: custom }, chainId: 5 })).toEqual({
      chainId: 5,
      confirmations: 2,
      asset: { kind: 'erc20', token: custom },
    });
  });
});

describe('destinations in the configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'settle-destinations-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const key = (name: string, value: string): { file: string } => {
    const file = join(dir, name);
    writeFileSync(file, value, { mode: 0o600 });
    return { file };
  };
  const load = (destinations: Record<string, unknown>) => {
    const file = join(dir, 'settle.yaml');
    writeFileSync(
      file,
      toYaml({
        dataDir: './data',
        swaps: {
          subtensor: { url: 'ws://127.0.0.1:9944' },
          contract: { address: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' },
          hotkey: key('hotkey', '//Alice'),
          destinations,
        },
      }),
    );
    return loadConfig(file);
  };
  const problems = (destinations: Record<string, unknown>): string[] => {
    try {
      load(destinations);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return [...(error as ConfigError).problems].sort();
    }
    throw new Error('the configuration was accepted');
  };

  it('selects EVM assets by allways id and Solana assets by id or mint', () => {
    const evm = key('evm', EVM_KEY);
    const sol = key('sol', solanaKeypairText());
    const config = load({
      baseusdc: { type: 'evm', rpcUrl: 'https://mainnet.base.org', key: evm, asset: 'baseusdc' },
      sol: {
        type: 'solana',
        rpcUrl: 'https://api.mainnet-beta.solana.com',
        key: sol,
        asset: 'sol',
        nonceAccounts: [NONCE_A],
      },
      solusdc: {
        type: 'solana',
        rpcUrl: 'https://api.devnet.solana.com',
        key: sol,
        asset: 'solusdc',
        network: 'devnet',
        nonceAccounts: [NONCE_A],
      },
    });
    const destinations = config.swaps!.destinations;
    expect(destinations['baseusdc']).toMatchObject({ asset: 'baseusdc' });
    expect(destinations['sol']).toMatchObject({
      asset: 'sol',
      network: 'mainnet',
      commitment: 'finalized',
      nonceAccounts: [NONCE_A],
    });
    expect(solanaAssetOf('solusdc', 'devnet')).toEqual({
      kind: 'spl',
      mint: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
      decimals: 6,
    });
    expect(solanaAssetOf('solusdc', 'mainnet')).toEqual({
      kind: 'spl',
      mint: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
      decimals: 6,
    });
  });

  it('reports each problem at its path: an unknown id, a missing contract or chain id, a bad check, Solana nonce accounts and keys', () => {
    const evm = key('evm', EVM_KEY);
    expect(
      problems({
        a: { type: 'evm', rpcUrl: 'https://x.example', key: evm, asset: 'basusdc' },
        b: { type: 'evm', rpcUrl: 'https://x.example', key: evm, asset: 'aster', network: 'testnet' },
        c: { type: 'evm', rpcUrl: 'https://x.example', key: evm },
        d: {
          type: 'evm',
          rpcUrl: 'https://x.example',
          key: evm,
          asset: 'ethusdc',
          refusalChecks: ['paused(uint256)'],
          feeCheck: 'fee()',
        },
        e: { type: 'solana', rpcUrl: 'https://x.example', key: evm, asset: 'sol', nonceAccounts: [] },
        f: {
          type: 'solana',
          rpcUrl: 'wss://x.example',
          key: key('sol', solanaKeypairText()),
          asset: 'solusd',
          nonceAccounts: [NONCE_A, NONCE_A, '0x12'],
        },
        g: {
          type: 'solana',
          rpcUrl: 'https://x.example',
          key: key('sol2', solanaKeypairText()),
          asset: 'sol',
          mint: NONCE_A,
          nonceAccounts: [NONCE_A],
        },
      })
        .map((p) => p.slice(0, p.indexOf(': ')))
        .sort(),
    ).toEqual(
      [
        'swaps.destinations.a.asset',
        'swaps.destinations.b.token',
        'swaps.destinations.c.chainId',
        'swaps.destinations.d.refusalChecks.0',
        'swaps.destinations.d.feeCheck',
        'swaps.destinations.e.key',
        'swaps.destinations.e.nonceAccounts',
        'swaps.destinations.f.rpcUrl',
        'swaps.destinations.f.asset',
        'swaps.destinations.f.nonceAccounts.2',
        'swaps.destinations.f.nonceAccounts',
        'swaps.destinations.g.mint',
      ].sort(),
    );
  });
});
