/**
 * Snapshots of swapFulfillment version 1 (ink! only: deadlines in blocks, no pin, marks after
 * inclusion) read as version 2. A store written by the release before this one opens and
 * resumes: every version-1 state exists in version 2 with the same meaning, and each context
 * field has a version-2 counterpart. Anything that is not a version-1 snapshot is refused with
 * what is missing, never guessed into shape (the store then refuses to start).
 *
 * Version 1 had no source-funds check and did not read the deposit's addresses or block: those
 * terms migrate empty ('' and 0; the host fills them from the contract's listing before it
 * checks), and the verdict is null. A version-1 swap still in Sending with nothing signed had
 * decided to send without a check: it migrates to Verifying, so it is checked before signing.
 * One already signed stays in Sending (its bytes may be on the chain; they are never re-signed).
 */
import type { SignedTransfer, SwapContext, SwapTerms } from './swapTypes.ts';

/** A version-1 snapshot does not have the shape version 1 wrote. */
export class SwapSnapshotMigrationError extends Error {
  override readonly name = 'SwapSnapshotMigrationError';
}

const V1_STATES = [
  'Pending',
  'Sending',
  'Sent',
  'Marking',
  'Reconciling',
  'Fulfilled',
  'Expired',
  'Rejected',
  'Recovery',
];

interface V1Terms {
  swapId: string;
  miner: string;
  sourceChain: string;
  destChain: string;
  sourceAmount: string;
  destAmount: string;
  taoAmount: string;
  userDestAddress: string;
  sourceTxHash: string;
  initiatedBlock: number;
  timeoutBlock: number;
}

interface V1Context {
  terms: V1Terms;
  marginBlocks: number;
  block: number;
  transfer: { raw: string; hash: string; decidedAtBlock: number } | null;
  transferBlock: number | null;
  markAttempts: number;
  nextMarkBlock: number;
  refusedWith: string | null;
  lastError: string | null;
  reason: string | null;
}

function need(condition: boolean, what: string): void {
  if (!condition) throw new SwapSnapshotMigrationError(`not a swapFulfillment version 1 snapshot: ${what}`);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNullable = <T>(v: unknown, check: (x: unknown) => x is T): boolean => v === null || check(v);

function checkV1(context: V1Context): void {
  const t = context.terms as unknown as Record<string, unknown>;
  need(typeof t === 'object' && t !== null, 'context.terms is missing');
  for (const key of [
    'swapId',
    'miner',
    'sourceChain',
    'destChain',
    'sourceAmount',
    'destAmount',
    'taoAmount',
    'userDestAddress',
    'sourceTxHash',
  ]) {
    need(isStr(t[key]), `terms.${key} is not a string`);
  }
  need(isNum(t['initiatedBlock']) && isNum(t['timeoutBlock']), 'terms.initiatedBlock/timeoutBlock are not integers');
  need(
    isNum(context.marginBlocks) && isNum(context.block) && isNum(context.markAttempts) && isNum(context.nextMarkBlock),
    'a counter is not an integer',
  );
  need(isNullable(context.transferBlock, isNum), 'transferBlock is not an integer or null');
  const transfer = context.transfer as unknown as Record<string, unknown> | null;
  need(
    transfer === null || (isStr(transfer['raw']) && isStr(transfer['hash']) && isNum(transfer['decidedAtBlock'])),
    'transfer is malformed',
  );
  for (const key of ['refusedWith', 'lastError', 'reason'] as const)
    need(isNullable(context[key], isStr), `${key} is not a string or null`);
}

function termsV2(t: V1Terms): SwapTerms {
  return {
    contract: 'ink',
    swapId: t.swapId,
    miner: t.miner,
    sourceChain: t.sourceChain,
    destChain: t.destChain,
    sourceAmount: t.sourceAmount,
    destAmount: t.destAmount,
    collateralAmount: t.taoAmount,
    hub: 'tao',
    userDestAddress: t.userDestAddress,
    senderPin: '',
    sourceTxHash: t.sourceTxHash,
    userSourceAddress: '',
    minerSourceAddress: '',
    sourceTxBlock: 0,
    initiatedAt: t.initiatedBlock,
    timeoutAt: t.timeoutBlock,
    maxExtendAt: null,
  };
}

function contextV2(c: V1Context): SwapContext {
  const transfer: SignedTransfer | null =
    c.transfer === null
      ? null
      : {
          raw: c.transfer.raw,
          hash: c.transfer.hash,
          decidedAt: c.transfer.decidedAtBlock,
          anchorBlock: c.transfer.decidedAtBlock,
        };
  return {
    terms: termsV2(c.terms),
    cushion: c.marginBlocks,
    now: c.block,
    deadline: c.terms.timeoutBlock,
    deposit: null,
    transfer,
    transferBlock: c.transferBlock,
    // Version 1 recorded a transfer's block only once it was included with its confirmations.
    transferIncluded: c.transferBlock !== null,
    markAttempts: c.markAttempts,
    nextMarkAt: c.nextMarkBlock,
    refusedWith: c.refusedWith,
    lastError: c.lastError,
    reason: c.reason,
  };
}

/** A persisted snapshot of version `fromVersion`, as version 2 persists it. */
export function migrateSwapSnapshot(snapshot: unknown, fromVersion: number): unknown {
  if (fromVersion !== 1)
    throw new SwapSnapshotMigrationError(`no migration of swapFulfillment version ${fromVersion} to version 2`);
  const s = snapshot as { value?: unknown; context?: unknown } | null;
  need(s !== null && typeof s === 'object', 'not an object');
  need(isStr(s!.value) && V1_STATES.includes(s!.value), `state ${JSON.stringify(s!.value)} is not a version 1 state`);
  need(typeof s!.context === 'object' && s!.context !== null, 'no context');
  const context = s!.context as V1Context;
  checkV1(context);
  const value = s!.value === 'Sending' && context.transfer === null ? 'Verifying' : s!.value;
  return { ...s, value, context: contextV2(context) };
}
