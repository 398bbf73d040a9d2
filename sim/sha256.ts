/** sha256 as hex: the simulated chains' transaction and transfer hashes. */
import * as crypto from 'node:crypto';

/**
 * crypto.hash (Node 20.12+) hashes in one call, without the Hash object createHash makes;
 * in a simulated run that object was most of the cost of signing a transfer. The older
 * Node 20 releases package.json still accepts take the createHash path: same digest.
 */
export const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');
