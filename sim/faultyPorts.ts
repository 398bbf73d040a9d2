/** The product's chain ports of the simulated world, seen through the faulty network. */
import type { JobTerms, SignedTransfer, SwapView } from '../machines/index.ts';
import type {
  ActivityQuery,
  AssignedSwap,
  ChainActivity,
  ClaimEntry,
  Clock,
  Escrow,
  EscrowReceipt,
  JobObservation,
  JobSource,
  MarkRequest,
  Settlement,
  SignedBytes,
  SignedIdentity,
  SwapContract,
  TransferRequest,
  TransferSender,
  TransferStatus,
  WitnessReport,
} from '../src/host/ports.ts';
import { BatchReverted } from '../src/host/ports.ts';
import { withoutStack } from './faults.ts';
import type { SimNetwork } from './network.ts';
import { OPERATOR_BTC, takeNonce } from './worldFaults.ts';
import { advanceNonceByHand } from './chains/simSolana.ts';
import { payoutShape, spendForeign } from './chains/simUtxoChain.ts';
import type { Ledger, SimLifetime, World } from './world.ts';

class FaultySwapContract implements SwapContract {
  constructor(
    private readonly inner: SwapContract,
    private readonly net: SimNetwork,
    private readonly world: World,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  get miner(): string {
    return this.inner.miner;
  }
  now(): Promise<number> {
    return this.net.read('currentBlock', 'subtensor', () => this.inner.now());
  }
  listAssigned(): Promise<AssignedSwap[]> {
    return this.net.read('listAssigned', this.miner, () => this.inner.listAssigned());
  }
  async markFulfilled(request: MarkRequest): Promise<{ ok: true } | { ok: false; error: string }> {
    if (this.net.faults.decide('insufficient-balance', `fees:${request.swapId}:b${this.world.height}`)) {
      return { ok: false, error: 'InsufficientBalance' };
    }
    return this.net.write('mark_fulfilled', request.swapId, () => this.inner.markFulfilled(request));
  }
  getSwap(swapId: string): Promise<SwapView | null> {
    return this.net.read('get_swap', swapId, () => this.inner.getSwap(swapId));
  }
}

class FaultySender implements TransferSender {
  /** The witness's question goes through the network too (it may fail); only where the sender has one. */
  readonly witness?: () => Promise<WitnessReport>;
  readonly identify?: (raw: string) => SignedIdentity;
  readonly activity?: (query: ActivityQuery) => Promise<ChainActivity[]>;

  constructor(
    private readonly inner: TransferSender,
    private readonly net: SimNetwork,
    private readonly world: World,
  ) {
    const { witness, identify, activity } = inner;
    if (witness !== undefined) this.witness = () => net.read('nonce', inner.chain, () => witness.call(inner));
    if (identify !== undefined) this.identify = (raw) => identify.call(inner, raw);
    if (activity !== undefined) this.activity = (query) => activity.call(inner, query);
  }
  get chain(): string {
    return this.inner.chain;
  }
  addressProblem(address: string): string | null {
    return this.inner.addressProblem(address);
  }
  adopt(transfer: SignedTransfer): void {
    this.inner.adopt?.(transfer); // in process, not over the network
  }
  controls(address: string): boolean {
    return this.inner.controls(address);
  }
  sign(request: TransferRequest): Promise<SignedBytes> {
    return this.inner.sign(request);
  }
  broadcast(raw: string): Promise<void> {
    const ledger = this.world.state.ledgers[this.chain]!;
    if (ledger.utxo !== undefined) return this.broadcastUtxo(raw, ledger);
    // Most broadcasts repeat one the ledger already holds: its record says what the bytes do.
    const known = Object.values(ledger.transfers).find((t) => t.raw === raw);
    const { from, nonce, lifetime, swapId } =
      known ?? (JSON.parse(raw) as { from: string; nonce: number; swapId: string; lifetime?: SimLifetime });
    // An operator's own transaction slips in between our signing and our first broadcast.
    const next = known === undefined && (ledger.nonces[from] ?? 0) === nonce;
    if (next && this.net.faults.decide('nonce-conflict', `${this.chain}:${from}:${nonce}:b${this.world.height}`))
      takeNonce(this.world, this.chain, from, nonce);
    // On Solana: the operator advances the durable nonce account our transfer was signed against.
    if (
      known === undefined &&
      lifetime?.kind === 'nonce' &&
      ledger.solana?.nonceAccounts[lifetime.account] === lifetime.value
    ) {
      if (
        this.net.faults.decide(
          'nonce-conflict',
          `${this.chain}:${lifetime.account}:${lifetime.value}:b${this.world.height}`,
        )
      ) {
        advanceNonceByHand(ledger, lifetime.account);
        this.world.commit();
      }
    }
    // A Solana transfer has no account nonce: its site is its swap's.
    return this.net.write(
      'broadcast',
      lifetime === undefined ? `${this.chain}:${nonce}` : `${this.chain}:swap${swapId}`,
      () => this.inner.broadcast(raw),
    );
  }
  lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    return this.net.read('lookup', transfer.hash.slice(0, 12), () => this.inner.lookup(transfer));
  }
  /** The UTXO chain's nonce conflict: an operator's own transaction spends the payout's first input first. */
  private broadcastUtxo(raw: string, ledger: Ledger): Promise<void> {
    const { txid, inputs } = payoutShape(raw);
    const first = inputs[0]!;
    if (
      ledger.utxo!.txs[txid] === undefined &&
      this.net.faults.decide('nonce-conflict', `${this.chain}:${first}:b${this.world.height}`)
    ) {
      spendForeign(this.world, ledger, first, OPERATOR_BTC);
    }
    return this.net.write('broadcast', `${this.chain}:${txid.slice(0, 12)}`, () => this.inner.broadcast(raw));
  }
}

