/**
 * The swap obligation's source ports in the daemon: the deposit verifiers and destination
 * balances buildSourcePorts makes from `swaps.sources` (sourcePorts.ts), keyed as the swap
 * obligation reads them (by source chain), with the wallet each destination chain pays from
 * (for swaps that pin no sender: the ink! contract's). Nothing here holds state; `close`
 * closes the clients buildSourcePorts opened.
 */
import type { KeyPairSigner } from '@solana/kit';
import type { EvmSigner, SubstrateSigner } from '../chains/keys.ts';
import type { SubstrateChain } from '../chains/substrate/substrateChain.ts';
import type { Logger } from '../host/ports.ts';
import type { SourceVerifier } from '../host/sourceVerifier.ts';
import type { SwapSourcePorts } from '../obligations/swapFulfillment/sourceCheck.ts';
import type { BitcoinKey } from './bitcoinPorts.ts';
import type { SwapsConfig } from './config.ts';
import { buildSourcePorts } from './sourcePorts.ts';

type DestinationKey = SubstrateSigner | EvmSigner | KeyPairSigner | BitcoinKey;

export interface DaemonSwapSources {
  readonly ports: SwapSourcePorts;
  close(): Promise<void>;
}

export async function swapSources(
  swaps: SwapsConfig,
  keys: ReadonlyMap<string, DestinationKey>,
  log: Logger,
  subtensor: SubstrateChain | null,
): Promise<DaemonSwapSources> {
  const built = await buildSourcePorts(swaps, log, subtensor === null ? {} : { subtensor });
  const verifiers = new Map<string, SourceVerifier>();
  for (const verifier of built.verifiers) for (const chain of verifier.chains) verifiers.set(chain, verifier);
  const wallets = new Map<string, string>();
  for (const [chain, destination] of Object.entries(swaps.destinations)) {
    const wallet = destination.type === 'bitcoin' ? destination.address : addressOf(keys.get(chain));
    if (wallet !== null) wallets.set(chain, wallet);
  }
  return {
    ports: { verifiers, unverified: new Set(built.unverified), balances: built.balances, wallets },
    close: () => built.close(),
  };
}

/** The address a destination key pays from (SS58, 0x, base58); null for a key without one here. */
function addressOf(key: DestinationKey | undefined): string | null {
  if (key === undefined || (key as BitcoinKey).kind === 'bitcoin') return null;
  return String((key as { address: unknown }).address);
}
