/**
 * A Solana destination chain in the simulator: transactions expire with their lifetime.
 *
 * A transfer signed against a recent blockhash can be included only while the ledger is at or
 * below its last valid height; one signed against a durable nonce only while the nonce account
 * still holds the value it was signed against, and its inclusion advances that value. A
 * pending transfer whose lifetime has ended is dropped from the pool, as a cluster's nodes drop
 * it. A depth-1 reorg puts back the nonce value an undone transfer had advanced.
 *
 * SimSolanaSender pays as src/chains/solana/ does: durable nonce accounts, one transfer in
 * flight per account (held from signing until the value is no longer the final one, adopted
 * from an earlier life on restore), NeverLands only once the final nonce has moved. With
 * `lifetime: 'blockhash'` it signs against a recent blockhash instead and says NeverLands only
 * once the blockhash has expired at the final height and the signature is unknown: the
 * "prove expiry" alternative, which never pays twice but sends an outage longer than the
 * window to Recovery with nothing paid.
 *
 * "Final" here is what the ledger's confirmations make final: a block at least `confirmations`
 * deep, which no simulated reorg (depth 1) can undo.
 */
import type { SignedTransfer } from '../../machines/index.ts';
import {
  NeverLands,
  type ActivityQuery,
  type ChainActivity,
  type SignedBytes,
  type SignedIdentity,
  type TransferRequest,
  type TransferSender,
  type TransferStatus,
  type WitnessReport,
} from '../../src/host/ports.ts';
import { sha256Hex } from '../sha256.ts';
import {
  ADDRESS_PATTERNS,
  minerAddressOn,
  type Ledger,
  type SimLifetime,
  type SimTransfer,
  type SolanaLedger,
  type World,
} from '../world.ts';

/** Signatures the witness lists, as the real one's getSignaturesForAddress limit. */
export const SIM_SOLANA_WITNESS_LIMIT = 25;

export type SolanaLifetimeKind = 'durable-nonce' | 'blockhash';

export interface RawSolanaTransfer {
  readonly chain: string;
  readonly from: string;
  readonly to: string;
  readonly amount: string;
  /** No account nonce on Solana; -1 keeps the EVM-style nonce checks of the faulty network away. */
  readonly nonce: -1;
  readonly swapId: string;
  readonly lifetime: SimLifetime;
}

/** The miner's durable nonce accounts on a simulated Solana ledger, and how long a blockhash lives. */
export function solanaLedgerState(chain: string, nonceAccounts: number, blockhashValidBlocks: number): SolanaLedger {
  const accounts: Record<string, string> = {};
  for (let i = 0; i < nonceAccounts; i++) accounts[`${chain}-nonce-${i}`] = `nonce-${chain}-${i}-genesis`;
  return { blockhashValidBlocks, nonceAccounts: accounts, expired: [] };
}

function solanaOf(ledger: Ledger): SolanaLedger {
  if (ledger.solana === undefined) throw new Error(`ledger '${ledger.chain}' is not a Solana ledger`);
  return ledger.solana;
}

function lifetimeAlive(ledger: Ledger, lifetime: SimLifetime): boolean {
  if (lifetime.kind === 'blockhash') return ledger.height <= lifetime.validUntil;
  return solanaOf(ledger).nonceAccounts[lifetime.account] === lifetime.value;
}

/** One block of a Solana ledger: what the pool holds and may land lands; dead lifetimes are dropped. */
export function includeSolanaBlock(ledger: Ledger): void {
  ledger.height += 1;
  const sol = solanaOf(ledger);
  const pending = Object.values(ledger.transfers)
    .filter((t) => t.includedBlock === null && t.includeFrom <= ledger.height)
    .sort((a, b) => (a.hash < b.hash ? -1 : 1));
  for (const transfer of pending) {
    if (!lifetimeAlive(ledger, transfer.lifetime!)) continue;
    if ((ledger.frozenUntil[transfer.from] ?? 0) > ledger.height) continue;
    const balance = BigInt(ledger.balances[transfer.from] ?? '0');
    if (balance < BigInt(transfer.amount)) continue;
    ledger.balances[transfer.from] = (balance - BigInt(transfer.amount)).toString();
    ledger.balances[transfer.to] = (BigInt(ledger.balances[transfer.to] ?? '0') + BigInt(transfer.amount)).toString();
    const lifetime = transfer.lifetime!;
    if (lifetime.kind === 'nonce') sol.nonceAccounts[lifetime.account] = `nonce-${lifetime.account}-b${ledger.height}`;
    transfer.includedBlock = ledger.height;
  }
  for (const transfer of Object.values(ledger.transfers)) {
    if (transfer.includedBlock !== null || lifetimeAlive(ledger, transfer.lifetime!)) continue;
    delete ledger.transfers[transfer.hash];
    sol.expired.push(transfer.hash);
  }
}

