/**
 * The EVM assets allways swaps, as its registry has them (shared/reference/allways-assets.md §1:
 * allways/chains.py, allways/assets/erc20.py): for each allways id, its network and chain ids,
 * the coin or the token contract, decimals, the confirmations validators wait for, and the
 * issuer checks they read for a no-fault cancel (a per-address freeze or blacklist, a token-wide
 * pause, a transfer fee). A destination selects a row by its id; every value can be overridden.
 *
 * Pure data and resolution: no chain access.
 */
import { getAddress } from 'ethers';

export type EvmNetworkKind = 'mainnet' | 'testnet';

/** allways/assets/evm.py EVM_NETWORKS: chain ids of each network. */
export const EVM_NETWORKS = {
  ethereum: { mainnet: 1, testnet: 11_155_111 },
  arbitrum: { mainnet: 42_161, testnet: 421_614 },
  hyperliquid: { mainnet: 999, testnet: 998 },
  bsc: { mainnet: 56, testnet: 97 },
  avalanche: { mainnet: 43_114, testnet: 43_113 },
  base: { mainnet: 8_453, testnet: 84_532 },
  cronos: { mainnet: 25, testnet: 338 },
  polygon: { mainnet: 137, testnet: 80_002 },
} as const satisfies Record<string, Record<EvmNetworkKind, number>>;

export interface EvmAssetRow {
  readonly network: keyof typeof EVM_NETWORKS;
  /** Null for the network's coin; else the token contract per network (null: no deployment there). */
  readonly token: Readonly<Record<EvmNetworkKind, string | null>> | null;
  readonly decimals: number;
  readonly confirmations: number;
  /** Issuer views: `f()` stops the whole token, `f(address)` refuses one address. */
  readonly refusalChecks: readonly string[];
  /** A `(uint256)->uint256` view of the fee the token takes from a transfer of that amount. */
  readonly feeCheck: string | null;
}

const USDC_CHECKS = ['isBlacklisted(address)', 'paused()'] as const;
const coin = (network: EvmAssetRow['network'], confirmations: number): EvmAssetRow => ({
  network,
  token: null,
  decimals: 18,
  confirmations,
  refusalChecks: [],
  feeCheck: null,
});
const token = (
  network: EvmAssetRow['network'],
  mainnet: string,
  testnet: string | null,
  decimals: number,
  confirmations: number,
  refusalChecks: readonly string[] = [],
  feeCheck: string | null = null,
): EvmAssetRow => ({
  network,
  token: { mainnet, testnet },
  decimals,
  confirmations,
  refusalChecks,
  feeCheck,
});

/** Every EVM row of ASSET_REGISTRY (14 of its 18 ids; btc, tao, sol and solusdc are not EVM). */
export const EVM_ASSETS = {
  eth: coin('ethereum', 32),
  hype: coin('hyperliquid', 2),
  bnb: coin('bsc', 15),
  avax: coin('avalanche', 2),
  cro: coin('cronos', 2),
  pol: coin('polygon', 100),
  arbusdc: token(
    'arbitrum',
    '0xaf88d065e77c8cC2239327C5EDb3A432268e5831',
    '0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d',
    6,
    90,
    USDC_CHECKS,
  ),
  baseusdc: token(
    'base',
    '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
    '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    6,
    120,
    USDC_CHECKS,
  ),
  ethusdc: token(
    'ethereum',
    '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
    '0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238',
    6,
    32,
    USDC_CHECKS,
  ),
  polusdc: token(
    'polygon',
    '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359',
    '0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582',
    6,
    100,
    USDC_CHECKS,
  ),
  aster: token('bsc', '0x000Ae314E2A2172a039B26378814C252734f556A', null, 18, 15),
  uni: token(
    'ethereum',
    '0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984',
    '0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984',
    18,
    32,
  ),
  qnt: token(
    'ethereum',
    '0x4a220E6096B25EADb88358cb44068A3248254675',
    '0x81Dc68CB065ec6D9a4d24f6e2F442dc2A236D853',
    18,
    32,
  ),
  paxg: token(
    'ethereum',
    '0x45804880De22913dAFE09f4980848ECE6EcbAf78',
    null,
    18,
    32,
    ['isFrozen(address)', 'paused()'],
    'getFeeFor(uint256)',
  ),
} as const satisfies Record<string, EvmAssetRow>;

export type EvmAssetId = keyof typeof EVM_ASSETS;

export function isEvmAssetId(value: string): value is EvmAssetId {
  return Object.hasOwn(EVM_ASSETS, value);
}

