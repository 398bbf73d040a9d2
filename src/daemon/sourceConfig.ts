/**
 * Where and how the daemon checks a user's deposit on each source chain (swaps.sources), before
 * a swap is paid: resolved from the configuration into one plain description per chain.
 *
 * Which chains: every destination chain (a miner that pays on a chain takes deposits on it for
 * the opposite direction), every chain named under swaps.sources, and the swap manager's hubs
 * when their endpoint is already configured (sol and solusdc over swaps.solana.rpcUrl, tao over
 * swaps.subtensor.url). A chain gets its endpoint from swaps.sources.<chain> when written there,
 * else from the destination of the same name (or the hub's endpoint). Confirmations: the
 * reference's per-asset default (src/chains/sourceConfirmations.ts) unless
 * swaps.sources.<chain>.confirmations says otherwise.
 *
 * A required chain (a destination, or named under swaps.sources) that cannot be verified (no
 * endpoint known, no confirmation count) is a configuration problem naming the key to set,
 * unless the operator opts out explicitly with `swaps.sources.<chain>: unverified` (then logged
 * at every start: such deposits are paid unchecked). Pure: no I/O, nothing persisted.
 */
import type { Address } from '@solana/kit';
import { z } from 'zod';
import { isEvmAssetId, resolveEvmDestination } from '../chains/evm/evmAssets.ts';
import type { EvmDepositAsset } from '../chains/evm/evmDepositVerifier.ts';
import { isEvmAddress, isSolanaAddress } from '../chains/keys.ts';
import { solanaAssetOf } from '../chains/solana/solanaAssets.ts';
import type { SolanaDepositAsset } from '../chains/solana/solanaDepositVerifier.ts';
import { DEFAULT_SOURCE_CONFIRMATIONS } from '../chains/sourceConfirmations.ts';

