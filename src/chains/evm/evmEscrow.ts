/**
 * The Escrow port over ethers v6, for an Ocean-style Escrow on an EVM chain, as one payee.
 *
 * - Locks are read with getLocks and filtered here: the contract ORs its three filters.
 * - A lock that is gone is explained by this payee's Claimed and Canceled events (payee and
 *   payer are indexed; the job id is not, so it is matched here).
 * - claimLocks and cancelExpiredLocks go through the durable EvmTxSender; a batch is
 *   estimated first, and an estimate that reverts is a BatchReverted with the contract's reason.
 * - A receipt is read for its Claimed and Canceled events: a transaction that succeeded is no
 *   proof of payment.
 */
import { Contract, formatUnits, Interface, type JsonRpcProvider, type Log } from 'ethers';
import type { JobTerms } from '../../../machines/index.ts';
import {
  BatchReverted,
  type ClaimEntry,
  type Escrow,
  type EscrowEvent,
  type EscrowReceipt,
  type Logger,
  type Settlement,
} from '../../host/ports.ts';
import { ERC20_DECIMALS_ABI, ESCROW_ABI } from './escrowAbi.ts';
import { shortError, type EvmTxSender } from './evmTxSender.ts';

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
}

const escrowInterface = new Interface(ESCROW_ABI);

/** Job ids travel as 0x-prefixed 64-digit hex, whatever their size on chain. */
export function jobIdHex(jobId: bigint): string {
  return `0x${jobId.toString(16).padStart(64, '0')}`;
}

export class EvmEscrow implements Escrow {
  private readonly contract: Contract;
  private readonly decimalsCache = new Map<string, number>();

  constructor(private readonly options: EvmEscrowOptions) {
    this.contract = new Contract(options.address, ESCROW_ABI, options.provider);
  }

  get chain(): string {
    return this.options.chain;
  }

  private get payee(): string {
    return this.options.sender.address;
  }

  async readSettlements(jobs: readonly JobTerms[]): Promise<Settlement[]> {
    for (const terms of jobs) this.assertOurs(terms);
    const lower = (a: string): string => a.toLowerCase();
    // One getLocks per (token, payer, payee); the contract ORs the three filters, so the
    // answer is matched against every field here.
    const locks = new Map<string, { amount: bigint; expiry: number }>();
    for (const key of new Set(jobs.map((j) => `${lower(j.token)}|${lower(j.payer)}|${lower(j.payee)}`))) {
      const [token, payer, payee] = key.split('|') as [string, string, string];
      const found = (await this.contract.getFunction('getLocks').staticCall(token, payer, payee)) as Array<{
        jobId: bigint;
        payer: string;
        payee: string;
        amount: bigint;
        expiry: bigint;
        token: string;
      }>;
      for (const l of found) {
        if (lower(l.token) === token && lower(l.payer) === payer && lower(l.payee) === payee) {
          locks.set(`${key}|${jobIdHex(l.jobId)}`, { amount: l.amount, expiry: Number(l.expiry) });
        }
      }
    }
    const lockKey = (j: JobTerms): string => `${lower(j.token)}|${lower(j.payer)}|${lower(j.payee)}|${j.jobId}`;
    const gone = jobs.filter((j) => !locks.has(lockKey(j)));
    // One query per event and (payee, payer) for the jobs whose lock is gone.
    const events = new Map<string, { kind: 'claimed' | 'canceled'; txHash: string; amount: bigint }>();
    for (const key of new Set(gone.map((j) => `${lower(j.payee)}|${lower(j.payer)}`))) {
      const [payee, payer] = key.split('|') as [string, string];
      for (const name of ['Canceled', 'Claimed'] as const) {
        // (payee indexed, jobId, token, payer indexed, ...): only payee and payer can be filtered on.
        const logs = await this.contract.queryFilter(
          this.contract.filters[name]!(payee, null, null, payer),
          this.options.fromBlock,
          'latest',
        );
        for (const log of logs) {
          const parsed = escrowInterface.parseLog(log);
          if (parsed === null) continue;
          const jobId = jobIdHex(parsed.args.getValue('jobId') as bigint);
          // A Claimed event wins over a Canceled one: payment is what matters.
          events.set(`${key}|${jobId}`, {
            kind: name === 'Claimed' ? 'claimed' : 'canceled',
            txHash: log.transactionHash,
            amount: parsed.args.getValue('amount') as bigint,
          });
        }
      }
    }
    return jobs.map((j): Settlement => {
      const lock = locks.get(lockKey(j));
      if (lock !== undefined) return { kind: 'locked', amount: lock.amount, expiry: lock.expiry };
      const event = events.get(`${lower(j.payee)}|${lower(j.payer)}|${j.jobId}`);
      if (event === undefined) return { kind: 'absent' };
      return event.kind === 'claimed'
        ? { kind: 'claimed', txHash: event.txHash, amount: event.amount }
        : { kind: 'canceled', txHash: event.txHash };
    });
  }

  private claimData(entries: readonly ClaimEntry[]): string {
    for (const entry of entries) this.assertOurs(entry.terms);
    return escrowInterface.encodeFunctionData('claimLocks', [
      entries.map((e) => BigInt(e.terms.jobId)),
      entries.map((e) => e.terms.token),
      entries.map((e) => e.terms.payer),
      entries.map((e) => e.amount),
      entries.map(() => '0x'),
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
      'claimLocks',
      this.claimData(entries),
      `claimLocks of ${entries.length} jobs`,
    );
    const claimed = receipt.events.filter((e) => e.kind === 'Claimed');
    if (claimed.length > 0) {
      const token = entries[0]!.terms.token;
      const total = claimed.reduce((sum, e) => sum + e.amount, 0n);
      this.options.log.info(
        {
          chain: this.chain,
          tx: receipt.txHash,
          claimed: claimed.length,
          amount: formatUnits(total, await this.decimals(token)),
        },
        'claimed',
      );
    }
    return receipt;
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
    return { txHash: receipt.hash, events: this.eventsOf(receipt.logs) };
  }

  /** The Claimed and Canceled events a receipt carries from this escrow, for this payee. */
  private eventsOf(logs: readonly Log[]): EscrowEvent[] {
    const events: EscrowEvent[] = [];
    for (const log of logs) {
      if (log.address.toLowerCase() !== this.options.address.toLowerCase()) continue;
      const parsed = escrowInterface.parseLog(log);
      if (parsed === null || (parsed.name !== 'Claimed' && parsed.name !== 'Canceled')) continue;
      if ((parsed.args.getValue('payee') as string).toLowerCase() !== this.payee.toLowerCase()) continue;
      events.push({
        kind: parsed.name,
        jobId: jobIdHex(parsed.args.getValue('jobId') as bigint),
        amount: parsed.args.getValue('amount') as bigint,
      });
    }
    return events;
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
