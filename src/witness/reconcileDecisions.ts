/**
 * The operator's reconcile decisions: for each transaction the witness found that the store
 * does not know, whether it is adopted (it paid an open swap: the swap takes it as its
 * transfer instead of signing one) or dismissed (not a payment settle owes, with the reason).
 * Who, why and when, appended and fsynced by `settle reconcile`; the daemon only reads them,
 * so an operator and a running daemon never write the same file.
 *
 *   <dataDir>/reconcile.jsonl
 *
 * What a crash leaves: a torn last line, set aside by the next decision (checkedJsonl.ts).
 */
import { CheckedJsonlWriter, readCheckedJsonl } from '../store/checkedJsonl.ts';
import { StoreError } from '../errors.ts';

export interface Decision {
  readonly kind: 'adopt' | 'dismiss';
  readonly chain: string;
  readonly account: string;
  /** The transaction, by id, by nonce, or both. */
  readonly id: string | null;
  readonly nonce: number | null;
  /**
   * A dismissal of every nonce up to this one, inclusive: an account used before this data
   * directory knew it (a destination added to the configuration with a wallet that has a
   * past). Null otherwise.
   */
  readonly throughNonce: number | null;
  /** For an adoption: the swap it paid, its signed bytes, and the block that included it. */
  readonly swapId: string | null;
  readonly raw: string | null;
  readonly block: number | null;
  readonly by: string;
  readonly reason: string;
  readonly at: string;
}

export interface DecisionSource {
  /** Read again at each question: an operator may decide while the daemon runs. */
  read(): Promise<readonly Decision[]>;
}

export const RECONCILE_FILE = 'reconcile.jsonl';

export class FileDecisions implements DecisionSource {
  private readonly writer: CheckedJsonlWriter;

  constructor(readonly path: string) {
    this.writer = new CheckedJsonlWriter(path);
  }

  read(): Promise<Decision[]> {
    return readCheckedJsonl(this.path, validateDecision);
  }

  append(decision: Decision): Promise<void> {
    return this.writer.append(decision);
  }
}

export class MemoryDecisions implements DecisionSource {
  readonly all: Decision[] = [];

  async read(): Promise<readonly Decision[]> {
    return this.all;
  }
}

/** Whether a decision covers the transaction `id` or the nonce `nonce` of an account. */
export function decides(
  decision: Decision,
  chain: string,
  account: string,
  id: string | null,
  nonce: number | null,
): boolean {
  if (decision.chain !== chain || !sameAccount(decision.account, account)) return false;
  if (nonce !== null && decision.throughNonce !== null && nonce <= decision.throughNonce) return true;
  return (id !== null && decision.id === id) || (nonce !== null && decision.nonce === nonce);
}

/** EVM addresses compare without case; others (SS58, base58) are case-sensitive. */
export function sameAccount(a: string, b: string): boolean {
  return a.startsWith('0x') ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function validateDecision(value: unknown, where: string): Decision {
  const d = value as Partial<Record<string, unknown>> | null;
  const text = (key: string): boolean => typeof d?.[key] === 'string' && (d[key] as string).length > 0;
  const maybe = (key: string): boolean => d?.[key] === null || typeof d?.[key] === 'string';
  const count = (key: string): boolean =>
    d?.[key] === null || (Number.isSafeInteger(d?.[key]) && (d?.[key] as number) >= 0);
  const ok =
    d !== null &&
    typeof d === 'object' &&
    (d['kind'] === 'adopt' || d['kind'] === 'dismiss') &&
    ['chain', 'account', 'by', 'reason', 'at'].every(text) &&
    ['id', 'swapId', 'raw'].every(maybe) &&
    count('nonce') &&
    count('block') &&
    count('throughNonce') &&
    (d['id'] !== null || d['nonce'] !== null || d['throughNonce'] !== null) &&
    (d['kind'] === 'dismiss' || (text('swapId') && text('raw') && text('id')));
  if (!ok) throw new StoreError(where, `not a reconcile decision: ${JSON.stringify(value).slice(0, 200)}`);
  return value as Decision;
}
