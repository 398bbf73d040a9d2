/**
 * The Escrow port over ethers v6, for Ocean Protocol's published Escrow (npm
 * @oceanprotocol/contracts 2.6.0; Escrow.sol unchanged through 2.8.0) on an EVM chain, as
 * one payee.
 *
 * - Locks are kept per payee: one getLocks(0, 0, payee) returns all of ours (the contract ORs
 *   its token and payer filters, so any filter would have to be re-checked anyway); each job
 *   is matched here on job id, payer and token.
 * - A lock that is gone is explained by this payee's Claimed and Canceled events (payee and
 *   payer are indexed; the job id and token are not, so they are matched here). A Claimed
 *   found that way has its fee read from its transaction's receipt.
 * - Claims go out as claimLocksAndWithdraw (default: the tokens reach the payee's wallet) or
 *   claimLocks (they stay in the escrow), through the durable EvmTxSender; a batch is
 *   estimated first, and an estimate that reverts is a BatchReverted with the contract's reason.
 * - A receipt is read for its Claimed and Canceled events (escrowReceipts.ts): a transaction
 *   that succeeded is no proof of payment; Claimed.amount is gross, the fee is read from the
 *   token's Transfer to the fee collector, the withdrawals per token.
 */
import { Contract, formatUnits, Interface, type JsonRpcProvider, type Log } from 'ethers';
import type { JobTerms } from '../../../machines/index.ts';
import {
  BatchReverted,
  type ClaimEntry,
  type Escrow,
  type EscrowReceipt,
  type Logger,
  type Settlement,
} from '../../host/ports.ts';
import { ERC20_DECIMALS_ABI, ESCROW_ABI } from './escrowAbi.ts';
import { jobIdHex, readReceiptLogs } from './escrowReceipts.ts';
import { shortError, type EvmTxSender } from './evmTxSender.ts';
import { encodeSettlementProof } from './settlementProof.ts';

export { jobIdHex } from './escrowReceipts.ts';

/** How claims pay out: to the payee's wallet (the escrow's withdraw variant) or kept in the escrow. */
export type ClaimMethod = 'claimLocksAndWithdraw' | 'claimLocks';

export interface EvmEscrowOptions {
  /** The chain's name in settle's configuration. */
  readonly chain: string;
  readonly address: string;
  readonly provider: JsonRpcProvider;
  /** Signs as the payee. */
  readonly sender: EvmTxSender;
  /** Where to start looking for Claimed and Canceled events (the escrow's deployment block). */
  readonly fromBlock: number;
  readonly log: Logger;
  /** Headroom over the estimated gas, in percent. */
  readonly gasHeadroomPercent?: number;
  /** Default claimLocksAndWithdraw, as ocean-node does. */
  readonly claimMethod?: ClaimMethod;
  /** Blocks per eth_getLogs query (RPC providers cap the range); 0: one query. */
  readonly logChunkBlocks?: number;
}

const escrowInterface = new Interface(ESCROW_ABI);
const ZERO = `0x${'00'.repeat(20)}`;

interface FoundEvent {
  readonly kind: 'claimed' | 'canceled';
  readonly txHash: string;
  readonly amount: bigint;
}

const lower = (a: string): string => a.toLowerCase();
const lockKey = (jobId: string, payer: string, token: string): string => `${jobId}|${lower(payer)}|${lower(token)}`;
const termsKey = (j: JobTerms): string => lockKey(j.jobId, j.payer, j.token);

export class EvmEscrow implements Escrow {
  private readonly contract: Contract;
  private readonly decimalsCache = new Map<string, number>();
  readonly claimMethod: ClaimMethod;

  constructor(private readonly options: EvmEscrowOptions) {
    this.contract = new Contract(options.address, ESCROW_ABI, options.provider);
    this.claimMethod = options.claimMethod ?? 'claimLocksAndWithdraw';
  }

  get chain(): string {
    return this.options.chain;
  }

  get address(): string {
    return this.options.address;
  }

  private get payee(): string {
    return this.options.sender.address;
  }

  /** Every lock this payee holds, by job id, payer and token. */
  async locksOfPayee(): Promise<Map<string, { amount: bigint; expiry: number }>> {
    // getLocks ORs its filters: zero token and payer return all of the payee's locks.
    const found = (await this.contract.getFunction('getLocks').staticCall(ZERO, ZERO, this.payee)) as Array<{
      jobId: bigint;
      payer: string;
      amount: bigint;
      expiry: bigint;
      token: string;
    }>;
    const locks = new Map<string, { amount: bigint; expiry: number }>();
    for (const l of found)
      locks.set(lockKey(jobIdHex(l.jobId), l.payer, l.token), { amount: l.amount, expiry: Number(l.expiry) });
    return locks;
  }

