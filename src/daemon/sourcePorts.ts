/**
 * Builds the source-funds ports from the configuration: one SourceVerifier per verified source
 * chain (sourceConfig.ts says which chains, where and how deep) and the funds gate's view of
 * every destination wallet (DestinationBalance). Chains the operator opted out of
 * (`swaps.sources.<chain>: unverified`) get no verifier and are logged as a warning here, that is
 * at every start.
 *
 * Every call is bounded by a timeout: a verifier that times out answers `pending` (never
 * `verified`), a balance read that times out rejects (the gate waits). Nothing here is
 * persisted: a crash leaves only HTTP/WebSocket clients behind, closed by `close()`.
 */
import { createSolanaRpc, type Address } from '@solana/kit';
import { BtcDepositVerifier, btcConfirmedBalance } from '../chains/bitcoin/btcDepositVerifier.ts';
import { Esplora } from '../chains/bitcoin/esplora.ts';
import { unreadable } from '../chains/depositRules.ts';
import { resolveEvmDestination } from '../chains/evm/evmAssets.ts';
import { EvmDepositVerifier, evmBalance, type EvmDepositAsset } from '../chains/evm/evmDepositVerifier.ts';
import { evmProvider } from '../chains/keys.ts';
import { solanaAssetOf, type SolanaAssetId } from '../chains/solana/solanaAssets.ts';
import {
  SolanaDepositVerifier,
  solanaBalance,
  type SolanaDepositAsset,
} from '../chains/solana/solanaDepositVerifier.ts';
import { redactUrl, SubstrateChain } from '../chains/substrate/substrateChain.ts';
import { TaoDepositVerifier, taoFreeBalance } from '../chains/substrate/taoDepositVerifier.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../host/ports.ts';
import type { DepositClaim, DepositVerdict, DestinationBalance, SourceVerifier } from '../host/sourceVerifier.ts';
import type { SwapsConfig } from './config.ts';
import { resolveSources, type ResolvedSource, type SwapsSourcesInput } from './sourceConfig.ts';

/** How long one deposit check or one balance read may take before it counts as unanswered. */
export const DEFAULT_SOURCE_TIMEOUT_MS = 30_000;

export interface SourcePorts {
  readonly verifiers: SourceVerifier[];
  readonly balances: DestinationBalance;
  /** Source chains whose deposits the operator chose not to verify. */
  readonly unverified: readonly string[];
  close(): Promise<void>;
}

export interface SourcePortsOptions {
  /** A Subtensor connection to share (the daemon's own); else one is opened when needed. */
  readonly subtensor?: SubstrateChain;
  readonly timeoutMs?: number;
}

/** No balance reader for this destination chain: the gate waits (a configuration bug upstream). */
export class NoBalanceReader extends Error {
  override readonly name = 'NoBalanceReader';
}

