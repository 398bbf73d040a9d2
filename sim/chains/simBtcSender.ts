/**
 * The simulator's BTC destination: the REAL BtcTransferSender (src/chains/bitcoin/) over the
 * simulated UTXO ledger (SimEsplora) and a payout journal kept with the world, so the
 * simulator judges the sender's own rules (inputs reserved across restarts, the same bytes for
 * a swap signed before a crash, "never lands" only on a mined conflict) under its faults.
 *
 * One sender per host life, as one per process: what it holds in memory (the transfers
 * adopted at restore) dies with the host; the journal does not. Signing is real secp256k1
 * (RFC 6979, deterministic), so the same seed still gives the same run.
 */
import type { SignedTransfer } from '../../machines/index.ts';
import type { BtcJournalEntry, PayoutJournal } from '../../src/chains/bitcoin/btcJournal.ts';
import { BtcTransferSender } from '../../src/chains/bitcoin/btcTransferSender.ts';
import type {
  ActivityQuery,
  ChainActivity,
  Logger,
  SignedBytes,
  SignedIdentity,
  TransferRequest,
  TransferSender,
  TransferStatus,
  WitnessReport,
} from '../../src/host/ports.ts';
import { SIM_BTC_KEY, SIM_BTC_MINER } from '../addresses.ts';
import type { World } from '../world.ts';
import { SimEsplora } from './simEsplora.ts';
import { utxoOf } from './simUtxoChain.ts';

/** The journal in the world's state: durable when the world commits, as the file is when fsynced. */
export class WorldPayoutJournal implements PayoutJournal {
  constructor(
    private readonly world: World,
    private readonly chain: string,
  ) {}

  private get list(): BtcJournalEntry[] {
    return utxoOf(this.world.state.ledgers[this.chain]!).payoutJournal;
  }

  get entries(): readonly BtcJournalEntry[] {
    return this.list;
  }

  bySwap(swapId: string): BtcJournalEntry | undefined {
    return this.list.find((e) => e.swapId === swapId);
  }

  async add(entry: BtcJournalEntry): Promise<void> {
    this.list.push(entry);
    this.world.commit();
  }

  async remove(txids: ReadonlySet<string>): Promise<void> {
    if (txids.size === 0) return;
    const kept = this.list.filter((e) => !txids.has(e.txid));
    this.list.splice(0, this.list.length, ...kept);
    this.world.commit();
  }
}

export type JournalFactory = (world: World, chain: string) => PayoutJournal;

/** The sender for one host life. `journal` lets a test plant a journal that forgets. */
export function simBtcSender(
  world: World,
  chain: string,
  log: Logger,
  journal: JournalFactory = (w, c) => new WorldPayoutJournal(w, c),
): TransferSender {
  const sender = new BtcTransferSender({
    chain,
    network: 'mainnet',
    esplora: new SimEsplora(world, chain),
    privateKey: SIM_BTC_KEY,
    address: SIM_BTC_MINER,
    journal: journal(world, chain),
    log,
    confirmations: world.state.ledgers[chain]!.confirmations,
  });
  return new SigningObserver(sender, world);
}

/** Records each signature for the invariant checker (the height of the first, for the margin). */
class SigningObserver implements TransferSender {
  constructor(
    private readonly inner: BtcTransferSender,
    private readonly world: World,
  ) {}
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
    this.inner.adopt(transfer);
  }
  async sign(request: TransferRequest): Promise<SignedBytes> {
    const signed = await this.inner.sign(request);
    const signatures = this.world.state.observations.signatures;
    if (signatures[signed.hash] === undefined) {
      signatures[signed.hash] = { height: this.world.height, swapId: request.swapId };
      this.world.commit();
    }
    return signed;
  }
  broadcast(raw: string): Promise<void> {
    return this.inner.broadcast(raw);
  }
  lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    return this.inner.lookup(transfer);
  }
  witness(): Promise<WitnessReport> {
    return this.inner.witness();
  }
  identify(raw: string): SignedIdentity {
    return this.inner.identify(raw);
  }
  activity(query: ActivityQuery): Promise<ChainActivity[]> {
    return this.inner.activity(query);
  }
}