  async readSettlements(jobs: readonly JobTerms[]): Promise<Settlement[]> {
    for (const terms of jobs) this.assertOurs(terms);
    if (jobs.length === 0) return [];
    const locks = await this.locksOfPayee();
    const gone = jobs.filter((j) => !locks.has(termsKey(j)));
    const events = gone.length === 0 ? new Map<string, FoundEvent>() : await this.settledEvents();
    const fees = new Map<string, bigint | null>();
    const settlements: Settlement[] = [];
    for (const j of jobs) {
      const lock = locks.get(termsKey(j));
      const event = events.get(termsKey(j));
      if (lock !== undefined) settlements.push({ kind: 'locked', amount: lock.amount, expiry: lock.expiry });
      else if (event === undefined) settlements.push({ kind: 'absent' });
      else if (event.kind === 'canceled') settlements.push({ kind: 'canceled', txHash: event.txHash });
      else
        settlements.push({
          kind: 'claimed',
          txHash: event.txHash,
          amount: event.amount,
          fee: await this.feeOf(event.txHash, j, fees),
        });
    }
    return settlements;
  }

  /** This payee's Claimed and Canceled events by lock; a Claimed wins over a Canceled. */
  private async settledEvents(): Promise<Map<string, FoundEvent>> {
    const events = new Map<string, FoundEvent>();
    for (const name of ['Canceled', 'Claimed'] as const) {
      // (payee indexed, jobId, token, payer indexed, ...): only payee and payer can be filtered on.
      for (const log of await this.queryLogs(this.contract.filters[name]!(this.payee))) {
        const parsed = escrowInterface.parseLog(log);
        if (parsed === null) continue;
        const key = lockKey(
          jobIdHex(parsed.args.getValue('jobId') as bigint),
          parsed.args.getValue('payer') as string,
          parsed.args.getValue('token') as string,
        );
        events.set(key, {
          kind: name === 'Claimed' ? 'claimed' : 'canceled',
          txHash: log.transactionHash,
          amount: parsed.args.getValue('amount') as bigint,
        });
      }
    }
    return events;
  }

  private async queryLogs(filter: ReturnType<Contract['filters'][string]>): Promise<Log[]> {
    const chunk = this.options.logChunkBlocks ?? 0;
    if (chunk <= 0) return (await this.contract.queryFilter(filter, this.options.fromBlock, 'latest')) as Log[];
    const head = await this.options.provider.getBlockNumber();
    const logs: Log[] = [];
    for (let from = this.options.fromBlock; from <= head; from += chunk) {
      logs.push(...((await this.contract.queryFilter(filter, from, Math.min(head, from + chunk - 1))) as Log[]));
    }
    return logs;
  }

  /** The fee of a claim found by its event, from its receipt (read once per transaction). */
  private async feeOf(txHash: string, terms: JobTerms, cache: Map<string, bigint | null>): Promise<bigint | null> {
    const key = `${txHash}|${termsKey(terms)}`;
    if (!cache.has(key)) {
      const receipt = await this.options.provider.getTransactionReceipt(txHash);
      const reading = receipt === null ? null : readReceiptLogs(receipt.logs, this.options.address, this.payee);
      for (const e of reading?.events ?? [])
        if (e.kind === 'Claimed') cache.set(`${txHash}|${lockKey(e.jobId, e.payer!, e.token!)}`, e.fee ?? null);
      if (!cache.has(key)) cache.set(key, null);
    }
    return cache.get(key)!;
  }

  private claimData(entries: readonly ClaimEntry[]): string {
    for (const entry of entries) this.assertOurs(entry.terms);
    return escrowInterface.encodeFunctionData(this.claimMethod, [
      entries.map((e) => BigInt(e.terms.jobId)),
      entries.map((e) => e.terms.token),
      entries.map((e) => e.terms.payer),
      entries.map((e) => e.amount),
      entries.map((e) => encodeSettlementProof(e.record)),
    ]);
  }

  /** The gas a call needs, or the contract's revert reason. */
  private async estimate(data: string): Promise<{ gas: bigint } | { reason: string }> {
    try {
      return { gas: await this.options.provider.estimateGas({ from: this.payee, to: this.options.address, data }) };
    } catch (error) {
      if ((error as { code?: string }).code !== 'CALL_EXCEPTION') throw error;
      return { reason: shortError(error) };
    }
  }

  async checkClaims(entries: readonly ClaimEntry[]): Promise<string | null> {
    const result = await this.estimate(this.claimData(entries));
    return 'reason' in result ? result.reason : null;
  }

  async claimLocks(entries: readonly ClaimEntry[]): Promise<EscrowReceipt> {
    const receipt = await this.sendChecked(
      this.claimMethod,
      this.claimData(entries),
      `${this.claimMethod} of ${entries.length} jobs`,
    );
    await this.logClaims(receipt, entries[0]!.terms.token);
    return receipt;
  }

