/**
 * The TransferSender port for BTC: a payout from the swap's pinned address, built with
 * @scure/btc-signer from that address's confirmed UTXOs as an Esplora API lists them.
 *
 * Invariant: no two signed payouts ever spend outputs that could both be unspent, and a payout
 * is never re-signed with fresh inputs while the first may still land. So:
 * - every signed payout is journaled (btcJournal.ts, fsynced) before `sign` returns, with the
 *   outputs it spends; those are reserved until it is buried, or proven unable to land;
 * - `sign` for a swap the journal already holds returns the journaled bytes again (a crash
 *   between signing and the host's persisting them, then the same swap asks again);
 * - `adopt` reserves the inputs of whatever the host's machines hold, even if the journal
 *   was lost;
 * - signing is one at a time, so two payouts never pick the same unreserved output.
 * What a crash leaves: a journal entry whose bytes the host may or may not hold; nothing is
 * broadcast that the host has not persisted (only the host calls `broadcast`).
 *
 * The transaction (btcBuild.ts): version 2, locktime 0, every input from the pinned address (validators take
 * vin[0]'s prevout address as the sender), sequence 0xffffffff on each (no BIP-125 signal: the
 * txid is what gets marked, and a replacement would change it), output 0 to the user, output 1
 * the change back to the pinned address when above 546 sat. Fee: the API's estimate for 2
 * blocks (else 3) x 1.25, rounded, at least 5 sat/vB, 15 when there is no estimate (the
 * reference miner's), times an upper bound of the size.
 *
 * "Never lands" (NeverLands) only when an input is spent by another transaction confirmed as
 * deep as a payout must be. Signed bytes and the key never reach a log line or an error.
 *
 * (Over 300 lines: the port's four methods and the reservation rules they share belong
 * together; building, conflicts and errors are in their own files.)
 *
 * Size (over 300 lines): coin choice, input reservation, broadcast and lookup share the
 * journal's reservation rule (an input of a signed transfer is spent by nothing else until it
 * confirms or is proven conflicted); building and errors are already in their own files.
 */
import type { Transaction } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import type { SignedTransfer } from '../../../machines/index.ts';
import { assert } from '../../errors.ts';
import {
  NeverLands,
  type ActivityQuery,
  type ChainActivity,
  type Logger,
  type SignedBytes,
  type SignedIdentity,
  type TransferRequest,
  type TransferSender,
  type TransferStatus,
  type WitnessReport,
} from '../../host/ports.ts';
import { btcActivity, btcWitness } from './btcActivity.ts';
import { MAX_JOURNAL_ENTRIES, type BtcJournalEntry, type PayoutJournal } from './btcJournal.ts';
import {
  btcNetwork,
  destinationScript,
  dustThreshold,
  feeRateSatVb,
  REFERENCE_FEE_POLICY,
  pinnedSource,
  selectCoins,
  type Selection,
  type BitcoinNetworkName,
  type FeePolicy,
  type SourceScript,
} from './btcTx.ts';
import { proveConflict, type ConflictProof } from './btcConflict.ts';
import type { EsploraApi, Utxo } from './esplora.ts';
import { buildPayout, inputsOf, parseSignedTx, type Payer } from './btcBuild.ts';
import {
  BtcBroadcastRefused,
  BtcDustAmount,
  BtcFeeRateTooHigh,
  BtcInsufficientFunds,
  BtcJournalFull,
} from './btcErrors.ts';

export { BtcBroadcastRefused, BtcDustAmount, BtcFeeRateTooHigh, BtcInsufficientFunds, BtcJournalFull };

/** A payout's journal entry (and its reservation) is dropped once buried this deep. */
export const RELEASE_DEPTH_BLOCKS = 6;

export interface BtcTransferSenderOptions {
  /** The destination chain's name in swaps. */
  readonly chain: string;
  readonly network: BitcoinNetworkName;
  readonly esplora: EsploraApi;
  /** 32 bytes, from the WIF; the public key is taken compressed. */
  readonly privateKey: Uint8Array;
  /** The pinned paying address (the swap's miner_to_addr): P2WPKH, P2SH-P2WPKH or P2PKH of the key. */
  readonly address: string;
  readonly journal: PayoutJournal;
  readonly log: Logger;
  /** Blocks holding the payout, the including one among them, before it counts (validators: 2). */
  readonly confirmations?: number;
  readonly fees?: FeePolicy;
  /** The most inputs one payout spends. */
  readonly maxInputs?: number;
}