/** A refusal check's signature: a view taking nothing or the destination address. */
export const REFUSAL_CHECK = /^[A-Za-z_][A-Za-z0-9_]*\((address)?\)$/;
/** A fee check's signature: a view from the amount to the fee. */
export const FEE_CHECK = /^[A-Za-z_][A-Za-z0-9_]*\(uint256\)$/;

export type EvmAsset =
  | { readonly kind: 'native' }
  | {
      readonly kind: 'erc20';
      readonly token: string;
      /** When given, the token's decimals() must say so before anything is signed. */
      readonly decimals?: number;
      readonly refusalChecks?: readonly string[];
      readonly feeCheck?: string | null;
    };

/** A destination as written in the configuration (see src/daemon/config.ts). */
export interface EvmDestinationInput {
  readonly asset: 'native' | { readonly erc20: string } | string;
  readonly network?: EvmNetworkKind;
  readonly chainId?: number;
  readonly token?: string;
  readonly decimals?: number;
  readonly confirmations?: number;
  readonly refusalChecks?: readonly string[];
  readonly feeCheck?: string | null;
}

export interface ResolvedEvmDestination {
  readonly chainId: number;
  readonly asset: EvmAsset;
  readonly confirmations: number;
}

/** Confirmations when neither the row nor the configuration gives any. */
export const DEFAULT_EVM_CONFIRMATIONS = 2;

/**
 * The chain id, asset and confirmations of a destination: the row of its allways id with the
 * configuration's overrides, or the values written out for a custom coin or token. Returns the
 * problems instead (each with the key it concerns) when something needed is missing.
 */
export function resolveEvmDestination(
  input: EvmDestinationInput,
): ResolvedEvmDestination | { problems: Array<{ key: string; message: string }> } {
  const problems: Array<{ key: string; message: string }> = [];
  const fail = (key: string, message: string) => void problems.push({ key, message });
  const network = input.network ?? 'mainnet';
  let asset: EvmAsset;
  let chainId = input.chainId;
  let confirmations = input.confirmations;
  if (input.asset === 'native' || typeof input.asset === 'object') {
    if (chainId === undefined) fail('chainId', 'required for a coin or token that is not an allways asset id');
    if (input.token !== undefined)
      fail('token', 'only with an allways asset id (write the contract as asset: { erc20: ... })');
    asset = input.asset === 'native' ? { kind: 'native' } : erc20(input.asset.erc20, input);
  } else if (isEvmAssetId(input.asset)) {
    const row: EvmAssetRow = EVM_ASSETS[input.asset];
    chainId ??= EVM_NETWORKS[row.network][network];
    confirmations ??= row.confirmations;
    if (row.token === null) {
      if (input.token !== undefined || input.refusalChecks !== undefined || input.feeCheck !== undefined)
        fail('token', `${input.asset} is its network's coin: it has no token contract or issuer checks`);
      asset = { kind: 'native' };
    } else {
      const address = input.token ?? row.token[network];
      if (address === null)
        fail('token', `${input.asset} has no ${network} deployment in allways' registry: give its contract`);
      asset = erc20(address ?? '', {
        decimals: row.decimals,
        refusalChecks: row.refusalChecks,
        feeCheck: row.feeCheck,
        ...definedOnly(input),
      });
    }
  } else {
    fail(
      'asset',
      `'${input.asset}' is not an EVM asset id of allways (${Object.keys(EVM_ASSETS).join(', ')}), 'native' or { erc20: <address> }`,
    );
    return { problems };
  }
  if (problems.length > 0) return { problems };
  return { chainId: chainId!, asset, confirmations: confirmations ?? DEFAULT_EVM_CONFIRMATIONS };
}

function erc20(address: string, extra: Pick<EvmDestinationInput, 'decimals' | 'refusalChecks' | 'feeCheck'>): EvmAsset {
  return {
    kind: 'erc20',
    token: address === '' ? address : getAddress(address),
    ...(extra.decimals === undefined ? {} : { decimals: extra.decimals }),
    ...(extra.refusalChecks === undefined ? {} : { refusalChecks: extra.refusalChecks }),
    ...(extra.feeCheck === undefined ? {} : { feeCheck: extra.feeCheck }),
  };
}

function definedOnly(input: EvmDestinationInput): Pick<EvmDestinationInput, 'decimals' | 'refusalChecks' | 'feeCheck'> {
  return {
    ...(input.decimals === undefined ? {} : { decimals: input.decimals }),
    ...(input.refusalChecks === undefined ? {} : { refusalChecks: input.refusalChecks }),
    ...(input.feeCheck === undefined ? {} : { feeCheck: input.feeCheck }),
  };
}