export async function buildSourcePorts(
  swaps: SwapsConfig,
  log: Logger,
  options: SourcePortsOptions = {},
): Promise<SourcePorts> {
  const { sources, problems } = resolveSources(swaps as SwapsSourcesInput);
  if (problems.length > 0)
    throw new ConfigError(
      'swaps.sources',
      problems.map((p) => `${p.key}: ${p.message}`),
    );
  const timeoutMs = options.timeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
  const closers: (() => Promise<void>)[] = [];
  const subtensors = new Map<string, SubstrateChain>();
  const subtensor = async (url: string): Promise<SubstrateChain> => {
    if (options.subtensor !== undefined) return options.subtensor;
    let chain = subtensors.get(url);
    if (chain === undefined) {
      chain = await SubstrateChain.connect(url, { log });
      subtensors.set(url, chain);
      const opened = chain;
      closers.push(() => opened.disconnect());
    }
    return chain;
  };
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const verifiers: SourceVerifier[] = [];
    const unverified: string[] = [];
    for (const source of sources) {
      if (source.kind === 'unverified') {
        unverified.push(source.chain);
        log.warn(
          { chain: source.chain, key: `swaps.sources.${source.chain}` },
          'deposits on this source chain are NOT verified (configured unverified): its swaps are paid without checking the user sent funds',
        );
        continue;
      }
      verifiers.push(bounded(await verifierOf(source, subtensor, closers), timeoutMs, source.confirmations));
      log.info(
        { chain: source.chain, via: source.kind, confirmations: source.confirmations, endpoint: endpointOf(source) },
        'deposits verified before payout',
      );
    }
    const balances = await balancesOf(swaps, subtensor, closers, timeoutMs);
    return { verifiers, balances, unverified, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function verifierOf(
  source: Exclude<ResolvedSource, { kind: 'unverified' }>,
  subtensor: (url: string) => Promise<SubstrateChain>,
  closers: (() => Promise<void>)[],
): Promise<SourceVerifier> {
  switch (source.kind) {
    case 'solana':
      return new SolanaDepositVerifier(
        createSolanaRpc(source.rpcUrl),
        source.chain,
        source.asset,
        source.confirmations,
      );
    case 'evm': {
      const provider = evmProvider(source.rpcUrl, source.chainId);
      closers.push(async () => provider.destroy());
      return new EvmDepositVerifier(provider, source.chain, source.asset, source.confirmations);
    }
    case 'bitcoin':
      return new BtcDepositVerifier(new Esplora({ urls: source.esploraUrls }), source.confirmations, source.chain);
    case 'subtensor':
      return new TaoDepositVerifier(await subtensor(source.url), source.confirmations, source.chain);
  }
}

function endpointOf(source: Exclude<ResolvedSource, { kind: 'unverified' }>): string {
  if (source.kind === 'bitcoin') return source.esploraUrls.map(redactUrl).join(', ');
  return redactUrl(source.kind === 'subtensor' ? source.url : source.rpcUrl);
}

/** A verifier whose answer, when it takes too long, is `pending` (never `verified`). */
function bounded(verifier: SourceVerifier, timeoutMs: number, required: number): SourceVerifier {
  return {
    chains: verifier.chains,
    verify: async (claim: DepositClaim): Promise<DepositVerdict> => {
      try {
        return await within(verifier.verify(claim), timeoutMs, `${claim.chain} deposit check`);
      } catch (error) {
        return unreadable(claim, required, error);
      }
    },
  };
}

function within<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

type Reader = (address: string) => Promise<bigint>;

/** The funds gate's readers, one per destination chain, in the destination's own asset. */
async function balancesOf(
  swaps: SwapsConfig,
  subtensor: (url: string) => Promise<SubstrateChain>,
  closers: (() => Promise<void>)[],
  timeoutMs: number,
): Promise<DestinationBalance> {
  const readers = new Map<string, Reader>();
  for (const [chain, destination] of Object.entries(swaps.destinations)) {
    if (destination.type === 'solana') {
      const rpc = createSolanaRpc(destination.rpcUrl);
      const asset: SolanaDepositAsset =
        typeof destination.asset === 'object'
          ? { kind: 'spl', mint: destination.asset.spl as Address }
          : toDepositAsset(destination.asset, destination.network, destination.mint);
      readers.set(chain, (address) => solanaBalance(rpc, asset, address));
    } else if (destination.type === 'evm') {
      const resolved = resolveEvmDestination(destination);
      if ('problems' in resolved)
        throw new ConfigError('swaps.destinations', [`${chain}: ${resolved.problems[0]!.message}`]);
      const provider = evmProvider(destination.rpcUrl, resolved.chainId);
      closers.push(async () => provider.destroy());
      const asset: EvmDepositAsset =
        resolved.asset.kind === 'native' ? { kind: 'native' } : { kind: 'erc20', token: resolved.asset.token };
      readers.set(chain, (address) => evmBalance(provider, asset, address));
    } else if (destination.type === 'bitcoin') {
      const esplora = new Esplora({ urls: destination.esploraUrls });
      readers.set(chain, (address) => btcConfirmedBalance(esplora, address));
    } else {
      // The schema requires a Subtensor URL for a TAO destination.
      const url = swaps.contract === 'ink' ? swaps.subtensor.url : swaps.subtensor!.url;
      const node = await subtensor(url);
      readers.set(chain, (address) => taoFreeBalance(node, address));
    }
  }
  return {
    balanceOf: (chain, address) => {
      const read = readers.get(chain);
      if (read === undefined)
        return Promise.reject(new NoBalanceReader(`no balance reader for destination chain '${chain}'`));
      return within(read(address), timeoutMs, `${chain} balance of ${address}`);
    },
  };
}

function toDepositAsset(
  id: SolanaAssetId,
  network: 'mainnet' | 'devnet',
  mint: string | undefined,
): SolanaDepositAsset {
  const asset = solanaAssetOf(id, network, mint === undefined ? {} : { mint });
  return asset.kind === 'sol' ? { kind: 'sol' } : { kind: 'spl', mint: asset.mint };
}
