/**
 * Swap keys and program-derived addresses (the `seeds = [...]` attributes of the program):
 * Swap = ["swap", swap_key], MinerState = ["miner", miner pubkey]. Seeds are raw bytes with no
 * length prefix.
 *
 * swap_key = keccak256(from_tx_hash as UTF-8): legacy Keccak-256, as Ethereum's, not NIST
 * SHA3-256 (the program uses solana_keccak_hasher). The Swap account does not store it.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { address, getAddressEncoder, getProgramDerivedAddress } from '@solana/kit';

const utf8 = new TextEncoder();
const addresses = getAddressEncoder();

export function swapKeyOf(fromTxHash: string): Uint8Array {
  return keccak_256(utf8.encode(fromTxHash));
}

export const swapKeyHex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

/** A swap key from the 64 hex digits the machines carry as the swap's id. */
export function swapKeyFromHex(value: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new RangeError(`a swap key is 64 lower-case hex digits, got '${value}'`);
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

export async function swapAddress(programId: string, swapKey: Uint8Array): Promise<string> {
  const [pda] = await getProgramDerivedAddress({
    programAddress: address(programId),
    seeds: [utf8.encode('swap'), swapKey],
  });
  return pda;
}

export async function minerStateAddress(programId: string, miner: string): Promise<string> {
  const [pda] = await getProgramDerivedAddress({
    programAddress: address(programId),
    seeds: [utf8.encode('miner'), addresses.encode(address(miner))],
  });
  return pda;
}
