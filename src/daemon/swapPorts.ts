/**
 * The Solana swap manager as the daemon's swap contract: the endpoint's cluster checked by its
 * genesis hash before anything is signed, then the client over one RPC endpoint, timed like
 * every port. Nothing here is persisted: a crash leaves only an HTTP client behind.
 */
import { createSolanaRpc, type KeyPairSigner } from '@solana/kit';
import { SOLANA_CLUSTERS } from '../chains/solana/swapManager/clusters.ts';
import { SolanaSwapContract } from '../chains/solana/swapManager/solanaSwapContract.ts';
import { SwapManagerClient } from '../chains/solana/swapManager/swapManagerClient.ts';
import { EndpointUnreachable } from '../chains/substrate/substrateChain.ts';
import { ClusterMismatch } from '../errors.ts';
import type { Logger, SwapContract } from '../host/ports.ts';
import type { SolanaSwapsConfig } from './config.ts';
import { instrumented, type DaemonMetrics } from './metrics.ts';

export async function solanaSwapContract(
  swaps: SolanaSwapsConfig,
  miner: KeyPairSigner,
  log: Logger,
  metrics: DaemonMetrics,
  stopping: () => boolean,
): Promise<SwapContract> {
  const rpc = createSolanaRpc(swaps.solana.rpcUrl);
  await checkCluster(() => rpc.getGenesisHash().send().then(String), swaps.solana.cluster);
  const client = new SwapManagerClient({
    rpc,
    programId: swaps.solana.programId,
    signer: miner,
    log,
    markTimeoutMs: swaps.solana.markTimeoutSecs * 1_000,
    historyLimit: swaps.solana.historyLimit,
    stopping,
  });
  return instrumented(
    new SolanaSwapContract(client) as SwapContract,
    { chain: 'solana', port: 'swapContract' },
    metrics,
  );
}

/** The endpoint must serve the configured cluster; one that does not answer is retried by the daemon. */
export async function checkCluster(
  genesisHash: () => Promise<string>,
  cluster: keyof typeof SOLANA_CLUSTERS,
): Promise<void> {
  let reported: string;
  try {
    reported = await genesisHash();
  } catch (error) {
    throw new EndpointUnreachable(
      `swaps.solana.rpcUrl: the Solana endpoint does not answer getGenesisHash: ${(error as Error).message}`,
    );
  }
  if (reported !== SOLANA_CLUSTERS[cluster])
    throw new ClusterMismatch('swaps.solana', reported, cluster, SOLANA_CLUSTERS[cluster]);
}
