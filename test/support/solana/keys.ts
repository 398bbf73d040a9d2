/** Fresh ed25519 keypairs in the Solana CLI's file form, for tests. */
import { generateKeyPairSync } from 'node:crypto';
import { createKeyPairSignerFromBytes, getBase58Decoder, type KeyPairSigner } from '@solana/kit';

export interface TestKeypair {
  readonly bytes: Uint8Array;
  readonly address: string;
  /** What `solana-keygen new` writes: a JSON array of the 64 bytes. */
  readonly json: string;
  signer(): Promise<KeyPairSigner>;
}

export function newKeypair(): TestKeypair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const bytes = Uint8Array.from(Buffer.concat([seed, pub]));
  return {
    bytes,
    address: getBase58Decoder().decode(pub),
    json: JSON.stringify([...bytes]),
    signer: () => createKeyPairSignerFromBytes(bytes),
  };
}
