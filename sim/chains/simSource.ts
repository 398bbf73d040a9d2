/**
 * The swaps' source chain in the simulator (a BTC-like chain on the world's block clock): the
 * users' deposits, a SourceVerifier over them with the reference's rules (recipient and amount,
 * then confirmations, then sender, then sender different from recipient), and the destination
 * wallets' balances (DestinationBalance) read from the ledgers. State: `sources` of the world.
 *
 * A deposit's fate (sound, never arriving, late, short, from another sender, reorged out after
 * being seen) is decided once, when its swap is made or by the first fault decision after it;
 * nothing else ever changes it, so a host restarted mid-run reads the very same chain.
 */
import type { SwapTerms } from '../../machines/index.ts';
import type {
  DepositClaim,
  DepositEvidence,
  DepositVerdict,
  DestinationBalance,
  SourceVerifier,
} from '../../src/host/sourceVerifier.ts';
import { utxoView } from './simUtxoChain.ts';
import type { World } from '../world.ts';

/** Confirmations the simulated source chain requires (the reference's BTC value). */
export const SIM_SOURCE_CONFIRMATIONS = 2;
/** The source chain every simulated swap is paid from. */
export const SIM_SOURCE_CHAIN = 'btc';

export const DEPOSIT_FATES = ['sound', 'missing', 'late', 'short', 'foreign', 'reorged'] as const;
export type DepositFate = (typeof DEPOSIT_FATES)[number];

export interface SimDeposit {
  readonly txHash: string;
  readonly swapId: string;
  readonly recipient: string;
  sender: string;
  amount: string;
  /** The world block it is in; null: it never arrives. */
  block: number | null;
  /** Dropped by a reorg from this world block on; null: never. */
  reorgedAt: number | null;
  /** Null until decided (by the swap's maker, or the first fault decision after it). */
  fate: DepositFate | null;
}

export interface SourcesState {
  readonly deposits: Record<string, SimDeposit>;
  /** Destination wallets to refill (a `wallet-short` fault ends): chain and the block it happens at. */
  readonly topUps: Array<{ readonly chain: string; readonly at: number }>;
  /** What the world saw at every first signature (the two source invariants read these). */
  readonly audits: PayoutAudit[];
  /**
   * Swaps the world knows a sound host may refuse at creation for a rule of the contract (two
   * live swaps of ours on one Solana hub: the host keeps the older one by its own tie-break):
   * never counted as owed by the funds invariant.
   */
  readonly contested: Record<string, true>;
}

export interface PayoutAudit {
  readonly swapId: string;
  readonly chain: string;
  readonly height: number;
  /** Null when the deposit was there, right, with the required confirmations. */
  readonly depositProblem: string | null;
  readonly balance: string;
  readonly payout: string;
  /** Earlier-initiated swaps on the chain still owed and unsigned, and their payouts' sum. */
  readonly earlier: readonly string[];
  readonly owedEarlier: string;
}

export const newSourcesState = (): SourcesState => ({ deposits: {}, topUps: [], audits: [], contested: {} });

/** The deposit addresses of a simulated swap. */
export const userSourceAddressOf = (swapId: string): string => `bc1q-user-${swapId.slice(0, 16)}`;
export const MINER_SOURCE_ADDRESS = 'bc1q-miner-deposits';

/** The user's deposit for new swap terms: confirmed when the swap is made, unless `fate` says otherwise. */
export function addDeposit(world: World, terms: SwapTerms, fate: DepositFate | null = null): void {
  world.state.sources.deposits[terms.sourceTxHash] = {
    txHash: terms.sourceTxHash,
    swapId: terms.swapId,
    recipient: terms.minerSourceAddress,
    sender: terms.userSourceAddress,
    amount: terms.sourceAmount,
    block: terms.sourceTxBlock,
    reorgedAt: null,
    fate: null,
  };
  if (fate !== null) setFate(world, terms.sourceTxHash, fate, 0);
}

/** Makes a deposit what its fate says, from the world's current block; `pick` in [0, 10). */
export function setFate(world: World, txHash: string, fate: DepositFate, pick: number): void {
  const d = world.state.sources.deposits[txHash]!;
  const h = world.height;
  d.fate = fate;
  if (fate === 'missing') d.block = null;
  if (fate === 'late') d.block = h + 1 + pick;
  if (fate === 'short') d.amount = (BigInt(d.amount) - 1n).toString();
  if (fate === 'foreign') d.sender = 'bc1q-someone-else';
  // Seen with one confirmation, then dropped before the second.
  if (fate === 'reorged') {
    d.block = h;
    d.reorgedAt = h + 1;
  }
}

const notFound = (txHash: string): DepositEvidence => ({
  txHash,
  block: null,
  amountSeen: null,
  senderSeen: '',
  confirmations: 0,
  required: SIM_SOURCE_CONFIRMATIONS,
});

/** The reference's verdict on a claim against the chain as it is at the world's current block. */
export function judgeDeposit(world: World, claim: DepositClaim, required = SIM_SOURCE_CONFIRMATIONS): DepositVerdict {
  const d = world.state.sources.deposits[claim.txHash];
  const h = world.height;
  if (d === undefined || d.block === null || d.block > h || (d.reorgedAt !== null && h >= d.reorgedAt))
    return { kind: 'pending', reason: 'deposit not found', evidence: { ...notFound(claim.txHash), required } };
  const evidence: DepositEvidence = {
    txHash: d.txHash,
    block: d.block,
    amountSeen: BigInt(d.amount),
    senderSeen: d.sender,
    confirmations: h - d.block + 1,
    required,
  };
  if (d.recipient !== claim.recipient)
    return { kind: 'wrong', reason: `paid ${d.recipient}, not ${claim.recipient}`, evidence };
  if (BigInt(d.amount) < claim.minAmount)
    return { kind: 'wrong', reason: `amount ${d.amount} < ${claim.minAmount}`, evidence };
  if (evidence.confirmations < required)
    return { kind: 'pending', reason: `${evidence.confirmations} of ${required} confirmations`, evidence };
  if (d.sender !== claim.sender) return { kind: 'wrong', reason: `sent by ${d.sender}, not ${claim.sender}`, evidence };
  if (d.sender === d.recipient) return { kind: 'wrong', reason: 'sender is the recipient', evidence };
  return { kind: 'verified', evidence };
}

export class SimSourceVerifier implements SourceVerifier {
  readonly chains = [SIM_SOURCE_CHAIN];
  constructor(private readonly world: World) {}
  async verify(claim: DepositClaim): Promise<DepositVerdict> {
    return judgeDeposit(this.world, claim);
  }
}

/** A wallet's spendable balance on a simulated destination ledger (UTXO: its unspent, mined outputs). */
export function simBalanceOf(world: World, chain: string, address: string): bigint {
  const ledger = world.state.ledgers[chain];
  if (ledger === undefined) throw new Error(`no simulated ledger '${chain}'`);
  if (ledger.utxo === undefined) return BigInt(ledger.balances[address] ?? '0');
  const view = utxoView(ledger.utxo);
  let sum = 0n;
  for (const [key, out] of view.outputs) {
    const spender = view.spentBy.get(key);
    const spent = spender !== undefined && spender.includedBlock !== null;
    if (out.address === address && out.height !== null && !spent) sum += out.value;
  }
  return sum;
}

export class SimDestinationBalance implements DestinationBalance {
  constructor(private readonly world: World) {}
  async balanceOf(chain: string, address: string): Promise<bigint> {
    return simBalanceOf(this.world, chain, address);
  }
}
