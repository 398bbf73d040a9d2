/**
 * The Solana assets allways swaps (shared/reference/allways-assets.md §1-2): SOL itself and
 * USDC on the legacy SPL Token program, with the reference's mints, decimals and amounts, and
 * the accounts a payout must never be sent to (agave's reserved account keys: the runtime
 * demotes them to read-only, so a transfer to one fails, and validators cancel such a swap as
 * SOL_RESERVED).
 */
import { isAddress, type Address } from '@solana/kit';

export type SolanaNetwork = 'mainnet' | 'devnet';

export type SolanaAsset =
  | { readonly kind: 'sol' }
  | { readonly kind: 'spl'; readonly mint: Address; readonly decimals: number };

/** An SPL row of the allways registry: its mint on each cluster that has one. */
interface SplRow {
  readonly mints: Readonly<Partial<Record<SolanaNetwork, string>>>;
  readonly decimals: number;
}

/** allways ids paid on Solana (`sol`, `solusdc`); CLUSTER_MINTS in allways/assets/spl_token.py. */
export const SOLANA_ASSET_IDS = ['sol', 'solusdc'] as const;
export type SolanaAssetId = (typeof SOLANA_ASSET_IDS)[number];

const SPL_ROWS: Readonly<Record<Exclude<SolanaAssetId, 'sol'>, SplRow>> = {
  solusdc: {
    mints: {
      mainnet: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
      devnet: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
    },
    decimals: 6,
  },
};

export function isSolanaAssetId(value: string): value is SolanaAssetId {
  return (SOLANA_ASSET_IDS as readonly string[]).includes(value);
}

/**
 * The asset an allways id stands for on a cluster, with the configuration's overrides. Throws
 * (naming what is missing) when the id has no deployment on that cluster and no mint is given.
 */
export function solanaAssetOf(
  id: SolanaAssetId,
  network: SolanaNetwork,
  overrides: { mint?: string; decimals?: number } = {},
): SolanaAsset {
  if (id === 'sol') return { kind: 'sol' };
  const row = SPL_ROWS[id];
  const mint = overrides.mint ?? row.mints[network];
  if (mint === undefined) throw new Error(`${id} has no mint on ${network}: give its mint`);
  if (!isAddress(mint)) throw new Error(`mint '${mint}' of ${id} is not a Solana address`);
  return { kind: 'spl', mint, decimals: overrides.decimals ?? row.decimals };
}

/** Lamports per signature: the base fee; the payout carries no priority fee (as the reference). */
export const LAMPORTS_PER_SIGNATURE = 5_000n;
/** Bytes of an SPL token account (the rent a new ATA costs the payer is for this size). */
export const TOKEN_ACCOUNT_BYTES = 165;

/** agave's reserved account keys: native programs and sysvars. */
const RESERVED = [
  '11111111111111111111111111111111',
  'AddressLookupTab1e1111111111111111111111111',
  'BPFLoader1111111111111111111111111111111111',
  'BPFLoader2111111111111111111111111111111111',
  'BPFLoaderUpgradeab1e11111111111111111111111',
  'ComputeBudget111111111111111111111111111111',
  'Config1111111111111111111111111111111111111',
  'Ed25519SigVerify111111111111111111111111111',
  'Feature111111111111111111111111111111111111',
  'KeccakSecp256k11111111111111111111111111111',
  'LoaderV411111111111111111111111111111111111',
  'NativeLoader1111111111111111111111111111111',
  'Secp256r1SigVerify1111111111111111111111111',
  'Stake11111111111111111111111111111111111111',
  'Sysvar1111111111111111111111111111111111111',
  'SysvarFees111111111111111111111111111111111',
  'SysvarRewards111111111111111111111111111111',
  'Vote111111111111111111111111111111111111111',
  'ZkE1Gama1Proof11111111111111111111111111111',
  'ZkTokenProof1111111111111111111111111111111',
  'SysvarC1ock11111111111111111111111111111111',
  'SysvarEpochRewards1111111111111111111111111',
  'SysvarEpochSchedu1e111111111111111111111111',
  'Sysvar1nstructions1111111111111111111111111',
  'SysvarLastRestartS1ot1111111111111111111111',
  'SysvarRecentB1ockHashes11111111111111111111',
  'SysvarRent111111111111111111111111111111111',
  'SysvarS1otHashes111111111111111111111111111',
  'SysvarS1otHistory11111111111111111111111111',
  'SysvarStakeHistory1111111111111111111111111',
];
export const RESERVED_ACCOUNTS: ReadonlySet<string> = new Set(RESERVED);
