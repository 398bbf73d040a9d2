/**
 * Chain cost of settling jobs: transactions and gas per job settled, when 1, 10, 50 and 200
 * jobs are due at one claim run, on the project's Escrow on a local hardhat node. The jobs
 * go through the host's own batch claimer (read the locks, dry-run, claimLocks, settle from
 * the receipt), and what it cost is read back from the node: every transaction the payee
 * sent in that time and the gas each one used. Each size gets fresh locks on a fresh
 * contract, so the contract's lock array is the same size for every measurement.
 */
import pino from 'pino';
import { claimInBatches } from '../src/host/batchClaimer.ts';
import { deployEscrow } from '../test/support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../test/support/evmNode.ts';
import { tempDir } from '../test/support/simFixture.ts';
import { jobMachineId } from '../machines/index.ts';

export interface GasRow {
  /** Jobs due at one claim run. */
  readonly batch: number;
  readonly gasPerJob: number;
  readonly transactionsPerJob: number;
}

export async function claimGas(sizes: readonly number[]): Promise<GasRow[]> {
  const node = await startEvmNode();
  try {
    const rows: GasRow[] = [];
    for (const size of sizes) {
      const fixture = await deployEscrow(node);
      const jobs = await fixture.lock(size);
      const log = pino({ level: 'silent' });
      const { escrow } = await fixture.adapter(tempDir('settle-gas-'), log);
      const fromBlock = (await node.provider.getBlockNumber()) + 1;
      const events = await claimInBatches(
        escrow,
        jobs.map((terms) => ({ id: jobMachineId(terms), terms, amount: 1n })),
        log,
      );
      const claimed = [...events.values()].filter((e) => e.type === 'CLAIMED').length;
      if (claimed !== size)
        throw new Error(
          `${size} jobs due: ${claimed} claimed (${JSON.stringify([...events.values()].find((e) => e.type !== 'CLAIMED'))})`,
        );
      const { transactions, gas } = await sentSince(node, fixture.payee.address, fromBlock);
      rows.push({ batch: size, gasPerJob: Number(gas) / size, transactionsPerJob: transactions / size });
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
