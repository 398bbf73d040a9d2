/** sha256 as hex: the simulated chains' transaction and transfer hashes. */
import { hash } from 'node:crypto';

/**
 * crypto.hash hashes in one call, without the Hash object createHash makes; in a simulated run
 * that object was most of the cost of signing a transfer.
 */
export const sha256Hex = (text: string): string => hash('sha256', text, 'hex');
