/**
 * Sends an account's transactions the durable way: an explicit nonce, the signed bytes written
 * to the journal (fsynced) before the broadcast, then a wait for the receipt that re-broadcasts
 * the same bytes when the node forgets them and replaces a stuck transaction (same nonce,
 * higher fees) after a few blocks. After a crash, `resume` finishes what the journal holds.
 */
import { Transaction, type JsonRpcProvider, type TransactionReceipt, type Wallet } from 'ethers';
import type { Logger } from '../../host/ports.ts';
import type { NonceAllocator } from '../nonceAllocator.ts';
import type { JournalEntry, TxJournal } from './txJournal.ts';
import { errorField } from '../../errors.ts';

export interface EvmTxSenderOptions {
  readonly wallet: Wallet;
  readonly provider: JsonRpcProvider;
  readonly journal: TxJournal;
  readonly chainId: bigint;
  readonly log: Logger;
  /** Blocks on top of the receipt's before it counts (1: the block that includes it). */
  readonly confirmations?: number;
  /** Blocks a transaction may stay pending before it is replaced with higher fees. */
  readonly bumpAfterBlocks?: number;
  /** How much higher each replacement's fees are, in percent (nodes want at least 10). */
  readonly bumpPercent?: number;
  readonly receiptTimeoutMs?: number;
  readonly pollMs?: number;
  /**
   * Shared with every other sender signing for this account in this process (the swap
   * transfer sender), so that none signs with a nonce another has already handed out.
   */
  readonly nonces?: NonceAllocator;
  /** For tests: called right after the first broadcast of a transaction. */
  readonly afterBroadcast?: (hash: string) => void;
  /**
   * Told of each signed transaction (a replacement too) after it is journaled and before it is
   * broadcast: the witness journal records it, so that the account's nonces used by the
   * escrow's transactions are known to the witness of a transfer sender of the same account.
   */
  readonly beforeBroadcast?: (tx: {
    readonly nonce: number;
    readonly hash: string;
    readonly purpose: string;
  }) => Promise<void>;
}

export interface TxRequest {
  readonly to: string;
  readonly data: string;
  readonly gasLimit: bigint;
}

/** The nonce was used by another transaction: none of ours with it will ever land. */
export class NonceTaken extends Error {
  override readonly name = 'NonceTaken';
}

/** No receipt in time: the transaction may still land; the journal keeps it for `resume`. */
export class ReceiptTimeout extends Error {
  override readonly name = 'ReceiptTimeout';
}

