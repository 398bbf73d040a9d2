/**
 * Chain cost of settling jobs: gas per job claimed, in one claimLocks transaction of 1, 10, 50
 * and 200 jobs, on the project's Escrow on a local hardhat node. Each size gets fresh locks on
 * a fresh contract, so the contract's lock array is the same size for every measurement.
 */
import pino from 'pino';
import { deployEscrow } from '../test/support/escrowFixture.ts';
import { startEvmNode } from '../test/support/evmNode.ts';
import { tempDir } from '../test/support/simFixture.ts';

export interface GasRow {
  readonly batch: number;
  readonly gasPerJob: number;
  readonly transactions: number;
}

export async function claimGas(sizes: readonly number[]): Promise<GasRow[]> {
  const node = await startEvmNode();
  try {
    const rows: GasRow[] = [];
    for (const size of sizes) {
      const fixture = await deployEscrow(node);
      const jobs = await fixture.lock(size);
      const { escrow } = await fixture.adapter(tempDir('settle-gas-'), pino({ level: 'silent' }));
      const receipt = await escrow.claimLocks(jobs.map((terms) => ({ terms, amount: 1n })));
      if (receipt.events.length !== size) throw new Error(`batch of ${size}: ${receipt.events.length} Claimed events`);
      const mined = await node.provider.getTransactionReceipt(receipt.txHash);
      rows.push({ batch: size, gasPerJob: Number(mined!.gasUsed) / size, transactions: 1 });
    }
    return rows;
  } finally {
    await node.stop();
  }
}
