/**
 * The TransferSender port on Solana: the destination leg of a swap paid in SOL (one System
 * transfer) or in an SPL token of the legacy Token program (ATA CreateIdempotent, then
 * TransferChecked), fee-paid and signed by the miner's pinned key alone (validators take
 * account key 0, the fee payer, as the sender).
 *
 * Every transfer is signed against one of the miner's durable nonce accounts (durableNonces.ts),
 * never against a recent blockhash: the bytes the host persists before the first broadcast stay
 * valid until that nonce advances, so after a crash, an outage or a lost broadcast the very
 * same bytes are looked up and re-broadcast, and nothing is ever re-signed. "Never lands" is
 * said only when the nonce account's finalized value has moved past the one the transfer was
 * signed against (the caller then looks the signature up: our own landing moves it too).
 *
 * Before signing, the chain is read at `confirmed`: a destination the validators would cancel
 * for (a frozen token account, a program, an amount a new account cannot hold) is refused with
 * TransferRefused (the swap is Rejected, nothing signed); a payer short of the amount, the fee,
 * a new ATA's rent and its own rent-exempt minimum signs nothing and is retried next tick.
 *
 * A transfer counts once its signature is at the configured commitment (default `finalized`)
 * without error; one that landed with an error is `failed` (the machine goes to Recovery).
 * Signed bytes and keys never reach a log line or an error; signatures do.
 */
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  getSignatureFromTransaction,
  isAddress,
  isSolanaError,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingDurableNonce,
  signTransactionMessageWithSigners,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  type Address,
  type Base64EncodedWireTransaction,
  type Instruction,
  type KeyPairSigner,
  type Nonce,
  type Rpc,
  type Signature,
  type SolanaRpcApi,
} from '@solana/kit';
import type { SignedTransfer } from '../../../machines/index.ts';
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
import { SolanaActivity } from './solanaActivity.ts';
import { DurableNonces, type NonceClaim } from './durableNonces.ts';
import { decodeSignedTransfer, wireOf } from './signedSolanaTransfer.ts';
import { RESERVED_ACCOUNTS, type SolanaAsset } from './solanaAssets.ts';
import { solTransferPlan, splTransferPlan, type TransferPlan } from './transferPlans.ts';

export interface SolanaTransferSenderOptions {
  /** The chain's name in settle's configuration (as in TransferRequest.chain). */
  readonly chain: string;
  readonly rpc: Rpc<SolanaRpcApi>;
  /** The miner's paying key: fee payer, token owner and nonce authority. */
  readonly signer: KeyPairSigner;
  readonly asset: SolanaAsset;
  /** Durable nonce accounts whose authority is `signer`; one transfer in flight per account. */
  readonly nonceAccounts: readonly Address[];
  /** The commitment at which a transfer counts as included (default finalized). */
  readonly commitment?: 'confirmed' | 'finalized';
  readonly log: Logger;
}

export class SolanaTransferSender implements TransferSender {
  readonly chain: string;
  readonly nonces: DurableNonces;
  private readonly commitment: 'confirmed' | 'finalized';
  /** sign() runs one at a time: two could otherwise claim the same nonce value. */
  private signing: Promise<unknown> = Promise.resolve();
  private chainActivity: SolanaActivity | undefined;

  constructor(private readonly options: SolanaTransferSenderOptions) {
    this.chain = options.chain;
    this.commitment = options.commitment ?? 'finalized';
    this.nonces = new DurableNonces(options.rpc, options.nonceAccounts, options.signer.address);
  }

  /** The paying account. */
  get address(): Address {
    return this.options.signer.address;
  }

  /** The pin is the fee payer validators take as the sender: our key's own address. */
  controls(pin: string): boolean {
    return pin === this.address;
  }

  addressProblem(address: string): string | null {
    if (!isAddress(address))
      return `'${address}' is not a Solana address for chain '${this.chain}' (base58 of 32 bytes)`;
    if (RESERVED_ACCOUNTS.has(address))
      return `'${address}' is a reserved account (a native program or sysvar) on chain '${this.chain}': a transfer to it fails`;
    if (address === this.address)
      return `'${address}' is the paying account itself on chain '${this.chain}': validators reject a transfer to its sender`;
    const { asset } = this.options;
    if (asset.kind === 'spl' && address === asset.mint)
      return `'${address}' is the token mint itself on chain '${this.chain}'`;
    return null;
  }

  adopt(transfer: SignedTransfer): void {
    const decoded = decodeSignedTransfer(transfer.raw, this.chain);
    if (decoded.feePayer === this.address && decoded.nonceAccount !== null)
      this.nonces.hold(decoded.nonceAccount, decoded.lifetime);
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    if (request.chain !== this.chain)
      throw new Error(`transfer for chain '${request.chain}' given to the sender of chain '${this.chain}'`);
    if (request.amount <= 0n)
      throw new Error(`transfer amount ${request.amount} on chain '${this.chain}' is not positive`);
    const problem = this.addressProblem(request.to);
    if (problem !== null) throw new Error(problem);
    if (request.from != null && !this.controls(request.from))
      throw new Error(
        `the sender of chain '${this.chain}' pays from ${this.address}, not from the pinned ${request.from}`,
      );
    const run = this.signing.then(() => this.signNow(request));
    this.signing = run.catch(() => undefined);
    return run;
  }

