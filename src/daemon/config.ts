/**
 * The daemon's configuration: YAML or JSON, validated with zod. Every problem (unknown key,
 * wrong type, bad address or URL, missing or unsafe key source) is reported at once with its
 * path, and nothing starts. Keys are never in the file: only where to find them.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_CUSHION, markPointOf } from '../../machines/index.ts';
import { payingAddressProblem } from '../chains/bitcoin/btcTx.ts';
import { EVM_ASSETS, FEE_CHECK, REFUSAL_CHECK, resolveEvmDestination } from '../chains/evm/evmAssets.ts';
import { escrowDeployment, type EscrowDeployment } from '../chains/evm/escrowCheck.ts';
import { isEvmAddress, isSolanaAddress, isSubtensorAddress } from '../chains/keys.ts';
import { MAX_NONCE_ACCOUNTS } from '../chains/solana/durableNonces.ts';
import { SOLANA_ASSET_IDS } from '../chains/solana/solanaAssets.ts';
import { SOLANA_CLUSTER_NAMES } from '../chains/solana/swapManager/clusters.ts';
import { DEFAULT_PROGRAM_ID } from '../chains/solana/swapManager/layout.ts';
import {
  DEFAULT_CLAIM_INTERVAL_SECS,
  DEFAULT_FIRST_CLAIM_DELAY_SECS,
  DEFAULT_MARGIN_BLOCKS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_POLL_INTERVAL_MS,
} from '../defaults.ts';
import { ConfigError } from '../errors.ts';
import { readableFileProblem, watchedFileProblem, writableDirectoryProblem } from '../usablePaths.ts';
import { secretContentProblem, secretSourceProblem, type KeyKind, type SecretSource } from './secrets.ts';
import { resolveSources, sourcesSchema, type SwapsSourcesInput } from './sourceConfig.ts';

const keySource = z
  .union(
    [
      z.strictObject({ file: z.string().min(1) }),
      z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
    ],
    {
      error: 'a key source: { file: <path, mode 0600> } or { env: <VARIABLE> }',
    },
  )
  .superRefine((source, ctx) => {
    const problem = secretSourceProblem(source);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A key source whose value must be a key of this kind (checked with the rest, at once). */
const keyOf = (kind: KeyKind) =>
  keySource.superRefine((source, ctx) => {
    if (secretSourceProblem(source) !== null) return; // reported by keySource itself
    const problem = secretContentProblem(source, kind);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `a URL (${protocols.map((p) => p.replace(':', '://')).join(' or ')})` },
  );

const evmAddress = z
  .string()
  .refine(isEvmAddress, { error: 'an EVM address (0x and 40 hex digits, checksummed if mixed case)' });
const ss58Address = z.string().refine(isSubtensorAddress, { error: 'an SS58 address of format 42 (Subtensor)' });
const amount = z
  .union([z.string().regex(/^[0-9]+$/), z.number().int().nonnegative()], {
    error: 'an integer amount in the smallest unit',
  })
  .transform((v) => BigInt(v));
const positiveInt = z.number().int().positive();
const chainName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a chain name: lower case letters, digits, - and _');

const taoDestination = z.strictObject({
  type: z.literal('subtensor'),
  /** The account that pays TAO: not the hotkey (marks and transfers keep separate nonces). */
  key: keyOf('substrate'),
});

/**
 * An EVM destination. `asset` is an allways id (eth, baseusdc, paxg...: chain id, token,
 * decimals, confirmations and issuer checks from allways' registry, each overridable), or
 * 'native' / { erc20 } with the chain id written out. Resolved by resolveEvmDestination.
 */
