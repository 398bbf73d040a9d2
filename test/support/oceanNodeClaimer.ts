/**
 * ocean-node's claim strategy, as read from ocean-node's source
 * (ocean-node 3.2.0 compute_engine_docker.ts claimPayments, escrow.ts): one
 * claimLocksAndWithdraw for every job of a chain, gas limit = estimate + 20000; on any error,
 * per job a claimLockAndWithdraw, sent only if getLocks(token, payer, self) still lists the job.
 * Written here from that description (not ocean-node's code), to race settle on one key and to
 * compare the two strategies' transactions and gas.
 */
import { Contract, type Wallet } from 'ethers';
import { ESCROW_ARTIFACT } from '../../src/chains/evm/escrowAbi.ts';

export interface OceanNodeClaim {
  readonly jobId: bigint;
  readonly token: string;
  readonly payer: string;
  readonly amount: bigint;
  readonly proof: string;
}

export interface OceanNodeRun {
  /** Hashes of the transactions sent (mined), in order. */
  readonly txs: string[];
  gasUsed: bigint;
  /** Jobs whose claim transaction was mined successfully (what ocean-node records as claimed). */
  readonly recorded: bigint[];
  readonly errors: string[];
}

export async function oceanNodeClaimRun(
  wallet: Wallet,
  escrowAddress: string,
  claims: readonly OceanNodeClaim[],
): Promise<OceanNodeRun> {
  const escrow = new Contract(escrowAddress, ESCROW_ARTIFACT.abi, wallet);
  const run: OceanNodeRun = { txs: [], gasUsed: 0n, recorded: [], errors: [] };
  const send = async (method: string, args: unknown[]): Promise<void> => {
    const fn = escrow.getFunction(method);
    const gas = await fn.estimateGas(...args);
    const tx = await fn(...args, { gasLimit: gas + 20_000n });
    const receipt = await tx.wait();
    run.txs.push(receipt!.hash);
    run.gasUsed += receipt!.gasUsed;
  };
  try {
    await send('claimLocksAndWithdraw', [
      claims.map((c) => c.jobId),
      claims.map((c) => c.token),
      claims.map((c) => c.payer),
      claims.map((c) => c.amount),
      claims.map((c) => c.proof),
    ]);
    run.recorded.push(...claims.map((c) => c.jobId));
    return run;
  } catch (error) {
    run.errors.push(`batch: ${(error as { shortMessage?: string }).shortMessage ?? String(error)}`);
  }
  for (const claim of claims) {
    try {
      const locks = (await escrow
        .getFunction('getLocks')
        .staticCall(claim.token, claim.payer, wallet.address)) as Array<{ jobId: bigint }>;
      if (!locks.some((l) => l.jobId === claim.jobId)) continue;
      await send('claimLockAndWithdraw', [claim.jobId, claim.token, claim.payer, claim.amount, claim.proof]);
      run.recorded.push(claim.jobId);
    } catch (error) {
      run.errors.push(`${claim.jobId}: ${(error as { shortMessage?: string }).shortMessage ?? String(error)}`);
    }
  }
  return run;
}
