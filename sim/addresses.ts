/** Deterministic, well-formed addresses for simulated accounts. */
import { createHash } from 'node:crypto';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function addressFor(chain: string, name: string): string {
  const digest = createHash('sha256').update(`${chain}:${name}`).digest();
  if (chain === 'eth') return `0x${digest.subarray(0, 20).toString('hex')}`;
  let out = '5';
  for (let i = 0; out.length < 48; i += 1) out += BASE58[digest[i % digest.length]! % BASE58.length];
  return out;
}
