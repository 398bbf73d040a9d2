/**
 * Builds the host's chain ports from the configuration: the swap contract (the ink! contract
 * over Subtensor, or the Solana swap manager: swapPorts.ts), the TAO sender over one Subtensor
 * connection, an EVM transfer sender per EVM destination, a BTC
 * sender per Bitcoin destination (bitcoinPorts.ts), and per
 * job chain an escrow client with its durable transaction sender. Every port is wrapped so
 * its calls are timed. Keys are parsed here, all of them before anything connects, and every
 * problem is reported at once with its configuration path.
 *
 * Size (over 300 lines): one short builder per chain kind, read together so every configured
 * chain is seen to get its ports and its key; the BTC builder already lives in bitcoinPorts.ts.
 */
import { join } from 'node:path';
import type { HostOptions } from '../host/host.ts';
import type { Escrow, JobSource, Logger, SignedIdentity, SwapContract, TransferSender } from '../host/ports.ts';
import type { WitnessGate } from '../witness/witnessGate.ts';
import { createSolanaRpc, type Address, type KeyPairSigner } from '@solana/kit';
import {
  evmProvider,
  evmSigner,
  solanaSigner,
  substrateSigner,
  type EvmProvider,
  type EvmSigner,
  type SubstrateSigner,
} from '../chains/keys.ts';
import { resolveEvmDestination } from '../chains/evm/evmAssets.ts';
import { NonceAccountProblem } from '../chains/solana/durableNonces.ts';
import { solanaAssetOf, type SolanaAsset } from '../chains/solana/solanaAssets.ts';
import { SolanaTransferSender } from '../chains/solana/solanaTransferSender.ts';
import { NonceAllocator } from '../chains/nonceAllocator.ts';
import { EvmClock } from '../chains/evm/evmClock.ts';
import { verifyEscrow } from '../chains/evm/escrowCheck.ts';
import { EvmEscrow } from '../chains/evm/evmEscrow.ts';
import { EvmTransferSender } from '../chains/evm/evmTransferSender.ts';
import { EvmTxSender } from '../chains/evm/evmTxSender.ts';
import { TxJournal } from '../chains/evm/txJournal.ts';
import { AllwaysAbi } from '../chains/substrate/allwaysAbi.ts';
import { AllwaysSwapContract } from '../chains/substrate/allwaysSwapContract.ts';
import { ExtrinsicSearch } from '../chains/substrate/extrinsicSearch.ts';
import { SubstrateChain } from '../chains/substrate/substrateChain.ts';
import { TaoTransferSender } from '../chains/substrate/taoTransferSender.ts';
import { assert, ChainMismatch, ConfigError, DestinationUnusable, errorField, KeyUnusable } from '../errors.ts';
import { bitcoinSender, loadBitcoinKey, type BitcoinKey } from './bitcoinPorts.ts';
import type {
  DaemonConfig,
  EvmDestinationConfig,
  JobsConfig,
  SecretSource,
  SolanaDestinationConfig,
} from './config.ts';
import { FileJobFeed, type FeedChain } from './fileJobFeed.ts';
import { OceanNodeJobs, type OceanNodeChain } from './oceanNodeJobs.ts';
import { instrumented, type DaemonMetrics } from './metrics.ts';
import { KEY_FORMS, loadSecret } from './secrets.ts';
import { solanaSwapContract } from './swapPorts.ts';

export interface Keys {
  /** ink!: the hotkey that marks; null for the Solana swap manager. */
  readonly hotkey: SubstrateSigner | null;
  /** The Solana swap manager: the miner's keypair that marks; null for ink!. */
  readonly solanaMiner: KeyPairSigner | null;
  readonly destinations: ReadonlyMap<string, SubstrateSigner | EvmSigner | KeyPairSigner | BitcoinKey>;
  readonly jobChains: ReadonlyMap<string, EvmSigner>;
}

