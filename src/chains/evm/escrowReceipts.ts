/**
 * Reads what an Escrow transaction did for one payee from its logs, in log order:
 * - Claimed (payee = us): a claim; its amount is gross. The OPC fee of that claim is the
 *   ERC-20 Transfer of its token out of the escrow to anyone but the payee, emitted by the
 *   escrow's _claimLock just before the Claimed log (the payee's own credit stays inside the
 *   escrow and emits nothing); no such Transfer means a fee of 0.
 * - Canceled (payee = us): a lock gone back to its payer (an expired lock met by a claim).
 * - Withdraw (payer = us, the withdrawer): what the withdraw variants paid to the payee's
 *   wallet. They pay the payee's whole available balance of each token, so a withdrawal
 *   includes the net of earlier claims made without withdraw: it is reported per token,
 *   never attributed to a job.
 * Only logs of the escrow and of the claimed tokens are read; nothing else can fake them.
 */
import { Interface, type Log } from 'ethers';
import type { EscrowEvent } from '../../host/ports.ts';
import { ERC20_ABI, ESCROW_ABI } from './escrowAbi.ts';

const escrowInterface = new Interface(ESCROW_ABI);
const erc20Interface = new Interface(ERC20_ABI);
const TRANSFER_TOPIC = erc20Interface.getEvent('Transfer')!.topicHash;

/** Job ids travel as 0x-prefixed 64-digit hex, whatever their size on chain. */
export function jobIdHex(jobId: bigint): string {
  return `0x${jobId.toString(16).padStart(64, '0')}`;
}

export interface ReceiptReading {
  readonly events: EscrowEvent[];
  readonly withdrawn: Array<{ token: string; amount: bigint }>;
}

type LogLike = Pick<Log, 'address' | 'topics' | 'data'>;

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** The Claimed and Canceled events (with each claim's fee) and the withdrawals of a receipt. */
export function readReceiptLogs(logs: readonly LogLike[], escrow: string, payee: string): ReceiptReading {
  const events: EscrowEvent[] = [];
  const withdrawn = new Map<string, bigint>();
  // Transfers out of the escrow (not to the payee) since the last Claimed/Canceled, by token.
  let outgoing = new Map<string, bigint>();
  for (const log of logs) {
    if (!same(log.address, escrow)) {
      if (log.topics[0] !== TRANSFER_TOPIC || log.topics.length !== 3) continue;
      const transfer = erc20Interface.parseLog(log);
      if (
        transfer === null ||
        !same(transfer.args.getValue('from') as string, escrow) ||
        same(transfer.args.getValue('to') as string, payee)
      )
        continue;
      const token = log.address.toLowerCase();
      outgoing.set(token, (outgoing.get(token) ?? 0n) + (transfer.args.getValue('value') as bigint));
      continue;
    }
    const parsed = escrowInterface.parseLog(log);
    if (parsed === null) continue;
    if (parsed.name === 'Withdraw') {
      if (!same(parsed.args.getValue('payer') as string, payee)) continue;
      const token = (parsed.args.getValue('token') as string).toLowerCase();
      withdrawn.set(token, (withdrawn.get(token) ?? 0n) + (parsed.args.getValue('amount') as bigint));
      continue;
    }
    if (parsed.name !== 'Claimed' && parsed.name !== 'Canceled') continue;
    const token = (parsed.args.getValue('token') as string).toLowerCase();
    const fee = outgoing.get(token) ?? 0n;
    outgoing = new Map();
    if (!same(parsed.args.getValue('payee') as string, payee)) continue;
    events.push({
      kind: parsed.name,
      jobId: jobIdHex(parsed.args.getValue('jobId') as bigint),
      amount: parsed.args.getValue('amount') as bigint,
      payer: (parsed.args.getValue('payer') as string).toLowerCase(),
      token,
      ...(parsed.name === 'Claimed' ? { fee } : {}),
    });
  }
  return { events, withdrawn: [...withdrawn].map(([token, amount]) => ({ token, amount })) };
}