const evmDestination = z
  .strictObject({
    type: z.literal('evm'),
    rpcUrl: url(['http:', 'https:', 'ws:', 'wss:']),
    key: keyOf('evm'),
    asset: z
      .union(
        [
          z.literal('native'),
          z.strictObject({ erc20: evmAddress }),
          z.enum(Object.keys(EVM_ASSETS) as [string, ...string[]]),
        ],
        {
          error: `'native', { erc20: <address> }, or an allways EVM asset id (${Object.keys(EVM_ASSETS).join(', ')})`,
        },
      )
      .default('native'),
    /** Which deployment of an allways asset: its mainnet (default) or its test network. */
    network: z.enum(['mainnet', 'testnet']).optional(),
    chainId: positiveInt.optional(),
    token: evmAddress.optional(),
    decimals: z.number().int().min(0).max(36).optional(),
    confirmations: positiveInt.optional(),
    refusalChecks: z
      .array(z.string().regex(REFUSAL_CHECK, 'a view signature: name() or name(address)'))
      .max(8)
      .optional(),
    feeCheck: z.string().regex(FEE_CHECK, 'a view signature: name(uint256)').nullable().optional(),
  })
  .superRefine((destination, ctx) => {
    const resolved = resolveEvmDestination(destination);
    if ('problems' in resolved)
      for (const { key, message } of resolved.problems) ctx.addIssue({ code: 'custom', path: [key], message });
  });

const solanaAddress = z.string().refine(isSolanaAddress, { error: 'a Solana address (base58 of 32 bytes)' });

/**
 * A Solana destination: SOL, or USDC on the legacy SPL Token program (allways ids sol and
 * solusdc; any other legacy SPL mint with its decimals). Every payout is signed against one of
 * `nonceAccounts` (durable nonces whose authority is the key): one payout in flight per account.
 */
const solanaDestination = z
  .strictObject({
    type: z.literal('solana'),
    rpcUrl: url(['http:', 'https:']),
    key: keyOf('solana'),
    asset: z.union(
      [z.enum(SOLANA_ASSET_IDS), z.strictObject({ spl: solanaAddress, decimals: z.number().int().min(0).max(18) })],
      {
        error: `an allways Solana asset id (${SOLANA_ASSET_IDS.join(', ')}) or { spl: <mint>, decimals: <n> }`,
      },
    ),
    network: z.enum(['mainnet', 'devnet']).default('mainnet'),
    mint: solanaAddress.optional(),
    nonceAccounts: z
      .array(solanaAddress)
      .min(1, 'at least one durable nonce account (see README: one payout in flight per account)')
      .max(MAX_NONCE_ACCOUNTS)
      .refine((a) => new Set(a).size === a.length, { error: 'a nonce account is listed twice' }),
    commitment: z.enum(['confirmed', 'finalized']).default('finalized'),
  })
  .refine((d) => d.mint === undefined || d.asset === 'solusdc', {
    path: ['mint'],
    error: 'only with an allways SPL asset id (solusdc); write another token as asset: { spl: <mint>, decimals: <n> }',
  });

/**
 * BTC paid from one pinned address (the swap's miner_to_addr) through Esplora APIs. The key's
 * network and its derivation of `address` are checked with the keys (chainPorts.loadKeys).
 */
const bitcoinDestination = z
  .strictObject({
    type: z.literal('bitcoin'),
    /** testnet covers testnet3, testnet4 and signet: they share the address encoding. */
    network: z.enum(['mainnet', 'testnet']).default('mainnet'),
    esploraUrls: z
      .array(url(['http:', 'https:']))
      .min(1, 'at least one Esplora URL')
      .max(10),
    key: keyOf('bitcoin'),
    address: z.string(),
    confirmations: positiveInt.default(2),
    feeRateMultiplier: z.number().min(1).max(10).default(1.25),
    minFeeRateSatVb: positiveInt.default(5),
    fallbackFeeRateSatVb: positiveInt.default(15),
    maxFeeRateSatVb: positiveInt.default(500),
  })
  .superRefine((d, ctx) => {
    const problem = payingAddressProblem(d.address, d.network);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['address'], message: problem });
    if (d.minFeeRateSatVb > d.maxFeeRateSatVb || d.fallbackFeeRateSatVb > d.maxFeeRateSatVb) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxFeeRateSatVb'],
        message: 'below minFeeRateSatVb or fallbackFeeRateSatVb',
      });
    }
  });

const destinations = z
  .record(
    chainName,
    z.discriminatedUnion('type', [taoDestination, evmDestination, solanaDestination, bitcoinDestination]),
  )
  .refine((d) => Object.keys(d).length > 0, { error: 'at least one destination chain' });

