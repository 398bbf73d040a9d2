/**
 * TO BE REPLACED by the destinations branch's SolanaTransferSender (durable nonces, SPL): a
 * minimal SOL sender so the Solana swap manager can be fulfilled end to end before it lands.
 *
 * A System transfer signed once by the payout key (the fee payer is account key 0, which the
 * validators take as the sender: it must be the swap's pin), against a recent blockhash. The
 * persisted raw bytes carry the blockhash's last valid block height, so expiry is proven, not
 * guessed: a signature unknown to the cluster once the finalized block height passed it can
 * never land (`failed`), and only then. Reported `landed` at confirmed with its slot, and
 * `included` once finalized (32 slots: what the validators require of a SOL payout).
 *
 * A crash between sign and broadcast leaves the signed bytes in the machine's snapshot; the
 * same bytes are broadcast after the restart, or proven expired.
 */
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  isSolanaError,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  type KeyPairSigner,
  type Rpc,
  type Signature,
  type SolanaRpcApi,
} from '@solana/kit';
import type { SignedTransfer } from '../../../../machines/index.ts';
import {
  NeverLands,
  type SignedBytes,
  type TransferRequest,
  type TransferSender,
  type TransferStatus,
} from '../../../host/ports.ts';
import { isSolanaAddress } from '../../keys.ts';
import { nameOfTransactionError } from './markErrors.ts';

const SYSTEM_PROGRAM = '11111111111111111111111111111111';
const TRANSFER = 2; // SystemInstruction::Transfer

interface Raw {
  readonly wire: string;
  readonly lastValidBlockHeight: string;
}

export interface InterimSolSenderOptions {
  readonly rpc: Rpc<SolanaRpcApi>;
  /** The payout key: fee payer and source of the lamports. */
  readonly signer: KeyPairSigner;
  readonly chain?: string;
}

export class InterimSolSender implements TransferSender {
  readonly chain: string;

  constructor(private readonly options: InterimSolSenderOptions) {
    this.chain = options.chain ?? 'sol';
  }

  addressProblem(to: string): string | null {
    return isSolanaAddress(to) ? null : `'${to}' is not a Solana address for ${this.chain}`;
  }

  controls(pin: string): boolean {
    return pin === this.options.signer.address;
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    if (request.chain !== this.chain)
      throw new Error(`a ${request.chain} transfer was handed to the ${this.chain} sender`);
    if (request.amount <= 0n || request.amount >= 1n << 64n)
      throw new RangeError(`transfer amount ${request.amount} is not a positive u64`);
    const problem = this.addressProblem(request.to);
    if (problem !== null) throw new Error(problem);
    if (request.from != null && !this.controls(request.from))
      throw new Error(
        `the ${this.chain} sender signs for ${this.options.signer.address}, not for the pinned ${request.from}`,
      );
    const data = new Uint8Array(12);
    new DataView(data.buffer).setUint32(0, TRANSFER, true);
    new DataView(data.buffer).setBigUint64(4, request.amount, true);
    const { value: lifetime } = await this.options.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const transaction = await signTransactionMessageWithSigners(
      pipe(
        createTransactionMessage({ version: 'legacy' }),
        (m) => setTransactionMessageFeePayerSigner(this.options.signer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
        (m) =>
          appendTransactionMessageInstruction(
            {
              programAddress: address(SYSTEM_PROGRAM),
              accounts: [
                {
                  address: this.options.signer.address,
                  role: AccountRole.WRITABLE_SIGNER,
                  signer: this.options.signer,
                } as never,
                { address: address(request.to), role: AccountRole.WRITABLE },
              ],
              data,
            },
            m,
          ),
      ),
    );
    const raw: Raw = {
      wire: getBase64EncodedWireTransaction(transaction),
      lastValidBlockHeight: lifetime.lastValidBlockHeight.toString(),
    };
    return { raw: JSON.stringify(raw), hash: getSignatureFromTransaction(transaction) };
  }

  async broadcast(rawText: string): Promise<void> {
    const raw = JSON.parse(rawText) as Raw;
    try {
      await this.options.rpc
        .sendTransaction(raw.wire as never, { encoding: 'base64', preflightCommitment: 'confirmed' })
        .send();
    } catch (error) {
      if (!isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)) throw error;
      const cause = (error as Error).cause;
      if (isSolanaError(cause, SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED)) return; // these very bytes landed before
      if (isSolanaError(cause, SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)) {
        // Not known to the cluster: expired (proven by the finalized height), or too new for this node.
        if (await this.expired(raw)) throw new NeverLands(`the ${this.chain} transfer's blockhash expired`);
        throw new Error(`the ${this.chain} transfer's blockhash is not known to this node yet`);
      }
      throw error; // e.g. short of lamports for now: the same bytes are tried again
    }
  }

  async lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    const raw = JSON.parse(transfer.raw) as Raw;
    const { value } = await this.options.rpc
      .getSignatureStatuses([transfer.hash as Signature], { searchTransactionHistory: true })
      .send();
    const status = value[0] ?? null;
    if (status !== null) {
      if (status.err !== null)
        return {
          kind: 'failed',
          reason: `the ${this.chain} transfer failed on chain: ${nameOfTransactionError(status.err)}`,
        };
      if (status.confirmationStatus === 'finalized') return { kind: 'included', block: Number(status.slot) };
      if (status.confirmationStatus === 'confirmed') return { kind: 'landed', block: Number(status.slot) };
      return { kind: 'pending' };
    }
    if (await this.expired(raw)) {
      // Look once more: it could have landed in the very block that made the height pass.
      const again = (
        await this.options.rpc
          .getSignatureStatuses([transfer.hash as Signature], { searchTransactionHistory: true })
          .send()
      ).value[0];
      if (again === null || again === undefined) {
        return {
          kind: 'failed',
          reason: `the ${this.chain} transfer expired unseen (finalized block height past ${raw.lastValidBlockHeight}): it can never land`,
        };
      }
      return this.lookup(transfer);
    }
    return { kind: 'unknown' };
  }

  /** No block that could still include it can come: the finalized height is past its last valid one. */
  private async expired(raw: Raw): Promise<boolean> {
    const height = await this.options.rpc.getBlockHeight({ commitment: 'finalized' }).send();
    return height > BigInt(raw.lastValidBlockHeight);
  }
}
