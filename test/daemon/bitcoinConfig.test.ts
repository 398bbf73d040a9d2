/**
 * A `type: bitcoin` destination in the daemon's configuration: its defaults (the reference
 * miner's fee policy, 2 confirmations), every problem with its path, and its key: a WIF of the
 * configured network that pays from the pinned address, never quoted in a message.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETWORK, p2pkh, p2sh, p2tr, p2wpkh, TEST_NETWORK, WIF } from '@scure/btc-signer';
import { pubECDSA, pubSchnorr } from '@scure/btc-signer/utils.js';
import { stringify as toYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bitcoinSender, loadBitcoinKey } from '../../src/daemon/bitcoinPorts.ts';
import { loadKeys } from '../../src/daemon/chainPorts.ts';
import { loadConfig, type BitcoinDestinationConfig } from '../../src/daemon/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { collectingLogger } from '../support/collectingLogger.ts';

const KEY = Uint8Array.from(Buffer.from('33'.repeat(32), 'hex'));
const PUB = pubECDSA(KEY, true);
const MAINNET_WIF = WIF(NETWORK).encode(KEY);
const TESTNET_WIF = WIF(TEST_NETWORK).encode(KEY);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-btc-config-'));
  const key = join(dir, 'btc.wif');
  writeFileSync(key, `${MAINNET_WIF}\n`);
  chmodSync(key, 0o600);
  writeFileSync(join(dir, 'hotkey'), '//Alice\n', { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function configWith(btc: Record<string, unknown>): string {
  const path = join(dir, 'settle.yaml');
  writeFileSync(
    path,
    toYaml({
      dataDir: './data',
      swaps: {
        subtensor: { url: 'ws://127.0.0.1:9944' },
        contract: { address: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' },
        hotkey: { file: './hotkey' },
        destinations: {
          btc: {
            type: 'bitcoin',
            key: { file: './btc.wif' },
            esploraUrls: ['https://blockstream.info/api'],
            address: p2wpkh(PUB).address,
            ...btc,
          },
        },
      },
    }),
  );
  return path;
}

function problems(path: string): string[] {
  try {
    loadConfig(path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems].sort();
  }
  throw new Error('accepted');
}

const destination = (path: string): BitcoinDestinationConfig =>
  loadConfig(path).swaps!.destinations['btc'] as BitcoinDestinationConfig;

describe('a bitcoin destination', () => {
  it("takes the reference miner's values by default", () => {
    expect(destination(configWith({}))).toEqual({
      type: 'bitcoin',
      network: 'mainnet',
      esploraUrls: ['https://blockstream.info/api'],
      key: { file: join(dir, 'btc.wif') },
      address: p2wpkh(PUB).address,
      confirmations: 2,
      feeRateMultiplier: 1.25,
      minFeeRateSatVb: 5,
      fallbackFeeRateSatVb: 15,
      maxFeeRateSatVb: 500,
    });
  });

  it('reports every problem with its path', () => {
    const found = problems(
      configWith({
        network: 'regtest',
        esploraUrls: ['ftp://x'],
        address: p2tr(pubSchnorr(KEY)).address,
        minFeeRateSatVb: 600,
        feeRateMultiplier: 0.5,
        confirmations: 0,
      }),
    );
    expect(found.map((p) => p.slice(0, p.indexOf(': ')))).toEqual(
      [
        'swaps.destinations.btc.confirmations',
        'swaps.destinations.btc.esploraUrls.0',
        'swaps.destinations.btc.feeRateMultiplier',
        'swaps.destinations.btc.network',
      ].sort(),
    );
    expect(problems(configWith({ address: p2tr(pubSchnorr(KEY)).address }))).toEqual([
      'swaps.destinations.btc.address: a tr address: the paying address is P2WPKH, P2SH-P2WPKH or P2PKH (the reference miner refuses P2TR)',
    ]);
    expect(problems(configWith({ address: p2wpkh(PUB, TEST_NETWORK).address }))).toEqual([
      'swaps.destinations.btc.address: not a Bitcoin address of mainnet',
    ]);
    expect(problems(configWith({ esploraUrls: [] }))).toEqual([
      'swaps.destinations.btc.esploraUrls: at least one Esplora URL',
    ]);
    expect(problems(configWith({ minFeeRateSatVb: 600 }))).toEqual([
      'swaps.destinations.btc.maxFeeRateSatVb: below minFeeRateSatVb or fallbackFeeRateSatVb',
    ]);
  });

  it('loads a key of its network that pays from the pinned address, of any of the three kinds', () => {
    for (const address of [p2wpkh(PUB).address!, p2sh(p2wpkh(PUB)).address!, p2pkh(PUB).address!]) {
      const loaded = loadBitcoinKey(destination(configWith({ address })));
      expect(loaded).toMatchObject({ kind: 'bitcoin' });
      expect(Buffer.from((loaded as { privateKey: Uint8Array }).privateKey).equals(Buffer.from(KEY))).toBe(true);
    }
    const other = p2wpkh(pubECDSA(Uint8Array.from(Buffer.from('44'.repeat(32), 'hex')), true)).address!;
    const mismatch = loadBitcoinKey(destination(configWith({ address: other })));
    expect(mismatch).toEqual({
      problem: expect.stringMatching(
        new RegExp(`^file .*btc.wif: the key does not pay from ${other}; it derives ${p2wpkh(PUB).address}`),
      ),
    });
    writeFileSync(join(dir, 'btc.wif'), `${TESTNET_WIF}\n`);
    const wrongNetwork = loadBitcoinKey(destination(configWith({})));
    expect(wrongNetwork).toEqual({
      problem: `file ${join(dir, 'btc.wif')} does not hold a Bitcoin private key in WIF for mainnet`,
    });
    expect(JSON.stringify([mismatch, wrongNetwork])).not.toMatch(new RegExp(`${MAINNET_WIF}|${TESTNET_WIF}`));
  });

  it('is checked with the other keys at start, its problem named by its path', async () => {
    writeFileSync(join(dir, 'btc.wif'), `${TESTNET_WIF}\n`);
    const path = configWith({});
    const error = await loadKeys(loadConfig(path), path).then(
      () => null,
      (e: unknown) => e as ConfigError,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      `swaps.destinations.btc.key: file ${join(dir, 'btc.wif')} does not hold a Bitcoin private key in WIF for mainnet`,
    ]);
  });

  it('builds a sender with its journal in the data directory', async () => {
    const config = destination(configWith({ address: p2pkh(PUB).address }));
    const key = loadBitcoinKey(config) as { kind: 'bitcoin'; privateKey: Uint8Array };
    const sender = await bitcoinSender('btc', config, key, join(dir, 'data'), collectingLogger([]));
    expect(sender.address).toBe(p2pkh(PUB).address);
    expect(sender.addressProblem(p2tr(pubSchnorr(KEY)).address!)).toBeNull();
  });
});