const ALREADY_THERE =
  /already in block ?chain|outputs already in utxo set|txn-already-known|txn-already-in-mempool|already have transaction/i;
const INPUTS_GONE = /missingorspent|missing-inputs|missing inputs|inputs-missing|bad-txns-inputs-spent/i;

export class BtcTransferSender implements TransferSender {
  readonly chain: string;
  readonly address: string;
  private readonly source: SourceScript;
  private readonly confirmations: number;
  private readonly fees: FeePolicy;
  private readonly maxInputs: number;
  /** Outputs spent by transfers the host's machines held at restore. */
  private readonly adopted = new Set<string>();
  /** Txids some machine holds in this life (signed or adopted): never released as orphans. */
  private readonly held = new Set<string>();
  private readonly payer: Payer;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BtcTransferSenderOptions) {
    this.chain = options.chain;
    this.confirmations = options.confirmations ?? 2;
    this.fees = options.fees ?? REFERENCE_FEE_POLICY;
    this.maxInputs = options.maxInputs ?? 50;
    if (!Number.isSafeInteger(this.confirmations) || this.confirmations < 1)
      throw new Error(`confirmations ${this.confirmations} for chain '${this.chain}': at least 1`);
    const source = pinnedSource(pubECDSA(options.privateKey, true), options.address, options.network);
    if ('problem' in source) throw new Error(`chain '${this.chain}': ${source.problem}`);
    this.source = source;
    this.payer = { chain: this.chain, esplora: options.esplora, source, privateKey: options.privateKey };
    this.address = source.address;
  }

  addressProblem(address: string): string | null {
    const destination = destinationScript(address, btcNetwork(this.options.network));
    if ('problem' in destination)
      return `'${address}' cannot be paid on chain '${this.chain}' (${this.options.network}): ${destination.problem}`;
    if (address === this.address)
      return `'${address}' is the paying address itself on chain '${this.chain}': validators reject a payout to its sender`;
    return null;
  }

  /** The pin is the address whose coins pay (the first input validators check): ours. */
  controls(pin: string): boolean {
    return pin === this.address;
  }

  adopt(transfer: SignedTransfer): void {
    const tx = parseSignedTx(transfer.raw, this.chain);
    assert(
      tx.id === transfer.hash,
      `adopted transfer ${transfer.hash} on chain '${this.chain}' holds the bytes of ${tx.id}`,
    );
    this.held.add(tx.id);
    for (const input of inputsOf(tx)) this.adopted.add(input);
  }

  sign(request: TransferRequest): Promise<SignedBytes> {
    const run = this.queue.then(() => this.signNow(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async signNow(request: TransferRequest): Promise<SignedBytes> {
    const destination = this.checkRequest(request);
    const journaled = this.options.journal.bySwap(request.swapId);
    if (journaled !== undefined) return this.again(journaled, request);
    await this.releaseSettled();
    if (this.options.journal.entries.length >= MAX_JOURNAL_ENTRIES) {
      throw new BtcJournalFull(
        `chain '${this.chain}': ${MAX_JOURNAL_ENTRIES} payouts are signed and not yet buried; none more is signed`,
      );
    }
    const { selection, rate } = await this.choose(request, destination);
    const tx = await buildPayout(this.payer, selection.coins, destination, request.amount, selection.change);
    assert(
      tx.vsize <= selection.vsize,
      `signed payout of ${tx.vsize} vB is larger than the ${selection.vsize} vB its fee was computed for`,
    );
    return this.record(request, tx, selection.fee, rate);
  }

  /** The coins and fee rate of a new payout, or why there are none. */
  private async choose(
    request: TransferRequest,
    destination: Uint8Array,
  ): Promise<{ selection: Selection<Utxo>; rate: number }> {
    const coins = await this.spendable();
    const rate = await this.feeRate();
    const scripts = { destination, change: this.source.script };
    const selection = selectCoins(coins.free, request.amount, rate, this.source.kind, scripts, this.maxInputs);
    if (selection === null) {
      throw new BtcInsufficientFunds(
        `${this.address} on chain '${this.chain}' has ${coins.freeSats} sat confirmed and free (${coins.reservedSats} reserved by payouts in flight, ${coins.unconfirmedSats} unconfirmed), short of ${request.amount} sat plus the fee at ${rate} sat/vB`,
      );
    }
    return { selection, rate };
  }

  /** Journals the payout (durable) before anyone can hold its bytes. */
  private async record(request: TransferRequest, tx: Transaction, fee: bigint, rate: number): Promise<SignedBytes> {
    const entry: BtcJournalEntry = {
      swapId: request.swapId,
      txid: tx.id,
      raw: tx.hex,
      to: request.to,
      amount: request.amount.toString(),
      fee: fee.toString(),
      inputs: inputsOf(tx),
    };
    await this.options.journal.add(entry);
    this.held.add(entry.txid);
    const { chain } = this;
    const fields = {
      chain,
      swapId: request.swapId,
      hash: entry.txid,
      to: request.to,
      amount: entry.amount,
      fee: entry.fee,
      feeRateSatVb: rate,
      inputs: entry.inputs.length,
    };
    this.options.log.info(fields, 'destination transfer signed');
    return { raw: entry.raw, hash: entry.txid };
  }

  /** The payout journaled for this swap: the same bytes, never a second payout. */
  private again(entry: BtcJournalEntry, request: TransferRequest): SignedBytes {
    // A swap's terms never change: another request for the same swap is a bug, not a new payout.
    assert(
      entry.to === request.to && entry.amount === request.amount.toString(),
      `swap ${request.swapId} on chain '${this.chain}' has a journaled payout of ${entry.amount} sat to ${entry.to}, now asked ${request.amount} sat to ${request.to}`,
    );
    this.held.add(entry.txid);
    this.options.log.info(
      { chain: this.chain, swapId: request.swapId, hash: entry.txid },
      'destination transfer signed before a restart: the journaled bytes are used again',
    );
    return { raw: entry.raw, hash: entry.txid };
  }

  private checkRequest(request: TransferRequest): Uint8Array {
    if (request.chain !== this.chain)
      throw new Error(`a ${request.chain} transfer was handed to the ${this.chain} sender`);
    if (request.amount <= 0n)
      throw new RangeError(`transfer amount ${request.amount} on chain '${this.chain}' is not positive`);
    const problem = this.addressProblem(request.to);
    if (problem !== null) throw new Error(problem);
    if (request.from != null && !this.controls(request.from))
      throw new Error(
        `the sender of chain '${this.chain}' pays from ${this.address}, not from the pinned ${request.from}`,
      );
    const destination = destinationScript(request.to, btcNetwork(this.options.network)) as { script: Uint8Array };
    const dust = dustThreshold(destination.script);
    if (request.amount < dust)
      throw new BtcDustAmount(
        `${request.amount} sat to ${request.to} on chain '${this.chain}' is dust (below ${dust} sat for its script type): no node relays it`,
      );
    return destination.script;
  }

  private async spendable(): Promise<{
    free: Utxo[];
    freeSats: bigint;
    reservedSats: bigint;
    unconfirmedSats: bigint;
  }> {
    const reserved = new Set<string>([...this.adopted, ...this.options.journal.entries.flatMap((e) => e.inputs)]);
    const all = await this.options.esplora.utxos(this.address);
    const sum = (us: readonly Utxo[]): bigint => us.reduce((s, u) => s + u.value, 0n);
    const isReserved = (u: Utxo): boolean => reserved.has(`${u.txid}:${u.vout}`);
    // Only confirmed outputs: a payout spending unconfirmed change dies with its parent.
    const free = all.filter((u) => u.height !== null && !isReserved(u));
    return {
      free,
      freeSats: sum(free),
      reservedSats: sum(all.filter(isReserved)),
      unconfirmedSats: sum(all.filter((u) => u.height === null && !isReserved(u))),
    };
  }

  private async feeRate(): Promise<number> {
    let estimates: Readonly<Record<string, number>> | null = null;
    try {
      estimates = await this.options.esplora.feeEstimates();
    } catch (error) {
      this.options.log.warn(
        { chain: this.chain, err: (error as Error).message },
        `no fee estimate: the fallback rate ${this.fees.fallbackSatVb} sat/vB is used`,
      );
    }
    const rate = feeRateSatVb(estimates, this.fees);
    if (rate > this.fees.maxSatVb)
      throw new BtcFeeRateTooHigh(
        `fee rate ${rate} sat/vB on chain '${this.chain}' is above the ceiling ${this.fees.maxSatVb}; not signing`,
      );
    return rate;
  }

  async broadcast(raw: string): Promise<void> {
    const tx = parseSignedTx(raw, this.chain);
    const answer = await this.options.esplora.broadcast(raw);
    if (answer.accepted || ALREADY_THERE.test(answer.message)) return;
    if (INPUTS_GONE.test(answer.message)) {
      const proof = await this.prove(tx);
      if (proof.kind === 'ours') return; // ours, mined or pooled since we last looked
      if (proof.kind === 'conflict' || proof.kind === 'copy') {
        this.options.log.warn(
          { chain: this.chain, hash: tx.id, conflict: proof.txid, copy: proof.kind === 'copy' },
          'an input of the transfer is spent by another confirmed transaction: it can never be included',
        );
        throw new NeverLands(neverLandsReason(this.chain, tx.id, proof));
      }
    }
    throw new BtcBroadcastRefused(
      `broadcast of transfer ${tx.id} on chain '${this.chain}' refused: ${answer.message.replace(/[0-9a-f]{200,}/gi, '…')}`,
    );
  }

  /** The witness: the txids spending from the pinned address in its recent history (one call). */
  witness(): Promise<WitnessReport> {
    return btcWitness(this.options.esplora, this.address);
  }

  identify(raw: string): SignedIdentity {
    return { account: this.address, nonce: null, id: parseSignedTx(raw, this.chain).id };
  }

  activity(query: ActivityQuery): Promise<ChainActivity[]> {
    return btcActivity(this.options.esplora, this.address, this.options.network, query);
  }

  async lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    const { esplora } = this.options;
    const status = await esplora.txStatus(transfer.hash);
    if (status === null) return { kind: 'unknown' };
    if (!status.confirmed || status.height === null) return { kind: 'pending' };
    const depth = (await esplora.tipHeight()) - status.height + 1;
    if (depth < this.confirmations) return { kind: 'pending' };
    // As the validators: a block no longer on the best chain does not count.
    if (status.blockHash !== null && (await esplora.blockInBestChain(status.blockHash)) === false)
      return { kind: 'pending' };
    return { kind: 'included', block: status.height };
  }

  private prove(tx: Transaction): Promise<ConflictProof> {
    return proveConflict(this.options.esplora, tx, this.confirmations);
  }

  /**
   * Drops journal entries that no longer need their inputs reserved: buried payouts, payouts
   * proven unable to land, and payouts no machine holds that no Esplora knows (signed just
   * before a crash, never persisted by the host, so never broadcast).
   */
  private async releaseSettled(): Promise<void> {
    const { esplora, journal, log } = this.options;
    const entries = journal.entries;
    if (entries.length === 0) return;
    const tip = await esplora.tipHeight();
    const drop = new Set<string>();
    for (const entry of entries) {
      const status = await esplora.txStatus(entry.txid);
      if (status !== null) {
        if (status.height !== null && tip - status.height + 1 >= Math.max(RELEASE_DEPTH_BLOCKS, this.confirmations))
          drop.add(entry.txid);
        continue;
      }
      const proof = await this.prove(parseSignedTx(entry.raw, this.chain));
      if (
        proof.kind === 'conflict' ||
        proof.kind === 'copy' ||
        (proof.kind === 'unspent' && !this.held.has(entry.txid))
      ) {
        log.warn(
          { chain: this.chain, swapId: entry.swapId, hash: entry.txid, why: proof.kind },
          'payout released from the journal: it can never land, or was never broadcast; its inputs are free again',
        );
        drop.add(entry.txid);
      }
    }
    await journal.remove(drop);
  }
}

function neverLandsReason(chain: string, txid: string, proof: ConflictProof & { kind: 'conflict' | 'copy' }): string {
  if (proof.kind === 'copy') {
    return `transfer ${txid} on chain '${chain}' can never be included: ${proof.txid}, the same payout with its signatures re-encoded (malleated), is confirmed instead; the user WAS paid, by ${proof.txid}`;
  }
  return `transfer ${txid} on chain '${chain}' can never be included: its input ${proof.input} is spent by ${proof.txid}, confirmed ${proof.depth} deep`;
}
