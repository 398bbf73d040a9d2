/**
 * The source-funds side of the swap modules (ink! and Solana flavours): the ports the swap
 * obligation checks deposits and balances with, the faults of deposits and destination wallets,
 * the audit the world takes at every signature, and the two invariants read from it:
 *
 * - never paid a swap whose deposit was not verified at the required confirmations: at each
 *   signature the world judges the deposit itself (sim/chains/simSource.ts) at that block;
 * - never paid a later swap while an earlier one on the same chain was unfunded: at each
 *   signature, the destination wallet held this payout plus the payouts of every swap on that
 *   chain initiated strictly earlier that we still owe (Active for us, sound, deposit not wrong,
 *   still startable before its original deadline's cushion) and have not signed.
 *
 * The world's "still owed" is a subset of what a correct host's gate counts (the host's view of
 * time lags the world's, its deadlines only move later), so a correct host never trips it.
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { requiredPayout, type SignedTransfer, type SwapTerms, swapTermsProblem } from '../../machines/index.ts';
import type { SwapSourcePorts } from '../../src/obligations/swapFulfillment/sourceCheck.ts';
import type { SignedBytes, TransferRequest, TransferSender, TransferStatus } from '../../src/host/ports.ts';
import type {
  DepositClaim,
  DepositVerdict,
  DestinationBalance,
  SourceVerifier,
} from '../../src/host/sourceVerifier.ts';
import {
  type DEPOSIT_FATES,
  judgeDeposit,
  SIM_SOURCE_CHAIN,
  SimDestinationBalance,
  SimSourceVerifier,
  setFate,
  simBalanceOf,
  type PayoutAudit,
} from '../chains/simSource.ts';
import type { FaultKind, FaultSource } from '../faults.ts';
import type { InvariantResult } from '../invariants.ts';
import type { SimNetwork } from '../network.ts';
import { ADDRESS_PATTERNS, minerAddressOn, type World } from '../world.ts';

/** How one flavour's contract holds its swaps, its clock and the miner's cushion. */
export interface SwapBook {
  swaps(world: World): ReadonlyArray<{ readonly terms: SwapTerms; readonly miner: string; readonly status: string }>;
  /** The terms of any swap ever made, by id. */
  terms(world: World, swapId: string): SwapTerms | undefined;
  clock(world: World): number;
  cushion(world: World): number;
}

export const SOURCE_INVARIANTS = [INVARIANT.neverPaidUnverified, INVARIANT.neverStarvedEarlier] as const;

/** Blocks a short destination wallet stays short before its operator refills it. */
export const TOP_UP_BLOCKS = 6;
const FULL_BALANCE = (10n ** 30n).toString();

const FATE_FAULTS: ReadonlyArray<readonly [FaultKind, (typeof DEPOSIT_FATES)[number]]> = [
  ['deposit-missing', 'missing'],
  ['deposit-late', 'late'],
  ['deposit-short', 'short'],
  ['deposit-foreign', 'foreign'],
  ['deposit-reorged', 'reorged'],
];

/** The obligation's source ports over the world, behind the faulty network when one is given. */
export function simSourcePorts(world: World, net: SimNetwork | null): SwapSourcePorts {
  const inner = new SimSourceVerifier(world);
  const balances = new SimDestinationBalance(world);
  const verifier: SourceVerifier =
    net === null
      ? inner
      : {
          chains: inner.chains,
          verify: (claim: DepositClaim): Promise<DepositVerdict> =>
            net.read('getTransaction', claim.txHash.slice(-8), () => inner.verify(claim)),
        };
  const faultyBalances: DestinationBalance =
    net === null
      ? balances
      : { balanceOf: (chain, address) => net.read('getBalance', chain, () => balances.balanceOf(chain, address)) };
  return {
    verifiers: new Map([[SIM_SOURCE_CHAIN, verifier]]),
    unverified: new Set(),
    balances: faultyBalances,
    wallets: new Map(Object.keys(world.state.ledgers).map((chain) => [chain, minerAddressOn(chain)])),
  };
}

/** Each sender, audited by the world at every signature (before the signature is made). */
export function auditedSenders(
  world: World,
  book: SwapBook,
  senders: ReadonlyMap<string, TransferSender>,
): Map<string, TransferSender> {
  return new Map([...senders].map(([chain, inner]) => [chain, new AuditedSender(world, book, inner)]));
}

class AuditedSender implements TransferSender {
  // The witness's optional reads, present exactly when the inner sender has them.
  readonly witness?: TransferSender['witness'];
  readonly identify?: TransferSender['identify'];
  readonly activity?: TransferSender['activity'];

  constructor(
    private readonly world: World,
    private readonly book: SwapBook,
    private readonly inner: TransferSender,
  ) {
    if (inner.witness !== undefined) this.witness = () => inner.witness!();
    if (inner.identify !== undefined) this.identify = (raw) => inner.identify!(raw);
    if (inner.activity !== undefined) this.activity = (query) => inner.activity!(query);
  }
  get chain(): string {
    return this.inner.chain;
  }
  addressProblem(address: string): string | null {
    return this.inner.addressProblem(address);
  }
  controls(address: string): boolean {
    return this.inner.controls(address);
  }
  adopt(transfer: SignedTransfer): void {
    this.inner.adopt?.(transfer);
  }
  sign(request: TransferRequest): Promise<SignedBytes> {
    auditPayout(this.world, this.book, request);
    return this.inner.sign(request);
  }
  broadcast(raw: string): Promise<void> {
    return this.inner.broadcast(raw);
  }
  lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    return this.inner.lookup(transfer);
  }
}