const pollIntervalMs = z.number().int().min(10).max(600_000).default(DEFAULT_POLL_INTERVAL_MS);
const inkContract = z.strictObject({ address: ss58Address, metadata: z.string().min(1).optional() });

/** The ink! contract on Subtensor (`contract: ink`, or the older `contract: { address }`). */
const inkSwaps = z.strictObject({
  contract: z.literal('ink'),
  ink: inkContract,
  subtensor: z.strictObject({ url: url(['ws:', 'wss:']) }),
  hotkey: keyOf('substrate'),
  marginBlocks: z.number().int().min(0).max(1_000).default(DEFAULT_MARGIN_BLOCKS),
  pollIntervalMs,
  minFreeBalance: amount.default(250_000_000n),
  firstSwapId: z.number().int().nonnegative().default(0),
  eventLookbackBlocks: positiveInt.default(256),
  destinations,
  /** Where users' deposits are verified before a payout (sourceConfig.ts). */
  sources: sourcesSchema,
});

/** The allways swap manager on Solana. */
const solanaSwaps = z
  .strictObject({
    contract: z.literal('solana'),
    solana: z.strictObject({
      rpcUrl: url(['http:', 'https:']),
      /** Checked against the endpoint's genesis hash at start. */
      cluster: z.enum(SOLANA_CLUSTER_NAMES, { error: `the cluster: ${SOLANA_CLUSTER_NAMES.join(', ')}` }),
      programId: solanaAddress.default(DEFAULT_PROGRAM_ID),
      /** The miner's keypair (the Solana CLI's JSON file): the swaps' miner, signer of mark_fulfilled. */
      keypair: keyOf('solana'),
      markTimeoutSecs: positiveInt.max(600).default(90),
      historyLimit: positiveInt.max(1_000).default(100),
    }),
    /** No first send when fewer seconds than this remain before a swap's deadline (cluster clock). */
    cushionSecs: z.number().int().min(0).max(3_600).default(DEFAULT_CUSHION.solana),
    /** For TAO destinations: the Subtensor they are paid on. */
    subtensor: z.strictObject({ url: url(['ws:', 'wss:']) }).optional(),
    pollIntervalMs,
    destinations,
    /** Where users' deposits are verified before a payout (sourceConfig.ts). */
    sources: sourcesSchema,
  })
  .superRefine((swaps, ctx) => {
    for (const [name, destination] of Object.entries(swaps.destinations)) {
      if (markPointOf('solana', name) === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['destinations', name],
          message: `'${name}' is not a destination chain id of the swap manager (btc, sol, solusdc, tao, eth, ...)`,
        });
      }
      if (destination.type === 'subtensor' && swaps.subtensor === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['subtensor'],
          message: `a Subtensor URL for the TAO destination '${name}'`,
        });
      }
    }
  });

const swapsSection = z
  .discriminatedUnion('contract', [inkSwaps, solanaSwaps], {
    error: 'the swap contract: contract: solana, or contract: ink (with ink: { address })',
  })
  .superRefine((swaps, ctx) => {
    // Every source chain swaps can come from is verifiable, or explicitly opted out.
    for (const { key, message } of resolveSources(swaps as SwapsSourcesInput).problems)
      ctx.addIssue({ code: 'custom', path: key.split('.').slice(1), message });
  });

/**
 * A job chain: by network name (the Escrow address and chain id from the package's address
 * book), or by explicit escrow: and chainId: (other deployments); an explicit escrow: beside
 * a network name overrides the book's address on that network.
 */