  private async signNow(request: TransferRequest): Promise<SignedBytes> {
    const { rpc, signer, asset } = this.options;
    const context = { rpc, payer: signer, chain: this.chain };
    const plan: TransferPlan =
      asset.kind === 'sol' ? await solTransferPlan(context, request) : await splTransferPlan(context, request, asset);
    // The nonce last, right before signing: the checks above may throw and must not hold one.
    const claim = await this.nonces.claim(request.swapId);
    const tx = await this.signed(plan.instructions, claim);
    const signed = { raw: wireOf(tx), hash: getSignatureFromTransaction(tx) };
    this.nonces.hold(claim.account, claim.nonce);
    this.options.log.info(
      {
        chain: this.chain,
        swapId: request.swapId,
        hash: signed.hash,
        nonceAccount: claim.account,
        to: request.to,
        amount: request.amount.toString(),
        asset: plan.asset,
      },
      'destination transfer signed',
    );
    return signed;
  }

  /** The witness (solanaActivity.ts): the newest transactions the paying account paid the fee of. */
  witness(): Promise<WitnessReport> {
    return this.activityOf().witness();
  }

  identify(raw: string): SignedIdentity {
    const decoded = decodeSignedTransfer(raw, this.chain);
    return { account: decoded.feePayer, nonce: null, id: decoded.signature };
  }

  activity(query: ActivityQuery): Promise<ChainActivity[]> {
    return this.activityOf().activity(query);
  }

  private activityOf(): SolanaActivity {
    this.chainActivity ??= new SolanaActivity(this.options.rpc, this.address);
    return this.chainActivity;
  }

  private signed(instructions: readonly Instruction[], claim: NonceClaim) {
    const { signer } = this.options;
    const message = pipe(
      createTransactionMessage({ version: 'legacy' }),
      (m) => setTransactionMessageFeePayerSigner(signer, m),
      (m) =>
        setTransactionMessageLifetimeUsingDurableNonce(
          { nonce: claim.nonce as Nonce, nonceAccountAddress: claim.account, nonceAuthorityAddress: signer.address },
          m,
        ),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    return signTransactionMessageWithSigners(message);
  }

  async broadcast(raw: string): Promise<void> {
    const decoded = decodeSignedTransfer(raw, this.chain);
    try {
      await this.options.rpc
        .sendTransaction(raw as Base64EncodedWireTransaction, {
          encoding: 'base64',
          preflightCommitment: 'confirmed',
          skipPreflight: false,
        })
        .send();
    } catch (error) {
      const refusal = preflightRefusal(error);
      if (refusal === SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED) return;
      if (refusal === SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND) return this.nonceMoved(decoded);
      throw new Error(`broadcast of transfer ${decoded.signature} on chain '${this.chain}' failed: ${describe(error)}`);
    }
  }

  /**
   * The node no longer takes the transfer's nonce. NeverLands only once the nonce account's
   * finalized value has moved on: an advance still short of finality (ours, most likely) is
   * left to the next look.
   */
  private async nonceMoved(decoded: ReturnType<typeof decodeSignedTransfer>): Promise<void> {
    if (decoded.nonceAccount === null) {
      throw new Error(
        `transfer ${decoded.signature} on chain '${this.chain}' has no durable nonce; its blockhash is unknown to the node`,
      );
    }
    const value = await this.nonces.finalizedValue(decoded.nonceAccount);
    if (value === decoded.lifetime) return;
    this.options.log.warn(
      { chain: this.chain, hash: decoded.signature, nonceAccount: decoded.nonceAccount },
      'transfer nonce advanced at finalized: it can never be included',
    );
    throw new NeverLands(
      `nonce account ${decoded.nonceAccount} on chain '${this.chain}' has moved past the nonce transfer ${decoded.signature} was signed against: it can never be included`,
    );
  }

  async lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    const decoded = decodeSignedTransfer(transfer.raw, this.chain);
    if (decoded.signature !== transfer.hash)
      throw new Error(
        `signed transfer ${transfer.hash} on chain '${this.chain}' holds the bytes of ${decoded.signature}`,
      );
    const { value } = await this.options.rpc
      .getSignatureStatuses([decoded.signature as Signature], { searchTransactionHistory: true })
      .send();
    const status = value[0] ?? null;
    if (status === null) return { kind: 'unknown' };
    const deepEnough =
      status.confirmationStatus === 'finalized' ||
      (this.commitment === 'confirmed' && status.confirmationStatus === 'confirmed');
    // A failure is final only as deep as a success must be: a fork could yet include the bytes where they succeed.
    // Landed at confirmed, not yet deep enough: reported with its slot (the swap manager marks SOL there).
    if (!deepEnough)
      return status.confirmationStatus === 'confirmed' && status.err === null
        ? { kind: 'landed', block: Number(status.slot) }
        : { kind: 'pending' };
    if (status.err !== null) {
      return {
        kind: 'failed',
        reason: `transfer ${decoded.signature} failed in slot ${status.slot} on chain '${this.chain}': ${JSON.stringify(status.err, bigintsAsText)}`,
      };
    }
    return { kind: 'included', block: Number(status.slot) };
  }
}

/** The transaction error code of a failed sendTransaction preflight, or null. */
function preflightRefusal(error: unknown): number | null {
  if (!isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)) return null;
  const cause = (error as { cause?: unknown }).cause;
  return isSolanaError(cause) ? cause.context.__code : null;
}

/** The error's message and its cause's, without the request (which holds the signed bytes). */
export function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = (error as { cause?: unknown }).cause;
  const text = cause instanceof Error && cause.message !== message ? `${message}: ${cause.message}` : message;
  return text.slice(0, 300);
}

function bigintsAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
