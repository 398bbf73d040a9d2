/**
 * Solana keypair files and Bitcoin WIF keys, checked against keys made outside the code under
 * test: node:crypto's own ed25519 keys, and the Bitcoin wiki's WIF test vector.
 */
import { generateKeyPairSync } from 'node:crypto';
import { getAddressFromPublicKey, createKeyPairFromBytes } from '@solana/kit';
import { describe, expect, it } from 'vitest';
import {
  isBitcoinAddress,
  isBitcoinWif,
  isSolanaAddress,
  isSolanaKeypair,
  parseBitcoinWif,
  parseSolanaKeypair,
  solanaAddressOf,
  solanaSigner,
} from '../../src/chains/keys.ts';

function cliKeypair(): { text: string; seed: Buffer; publicKey: Buffer } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const publicKey = Buffer.from(jwk.x!, 'base64url');
  return { text: JSON.stringify([...seed, ...publicKey]), seed, publicKey };
}

describe('Solana keypair files', () => {
  it('takes the CLI format and names the account its public half is', async () => {
    const { text, publicKey } = cliKeypair();
    const bytes = parseSolanaKeypair(text);
    expect(bytes).not.toBeNull();
    const keyPair = await createKeyPairFromBytes(bytes!);
    expect(solanaAddressOf(bytes!)).toBe(await getAddressFromPublicKey(keyPair.publicKey));
    expect((await solanaSigner(text)).address).toBe(solanaAddressOf(bytes!));
    expect(Buffer.from(bytes!.subarray(32)).equals(publicKey)).toBe(true);
  });

  it("refuses a public half that is not the seed's, a wrong length, bytes out of range, not JSON", () => {
    const a = cliKeypair();
    const b = cliKeypair();
    expect(isSolanaKeypair(JSON.stringify([...a.seed, ...b.publicKey]))).toBe(false);
    expect(isSolanaKeypair(JSON.stringify([...a.seed]))).toBe(false);
    expect(isSolanaKeypair(JSON.stringify([...a.seed, ...a.publicKey.subarray(0, 31), 256]))).toBe(false);
    expect(isSolanaKeypair('not json')).toBe(false);
    expect(isSolanaKeypair(a.text)).toBe(true);
  });

  it('checks addresses as base58 32-byte keys', () => {
    expect(isSolanaAddress('6JVBEj5w27J2SVjERmv2c7wXgFee9nSSBKUJevHehyBD')).toBe(true);
    expect(isSolanaAddress('6JVBEj5w27J2SVjERmv2c7wXgFee9nSSBKUJevHehy0D')).toBe(false);
    expect(isSolanaAddress('0x00')).toBe(false);
  });
});

describe('Bitcoin keys and addresses', () => {
  // en.bitcoin.it/wiki/Wallet_import_format, compressed form of the same key.
  const WIF_VECTOR = 'KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617';
  const KEY_VECTOR = '0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d';

  it('decodes the wiki vector to its private key, refuses a changed checksum', () => {
    expect(Buffer.from(parseBitcoinWif(WIF_VECTOR)!).toString('hex')).toBe(KEY_VECTOR);
    expect(isBitcoinWif(WIF_VECTOR)).toBe(true);
    expect(isBitcoinWif(`${WIF_VECTOR.slice(0, -1)}8`)).toBe(false);
    expect(parseBitcoinWif(WIF_VECTOR, 'testnet')).toBeNull();
  });

  it("takes mainnet addresses of every common type, refuses another network's", () => {
    expect(isBitcoinAddress('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4')).toBe(true); // BIP173 P2WPKH
    expect(isBitcoinAddress('1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2')).toBe(true); // P2PKH
    expect(isBitcoinAddress('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy')).toBe(true); // P2SH
    expect(isBitcoinAddress('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx')).toBe(false);
    expect(isBitcoinAddress('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', 'testnet')).toBe(true);
  });
});
