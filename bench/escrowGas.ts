/**
 * Chain cost of settling jobs on Ocean's published Escrow (@oceanprotocol/contracts bytecode,
 * with the package's FactoryRouter taking its 0.1% OPC fee) on a local hardhat node.
 *
 * - Gas and transactions per job when 1, 10, 50 and 200 jobs are due at one claim run, with
 *   claimLocksAndWithdraw and with claimLocks, through the host's own batch claimer (read the
 *   locks, dry-run, claim, settle from the receipt), and the RPC calls of that claim run
 *   (counted at the provider, a batch counting each call). Each size and method gets fresh
 *   locks on a fresh contract, so the payee's lock array is the same size for every row.
 * - Side by side in the same run, on the same node: 50 jobs due of which one would revert the
 *   batch (a cost above its lock), settled by settle (dry-run bisection, the bad one set aside,
 *   one batch) and by ocean-node's strategy (test/support/oceanNodeClaimer.ts: the batch, then
 *   one claimLockAndWithdraw per job), each with its own proof bytes (settle's 160-byte
 *   record, ocean-node's job JSON).
 * Counted from the blocks the node mined: every transaction the payee sent and its gas.
 */
import { JsonRpcProvider, type JsonRpcPayload, type JsonRpcResult } from 'ethers';
import pino from 'pino';
import { jobMachineId, type JobTerms } from '../machines/index.ts';
import { EvmEscrow, type ClaimMethod } from '../src/chains/evm/evmEscrow.ts';
import { EvmTxSender } from '../src/chains/evm/evmTxSender.ts';
import { TxJournal } from '../src/chains/evm/txJournal.ts';
import { claimInBatches, type ClaimTask } from '../src/host/batchClaimer.ts';
import { CHAIN, deployEscrow, type EscrowFixture } from '../test/support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../test/support/evmNode.ts';
import { oceanNodeClaimRun } from '../test/support/oceanNodeClaimer.ts';
import { tempDir } from '../test/support/simFixture.ts';

export interface GasRow {
  /** Jobs due at one claim run. */
  readonly batch: number;
  readonly method: ClaimMethod;
  readonly gasPerJob: number;
  readonly transactionsPerJob: number;
  /** JSON-RPC calls of the whole claim run (reads, dry runs, send, receipt). */
  readonly rpcCalls: number;
}

export interface StrategyRow {
  readonly strategy: string;
  readonly transactions: number;
  readonly gas: bigint;
  readonly claimed: number;
}

/** Counts every JSON-RPC request ethers sends (a batch counts each of its calls). */
class CountingProvider extends JsonRpcProvider {
  calls = 0;
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    this.calls += Array.isArray(payload) ? payload.length : 1;
    return super._send(payload);
  }
}

const silent = pino({ level: 'silent' });

async function countingEscrow(
  node: EvmNode,
  fixture: EscrowFixture,
  method: ClaimMethod,
): Promise<{ escrow: EvmEscrow; provider: CountingProvider }> {
  const provider = new CountingProvider(node.url, 31337, {
    staticNetwork: true,
    cacheTimeout: -1,
    pollingInterval: 50,
  });
  const journal = await TxJournal.open(tempDir('settle-gas-'), CHAIN, fixture.payee.address, 31337n);
  const sender = new EvmTxSender({
    wallet: fixture.payee.connect(provider),
    provider,
    journal,
    chainId: 31337n,
    log: silent,
    pollMs: 50,
  });
  const escrow = new EvmEscrow({
    chain: CHAIN,
    address: await fixture.escrow.getAddress(),
    provider,
    sender,
    fromBlock: fixture.deployBlock,
    log: silent,
    claimMethod: method,
  });
  return { escrow, provider };
}

const tasksOf = (jobs: readonly JobTerms[], amount: (t: JobTerms) => bigint): ClaimTask[] =>
  jobs.map((terms) => ({
    id: jobMachineId(terms),
    terms,
    amount: amount(terms),
    record: { sourceJobId: terms.jobId, cost: amount(terms), durationSecs: 3_600, resultHash: `0x${'ab'.repeat(32)}` },
  }));

export async function claimGas(sizes: readonly number[]): Promise<GasRow[]> {
  const node = await startEvmNode();
  try {
    const rows: GasRow[] = [];
    for (const method of ['claimLocksAndWithdraw', 'claimLocks'] as const) {
      for (const size of sizes) {
        const fixture = await deployEscrow(node);
        const jobs = await fixture.lock(size);
        const { escrow, provider } = await countingEscrow(node, fixture, method);
        const fromBlock = (await node.provider.getBlockNumber()) + 1;
        const before = provider.calls;
        const events = await claimInBatches(
          escrow,
          tasksOf(jobs, () => 10n ** 17n),
          silent,
        );
        const rpcCalls = provider.calls - before;
        provider.destroy();
        const claimed = [...events.values()].filter((e) => e.type === 'CLAIMED').length;
        if (claimed !== size)
          throw new Error(
            `${size} jobs due: ${claimed} claimed (${JSON.stringify([...events.values()].find((e) => e.type !== 'CLAIMED'))})`,
          );
        const { transactions, gas } = await sentSince(node, fixture.payee.address, fromBlock);
        rows.push({
          batch: size,
          method,
          gasPerJob: Number(gas) / size,
          transactionsPerJob: transactions / size,
          rpcCalls,
        });
      }
    }
    return rows;
  } finally {
    await node.stop();
  }
}

