/**
 * The miner's own checks before a first signature (issue 16; the reference miner's
 * `verify_user_sent_funds` and `unfunded_obligation_reason`):
 *
 * - verifyDeposit (the Verifying state's effect): asks the source chain's verifier whether the
 *   user's deposit arrived. `verified` and `wrong` become events the machine records (verdict
 *   and evidence) before anything is signed; `pending` is no event: the machine stays in
 *   Verifying and is asked again next tick, until the cushion expires it.
 * - fundsShortfall (run by sendTransfer just before signing): the destination wallet's balance
 *   must cover this payout plus the payouts of every strictly earlier-initiated live swap on the
 *   same destination chain that has not signed yet (ties do not count). A balance that cannot be
 *   read is a wait, not a pass (the reference allows on a read error; a daemon trusted with
 *   collateral does not).
 *
 * Crash: nothing here holds state. A crash after a verdict but before its event is persisted
 * re-asks the chain; a crash after the gate but before the signature is judged again.
 */
import { requiredPayout, type DepositRecord, type SwapContext, type SwapEvent } from '../../../machines/index.ts';
import { isSimulatedCrash } from '../../engine/crashpoints.ts';
import { errorField } from '../../errors.ts';
import type { Logger } from '../../host/ports.ts';
import type { DepositClaim, DepositVerdict, DestinationBalance, SourceVerifier } from '../../host/sourceVerifier.ts';

/** What the swap obligation needs to check deposits and gate on funds. */
export interface SwapSourcePorts {
  /** Verifiers by source chain id (one verifier may answer for several chains). */
  readonly verifiers: ReadonlyMap<string, SourceVerifier>;
  /**
   * Source chains the operator chose not to verify (config opt-out, logged at every start):
   * their deposits are recorded `unchecked` and paid. Any other chain without a verifier waits.
   */
  readonly unverified: ReadonlySet<string>;
  readonly balances: DestinationBalance;
  /** The wallet each destination chain pays from, for swaps that pin no sender (ink!). */
  readonly wallets: ReadonlyMap<string, string>;
}

/** The terms of a swap as the contract lists them now, by swap id (fills migrated version-1 terms). */
export type ListedTerms = (swapId: string) => SwapContext['terms'] | undefined;

/** The claim of a swap: version-1 records lack the deposit's addresses; the contract's listing has them. */
export function claimOf(c: SwapContext, listed: ListedTerms): DepositClaim {
  const t =
    c.terms.userSourceAddress === '' && c.terms.minerSourceAddress === ''
      ? (listed(c.terms.swapId) ?? c.terms)
      : c.terms;
  return {
    chain: c.terms.sourceChain,
    txHash: c.terms.sourceTxHash,
    blockHint: t.sourceTxBlock,
    recipient: t.minerSourceAddress,
    sender: t.userSourceAddress,
    minAmount: BigInt(c.terms.sourceAmount),
  };
}

function recordOf(verdict: DepositVerdict): DepositRecord {
  const e = verdict.evidence;
  return {
    verdict: verdict.kind === 'wrong' ? 'wrong' : 'verified',
    reason: verdict.kind === 'verified' ? null : verdict.reason,
    txHash: e.txHash,
    block: e.block,
    amountSeen: e.amountSeen === null ? null : e.amountSeen.toString(),
    senderSeen: e.senderSeen,
    confirmations: e.confirmations,
    required: e.required,
  };
}

/** Verifying's effect: DEPOSIT_VERIFIED, DEPOSIT_WRONG, or null (not yet: asked again next tick). */
export async function verifyDeposit(
  ports: SwapSourcePorts,
  log: Logger,
  id: string,
  c: SwapContext,
  listed: ListedTerms,
): Promise<SwapEvent | null> {
  const claim = claimOf(c, listed);
  const verifier = ports.verifiers.get(claim.chain);
  if (verifier === undefined) {
    if (ports.unverified.has(claim.chain)) return { type: 'DEPOSIT_VERIFIED', deposit: unchecked(claim) };
    log.error(
      { machine: id, sourceChain: claim.chain },
      'no deposit verifier for this source chain and no opt-out: the swap waits, nothing is paid',
    );
    return null;
  }
  let verdict: DepositVerdict;
  try {
    verdict = await verifier.verify(claim);
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    log.warn(
      { machine: id, effect: 'verifyDeposit', err: errorField(error) },
      'deposit check failed; asking again next tick',
    );
    return null;
  }
  const fields = { machine: id, ...evidenceFields(verdict) };
  if (verdict.kind === 'pending') {
    log.info({ ...fields, reason: verdict.reason }, 'deposit not verified yet; waiting');
    return null;
  }
  if (verdict.kind === 'wrong') {
    log.warn({ ...fields, reason: verdict.reason }, 'deposit is wrong: swap rejected, nothing will be sent');
    return { type: 'DEPOSIT_WRONG', deposit: recordOf(verdict) };
  }
  log.info(fields, 'deposit verified');
  return { type: 'DEPOSIT_VERIFIED', deposit: recordOf(verdict) };
}

function unchecked(claim: DepositClaim): DepositRecord {
  return {
    verdict: 'unchecked',
    reason: `source chain '${claim.chain}' is opted out of deposit verification by the operator`,
    txHash: claim.txHash,
    block: null,
    amountSeen: null,
    senderSeen: '',
    confirmations: 0,
    required: 0,
  };
}

function evidenceFields(verdict: DepositVerdict): Record<string, unknown> {
  const e = verdict.evidence;
  return {
    sourceTx: e.txHash,
    block: e.block,
    amountSeen: e.amountSeen?.toString() ?? null,
    confirmations: e.confirmations,
    required: e.required,
  };
}

/** A live swap as the funds gate sees it. */
export interface GateView {
  readonly id: string;
  readonly context: SwapContext;
}

const payoutOf = (c: SwapContext): bigint => requiredPayout(c.terms.contract, BigInt(c.terms.destAmount));

/**
 * Why this swap may not sign yet for want of funds (logged with the figures), or null when the
 * wallet covers it and every earlier unsigned payout on its chain.
 */
export async function fundsShortfall(
  ports: SwapSourcePorts,
  log: Logger,
  id: string,
  c: SwapContext,
  live: readonly GateView[],
): Promise<string | null> {
  const chain = c.terms.destChain;
  const earlier = live.filter(
    (o) =>
      o.id !== id &&
      o.context.terms.destChain === chain &&
      o.context.transfer === null &&
      o.context.terms.initiatedAt < c.terms.initiatedAt,
  );
  const payout = payoutOf(c);
  const pending = earlier.reduce((sum, o) => sum + payoutOf(o.context), 0n);
  const wallet = c.terms.senderPin !== '' ? c.terms.senderPin : ports.wallets.get(chain);
  const figures = { machine: id, chain, payout: payout.toString(), earlierPending: pending.toString() };
  if (wallet === undefined) {
    log.error(figures, 'funds gate: no wallet address known for this destination chain; waiting');
    return 'no wallet address';
  }
  let balance: bigint;
  try {
    balance = await ports.balances.balanceOf(chain, wallet);
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    log.warn({ ...figures, err: errorField(error) }, 'funds gate: balance unreadable; waiting (not a pass)');
    return 'balance unreadable';
  }
  if (balance >= payout + pending) return null;
  log.warn(
    { ...figures, balance: balance.toString(), earlier: earlier.map((o) => o.id) },
    'funds gate: wallet does not cover this payout and the earlier unsigned ones; waiting',
  );
  return `balance ${balance} < payout ${payout} + earlier ${pending}`;
}
