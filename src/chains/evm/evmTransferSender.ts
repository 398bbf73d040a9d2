/**
 * The TransferSender port on an EVM chain: the destination leg of a swap, paid in the chain's
 * coin or in one ERC-20 token, from the miner's account.
 *
 * The host signs once, persists the signed bytes, then looks the hash up and re-broadcasts the
 * same bytes every tick until the chain includes them (src/host/swapEffects.ts). Signing reads
 * the chain and changes nothing; only `broadcast` does.
 *
 * No fee bumping, unlike EvmTxSender: the swap machine persists ONE signed transfer and marks
 * the swap fulfilled with that transfer's hash, so a replacement (same nonce, higher fees)
 * would change the hash the machine waits for. The fees are signed with ethers' headroom
 * instead (maxFeePerGas = 2 × base fee + tip), which survives several full blocks of base-fee
 * increases.
 *
 * An included transfer counts only once it has moved the funds: a reverted one, or a token
 * transfer without the matching Transfer event, is `failed` (the machine goes to Recovery).
 *
 * Before a token transfer is signed, the issuer checks of its asset (evmAssets.ts) are read: a
 * paused token, a refused destination or a live transfer fee is TransferRefused (the swap is
 * Rejected, nothing signed); configured decimals must match the token's.
 *
 * Signed bytes and keys never go into a log line or an error message; hashes do.
 *
 * Size (over 300 lines): sign, broadcast, lookup and adopt share the nonce allocator's and the
 * journal's rules (bytes durable before broadcast, a nonce never handed out twice); the journal
 * and the raw transaction plumbing are already in txJournal.ts and evmTxSender.ts.
 */
import {
  getAddress,
  Interface,
  Transaction,
  ZeroAddress,
  type JsonRpcProvider,
  type TransactionReceipt,
  type Wallet,
} from 'ethers';
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
import { evmActivity } from './evmActivity.ts';
import type { EvmAsset } from './evmAssets.ts';
import { shortError } from './evmTxSender.ts';
import { checkDecimals, enforceIssuerChecks } from './issuerChecks.ts';
import type { NonceAllocator } from '../nonceAllocator.ts';
import { assert } from '../../errors.ts';

export type { EvmAsset };

export interface EvmTransferSenderOptions {
  /** The chain's name in settle's configuration (as in TransferRequest.chain). */
  readonly chain: string;
  readonly provider: JsonRpcProvider;
  /** The miner's account on this chain: it pays. */
  readonly wallet: Wallet;
  readonly chainId: bigint;
  readonly asset: EvmAsset;
  /** Blocks that must hold the transfer before it counts, the including one among them. */
  readonly confirmations?: number;
  /** Shared with every other sender of this account in this process (EvmTxSender). */
  readonly nonces?: NonceAllocator;
  readonly log: Logger;
}