export class EvmTxSender {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly confirmations: number;
  private readonly bumpAfterBlocks: number;
  private readonly bumpPercent: bigint;
  private readonly receiptTimeoutMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: EvmTxSenderOptions) {
    this.confirmations = options.confirmations ?? 1;
    this.bumpAfterBlocks = options.bumpAfterBlocks ?? 3;
    this.bumpPercent = BigInt(options.bumpPercent ?? 15);
    this.receiptTimeoutMs = options.receiptTimeoutMs ?? 120_000;
    this.pollMs = options.pollMs ?? 1_000;
    if (this.bumpPercent < 10n)
      throw new Error(`bumpPercent ${this.bumpPercent} is below the 10% nodes require for a replacement`);
    // Nonces in the journal may not be on the chain yet: no other sender of the account takes them.
    for (const entry of options.journal.entries) options.nonces?.reserve(options.wallet.address, entry.nonce);
  }

  get address(): string {
    return this.options.wallet.address;
  }

  /** Signs, journals, broadcasts and waits for the receipt; one transaction at a time. */
  send(purpose: string, request: TxRequest): Promise<TransactionReceipt> {
    const run = this.queue.then(() => this.sendNow(purpose, request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for every transaction a previous life of the process left in the journal. */
  resume(): Promise<TransactionReceipt[]> {
    const run = this.queue.then(async () => {
      const receipts: TransactionReceipt[] = [];
      for (const entry of [...this.options.journal.entries]) {
        try {
          receipts.push(await this.waitFor(entry));
        } catch (error) {
          if (!(error instanceof NonceTaken)) throw error;
          this.options.log.warn(
            { nonce: entry.nonce, purpose: entry.purpose },
            'journaled transaction never landed: its nonce was used',
          );
        }
      }
      return receipts;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendNow(purpose: string, request: TxRequest): Promise<TransactionReceipt> {
    const { provider, journal, wallet } = this.options;
    const fees = await provider.getFeeData();
    const maxFeePerGas = fees.maxFeePerGas ?? fees.gasPrice;
    const maxPriorityFeePerGas = fees.maxPriorityFeePerGas ?? 0n;
    if (maxFeePerGas === null) throw new Error('the node reports no gas price');
    const sentAtBlock = await provider.getBlockNumber();
    const onChain = await provider.getTransactionCount(wallet.address, 'pending');
    const ours = Math.max(onChain, journal.nextNonce() ?? 0);
    // Taken last, right before signing: a nonce handed out and then not used (a read that
    // failed after it) would leave a gap no later transaction of this account could pass.
    const nonce = this.options.nonces?.next(wallet.address, ours) ?? ours;
    const tx = Transaction.from({
      type: 2,
      chainId: this.options.chainId,
      nonce,
      to: request.to,
      data: request.data,
      gasLimit: request.gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas,
      value: 0n,
    });
    const raw = await wallet.signTransaction(tx);
    const hash = Transaction.from(raw).hash!;
    await journal.addAttempt(nonce, purpose, {
      hash,
      raw,
      maxFeePerGas: maxFeePerGas.toString(),
      maxPriorityFeePerGas: maxPriorityFeePerGas.toString(),
      sentAtBlock,
    });
    await this.options.beforeBroadcast?.({ nonce, hash, purpose });
    await this.broadcast(raw);
    this.options.afterBroadcast?.(hash);
    const entry = journal.entries.find((e) => e.nonce === nonce)!;
    return this.waitFor(entry);
  }

  private async broadcast(raw: string): Promise<void> {
    try {
      await this.options.provider.broadcastTransaction(raw);
    } catch (error) {
      // Already known, nonce used (by this very transaction, perhaps), or the node is away:
      // the wait that follows finds out which.
      this.options.log.warn(
        { err: errorField(error) },
        'broadcast not accepted; waiting for the chain to say what happened',
      );
    }
  }

  private async waitFor(first: JournalEntry): Promise<TransactionReceipt> {
    const { provider, journal, wallet } = this.options;
    const deadline = Date.now() + this.receiptTimeoutMs;
    let entry = first;
    for (;;) {
      for (const attempt of [...entry.attempts].reverse()) {
        const receipt = await provider.getTransactionReceipt(attempt.hash);
        if (receipt !== null) {
          const head = await provider.getBlockNumber();
          if (head - receipt.blockNumber + 1 >= this.confirmations) {
            await journal.settle(entry.nonce);
            return receipt;
          }
        }
      }
      const mined = await provider.getTransactionCount(wallet.address, 'latest');
      if (mined > entry.nonce) {
        // Used: by one of ours whose receipt appeared after we looked (then it awaits its
        // confirmations), or by another transaction.
        if ((await this.anyReceipt(entry)) === null) {
          await journal.settle(entry.nonce);
          throw new NonceTaken(
            `nonce ${entry.nonce} of ${wallet.address} was used by another transaction; '${entry.purpose}' never landed`,
          );
        }
      } else {
        const latest = entry.attempts.at(-1)!;
        if ((await provider.getTransaction(latest.hash)) === null) await this.broadcast(latest.raw);
        const head = await provider.getBlockNumber();
        if (head - latest.sentAtBlock >= this.bumpAfterBlocks) entry = await this.replace(entry, head);
      }
      if (Date.now() > deadline)
        throw new ReceiptTimeout(
          `no receipt for nonce ${entry.nonce} ('${entry.purpose}') after ${this.receiptTimeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  private async anyReceipt(entry: JournalEntry): Promise<TransactionReceipt | null> {
    for (const attempt of entry.attempts) {
      const receipt = await this.options.provider.getTransactionReceipt(attempt.hash);
      if (receipt !== null) return receipt;
    }
    return null;
  }

  /** The same transaction, same nonce, fees raised by bumpPercent (or to the market's, if higher). */
  private async replace(entry: JournalEntry, head: number): Promise<JournalEntry> {
    const latest = entry.attempts.at(-1)!;
    const previous = Transaction.from(latest.raw);
    const fees = await this.options.provider.getFeeData();
    const bump = (old: bigint, market: bigint | null): bigint => {
      const raised = (old * (100n + this.bumpPercent) + 99n) / 100n;
      return market !== null && market > raised ? market : raised;
    };
    const maxFeePerGas = bump(BigInt(latest.maxFeePerGas), fees.maxFeePerGas);
    const maxPriorityFeePerGas = bump(BigInt(latest.maxPriorityFeePerGas), fees.maxPriorityFeePerGas);
    const tx = Transaction.from({
      type: 2,
      chainId: this.options.chainId,
      nonce: entry.nonce,
      to: previous.to,
      data: previous.data,
      gasLimit: previous.gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas,
      value: 0n,
    });
    const raw = await this.options.wallet.signTransaction(tx);
    const hash = Transaction.from(raw).hash!;
    await this.options.journal.addAttempt(entry.nonce, entry.purpose, {
      hash,
      raw,
      maxFeePerGas: maxFeePerGas.toString(),
      maxPriorityFeePerGas: maxPriorityFeePerGas.toString(),
      sentAtBlock: head,
    });
    this.options.log.warn(
      {
        nonce: entry.nonce,
        purpose: entry.purpose,
        replaces: latest.hash,
        hash,
        maxFeePerGas: maxFeePerGas.toString(),
      },
      'transaction stuck; replaced with higher fees',
    );
    await this.options.beforeBroadcast?.({ nonce: entry.nonce, hash, purpose: entry.purpose });
    await this.broadcast(raw);
    return this.options.journal.entries.find((e) => e.nonce === entry.nonce)!;
  }
}

/** An ethers error in one line, without the request payload (which may carry signed bytes). */
export function shortError(error: unknown): string {
  const e = error as { shortMessage?: string; reason?: string; code?: string; message?: string };
  return e.reason ?? e.shortMessage ?? (e.code === undefined ? String(e.message ?? error) : `${e.code}`);
}