/** Every key of the configuration, parsed; all problems at once, none revealing a secret. */
export async function loadKeys(config: DaemonConfig, configFile: string): Promise<Keys> {
  const problems: string[] = [];
  const substrate = async (path: string, source: SecretSource): Promise<SubstrateSigner | null> => {
    try {
      const secret = loadSecret(source);
      return await substrateSigner(secret.reveal()).catch(() =>
        fail(path, `${secret.origin} does not hold ${KEY_FORMS.substrate}`),
      );
    } catch (error) {
      if (!(error instanceof KeyUnusable)) throw error;
      return fail(path, error.message);
    }
  };
  const evm = (path: string, source: SecretSource): EvmSigner | null => {
    try {
      const secret = loadSecret(source);
      try {
        return evmSigner(secret.reveal());
      } catch {
        return fail(path, `${secret.origin} does not hold ${KEY_FORMS.evm}`);
      }
    } catch (error) {
      if (!(error instanceof KeyUnusable)) throw error;
      return fail(path, error.message);
    }
  };
  const solana = async (path: string, source: SecretSource): Promise<KeyPairSigner | null> => {
    try {
      const secret = loadSecret(source);
      return await solanaSigner(secret.reveal()).catch(() =>
        fail(path, `${secret.origin} does not hold ${KEY_FORMS.solana}`),
      );
    } catch (error) {
      if (!(error instanceof KeyUnusable)) throw error;
      return fail(path, error.message);
    }
  };
  function fail(path: string, problem: string): null {
    problems.push(`${path}: ${problem}`);
    return null;
  }
  const swaps = config.swaps;
  const hotkey = swaps?.contract === 'ink' ? await substrate('swaps.hotkey', swaps.hotkey) : null;
  const solanaMiner = swaps?.contract === 'solana' ? await solana('swaps.solana.keypair', swaps.solana.keypair) : null;
  const destinations = new Map<string, SubstrateSigner | EvmSigner | KeyPairSigner | BitcoinKey>();
  for (const [name, destination] of Object.entries(config.swaps?.destinations ?? {})) {
    const path = `swaps.destinations.${name}.key`;
    if (destination.type === 'bitcoin') {
      const loaded = loadBitcoinKey(destination);
      if ('problem' in loaded) fail(path, loaded.problem);
      else destinations.set(name, loaded);
      continue;
    }
    const key =
      destination.type === 'subtensor'
        ? await substrate(path, destination.key)
        : destination.type === 'solana'
          ? await solana(path, destination.key)
          : evm(path, destination.key);
    if (key !== null) destinations.set(name, key);
    if (
      destination.type === 'subtensor' &&
      key !== null &&
      hotkey !== null &&
      (key as SubstrateSigner).address === hotkey.address
    ) {
      problems.push(
        `${path}: the TAO account is the hotkey; use a separate account so marks and transfers never race for nonces`,
      );
    }
  }
  const jobChains = new Map<string, EvmSigner>();
  for (const [name, chain] of Object.entries(config.jobs?.chains ?? {})) {
    const wallet = evm(`jobs.chains.${name}.key`, chain.key);
    if (wallet !== null) jobChains.set(name, wallet);
  }
  if (problems.length > 0) throw new ConfigError(configFile, problems);
  return { hotkey, solanaMiner, destinations, jobChains };
}

/**
 * Where the escrow's transaction senders tell the witness of their broadcasts. The gate needs
 * the store, which opens after the ports connect (--init asks the contract first), so it is
 * bound later; nothing is broadcast before the host runs.
 */
export class WitnessLink {
  gate: WitnessGate | null = null;

  async beforeBroadcast(chain: string, identity: SignedIdentity, ref: string): Promise<void> {
    if (this.gate === null) throw new Error('a transaction would be broadcast before the witness journal is open');
    await this.gate.beforeBroadcast(chain, identity, ref);
  }
}

export type ChainPorts = Pick<HostOptions, 'swapContract' | 'senders' | 'escrows' | 'clock' | 'jobSource'> & {
  /** Transaction senders whose journals a previous life may have left work in. */
  readonly txSenders: readonly EvmTxSender[];
  close(): Promise<void>;
};

interface EvmEndpoint {
  readonly provider: EvmProvider;
  readonly nonces: NonceAllocator;
}