const jobChain = z
  .strictObject({
    network: z.string().min(1).optional(),
    rpcUrl: url(['http:', 'https:', 'ws:', 'wss:']),
    chainId: positiveInt.optional(),
    escrow: evmAddress.optional(),
    /** Where to start reading the escrow's events: its deployment block (default: the book's start block, or 0). */
    escrowDeployBlock: z.number().int().nonnegative().optional(),
    /** Blocks per eth_getLogs query when reading Claimed/Canceled events (0: one query). */
    logChunkBlocks: z.number().int().nonnegative().default(0),
    /** claimLocksAndWithdraw: claims paid to the wallet (as ocean-node does); claimLocks: kept in the escrow. */
    claimMethod: z.enum(['claimLocksAndWithdraw', 'claimLocks']).default('claimLocksAndWithdraw'),
    key: keyOf('evm'),
    confirmations: positiveInt.default(1),
  })
  .superRefine((chain, ctx) => {
    if (chain.network === undefined) {
      if (chain.chainId === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['chainId'],
          message: 'required without network: (or name a network of the address book)',
        });
      if (chain.escrow === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['escrow'],
          message: 'required without network: (or name a network of the address book)',
        });
      return;
    }
    const deployment = escrowDeployment(chain.network);
    if (typeof deployment === 'string')
      return void ctx.addIssue({ code: 'custom', path: ['network'], message: deployment });
    if (chain.chainId !== undefined && chain.chainId !== deployment.chainId) {
      ctx.addIssue({
        code: 'custom',
        path: ['chainId'],
        message: `network '${chain.network}' is chain id ${deployment.chainId}, not ${chain.chainId}`,
      });
    }
  })
  .transform((chain) => {
    const deployment = chain.network === undefined ? null : (escrowDeployment(chain.network) as EscrowDeployment);
    return {
      ...chain,
      chainId: chain.chainId ?? deployment!.chainId,
      escrow: chain.escrow ?? deployment!.escrow,
      escrowDeployBlock: chain.escrowDeployBlock ?? deployment?.startBlock ?? 0,
    };
  });

/** ocean-node's own job database and compute-environment configuration, read, never written. */
const oceanNodeSource = z.strictObject({
  /** ocean-node's databases/c2dDatabase.sqlite. */
  database: z.string().min(1),
  /** ocean-node's JSON configuration file (CONFIG_PATH): dockerComputeEnvironments, supportedNetworks. */
  config: z.string().min(1).optional(),
  /** Else, or on top: the value of ocean-node's DOCKER_COMPUTE_ENVIRONMENTS, and of SUPPORTED_NETWORKS. */
  dockerComputeEnvironments: z.string().min(1).optional(),
  supportedNetworks: z.string().min(1).optional(),
});

const jobsSection = z
  .strictObject({
    /** JSON lines the compute engine appends: one observation of a job per line. */
    feed: z.string().min(1).optional(),
    /** Or ocean-node's jobs, read from its database. */
    oceanNode: oceanNodeSource.optional(),
    claimIntervalSec: positiveInt.default(DEFAULT_CLAIM_INTERVAL_SECS),
    firstRunDelaySec: z.number().int().nonnegative().default(DEFAULT_FIRST_CLAIM_DELAY_SECS),
    pollIntervalMs: z.number().int().min(10).max(600_000).default(DEFAULT_POLL_INTERVAL_MS),
    chains: z.record(chainName, jobChain).refine((c) => Object.keys(c).length > 0, { error: 'at least one chain' }),
  })
  .refine((j) => (j.feed === undefined) !== (j.oceanNode === undefined), {
    error: 'jobs need exactly one source: feed: (JSON lines) or oceanNode: (its database)',
  });

const configSchema = z
  .strictObject({
    /** store/, recovery.jsonl, daemon.lock and the transaction journals live here. */
    dataDir: z.string().min(1),
    log: z
      .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info') })
      .default({ level: 'info' }),
    http: z.strictObject({ port: z.number().int().min(1).max(65_535) }).optional(),
    swaps: swapsSection.optional(),
    jobs: jobsSection.optional(),
    /** Ceiling of the wait between ticks while an endpoint is unreachable. */
    maxBackoffMs: z.number().int().min(100).default(DEFAULT_MAX_BACKOFF_MS),
  })
  .refine((c) => c.swaps !== undefined || c.jobs !== undefined, {
    error: 'nothing to do: configure swaps, jobs, or both',
  });

