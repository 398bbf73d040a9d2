/**
 * Solana keys for tests, made by node:crypto (not by the code under test): the Solana CLI's
 * keypair file text (a JSON array of the 32-byte seed then the 32-byte public key).
 */
import { generateKeyPairSync } from 'node:crypto';

export function solanaKeypairText(): string {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return JSON.stringify([...Buffer.from(jwk.d!, 'base64url'), ...Buffer.from(jwk.x!, 'base64url')]);
}