/** ocean-node's proof: the job JSON it stores (a typical job of about 1 KB). */
function oceanNodeProof(terms: JobTerms): string {
  const job = {
    owner: terms.payer,
    jobId: terms.jobId.slice(2),
    dateCreated: '1767225600.123',
    dateFinished: null,
    status: 71,
    statusText: 'Job settling',
    results: [{ filename: 'outputs.tar', filesize: 10_240, type: 'output', index: 0 }],
    inputDID: [`did:op:${'a'.repeat(64)}`],
    algoDID: `did:op:${'b'.repeat(64)}`,
    maxJobDuration: 3_600,
    environment: `0x${'c'.repeat(64)}-0x${'d'.repeat(64)}`,
    stopRequested: false,
    resources: [
      { id: 'cpu', amount: 2 },
      { id: 'ram', amount: 4 },
      { id: 'disk', amount: 10 },
    ],
    isFree: false,
    algoStartTimestamp: '1767225610.5',
    algoStopTimestamp: '1767229100.25',
    payment: {
      chainId: 8453,
      token: terms.token,
      lockTx: `0x${'e'.repeat(64)}`,
      claimTx: null,
      cancelTx: null,
      cost: 0,
    },
    algoDuration: 3_489.75,
    queueMaxWaitTime: 0,
    jobIdHash: terms.jobId,
    buildStartTimestamp: '0',
    buildStopTimestamp: '0',
  };
  return `0x${Buffer.from(JSON.stringify(job), 'utf8').toString('hex')}`;
}

/** 50 due, one whose cost is above its lock ("Amount too high" reverts any batch holding it). */
export async function strategyComparison(due = 50): Promise<StrategyRow[]> {
  const node = await startEvmNode();
  try {
    const rows: StrategyRow[] = [];
    const badIndex = Math.floor(due / 3);
    const amount = (jobs: readonly JobTerms[]) => (t: JobTerms) =>
      t === jobs[badIndex] ? 2n * 10n ** 18n : 10n ** 17n;
    {
      const fixture = await deployEscrow(node);
      const jobs = await fixture.lock(due, { amount: 10n ** 18n });
      const { escrow, provider } = await countingEscrow(node, fixture, 'claimLocksAndWithdraw');
      const fromBlock = (await node.provider.getBlockNumber()) + 1;
      const events = await claimInBatches(escrow, tasksOf(jobs, amount(jobs)), silent);
      provider.destroy();
      const { transactions, gas } = await sentSince(node, fixture.payee.address, fromBlock);
      rows.push({
        strategy: 'settle: dry-run bisection, one batch',
        transactions,
        gas,
        claimed: [...events.values()].filter((e) => e.type === 'CLAIMED').length,
      });
    }
    {
      const fixture = await deployEscrow(node);
      const jobs = await fixture.lock(due, { amount: 10n ** 18n });
      const fromBlock = (await node.provider.getBlockNumber()) + 1;
      const run = await oceanNodeClaimRun(
        fixture.payee,
        await fixture.escrow.getAddress(),
        jobs.map((t) => ({
          jobId: BigInt(t.jobId),
          token: t.token,
          payer: t.payer,
          amount: amount(jobs)(t),
          proof: oceanNodeProof(t),
        })),
      );
      const { transactions, gas } = await sentSince(node, fixture.payee.address, fromBlock);
      rows.push({
        strategy: 'ocean-node: batch, then claimLockAndWithdraw per job',
        transactions,
        gas,
        claimed: run.recorded.length,
      });
    }
    return rows;
  } finally {
    await node.stop();
  }
}

/** The transactions `from` sent in blocks from `fromBlock` on, and the gas they used. */
async function sentSince(
  node: EvmNode,
  from: string,
  fromBlock: number,
): Promise<{ transactions: number; gas: bigint }> {
  const sender = from.toLowerCase();
  let transactions = 0;
  let gas = 0n;
  const latest = await node.provider.getBlockNumber();
  for (let height = fromBlock; height <= latest; height += 1) {
    const block = await node.provider.getBlock(height, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== sender) continue;
      const receipt = await node.provider.getTransactionReceipt(tx.hash);
      transactions += 1;
      gas += receipt!.gasUsed;
    }
  }
  return { transactions, gas };
}
