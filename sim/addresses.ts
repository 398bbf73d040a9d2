/** Deterministic, well-formed addresses for simulated accounts. */
import { createHash } from 'node:crypto';
import { Address, NETWORK, p2wpkh } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/**
 * Every run names its accounts the same way (user-1, payer-1...), so the same few addresses
 * are asked for again and again; each is a hash, worth computing once per process.
 */
const known = new Map<string, string>();

export function addressFor(chain: string, name: string): string {
  const key = `${chain}:${name}`;
  let address = known.get(key);
  if (address === undefined) {
    address = deriveAddress(chain, key);
    known.set(key, address);
  }
  return address;
}

function deriveAddress(chain: string, key: string): string {
  const digest = createHash('sha256').update(key).digest();
  if (chain === 'eth') return `0x${digest.subarray(0, 20).toString('hex')}`;
  // Solana: 44 base58 characters, as a 32-byte public key mostly reads (the sim parses no further).
  if (chain === 'sol')
    return Array.from({ length: 44 }, (_, i) => BASE58[digest[i % digest.length]! % BASE58.length]).join('');
  if (chain === 'btc') return Address(NETWORK).encode({ type: 'wpkh', hash: Uint8Array.from(digest.subarray(0, 20)) });
  let out = '5';
  for (let i = 0; out.length < 48; i += 1) out += BASE58[digest[i % digest.length]! % BASE58.length];
  return out;
}

/** The simulated miner's BTC key: a fixed scalar, public by construction (never fund it). */
export const SIM_BTC_KEY: Uint8Array = Uint8Array.from(
  createHash('sha256').update("settle: the simulated miner's BTC key").digest(),
);
/** Its P2WPKH address, the pinned address of the simulated BTC payouts. */
export const SIM_BTC_MINER: string = p2wpkh(pubECDSA(SIM_BTC_KEY, true)).address!;
