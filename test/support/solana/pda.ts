/**
 * find_program_address written out for the tests (not src's): the first bump from 255 down whose
 * sha256(seeds || bump || program id || "ProgramDerivedAddress") is not a point on ed25519.
 */
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';

export function findPda(seeds: readonly Uint8Array[], programId: string): string {
  const program = Uint8Array.from(getBase58Encoder().encode(programId));
  for (let bump = 255; bump >= 0; bump -= 1) {
    const hash = createHash('sha256');
    for (const seed of seeds) hash.update(seed);
    const candidate = hash.update(Uint8Array.of(bump)).update(program).update('ProgramDerivedAddress').digest();
    try {
      ed25519.Point.fromBytes(candidate);
    } catch {
      return getBase58Decoder().decode(candidate);
    }
  }
  throw new Error('no viable bump');
}