class FaultyEscrow implements Escrow {
  constructor(
    private readonly inner: Escrow,
    private readonly net: SimNetwork,
    private readonly world: World,
  ) {}
  get chain(): string {
    return this.inner.chain;
  }
  readSettlements(jobs: readonly JobTerms[]): Promise<Settlement[]> {
    return this.net.read('getLocks', batchKey(jobs), () => this.inner.readSettlements(jobs));
  }
  checkClaims(entries: readonly ClaimEntry[]): Promise<string | null> {
    return this.net.read('estimateGas', batchKey(entries.map((e) => e.terms)), () => this.inner.checkClaims(entries));
  }
  async claimLocks(entries: readonly ClaimEntry[]): Promise<EscrowReceipt> {
    const key = batchKey(entries.map((e) => e.terms));
    // The batch passed its dry run; the chain changed before it was mined.
    if (this.net.faults.decide('batch-revert', `${key}:b${this.world.height}`))
      throw withoutStack(() => new BatchReverted('a lock changed before the batch was mined'));
    return this.net.write('claimLocks', key, () => this.inner.claimLocks(entries));
  }
  cancelExpiredLocks(jobs: readonly JobTerms[]): Promise<EscrowReceipt> {
    return this.net.write('cancelExpiredLocks', batchKey(jobs), () => this.inner.cancelExpiredLocks(jobs));
  }
}

/** Names a batch by its jobs, so the same batch meets the same fault in the same block. */
function batchKey(jobs: readonly JobTerms[]): string {
  return jobs.map((j) => j.jobId.slice(-4)).join('+');
}

class FaultyCompute implements JobSource, Clock {
  constructor(
    private readonly jobs: JobSource,
    private readonly clock: Clock,
    private readonly net: SimNetwork,
  ) {}
  now(): Promise<number> {
    return this.net.read('blockTimestamp', 'escrow-chain', () => this.clock.now());
  }
  poll(): Promise<JobObservation[]> {
    return this.net.read('jobs', 'compute', () => this.jobs.poll());
  }
}

/** The swap ports behind the faulty network. */
export function faultySwapPorts(ports: SimSwapPorts, net: SimNetwork, world: World): SimSwapPorts {
  return {
    contract: new FaultySwapContract(ports.contract, net, world),
    senders: new Map([...ports.senders].map(([chain, sender]) => [chain, new FaultySender(sender, net, world)])),
  };
}

/** The job ports behind the faulty network (the compute engine is also the escrow chain's clock). */
export function faultyJobPorts(ports: SimJobPorts, net: SimNetwork, world: World): SimJobPorts {
  const compute = new FaultyCompute(ports.jobSource, ports.clock, net);
  return {
    escrows: new Map([...ports.escrows].map(([chain, escrow]) => [chain, new FaultyEscrow(escrow, net, world)])),
    clock: compute,
    jobSource: compute,
  };
}

export interface SimSwapPorts {
  readonly contract: SwapContract;
  readonly senders: ReadonlyMap<string, TransferSender>;
}

export interface SimJobPorts {
  readonly escrows: ReadonlyMap<string, Escrow>;
  readonly clock: Clock;
  readonly jobSource: JobSource;
}
