/**
 * What the chains take as keys and addresses, for the daemon's configuration and key loading:
 * the formats are the chain libraries' business, so they are checked here, where ethers and
 * @polkadot live, and nowhere else.
 */
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { isHex } from '@polkadot/util';
import { checkAddress, cryptoWaitReady, keyExtractSuri, mnemonicValidate } from '@polkadot/util-crypto';
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
