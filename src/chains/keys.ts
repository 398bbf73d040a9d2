/**
 * What the chains take as keys and addresses, for the daemon's configuration and key loading:
 * the formats are the chain libraries' business, so they are checked here, where ethers and
 * @polkadot live, and nowhere else.
 */
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { isHex } from '@polkadot/util';
import { checkAddress, cryptoWaitReady, keyExtractSuri, mnemonicValidate } from '@polkadot/util-crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { Address as BtcAddress, NETWORK, TEST_NETWORK, WIF } from '@scure/btc-signer';
import {
  createKeyPairSignerFromBytes,
  getBase58Decoder,
  isAddress as isSolanaBase58Address,
  type KeyPairSigner,
} from '@solana/kit';
import { isAddress, JsonRpcProvider, Wallet } from 'ethers';
import { KeyUnusable } from '../errors.ts';

export type SubstrateSigner = KeyringPair;
export type EvmSigner = Wallet;
export type EvmProvider = JsonRpcProvider;

/** Subtensor's SS58 format. */
export const SUBTENSOR_SS58_FORMAT = 42;

/**
 * A mnemonic (BIP39, 12 to 24 words), a 0x seed of 32 bytes, or a //derivation of the
 * development phrase, each with an optional derivation path. @polkadot would also take any
 * short phrase as a space-padded raw seed: a typo would then start a daemon on an account
 * nobody registered, which never sees a swap.
 */
export function isSubstrateSecret(suri: string): boolean {
  if (suri.startsWith('/')) return true;
  let phrase: string;
  try {
    phrase = keyExtractSuri(suri).phrase;
  } catch {
    return false;
  }
  return isHex(phrase, 256) || mnemonicValidate(phrase);
}

export function isEvmPrivateKey(value: string): boolean {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) return false;
  try {
    return new Wallet(value).address.length === 42;
  } catch {
    return false; // zero, or not below the curve order
  }
}

/** 0x and 40 hex digits; a mixed-case address must carry a valid EIP-55 checksum. */
export function isEvmAddress(value: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(value) && isAddress(value);
}

export function isSubtensorAddress(value: string): boolean {
  return checkAddress(value, SUBTENSOR_SS58_FORMAT)[0];
}

/** An sr25519 signer from a secret `isSubstrateSecret` accepts. */
export async function substrateSigner(suri: string): Promise<SubstrateSigner> {
  await cryptoWaitReady();
  if (!isSubstrateSecret(suri)) throw new KeyUnusable('not a Substrate secret');
  return new Keyring({ type: 'sr25519', ss58Format: SUBTENSOR_SS58_FORMAT }).createFromUri(suri);
}

export function evmSigner(privateKey: string): EvmSigner {
  if (!isEvmPrivateKey(privateKey)) throw new KeyUnusable('not an EVM private key');
  return new Wallet(privateKey);
}

/**
 * A JSON-RPC provider for a configured chain: a static network (the configured chain id; an
 * endpoint that is down at start then only fails calls, which are retried) and no response
 * cache (ethers' served stale nonces).
 */
export function evmProvider(url: string, chainId: number): EvmProvider {
  return new JsonRpcProvider(url, chainId, { staticNetwork: true, cacheTimeout: -1 });
}

/**
 * The Solana CLI's keypair file: a JSON array of 64 bytes, the ed25519 seed then its public
 * key. The public half must be the seed's own: a file edited by hand, or two files pasted
 * together, would otherwise sign as one account and claim to be another.
 */
export function parseSolanaKeypair(text: string): Uint8Array | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const isByte = (b: unknown): b is number => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255;
  if (!Array.isArray(parsed) || parsed.length !== 64 || !parsed.every(isByte)) return null;
  const bytes = Uint8Array.from(parsed);
  const derived = ed25519PublicKey(bytes.subarray(0, 32));
  return Buffer.from(derived).equals(Buffer.from(bytes.subarray(32))) ? bytes : null;
}

/** The ed25519 public key of a 32-byte seed, through node:crypto (PKCS#8 wrapping, RFC 8410). */
function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const publicJwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
    format: 'jwk',
  });
  return Buffer.from(publicJwk.x!, 'base64url');
}

export function isSolanaKeypair(text: string): boolean {
  return parseSolanaKeypair(text) !== null;
}

/** A base58 ed25519 public key (32 bytes), as @solana/kit reads one. */
export function isSolanaAddress(value: string): boolean {
  return isSolanaBase58Address(value);
}

/** The base58 address of a keypair `parseSolanaKeypair` accepted. */
export function solanaAddressOf(keypair: Uint8Array): string {
  return getBase58Decoder().decode(keypair.subarray(32));
}

/** A @solana/kit signer from a keypair file's text (`isSolanaKeypair`). */
export async function solanaSigner(text: string): Promise<KeyPairSigner> {
  const bytes = parseSolanaKeypair(text);
  if (bytes === null)
    throw new Error("not a Solana keypair (a JSON array of 64 bytes whose second half is the first half's public key)");
  return createKeyPairSignerFromBytes(bytes);
}

export type BitcoinNetwork = 'mainnet' | 'testnet';
const BTC_NETWORKS: Readonly<Record<BitcoinNetwork, typeof NETWORK>> = { mainnet: NETWORK, testnet: TEST_NETWORK };

/** The 32-byte private key of a WIF of the given network, or null. */
export function parseBitcoinWif(value: string, network: BitcoinNetwork = 'mainnet'): Uint8Array | null {
  try {
    return WIF(BTC_NETWORKS[network]).decode(value);
  } catch {
    return null;
  }
}

export function isBitcoinWif(value: string): boolean {
  return parseBitcoinWif(value, 'mainnet') !== null || parseBitcoinWif(value, 'testnet') !== null;
}

/** A Bitcoin address of the network (any script type @scure/btc-signer decodes). */
export function isBitcoinAddress(value: string, network: BitcoinNetwork = 'mainnet'): boolean {
  try {
    BtcAddress(BTC_NETWORKS[network]).decode(value);
    return true;
  } catch {
    return false;
  }
}