const httpUrl = z.string().refine(
  (value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { error: 'a URL (http:// or https://)' },
);
const wsUrl = z.string().regex(/^wss?:\/\/\S+$/, 'a URL (ws:// or wss://)');
const confirmations = z.number().int().min(1, 'at least 1: a deposit at 0 confirmations can still vanish');

/** One source chain as written: `unverified`, or where to read it and how deep. */
export const sourceEntrySchema = z.union(
  [
    z.literal('unverified'),
    z.strictObject({
      /** Solana or EVM JSON-RPC endpoint. */
      rpcUrl: httpUrl.optional(),
      /** Subtensor WebSocket endpoint. */
      url: wsUrl.optional(),
      /** Esplora base URLs, tried in order. */
      esploraUrls: z.array(httpUrl).min(1).max(10).optional(),
      confirmations: confirmations.optional(),
      /** For an allways EVM or SPL asset: its mainnet (default) or test deployment. */
      network: z.enum(['mainnet', 'testnet']).optional(),
      /** An ERC-20 contract other than the allways registry's (or for a chain that is not an allways id). */
      token: z.string().refine(isEvmAddress, { error: 'an EVM address' }).optional(),
      /** An SPL mint other than the allways registry's. */
      mint: z.string().refine(isSolanaAddress, { error: 'a Solana address' }).optional(),
    }),
  ],
  { error: '`unverified`, or { rpcUrl | url | esploraUrls, confirmations?, network?, token?, mint? }' },
);
export type SourceEntry = z.infer<typeof sourceEntrySchema>;
export const sourcesSchema = z.record(z.string(), sourceEntrySchema).optional();

export type ResolvedSource =
  | { readonly chain: string; readonly kind: 'unverified' }
  | {
      readonly chain: string;
      readonly kind: 'solana';
      readonly rpcUrl: string;
      readonly asset: SolanaDepositAsset;
      readonly confirmations: number;
    }
  | {
      readonly chain: string;
      readonly kind: 'evm';
      readonly rpcUrl: string;
      readonly chainId: number;
      readonly asset: EvmDepositAsset;
      readonly confirmations: number;
    }
  | {
      readonly chain: string;
      readonly kind: 'bitcoin';
      readonly esploraUrls: readonly string[];
      readonly confirmations: number;
    }
  | { readonly chain: string; readonly kind: 'subtensor'; readonly url: string; readonly confirmations: number };

/** The parts of a swaps section this reads (both contract kinds have them). */
export interface SwapsSourcesInput {
  readonly contract: 'solana' | 'ink';
  readonly solana?: { readonly rpcUrl: string; readonly cluster: string };
  readonly subtensor?: { readonly url: string };
  readonly destinations: Readonly<Record<string, DestinationLike>>;
  readonly sources?: Readonly<Record<string, SourceEntry>>;
}

type DestinationLike =
  | { readonly type: 'subtensor' }
  | {
      readonly type: 'solana';
      readonly rpcUrl: string;
      readonly asset: unknown;
      readonly network: string;
      readonly mint?: string;
    }
  | { readonly type: 'bitcoin'; readonly esploraUrls: readonly string[] }
  | ({ readonly type: 'evm'; readonly rpcUrl: string } & Parameters<typeof resolveEvmDestination>[0]);

export interface SourceProblem {
  /** The dotted key to set, e.g. swaps.sources.btc.esploraUrls. */
  readonly key: string;
  readonly message: string;
}

type Kind = 'solana' | 'evm' | 'bitcoin' | 'subtensor';

function kindOf(chain: string, destination: DestinationLike | undefined): Kind | null {
  if (chain === 'sol' || chain === 'solusdc') return 'solana';
  if (chain === 'tao') return 'subtensor';
  if (chain === 'btc') return 'bitcoin';
  if (isEvmAssetId(chain)) return 'evm';
  return destination?.type ?? null;
}

/** Every source chain of the configuration, resolved; or the problems, each naming its key. */
export function resolveSources(swaps: SwapsSourcesInput): { sources: ResolvedSource[]; problems: SourceProblem[] } {
  const written = swaps.sources ?? {};
  const required = new Set([...Object.keys(swaps.destinations), ...Object.keys(written)]);
  const hubs: string[] = [];
  if (swaps.contract === 'solana') hubs.push('sol', 'solusdc');
  if (swaps.subtensor !== undefined) hubs.push('tao');
  const sources: ResolvedSource[] = [];
  const problems: SourceProblem[] = [];
  for (const chain of [...required, ...hubs.filter((h) => !required.has(h))]) {
    const entry = written[chain];
    if (entry === 'unverified') {
      sources.push({ chain, kind: 'unverified' });
      continue;
    }
    const found = resolveOne(chain, entry ?? {}, swaps);
    if ('problem' in found) {
      // A hub nobody asked for is simply not verified; a required chain must be, or opted out.
      if (required.has(chain)) problems.push(found.problem);
    } else sources.push(found.source);
  }
  return { sources, problems };
}

type EntryObject = Exclude<SourceEntry, 'unverified'>;
type One = { source: ResolvedSource } | { problem: SourceProblem };

function resolveOne(chain: string, entry: EntryObject, swaps: SwapsSourcesInput): One {
  const destination = swaps.destinations[chain];
  const key = `swaps.sources.${chain}`;
  const fail = (sub: string, message: string): One => ({
    problem: {
      key: sub === '' ? key : `${key}.${sub}`,
      message: `${message}; or write ${key}: unverified (deposits then paid unchecked)`,
    },
  });
  const kind = kindOf(chain, destination);
  if (kind === null)
    return fail(
      '',
      `'${chain}' is neither an allways chain id nor a configured destination: cannot verify its deposits`,
    );
  const count = entry.confirmations ?? DEFAULT_SOURCE_CONFIRMATIONS[chain] ?? destinationConfirmations(destination);
  if (count === undefined) return fail('confirmations', `no default confirmation count for '${chain}': set it`);
  if (kind === 'bitcoin') {
    const urls = entry.esploraUrls ?? (destination?.type === 'bitcoin' ? destination.esploraUrls : undefined);
    if (urls === undefined) return fail('esploraUrls', 'no Esplora endpoint to verify BTC deposits: set it');
    return { source: { chain, kind, esploraUrls: urls, confirmations: count } };
  }
  if (kind === 'subtensor') {
    const url = entry.url ?? swaps.subtensor?.url;
    if (url === undefined)
      return fail('url', 'no Subtensor endpoint to verify TAO deposits: set it (or swaps.subtensor.url)');
    return { source: { chain, kind, url, confirmations: count } };
  }
  if (kind === 'solana') return solanaSource(chain, entry, swaps, destination, count, fail);
  return evmSource(chain, entry, destination, count, fail);
}

function destinationConfirmations(destination: DestinationLike | undefined): number | undefined {
  if (destination?.type !== 'evm') return undefined;
  const resolved = resolveEvmDestination(destination);
  return 'problems' in resolved ? undefined : resolved.confirmations;
}

function solanaSource(
  chain: string,
  entry: EntryObject,
  swaps: SwapsSourcesInput,
  destination: DestinationLike | undefined,
  count: number,
  fail: (sub: string, message: string) => One,
): One {
  const solDestination = destination?.type === 'solana' ? destination : undefined;
  const rpcUrl = entry.rpcUrl ?? solDestination?.rpcUrl ?? swaps.solana?.rpcUrl;
  if (rpcUrl === undefined) return fail('rpcUrl', 'no Solana endpoint to verify deposits: set it');
  const source = (asset: SolanaDepositAsset): One => ({
    source: { chain, kind: 'solana', rpcUrl, asset, confirmations: count },
  });
  if (chain === 'sol') return source({ kind: 'sol' });
  const customMint = (solDestination?.asset as { spl?: string } | undefined)?.spl;
  const mint = entry.mint ?? solDestination?.mint ?? customMint;
  if (chain !== 'solusdc') {
    if (mint === undefined) return fail('mint', `the SPL mint of '${chain}' deposits: set it`);
    return source({ kind: 'spl', mint: mint as Address });
  }
  // The registry has solusdc on mainnet and devnet; another cluster needs its mint written out.
  const network =
    entry.network === undefined
      ? (solDestination?.network ?? swaps.solana?.cluster)
      : entry.network === 'testnet'
        ? 'devnet'
        : 'mainnet';
  if (mint !== undefined) return source({ kind: 'spl', mint: mint as Address });
  if (network !== 'mainnet' && network !== 'devnet')
    return fail('mint', `solusdc has no mint on the '${network}' cluster in allways' registry: set it`);
  const asset = solanaAssetOf('solusdc', network);
  return source({ kind: 'spl', mint: (asset as { mint: Address }).mint });
}

function evmSource(
  chain: string,
  entry: EntryObject,
  destination: DestinationLike | undefined,
  count: number,
  fail: (sub: string, message: string) => One,
): One {
  const evmDestination = destination?.type === 'evm' ? destination : undefined;
  const rpcUrl = entry.rpcUrl ?? evmDestination?.rpcUrl;
  if (rpcUrl === undefined) return fail('rpcUrl', `no JSON-RPC endpoint to verify ${chain} deposits: set it`);
  // The destination of the same id names the deployment (network, chain id, token) unless the entry does.
  const token = entry.token ?? evmDestination?.token;
  const chainId = entry.network === undefined ? evmDestination?.chainId : undefined;
  const input = isEvmAssetId(chain)
    ? {
        asset: chain,
        network: entry.network ?? evmDestination?.network,
        ...(token === undefined ? {} : { token }),
        ...(chainId === undefined ? {} : { chainId }),
      }
    : (evmDestination ?? { asset: 'native' });
  const resolved = resolveEvmDestination(input);
  if ('problems' in resolved) return fail(resolved.problems[0]!.key, resolved.problems[0]!.message);
  const asset: EvmDepositAsset =
    resolved.asset.kind === 'native' ? { kind: 'native' } : { kind: 'erc20', token: resolved.asset.token };
  return { source: { chain, kind: 'evm', rpcUrl, chainId: resolved.chainId, asset, confirmations: count } };
}