/** A depth-1 reorg undid `transfer`: the nonce it advanced is the account's value again. */
export function undoSolanaTransfer(ledger: Ledger, transfer: SimTransfer): void {
  if (transfer.lifetime?.kind === 'nonce')
    solanaOf(ledger).nonceAccounts[transfer.lifetime.account] = transfer.lifetime.value;
}

/** Someone else advances a nonce account (an operator's `solana new-nonce`). */
export function advanceNonceByHand(ledger: Ledger, account: string): void {
  solanaOf(ledger).nonceAccounts[account] = `nonce-${account}-by-hand-b${ledger.height}`;
}

export class SimSolanaSender implements TransferSender {
  /** Nonce values held by transfers that may still land, per account. */
  private readonly held = new Map<string, Set<string>>();
  private readonly hashes = new Map<string, string>();

  constructor(
    protected readonly world: World,
    readonly chain: string,
    private readonly lifetime: SolanaLifetimeKind = 'durable-nonce',
  ) {
    solanaOf(this.ledger);
  }

  protected get ledger(): Ledger {
    return this.world.state.ledgers[this.chain]!;
  }

  controls(address: string): boolean {
    return address === minerAddressOn(this.chain);
  }

  addressProblem(address: string): string | null {
    return ADDRESS_PATTERNS[this.chain]!.test(address) ? null : `'${address}' is not a valid ${this.chain} address`;
  }

  adopt(transfer: SignedTransfer): void {
    const { lifetime, from } = JSON.parse(transfer.raw) as RawSolanaTransfer;
    if (from === minerAddressOn(this.chain) && lifetime.kind === 'nonce') this.hold(lifetime.account, lifetime.value);
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    const lifetime = this.lifetime === 'blockhash' ? this.recentBlockhash() : this.claimNonce(request.swapId);
    if (lifetime === null) throw new Error(`every nonce account of ${this.chain} holds a transfer that may still land`);
    const body: RawSolanaTransfer = {
      chain: this.chain,
      from: minerAddressOn(this.chain),
      to: request.to,
      amount: request.amount.toString(),
      nonce: -1,
      swapId: request.swapId,
      lifetime,
    };
    const raw = JSON.stringify(body);
    const hash = this.hashOf(raw);
    if (lifetime.kind === 'nonce') this.hold(lifetime.account, lifetime.value);
    this.world.state.observations.signatures[hash] = { height: this.world.height, swapId: request.swapId };
    this.world.commit();
    return { raw, hash };
  }

  protected recentBlockhash(): SimLifetime {
    return { kind: 'blockhash', validUntil: this.ledger.height + solanaOf(this.ledger).blockhashValidBlocks };
  }

  /** The swap's own nonce account, as src/chains/solana/durableNonces.ts pins it (why: there). */
  private claimNonce(swapId: string): SimLifetime | null {
    const accounts = Object.entries(solanaOf(this.ledger).nonceAccounts);
    const only = Number.parseInt(sha256Hex(swapId).slice(0, 8), 16) % accounts.length;
    for (const [account, current] of accounts.slice(only, only + 1)) {
      const final = this.finalValue(account);
      const held = this.held.get(account);
      if (held !== undefined) for (const value of held) if (value !== final) held.delete(value);
      if (final !== current || held?.has(current) === true) continue;
      return { kind: 'nonce', account, value: current };
    }
    return null;
  }

  /** The account's value as of the last final block: before any advance still short of final. */
  private finalValue(account: string): string {
    const ledger = this.ledger;
    const finalHeight = ledger.height - ledger.confirmations + 1;
    let oldest: SimTransfer | null = null;
    for (const t of Object.values(ledger.transfers)) {
      if (
        t.includedBlock === null ||
        t.includedBlock <= finalHeight ||
        t.lifetime?.kind !== 'nonce' ||
        t.lifetime.account !== account
      )
        continue;
      if (oldest === null || t.includedBlock < oldest.includedBlock!) oldest = t;
    }
    return oldest === null
      ? solanaOf(ledger).nonceAccounts[account]!
      : (oldest.lifetime as Extract<SimLifetime, { kind: 'nonce' }>).value;
  }