  private async logClaims(receipt: EscrowReceipt, token: string): Promise<void> {
    const claimed = receipt.events.filter((e) => e.kind === 'Claimed');
    if (claimed.length === 0) return;
    const decimals = await this.decimals(token).catch(() => null);
    const show = (v: bigint): string => (decimals === null ? v.toString() : formatUnits(v, decimals));
    const gross = claimed.reduce((sum, e) => sum + e.amount, 0n);
    const fee = claimed.reduce((sum, e) => sum + (e.fee ?? 0n), 0n);
    this.options.log.info(
      {
        chain: this.chain,
        tx: receipt.txHash,
        claimed: claimed.length,
        gross: show(gross),
        fee: show(fee),
        net: show(gross - fee),
        withdrawn: (receipt.withdrawn ?? []).map((w) => ({ token: w.token, amount: w.amount.toString() })),
      },
      'claimed',
    );
  }
  async cancelExpiredLocks(jobs: readonly JobTerms[]): Promise<EscrowReceipt> {
    const data = escrowInterface.encodeFunctionData('cancelExpiredLocks', [
      jobs.map((j) => BigInt(j.jobId)),
      jobs.map((j) => j.token),
      jobs.map((j) => j.payer),
      jobs.map((j) => j.payee),
    ]);
    return this.sendChecked('cancelExpiredLocks', data, `cancelExpiredLocks of ${jobs.length} jobs`);
  }

  private async sendChecked(method: string, data: string, purpose: string): Promise<EscrowReceipt> {
    const estimate = await this.estimate(data);
    if ('reason' in estimate) throw new BatchReverted(estimate.reason);
    const headroom = BigInt(100 + (this.options.gasHeadroomPercent ?? 20));
    const receipt = await this.options.sender.send(purpose, {
      to: this.options.address,
      data,
      gasLimit: (estimate.gas * headroom) / 100n,
    });
    if (receipt.status !== 1) throw new BatchReverted(`${method} ${receipt.hash} reverted when mined`);
    const reading = readReceiptLogs(receipt.logs, this.options.address, this.payee);
    return { txHash: receipt.hash, events: reading.events, withdrawn: reading.withdrawn };
  }

  /**
   * The locks a createLock(s) transaction made for this payee, from its receipt's Lock events
   * (expiry there is relative: made absolute with the block's timestamp, as the contract does).
   * Empty when the transaction is unknown, failed, or made no lock of ours.
   */
  async locksOfTx(
    txHash: string,
  ): Promise<Array<{ jobId: string; payer: string; token: string; amount: bigint; expiry: number }>> {
    const receipt = await this.options.provider.getTransactionReceipt(txHash);
    if (receipt === null || receipt.status !== 1) return [];
    const block = await this.options.provider.getBlock(receipt.blockNumber);
    if (block === null) return [];
    const locks = [];
    for (const log of receipt.logs) {
      if (lower(log.address) !== lower(this.options.address)) continue;
      const parsed = escrowInterface.parseLog(log);
      if (parsed?.name !== 'Lock' || lower(parsed.args.getValue('payee') as string) !== lower(this.payee)) continue;
      locks.push({
        jobId: jobIdHex(parsed.args.getValue('jobId') as bigint),
        payer: parsed.args.getValue('payer') as string,
        token: parsed.args.getValue('token') as string,
        amount: parsed.args.getValue('amount') as bigint,
        expiry: block.timestamp + Number(parsed.args.getValue('expiry') as bigint),
      });
    }
    return locks;
  }

  /** The tokens the escrow holds funds of for `user` (getUserTokens), lower case. */
  async userTokens(user: string): Promise<Set<string>> {
    const tokens = (await this.contract.getFunction('getUserTokens').staticCall(user)) as string[];
    return new Set(tokens.map(lower));
  }

  /** ERC-20 decimals, read once per token: for amounts in log lines. */
  async decimals(token: string): Promise<number> {
    const key = token.toLowerCase();
    let decimals = this.decimalsCache.get(key);
    if (decimals === undefined) {
      decimals = Number(
        await new Contract(token, ERC20_DECIMALS_ABI, this.options.provider).getFunction('decimals').staticCall(),
      );
      this.decimalsCache.set(key, decimals);
    }
    return decimals;
  }

  private assertOurs(terms: JobTerms): void {
    if (terms.payee.toLowerCase() !== this.payee.toLowerCase()) {
      throw new Error(`job ${terms.jobId}: payee ${terms.payee} is not this escrow client's account ${this.payee}`);
    }
    if (terms.escrow.toLowerCase() !== this.options.address.toLowerCase()) {
      throw new Error(`job ${terms.jobId}: escrow ${terms.escrow} is not ${this.options.address}`);
    }
  }
}