function auditPayout(world: World, book: SwapBook, request: TransferRequest): void {
  const terms = book.terms(world, request.swapId);
  if (terms === undefined) return;
  const verdict = judgeDeposit(world, {
    chain: terms.sourceChain,
    txHash: terms.sourceTxHash,
    blockHint: terms.sourceTxBlock,
    recipient: terms.minerSourceAddress,
    sender: terms.userSourceAddress,
    minAmount: BigInt(terms.sourceAmount),
  });
  const earlier = owed(world, book, terms.destChain).filter((o) => o.initiatedAt < terms.initiatedAt);
  const audit: PayoutAudit = {
    swapId: terms.swapId,
    chain: terms.destChain,
    height: world.height,
    depositProblem: verdict.kind === 'verified' ? null : `${verdict.kind}: ${verdict.reason}`,
    balance: simBalanceOf(world, terms.destChain, request.from ?? minerAddressOn(terms.destChain)).toString(),
    payout: payoutOf(terms).toString(),
    earlier: earlier.map((o) => o.swapId),
    owedEarlier: earlier.reduce((sum, o) => sum + payoutOf(o), 0n).toString(),
  };
  world.state.sources.audits.push(audit);
}

const payoutOf = (t: SwapTerms): bigint => requiredPayout(t.contract, BigInt(t.destAmount));

/** Swaps on `chain` we owe and have not signed: Active for us, sound, deposit not wrong, still startable. */
function owed(world: World, book: SwapBook, chain: string): SwapTerms[] {
  const signed = new Set(Object.values(world.state.observations.signatures).map((s) => s.swapId));
  const now = book.clock(world) + book.cushion(world);
  return book
    .swaps(world)
    .filter(
      (s) =>
        s.status === 'Active' &&
        s.miner === world.state.miner &&
        s.terms.destChain === chain &&
        !signed.has(s.terms.swapId) &&
        now <= s.terms.timeoutAt &&
        sound(world, s.terms),
    )
    .map((s) => s.terms);
}

function sound(world: World, t: SwapTerms): boolean {
  const fate = world.state.sources.deposits[t.sourceTxHash]?.fate;
  return (
    world.state.sources.contested[t.swapId] === undefined &&
    swapTermsProblem(t) === null &&
    (ADDRESS_PATTERNS[t.destChain]?.test(t.userDestAddress) ?? false) &&
    (t.senderPin === '' || t.senderPin === minerAddressOn(t.destChain)) &&
    fate !== 'short' &&
    fate !== 'foreign'
  );
}

/** Deposit fates not yet decided are decided now; a wallet may fall short; refills come due. */
export function applySourceFaults(world: World, faults: FaultSource, book: SwapBook): void {
  for (const deposit of Object.values(world.state.sources.deposits)) {
    if (deposit.fate !== null) continue;
    const hit = FATE_FAULTS.find(([kind]) => faults.decide(kind, `deposit:${deposit.txHash}`));
    setFate(world, deposit.txHash, hit?.[1] ?? 'sound', faults.pick(`deposit:${deposit.txHash}`, 10));
  }
  for (const ledger of Object.values(world.state.ledgers)) {
    if (ledger.utxo === undefined && faults.decide('wallet-short', `wallet:${ledger.chain}:b${ledger.height}`))
      shortWallet(world, book, ledger.chain);
  }
}

/**
 * The destination wallet on `chain` holds one unit less than its transfers in flight plus every
 * payout still owed there: enough for any one swap, not for all (needs two owed). Refilled
 * TOP_UP_BLOCKS later. False when there was nothing to make short.
 */
export function shortWallet(world: World, book: SwapBook, chain: string): boolean {
  const ledger = world.state.ledgers[chain];
  const pending = owed(world, book, chain);
  if (ledger === undefined || ledger.utxo !== undefined || pending.length < 2) return false;
  const miner = minerAddressOn(chain);
  const inFlight = Object.values(ledger.transfers)
    .filter((t) => t.from === miner && t.includedBlock === null)
    .reduce((sum, t) => sum + BigInt(t.amount), 0n);
  const level = inFlight + pending.reduce((sum, t) => sum + payoutOf(t), 0n) - 1n;
  ledger.balances[miner] = level.toString();
  world.state.sources.topUps.push({ chain, at: world.height + TOP_UP_BLOCKS });
  world.commit();
  return true;
}

/** One block of the source side: wallets whose refill is due are refilled. */
export function advanceSources(world: World): void {
  const topUps = world.state.sources.topUps;
  for (let i = topUps.length - 1; i >= 0; i -= 1) {
    const { chain, at } = topUps[i]!;
    if (at > world.height) continue;
    world.state.ledgers[chain]!.balances[minerAddressOn(chain)] = FULL_BALANCE;
    topUps.splice(i, 1);
  }
}

/** The two source invariants, from the audits taken at every signature. */
export function sourceInvariants(world: World): InvariantResult[] {
  const audits = world.state.sources.audits;
  const unverified = audits
    .filter((a) => a.depositProblem !== null)
    .map((a) => `swap ${a.swapId} signed at block ${a.height} with its deposit ${a.depositProblem}`);
  const starved = audits
    .filter((a) => BigInt(a.balance) < BigInt(a.payout) + BigInt(a.owedEarlier))
    .map(
      (a) =>
        `swap ${a.swapId} signed on ${a.chain} at block ${a.height}: balance ${a.balance} < payout ${a.payout} + earlier unsigned ${a.owedEarlier} (${a.earlier.join(', ')})`,
    );
  return [
    { name: INVARIANT.neverPaidUnverified, checked: audits.length, violations: unverified },
    { name: INVARIANT.neverStarvedEarlier, checked: audits.length, violations: starved },
  ];
}