  private hold(account: string, value: string): void {
    const values = this.held.get(account) ?? new Set<string>();
    values.add(value);
    this.held.set(account, values);
  }

  async broadcast(raw: string): Promise<void> {
    const hash = this.hashOf(raw);
    const ledger = this.ledger;
    const body = JSON.parse(raw) as RawSolanaTransfer;
    // As a node: the lifetime first (bytes that landed have moved their own nonce, and an
    // expired blockhash is refused whether or not its transaction landed), then the pool.
    if (!lifetimeAlive(ledger, body.lifetime)) {
      this.lifetimeEnded(body, hash);
      return;
    }
    if (ledger.transfers[hash] !== undefined) return; // already in the pool or a block: harmless
    const delay = Number.parseInt(hash.slice(2, 4), 16) % 3;
    const { chain, from, to, amount, nonce, swapId, lifetime } = body;
    ledger.transfers[hash] = {
      chain,
      from,
      to,
      amount,
      nonce,
      swapId,
      hash,
      raw,
      includeFrom: ledger.height + 1 + delay,
      includedBlock: null,
      lifetime,
    };
    this.world.commit();
  }

  /** The node refuses the bytes as expired: NeverLands only once that is final and the signature is unknown. */
  protected lifetimeEnded(body: RawSolanaTransfer, hash: string): void {
    const ledger = this.ledger;
    const lifetime = body.lifetime;
    const finalHeight = ledger.height - ledger.confirmations + 1;
    const final =
      lifetime.kind === 'blockhash'
        ? finalHeight > lifetime.validUntil
        : this.finalValue(lifetime.account) !== lifetime.value;
    if (final && ledger.transfers[hash] === undefined)
      throw new NeverLands(
        `transfer ${hash.slice(0, 12)} on ${this.chain}: its ${lifetime.kind} lifetime ended for good`,
      );
  }

  /**
   * The witness as src/chains/solana/solanaActivity.ts has it: the newest transactions the
   * account paid for that a block holds (getSignaturesForAddress starts at `confirmed`).
   */
  async witness(): Promise<WitnessReport> {
    const account = minerAddressOn(this.chain);
    const ids = Object.values(this.ledger.transfers)
      .filter((t) => t.from === account && t.includedBlock !== null)
      .sort((a, b) => b.includedBlock! - a.includedBlock! || (a.hash < b.hash ? 1 : -1))
      .slice(0, SIM_SOLANA_WITNESS_LIMIT)
      .map((t) => t.hash);
    return { kind: 'ids', account, ids };
  }

  identify(raw: string): SignedIdentity {
    const { from } = JSON.parse(raw) as RawSolanaTransfer;
    return { account: from, nonce: null, id: this.hashOf(raw) };
  }

  async activity(query: ActivityQuery): Promise<ChainActivity[]> {
    const ids = new Set(query.ids ?? []);
    return Object.values(this.ledger.transfers)
      .filter((t) => ids.has(t.hash))
      .map((t) => ({
        id: t.hash,
        nonce: null,
        to: t.to,
        amount: BigInt(t.amount),
        block: t.includedBlock,
        raw: t.raw === '' ? null : t.raw,
        note: t.swapId === '' ? 'a transfer settle did not sign' : `a transfer signed for swap ${t.swapId}`,
      }));
  }

  async lookup({ hash }: SignedTransfer): Promise<TransferStatus> {
    const transfer = this.ledger.transfers[hash];
    if (transfer === undefined) return { kind: 'unknown' };
    if (transfer.includedBlock === null) return { kind: 'pending' };
    const confirmations = this.ledger.height - transfer.includedBlock + 1;
    return confirmations >= this.ledger.confirmations
      ? { kind: 'included', block: transfer.includedBlock }
      : { kind: 'pending' };
  }

  protected hashOf(raw: string): string {
    let hash = this.hashes.get(raw);
    if (hash === undefined) {
      hash = `0x${sha256Hex(raw)}`;
      this.hashes.set(raw, hash);
    }
    return hash;
  }
}
