/**
 * The BTC destination's pieces for chainPorts: its key, read from a 0600 file or the
 * environment, checked for the configured network and for paying from the pinned address
 * (every problem named with its configuration path, never the key), and its sender over the
 * configured Esplora URLs with its journal in the data directory.
 */
import { join } from 'node:path';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import { BtcJournal } from '../chains/bitcoin/btcJournal.ts';
import { BtcTransferSender } from '../chains/bitcoin/btcTransferSender.ts';
import { pinnedSource } from '../chains/bitcoin/btcTx.ts';
import { Esplora } from '../chains/bitcoin/esplora.ts';
import { parseBitcoinWif } from '../chains/keys.ts';
import type { Logger } from '../host/ports.ts';
import type { BitcoinDestinationConfig } from './config.ts';
import { KEY_FORMS, loadSecret, type Secret } from './secrets.ts';

/** A Bitcoin private key (32 bytes) that pays from the configured address. */
export interface BitcoinKey {
  readonly kind: 'bitcoin';
  readonly privateKey: Uint8Array;
}

export function loadBitcoinKey(destination: BitcoinDestinationConfig): BitcoinKey | { problem: string } {
  let secret: Secret;
  try {
    secret = loadSecret(destination.key);
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const privateKey = parseBitcoinWif(secret.reveal(), destination.network);
  if (privateKey === null)
    return { problem: `${secret.origin} does not hold ${KEY_FORMS.bitcoin} for ${destination.network}` };
  const source = pinnedSource(pubECDSA(privateKey, true), destination.address, destination.network);
  if ('problem' in source) return { problem: `${secret.origin}: ${source.problem}` };
  return { kind: 'bitcoin', privateKey };
}

export async function bitcoinSender(
  name: string,
  destination: BitcoinDestinationConfig,
  key: BitcoinKey,
  dataDir: string,
  log: Logger,
): Promise<BtcTransferSender> {
  const journal = await BtcJournal.open(join(dataDir, 'journals'), name, destination.address, destination.network);
  return new BtcTransferSender({
    chain: name,
    network: destination.network,
    esplora: new Esplora({ urls: destination.esploraUrls }),
    privateKey: key.privateKey,
    address: destination.address,
    journal,
    log,
    confirmations: destination.confirmations,
    fees: {
      multiplier: destination.feeRateMultiplier,
      minSatVb: destination.minFeeRateSatVb,
      fallbackSatVb: destination.fallbackFeeRateSatVb,
      maxSatVb: destination.maxFeeRateSatVb,
    },
  });
}
