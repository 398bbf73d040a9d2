/**
 * A destination chain's transfer sender over a simulated ledger: account nonces, a mempool,
 * inclusion after propagation, confirmations. Signing is pure; only broadcast touches the chain.
 */
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
import type { SignedTransfer } from '../../machines/index.ts';
import { sha256Hex } from '../sha256.ts';
import { ADDRESS_PATTERNS, minerAddressOn, type Ledger, type SimTransfer, type World } from '../world.ts';

interface RawTransfer {
  readonly chain: string;
  readonly from: string;
  readonly to: string;
  readonly amount: string;
  readonly nonce: number;
  readonly swapId: string;
}

export class SimTransferSender implements TransferSender {
  /**
   * The hash of the bytes this sender signed or was given. The host broadcasts the same bytes
   * again at every poll until they are included; a sha256 each time was 2% of a run.
   */
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly world: World,
    readonly chain: string,
  ) {
    if (world.state.ledgers[chain] === undefined) throw new Error(`no simulated ledger '${chain}'`);
  }

  private get ledger(): Ledger {
    return this.world.state.ledgers[this.chain]!;
  }

  addressProblem(address: string): string | null {
    return ADDRESS_PATTERNS[this.chain]!.test(address) ? null : `'${address}' is not a valid ${this.chain} address`;
  }

  controls(address: string): boolean {
    return address === minerAddressOn(this.chain);
  }

  /** The next nonce counting transfers still pending, as eth_getTransactionCount('pending'). */
  private nextNonce(from: string): number {
    const pending = Object.values(this.ledger.transfers).filter((t) => t.from === from && t.includedBlock === null);
    return Math.max(this.ledger.nonces[from] ?? 0, ...pending.map((t) => t.nonce + 1));
  }

  async witness(): Promise<WitnessReport> {
    const account = minerAddressOn(this.chain);
    return { kind: 'nonce', account, next: this.nextNonce(account) };
  }

  identify(raw: string): SignedIdentity {
    const body = JSON.parse(raw) as RawTransfer;
    return { account: body.from, nonce: body.nonce, id: this.hashOf(raw) };
  }

  async activity(query: ActivityQuery): Promise<ChainActivity[]> {
    const account = minerAddressOn(this.chain);
    const ids = new Set(query.ids ?? []);
    const inRange = (nonce: number): boolean =>
      query.nonces !== undefined && nonce >= query.nonces.from && nonce < query.nonces.to;
    return Object.values(this.ledger.transfers)
      .filter((t) => t.from === account && (ids.has(t.hash) || inRange(t.nonce)))
      .sort((a, b) => a.nonce - b.nonce)
      .map((t) => ({
        id: t.hash,
        nonce: t.nonce,
        to: t.to,
        amount: BigInt(t.amount),
        block: t.includedBlock,
        raw: t.raw === '' ? null : t.raw,
        note: t.swapId === '' ? 'a transfer settle did not sign' : `a transfer signed for swap ${t.swapId}`,
      }));
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    const from = minerAddressOn(this.chain);
    if (request.from != null && request.from !== from)
      throw new Error(`the ${this.chain} sender signs for ${from}, not for the pinned ${request.from}`);
    const nonce = this.nextNonce(from);
    const body: RawTransfer = {
      chain: this.chain,
      from,
      to: request.to,
      amount: request.amount.toString(),
      nonce,
      swapId: request.swapId,
    };
    const raw = JSON.stringify(body);
    const hash = this.hashOf(raw);
    this.world.state.observations.signatures[hash] = { height: this.world.height, swapId: request.swapId };
    this.world.commit();
    return { raw, hash };
  }

  async broadcast(raw: string): Promise<void> {
    const hash = this.hashOf(raw);
    if (this.ledger.transfers[hash] !== undefined) return; // already known: harmless
    const body = JSON.parse(raw) as RawTransfer;
    if (body.nonce < (this.ledger.nonces[body.from] ?? 0))
      throw new NeverLands(`nonce ${body.nonce} already used on ${this.chain}`);
    const clash = Object.values(this.ledger.transfers).find((t) => t.from === body.from && t.nonce === body.nonce);
    if (clash !== undefined)
      throw new NeverLands(`nonce ${body.nonce} taken by pending transfer ${clash.hash} on ${this.chain}`);
    // Propagation delay drawn from the hash, not the world's generator: a re-broadcast after a
    // restart must not shift every later random draw of the run.
    const delay = Number.parseInt(hash.slice(2, 4), 16) % 3;
    const transfer = pendingTransfer(body, hash, raw, this.ledger.height + 1 + delay);
    this.ledger.transfers[hash] = transfer;
    this.world.commit();
  }

  private hashOf(raw: string): string {
    let hash = this.hashes.get(raw);
    if (hash === undefined) {
      hash = `0x${sha256Hex(raw)}`;
      this.hashes.set(raw, hash);
    }
    return hash;
  }

  async lookup({ hash }: SignedTransfer): Promise<TransferStatus> {
    const transfer = this.ledger.transfers[hash];
    if (transfer === undefined) return { kind: 'unknown' };
    if (transfer.includedBlock === null) return { kind: 'pending' };
    const confirmations = this.ledger.height - transfer.includedBlock + 1;
    return confirmations >= this.ledger.confirmations
      ? { kind: 'included', block: transfer.includedBlock }
      : { kind: 'landed', block: transfer.includedBlock };
  }
}

/**
 * The ledger's record of a broadcast transfer, field by field in the order the world file has
 * always held them. Not `{ ...body }`: spreading an object JSON.parse made takes V8's slow
 * path, and that one line was a sixth of the sender's time.
 */
function pendingTransfer(body: RawTransfer, hash: string, raw: string, includeFrom: number): SimTransfer {
  const { chain, from, to, amount, nonce, swapId } = body;
  return { chain, from, to, amount, nonce, swapId, hash, raw, includeFrom, includedBlock: null };
}