export type DaemonConfig = z.infer<typeof configSchema>;
export type SwapsConfig = NonNullable<DaemonConfig['swaps']>;
export type InkSwapsConfig = z.infer<typeof inkSwaps>;
export type SolanaSwapsConfig = z.infer<typeof solanaSwaps>;
export type JobsConfig = NonNullable<DaemonConfig['jobs']>;
export type OceanNodeSourceConfig = z.infer<typeof oceanNodeSource>;
export type EvmDestinationConfig = z.infer<typeof evmDestination>;
export type SolanaDestinationConfig = z.infer<typeof solanaDestination>;
export type BitcoinDestinationConfig = z.infer<typeof bitcoinDestination>;
export type { SecretSource };

/** Reads, parses and validates `path`; relative paths inside are taken from its directory. */
export function loadConfig(path: string): DaemonConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON: both are read here
  } catch (error) {
    throw new ConfigError(file, [`not YAML or JSON: ${(error as Error).message.split('\n')[0]}`]);
  }
  const base = dirname(file);
  const legacy = isLegacyInk(raw);
  const parsed = configSchema.safeParse(resolvePaths(isLegacyInk(raw) ? asInk(raw) : raw, base));
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((issue) => {
        // The older form's problems are named where its author wrote them: swaps.contract.
        const path =
          legacy && issue.path[0] === 'swaps' && issue.path[1] === 'ink'
            ? ['swaps', 'contract', ...issue.path.slice(2)]
            : issue.path;
        return `${path.length === 0 ? '(top level)' : path.join('.')}: ${issue.message}`;
      }),
    );
  }
  return parsed.data;
}

/** `swaps.contract: { address, metadata }`, as written before the Solana swap manager: an ink! contract. */
function isLegacyInk(raw: unknown): raw is { swaps: { contract: object } } {
  const swaps = (raw as { swaps?: unknown } | null)?.swaps as { contract?: unknown } | undefined;
  return typeof swaps === 'object' && swaps !== null && typeof swaps.contract === 'object' && swaps.contract !== null;
}

function asInk(raw: { swaps: { contract: object } }): unknown {
  const { contract, ...rest } = raw.swaps;
  return { ...raw, swaps: { ...rest, contract: 'ink', ink: contract } };
}

/** Key files, the data directory, the feed and metadata paths, relative to the config file. */
function resolvePaths(raw: unknown, base: string): unknown {
  if (raw === null || typeof raw !== 'object') return raw;
  if (Array.isArray(raw)) return raw.map((item) => resolvePaths(item, base));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const isPath =
      (key === 'file' ||
        key === 'dataDir' ||
        key === 'feed' ||
        key === 'metadata' ||
        key === 'database' ||
        key === 'config') &&
      typeof value === 'string' &&
      value !== '';
    out[key] = isPath ? resolve(base, value) : resolvePaths(value, base);
  }
  return out;
}

/**
 * The paths the daemon will use, checked before anything starts (every problem at once, with
 * its path in the file): dataDir a writable directory or creatable in one, the jobs feed a
 * readable file or not yet written in a readable directory, the contract metadata readable.
 * Key files are checked by the schema itself. Not part of loadConfig: a configuration is
 * read on machines that will not run it (`settle status` reads only its dataDir).
 */
export function checkConfiguredPaths(config: DaemonConfig, file: string): void {
  const problems: string[] = [];
  const check = (where: string, path: string, problem: string | null): void => {
    if (problem !== null) problems.push(`${where}: ${path}: ${problem}`);
  };
  check('dataDir', config.dataDir, writableDirectoryProblem(config.dataDir));
  const feed = config.jobs?.feed;
  if (feed !== undefined) check('jobs.feed', feed, watchedFileProblem(feed));
  const database = config.jobs?.oceanNode?.database;
  if (database !== undefined) check('jobs.oceanNode.database', database, readableFileProblem(database));
  const metadata = config.swaps?.contract === 'ink' ? config.swaps.ink.metadata : undefined;
  if (metadata !== undefined) check('swaps.contract.metadata', metadata, readableFileProblem(metadata));
  if (problems.length > 0) throw new ConfigError(resolve(file), problems);
}