/** The ERC-20 pieces this sender uses. */
const ERC20 = new Interface([
  'function transfer(address to, uint256 amount) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);
const TRANSFER_SELECTOR = ERC20.getFunction('transfer')!.selector;

/** The gas of a plain coin transfer to an account without code. */
const PLAIN_TRANSFER_GAS = 21_000n;
/** Estimated gas is signed with this much more, in percent. */
const GAS_HEADROOM_PERCENT = 20n;

const ADDRESS_SHAPE = /^0x[0-9a-fA-F]{40}$/;

export class EvmTransferSender implements TransferSender {
  readonly chain: string;
  private readonly confirmations: number;
  /** Checksummed, for an ERC-20 sender; null for the chain's coin. */
  private readonly token: string | null;
  /** The configured decimals, once the token has confirmed them (checked once per process). */
  private decimalsChecked = false;

  constructor(private readonly options: EvmTransferSenderOptions) {
    this.chain = options.chain;
    this.confirmations = options.confirmations ?? 2;
    if (!Number.isSafeInteger(this.confirmations) || this.confirmations < 1) {
      throw new Error(
        `confirmations ${this.confirmations} for chain '${options.chain}': at least 1 (the including block)`,
      );
    }
    if (options.asset.kind === 'erc20') {
      const token = options.asset.token;
      const problem = addressShapeProblem(token);
      if (problem !== null) throw new Error(`token address '${token}' for chain '${options.chain}' ${problem}`);
      this.token = getAddress(token);
    } else {
      this.token = null;
    }
  }

  /** The paying account. */
  get address(): string {
    return this.options.wallet.address;
  }

  addressProblem(address: string): string | null {
    const shape = addressShapeProblem(address);
    if (shape !== null) return `'${address}' is not an EVM address for chain '${this.chain}': it ${shape}`;
    if (getAddress(address) === ZeroAddress)
      return `'${address}' is the zero address on chain '${this.chain}': funds sent there are burnt`;
    if (this.token !== null && getAddress(address) === this.token) {
      return `'${address}' is the token contract itself on chain '${this.chain}': tokens sent there are lost`;
    }
    return null;
  }

  /** Case-insensitive: a pin may be written checksummed or not. */
  controls(address: string): boolean {
    return address.toLowerCase() === this.address.toLowerCase();
  }

  adopt(transfer: SignedTransfer): void {
    const tx = Transaction.from(transfer.raw);
    if (tx.from !== null && tx.from.toLowerCase() === this.address.toLowerCase())
      this.options.nonces?.reserve(this.address, tx.nonce);
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    const { provider, wallet, chainId } = this.options;
    // The host routes by chain and rejects a zero amount before any sender sees it.
    assert(
      request.chain === this.chain,
      `transfer for chain '${request.chain}' given to the sender of chain '${this.chain}'`,
    );
    assert(request.amount > 0n, `transfer amount ${request.amount} on chain '${this.chain}' is not positive`);
    const problem = this.addressProblem(request.to);
    if (problem !== null) throw new Error(problem);
    if (request.from != null && !this.controls(request.from))
      throw new Error(
        `the sender of chain '${this.chain}' signs for ${this.address}, not for the pinned ${request.from}`,
      );
    const to = getAddress(request.to);

    const network = await provider.getNetwork();
    if (network.chainId !== chainId)
      throw new Error(`the node for chain '${this.chain}' is on chain id ${network.chainId}, not ${chainId}`);
    await this.checkToken(to, request.amount);
    const fees = await provider.getFeeData();
    const { maxFeePerGas, maxPriorityFeePerGas } = fees;
    if (maxFeePerGas === null || maxPriorityFeePerGas === null) {
      throw new Error(
        `the node for chain '${this.chain}' gives no EIP-1559 fee data (no base fee): cannot sign a type-2 transfer`,
      );
    }

    const call =
      this.token === null ? await this.coinCall(to, request.amount) : await this.tokenCall(to, request.amount);
    const gasCost = call.gasLimit * maxFeePerGas;
    const coins = await provider.getBalance(wallet.address, 'latest');
    if (coins < call.value + gasCost) {
      throw new Error(
        `${wallet.address} holds ${coins} wei on chain '${this.chain}', less than the ${call.value} wei transferred plus up to ${gasCost} wei of gas`,
      );
    }

    // The nonce last, right before signing: one handed out and not used would be a gap.
    const pending = await provider.getTransactionCount(wallet.address, 'pending');
    const nonce = this.options.nonces?.next(wallet.address, pending) ?? pending;
    const raw = await wallet.signTransaction(
      Transaction.from({
        type: 2,
        chainId,
        nonce,
        to: call.to,
        data: call.data,
        value: call.value,
        gasLimit: call.gasLimit,
        maxFeePerGas,
        maxPriorityFeePerGas,
      }),
    );
    const hash = Transaction.from(raw).hash!;
    this.options.log.info(
      {
        chain: this.chain,
        swapId: request.swapId,
        hash,
        nonce,
        to,
        amount: request.amount.toString(),
        asset: this.token ?? 'native',
      },
      'destination transfer signed',
    );
    return { raw, hash };
  }

  /** The issuer's checks (TransferRefused when one trips) and the configured decimals. */
  private async checkToken(to: string, amount: bigint): Promise<void> {
    const { asset, provider } = this.options;
    if (asset.kind !== 'erc20' || this.token === null) return;
    await enforceIssuerChecks(
      provider,
      this.chain,
      { token: this.token, refusalChecks: asset.refusalChecks ?? [], feeCheck: asset.feeCheck ?? null },
      to,
      amount,
    );
    if (asset.decimals !== undefined && !this.decimalsChecked) {
      await checkDecimals(provider, this.chain, this.token, asset.decimals);
      this.decimalsChecked = true;
    }
  }

  async broadcast(raw: string): Promise<void> {
    const tx = parseSigned(raw, this.chain);
    const hash = tx.hash!;
    try {
      await this.options.provider.broadcastTransaction(raw);
    } catch (error) {
      const said = nodeSaid(error);
      if (/already known|known transaction|alreadyknown|already imported/i.test(said)) return;
      const code = (error as { code?: unknown }).code;
      if (code === 'NONCE_EXPIRED' || /nonce too low/i.test(said)) {
        // Our own transfer, included (or still pending) since we last looked, also has a used nonce.
        if (await this.known(hash)) return;
        this.options.log.warn(
          { chain: this.chain, hash, nonce: tx.nonce },
          'transfer nonce used by another transaction: it can never be included',
        );
        throw new NeverLands(
          `nonce ${tx.nonce} of ${tx.from} on chain '${this.chain}' was used by another transaction: transfer ${hash} can never be included`,
        );
      }
      throw new Error(`broadcast of transfer ${hash} on chain '${this.chain}' failed: ${describe(error)}`);
    }
  }

  /** The witness: the account's next nonce, pool included (one call). */
  async witness(): Promise<WitnessReport> {
    return {
      kind: 'nonce',
      account: this.address,
      next: await this.options.provider.getTransactionCount(this.address, 'pending'),
    };
  }

  identify(raw: string): SignedIdentity {
    const tx = parseSigned(raw, this.chain);
    return { account: getAddress(tx.from!), nonce: tx.nonce, id: tx.hash! };
  }

  activity(query: ActivityQuery): Promise<ChainActivity[]> {
    return evmActivity(this.options.provider, this.address, this.token, query);
  }

  async lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    const { provider } = this.options;
    const receipt = await provider.getTransactionReceipt(transfer.hash);
    if (receipt === null)
      return (await provider.getTransaction(transfer.hash)) === null ? { kind: 'unknown' } : { kind: 'pending' };
    const head = await provider.getBlockNumber();
    // A revert is final only once the block is as deep as an inclusion must be: a reorganisation
    // could yet include the same bytes where they succeed.
    if (head - receipt.blockNumber + 1 < this.confirmations) return { kind: 'pending' };
    if (receipt.status === 0)
      return {
        kind: 'failed',
        reason: `transfer ${transfer.hash} reverted in block ${receipt.blockNumber} on chain '${this.chain}'`,
      };
    const problem = this.effectProblem(transfer, receipt);
    return problem === null ? { kind: 'included', block: receipt.blockNumber } : { kind: 'failed', reason: problem };
  }

  /** Why an included, successful transaction did not pay what it was signed to pay, or null. */
  private effectProblem(transfer: SignedTransfer, receipt: TransactionReceipt): string | null {
    const tx = parseSigned(transfer.raw, this.chain);
    if (tx.hash !== transfer.hash)
      throw new Error(`signed transfer ${transfer.hash} on chain '${this.chain}' holds the bytes of ${tx.hash}`);
    if (tx.data === '0x') return null; // a coin transfer that did not revert moved its value
    if (!tx.data.startsWith(TRANSFER_SELECTOR) || tx.to === null) {
      return `transaction ${transfer.hash} on chain '${this.chain}' is not a token transfer this sender signs`;
    }
    const [to, amount] = ERC20.decodeFunctionData('transfer', tx.data) as unknown as [string, bigint];
    const token = getAddress(tx.to);
    const paid = receipt.logs.some((log) => {
      if (getAddress(log.address) !== token) return false;
      try {
        const event = ERC20.parseLog({ topics: [...log.topics], data: log.data });
        return (
          event !== null &&
          event.name === 'Transfer' &&
          getAddress(event.args[0] as string) === getAddress(tx.from!) &&
          getAddress(event.args[1] as string) === getAddress(to) &&
          (event.args[2] as bigint) === amount
        );
      } catch {
        return false; // another event of the token, or a Transfer without indexed addresses
      }
    });
    return paid
      ? null
      : `transfer ${transfer.hash} succeeded in block ${receipt.blockNumber} on chain '${this.chain}' but token ${token} logged no Transfer of ${amount} from ${tx.from} to ${getAddress(to)}: it moved no funds`;
  }

  private async known(hash: string): Promise<boolean> {
    const { provider } = this.options;
    return (await provider.getTransactionReceipt(hash)) !== null || (await provider.getTransaction(hash)) !== null;
  }

  private async coinCall(to: string, amount: bigint): Promise<Call> {
    const { provider, wallet } = this.options;
    const code = await provider.getCode(to);
    if (code === '0x') return { to, data: '0x', value: amount, gasLimit: PLAIN_TRANSFER_GAS };
    // A contract (or a delegated account) runs code on receipt: it needs more than 21000 gas.
    let estimate: bigint;
    try {
      estimate = await provider.estimateGas({ from: wallet.address, to, value: amount });
    } catch (error) {
      throw new Error(
        `${to} on chain '${this.chain}' is a contract that would not accept ${amount} wei now: ${describe(error)}`,
      );
    }
    return { to, data: '0x', value: amount, gasLimit: withHeadroom(estimate) };
  }

  private async tokenCall(to: string, amount: bigint): Promise<Call> {
    const { provider, wallet } = this.options;
    const token = this.token!;
    const [balance] = ERC20.decodeFunctionResult(
      'balanceOf',
      await provider.call({ to: token, data: ERC20.encodeFunctionData('balanceOf', [wallet.address]) }),
    );
    if ((balance as bigint) < amount) {
      throw new Error(
        `${wallet.address} holds ${balance} of token ${token} on chain '${this.chain}', less than the ${amount} to transfer`,
      );
    }
    const data = ERC20.encodeFunctionData('transfer', [to, amount]);
    let estimate: bigint;
    try {
      estimate = await provider.estimateGas({ from: wallet.address, to: token, data });
    } catch (error) {
      throw new Error(
        `token ${token} on chain '${this.chain}' would not transfer ${amount} to ${to} now: ${describe(error)}`,
      );
    }
    return { to: token, data, value: 0n, gasLimit: withHeadroom(estimate) };
  }
}

interface Call {
  readonly to: string;
  readonly data: string;
  readonly value: bigint;
  readonly gasLimit: bigint;
}

/** What is wrong with the shape or checksum of an address, or null. */
function addressShapeProblem(address: string): string | null {
  if (!ADDRESS_SHAPE.test(address)) return 'is not 0x followed by 40 hex digits';
  try {
    getAddress(address); // mixed case must carry a valid EIP-55 checksum
  } catch {
    return 'has mixed case with a wrong EIP-55 checksum (a mistyped address?)';
  }
  return null;
}

function withHeadroom(gas: bigint): bigint {
  return (gas * (100n + GAS_HEADROOM_PERCENT) + 99n) / 100n;
}

function parseSigned(raw: string, chain: string): Transaction {
  let tx: Transaction;
  try {
    tx = Transaction.from(raw);
  } catch {
    throw new Error(`not a signed EVM transaction for chain '${chain}'`);
  }
  if (tx.hash === null || tx.from === null) throw new Error(`not a signed EVM transaction for chain '${chain}'`);
  return tx;
}

/** The node's own words in an ethers error ("already known", "nonce too low"...), if any. */
function nodeSaid(error: unknown): string {
  const e = error as { info?: { error?: { message?: unknown } }; error?: { message?: unknown } };
  const message = e.info?.error?.message ?? e.error?.message;
  return typeof message === 'string' ? message : '';
}

/** shortError, with the node's words when ethers could not name the error; no hex blobs. */
function describe(error: unknown): string {
  const short = shortError(error);
  const said = nodeSaid(error)
    .replace(/0x[0-9a-fA-F]{130,}/g, '0x…')
    .slice(0, 200);
  return said === '' || said === short ? short : `${short} (node: ${said})`;
}
