/**
 * Solana clusters by genesis hash (allways/solana/rpc.py): the daemon refuses an RPC endpoint
 * that serves another cluster than its configuration names, before anything is signed.
 */
export const SOLANA_CLUSTERS = {
  mainnet: '5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d',
  devnet: 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG',
  testnet: '4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY',
} as const;

export type SolanaCluster = keyof typeof SOLANA_CLUSTERS;
export const SOLANA_CLUSTER_NAMES = Object.keys(SOLANA_CLUSTERS) as [SolanaCluster, ...SolanaCluster[]];

/** The cluster a genesis hash names, or null for a cluster we do not know (a local one). */
export function clusterOfGenesis(hash: string): SolanaCluster | null {
  const found = Object.entries(SOLANA_CLUSTERS).find(([, genesis]) => genesis === hash);
  return found === undefined ? null : (found[0] as SolanaCluster);
}