/** Connects and builds the ports (EVM providers: see evmProvider; each chain id checked once). */
export async function buildChainPorts(
  config: DaemonConfig,
  keys: Keys,
  log: Logger,
  metrics: DaemonMetrics,
  stopping: () => boolean = () => false,
  witness: WitnessLink = new WitnessLink(),
): Promise<ChainPorts> {
  const closers: (() => Promise<void>)[] = [];
  const endpoints = new Map<string, EvmEndpoint>();
  const endpoint = (rpcUrl: string, chainId: number): EvmEndpoint => {
    const key = `${chainId}|${rpcUrl}`;
    let found = endpoints.get(key);
    if (found === undefined) {
      const provider = evmProvider(rpcUrl, chainId);
      closers.push(async () => provider.destroy());
      // One allocator per chain id: nonces are per (chain, account).
      const sameChain = [...endpoints.entries()].find(([k]) => k.startsWith(`${chainId}|`));
      found = { provider, nonces: sameChain?.[1].nonces ?? new NonceAllocator() };
      endpoints.set(key, found);
    }
    return found;
  };

  let swapContract: SwapContract | null = null;
  const senders = new Map<string, TransferSender>();
  try {
    if (config.swaps !== undefined) {
      const swaps = config.swaps;
      // The ink! contract lives on Subtensor; for the Solana swap manager it serves TAO destinations only.
      const subtensorUrl = swaps.contract === 'ink' ? swaps.subtensor.url : swaps.subtensor?.url;
      let subtensor: { chain: SubstrateChain; search: ExtrinsicSearch } | null = null;
      if (subtensorUrl !== undefined) {
        const chain = await SubstrateChain.connect(subtensorUrl, { log });
        closers.push(() => chain.disconnect());
        subtensor = { chain, search: new ExtrinsicSearch(chain) };
      }
      const substrateNonces = new NonceAllocator();
      if (swaps.contract === 'solana') {
        swapContract = await solanaSwapContract(swaps, keys.solanaMiner!, log, metrics, stopping);
      } else {
        const contract = new AllwaysSwapContract({
          ...subtensor!,
          abi: AllwaysAbi.load(swaps.ink.metadata),
          address: swaps.ink.address,
          hotkey: keys.hotkey!,
          log,
          minFreeBalance: swaps.minFreeBalance,
          firstSwapId: BigInt(swaps.firstSwapId),
          eventLookbackBlocks: swaps.eventLookbackBlocks,
          stopping,
        });
        swapContract = instrumented(contract, { chain: 'subtensor', port: 'swapContract' }, metrics);
      }
      for (const [name, destination] of Object.entries(swaps.destinations)) {
        let sender: TransferSender;
        if (destination.type === 'subtensor') {
          // The schema requires a Subtensor URL for a TAO destination.
          sender = new TaoTransferSender({
            ...subtensor!,
            signer: keys.destinations.get(name) as SubstrateSigner,
            nonces: substrateNonces,
            log,
            chainName: name,
          });
        } else if (destination.type === 'solana') {
          sender = await solanaSender(name, destination, keys.destinations.get(name) as KeyPairSigner, log);
        } else if (destination.type === 'bitcoin') {
          sender = await bitcoinSender(
            name,
            destination,
            keys.destinations.get(name) as BitcoinKey,
            config.dataDir,
            log,
          );
        } else {
          sender = await evmSender(name, destination, keys.destinations.get(name) as EvmSigner, endpoint, log);
        }
        senders.set(name, instrumented(sender, { chain: name, port: 'transferSender' }, metrics));
      }
    }

    const escrows = new Map<string, Escrow>();
    const txSenders: EvmTxSender[] = [];
    let clock: HostOptions['clock'] = null;
    let jobSource: HostOptions['jobSource'] = null;
    if (config.jobs !== undefined) {
      const feedChains = new Map<string, FeedChain>();
      const oceanChains: OceanNodeChain[] = [];
      for (const [name, chainConfig] of Object.entries(config.jobs.chains)) {
        const { provider, nonces } = endpoint(chainConfig.rpcUrl, chainConfig.chainId);
        const path = `jobs.chains.${name}`;
        if (await checkChainId(provider, chainConfig.chainId, path, log))
          await verifyEscrow(provider, chainConfig.escrow, `${path} (escrow)`);
        const wallet = keys.jobChains.get(name)!.connect(provider);
        const journal = await TxJournal.open(
          join(config.dataDir, 'journals'),
          name,
          wallet.address,
          BigInt(chainConfig.chainId),
        );
        // Journaled under the swap destination paid from the same account, if any: its witness counts these nonces.
        const witnessChain = destinationPaidBy(config, keys, chainConfig.chainId, wallet.address) ?? name;
        const txSender = new EvmTxSender({
          wallet,
          provider,
          journal,
          chainId: BigInt(chainConfig.chainId),
          log,
          nonces,
          confirmations: chainConfig.confirmations,
          beforeBroadcast: ({ nonce, hash, purpose }) =>
            witness.beforeBroadcast(witnessChain, { account: wallet.address, nonce, id: hash }, `escrow ${purpose}`),
        });
        txSenders.push(txSender);
        const escrow = new EvmEscrow({
          chain: name,
          address: chainConfig.escrow,
          provider,
          sender: txSender,
          fromBlock: chainConfig.escrowDeployBlock,
          log,
          claimMethod: chainConfig.claimMethod,
          logChunkBlocks: chainConfig.logChunkBlocks,
        });
        log.info(
          {
            chain: name,
            network: chainConfig.network ?? null,
            chainId: chainConfig.chainId,
            escrow: chainConfig.escrow,
            claimMethod: chainConfig.claimMethod,
          },
          'job chain',
        );
        escrows.set(name, instrumented(escrow, { chain: name, port: 'escrow' }, metrics));
        feedChains.set(name, { escrow: chainConfig.escrow, payee: wallet.address });
        oceanChains.push({ name, chainId: chainConfig.chainId, payee: wallet.address, escrow });
        // The first chain's block time is the host's clock (the claim schedule, lock expiry).
        clock ??= instrumented(new EvmClock(provider), { chain: name, port: 'clock' }, metrics);
      }
      jobSource = jobSourceOf(config.jobs, config.dataDir, feedChains, oceanChains, log);
    }
    return {
      swapContract,
      senders,
      escrows,
      clock,
      jobSource,
      txSenders,
      close: async () => {
        for (const close of closers.reverse()) await close().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

/** The configured job source: the JSON-lines feed, or ocean-node's own database. */
function jobSourceOf(
  jobs: JobsConfig,
  dataDir: string,
  feedChains: ReadonlyMap<string, FeedChain>,
  oceanChains: readonly OceanNodeChain[],
  log: Logger,
): JobSource {
  if (jobs.feed !== undefined) return new FileJobFeed(jobs.feed, feedChains, log);
  const source = jobs.oceanNode!;
  return new OceanNodeJobs({
    database: source.database,
    pricing: {
      ...(source.config === undefined ? {} : { configFile: source.config }),
      ...(source.dockerComputeEnvironments === undefined
        ? {}
        : { dockerComputeEnvironments: source.dockerComputeEnvironments }),
      ...(source.supportedNetworks === undefined ? {} : { supportedNetworks: source.supportedNetworks }),
    },
    chains: oceanChains,
    adoptedFile: join(dataDir, 'ocean-node-jobs.jsonl'),
    log,
  });
}

async function evmSender(
  name: string,
  destination: EvmDestinationConfig,
  key: EvmSigner,
  endpoint: (url: string, chainId: number) => EvmEndpoint,
  log: Logger,
): Promise<TransferSender> {
  const resolved = resolveEvmDestination(destination);
  // The configuration was checked with the same resolution: a problem here is a bug.
  assert(
    !('problems' in resolved),
    `swaps.destinations.${name} passed the schema yet does not resolve: ${JSON.stringify(resolved)}`,
  );
  const { provider, nonces } = endpoint(destination.rpcUrl, resolved.chainId);
  await checkChainId(provider, resolved.chainId, `swaps.destinations.${name}`, log);
  return new EvmTransferSender({
    chain: name,
    provider,
    wallet: key.connect(provider),
    chainId: BigInt(resolved.chainId),
    asset: resolved.asset,
    confirmations: resolved.confirmations,
    nonces,
    log,
  });
}

/** A Solana sender; its nonce accounts are checked at start (a wrong one refuses the start). */
async function solanaSender(
  name: string,
  destination: SolanaDestinationConfig,
  signer: KeyPairSigner,
  log: Logger,
): Promise<SolanaTransferSender> {
  const path = `swaps.destinations.${name}`;
  // The schema admits `mint` only for an allways id with a mint of its own, on a network it knows.
  const asset: SolanaAsset =
    typeof destination.asset === 'string'
      ? solanaAssetOf(
          destination.asset,
          destination.network,
          destination.mint === undefined ? {} : { mint: destination.mint },
        )
      : { kind: 'spl', mint: destination.asset.spl as Address, decimals: destination.asset.decimals };
  const sender = new SolanaTransferSender({
    chain: name,
    rpc: createSolanaRpc(destination.rpcUrl),
    signer,
    asset,
    nonceAccounts: destination.nonceAccounts as Address[],
    commitment: destination.commitment,
    log,
  });
  try {
    await sender.nonces.check();
  } catch (error) {
    if (error instanceof NonceAccountProblem) throw new DestinationUnusable(`${path}.nonceAccounts`, error.message);
    log.warn({ config: path, err: errorField(error) }, 'Solana endpoint not answering at start; its calls are retried');
  }
  return sender;
}

/** The EVM swap destination on `chainId` paid from `address`, if one is configured. */
function destinationPaidBy(config: DaemonConfig, keys: Keys, chainId: number, address: string): string | null {
  for (const [name, destination] of Object.entries(config.swaps?.destinations ?? {})) {
    if (destination.type !== 'evm') continue;
    const resolved = resolveEvmDestination(destination);
    if ('problems' in resolved || resolved.chainId !== chainId) continue;
    if ((keys.destinations.get(name) as EvmSigner | undefined)?.address.toLowerCase() === address.toLowerCase())
      return name;
  }
  return null;
}

/**
 * A node on another chain than configured is refused; one that does not answer is logged
 * (its calls are retried). Returns whether it answered.
 */
async function checkChainId(provider: EvmProvider, expected: number, path: string, log: Logger): Promise<boolean> {
  let reported: bigint;
  try {
    reported = BigInt((await provider.send('eth_chainId', [])) as string);
  } catch (error) {
    log.warn({ config: path, err: errorField(error) }, 'EVM endpoint not answering at start; its calls are retried');
    return false;
  }
  if (reported !== BigInt(expected)) throw new ChainMismatch(path, reported, expected);
  return true;
}
