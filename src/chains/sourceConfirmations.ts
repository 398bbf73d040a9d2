/**
 * Confirmations a user's deposit needs before a swap is paid, per source asset: the reference's
 * `min_confirmations` (shared/reference/allways-assets.md §1: sol and solusdc 32 slots, tao 6
 * blocks, btc 2 blocks, each EVM coin and ERC-20 its row's value). A daemon configuration may
 * raise or lower one asset's count (swaps.sources.<chain>.confirmations); 0 is refused: a deposit
 * that can still vanish pays the miner's own funds.
 *
 * Pure data: no I/O, nothing persisted.
 */
import { EVM_ASSETS } from './evm/evmAssets.ts';

const NON_EVM = { sol: 32, solusdc: 32, tao: 6, btc: 2 } as const;

export const DEFAULT_SOURCE_CONFIRMATIONS: Readonly<Record<string, number>> = Object.freeze({
  ...NON_EVM,
  ...Object.fromEntries(Object.entries(EVM_ASSETS).map(([id, row]) => [id, row.confirmations])),
});

/** A source chain id with no default (not an allways asset) and no configured count. */
export class UnknownSourceChain extends Error {
  override readonly name = 'UnknownSourceChain';
}

/** The count for `chain`: the configured override, else the default; throws for an unknown chain with neither. */
export function requiredConfirmations(chain: string, overrides: Readonly<Record<string, number>> = {}): number {
  const count = overrides[chain] ?? DEFAULT_SOURCE_CONFIRMATIONS[chain];
  if (count === undefined)
    throw new UnknownSourceChain(
      `no confirmation count for source chain '${chain}': set swaps.sources.${chain}.confirmations`,
    );
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`confirmations for '${chain}' must be a whole number of at least 1, not ${count}`);
  return count;
}
