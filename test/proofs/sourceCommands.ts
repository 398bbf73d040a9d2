/**
 * The model-based property's commands for the source-funds checks, shared by both contract
 * flavours: a swap whose user's deposit goes wrong (never arrives, late, one unit short, from
 * another sender, reorged out after one confirmation), a destination wallet short of funds for
 * several owed swaps at once, and the scenario the funds gate exists for: two swaps owed on one
 * chain a block apart, the earlier one still waiting for its deposit, the wallet enough for one.
 */
import fc from 'fast-check';
import { SWAP_KIND } from '../../machines/index.ts';
import { DEPOSIT_FATES, type DepositFate } from '../../sim/chains/simSource.ts';
import { shortWallet, type SwapBook } from '../../sim/modules/sourceInvariants.ts';
import { advanceBlock, type World } from '../../sim/world.ts';
import { command, type Command, type Model } from './modelHarness.ts';

export interface SourceCommandSetup {
  readonly chains: readonly string[];
  readonly book: SwapBook;
  readonly maxSwaps: number;
  /** Makes a sound swap to `chain`, its deposit as given; `first` tells the earlier of a pair. */
  readonly addSwap: (world: World, chain: string, deposit: DepositFate, first: boolean) => void;
}

const swapsMade = (m: Readonly<Model>): number => m[SWAP_KIND] ?? 0;

export function sourceCommands(setup: SourceCommandSetup): Array<fc.Arbitrary<Command>> {
  const room = (n: number) => (m: Readonly<Model>) => swapsMade(m) + n <= setup.maxSwaps;
  const made = (m: Model, n: number) => {
    m[SWAP_KIND] = swapsMade(m) + n;
  };
  return [
    fc
      .record({ chain: fc.constantFrom(...setup.chains), fate: fc.constantFrom(...DEPOSIT_FATES) })
      .map(({ chain, fate }) =>
        command(`swap(${chain}, deposit ${fate})`, room(1), (m, r) => {
          made(m, 1);
          setup.addSwap(r.world, chain, fate, true);
        }),
      ),
    fc.constantFrom(...setup.chains).map((chain) =>
      command(
        `wallet on ${chain} short for its owed swaps`,
        () => true,
        (_, r) => void shortWallet(r.world, setup.book, chain),
      ),
    ),
    fc
      .record({ chain: fc.constantFrom(...setup.chains), fate: fc.constantFrom<DepositFate>('late', 'missing') })
      .map(({ chain, fate }) =>
        command(
          `two swaps to ${chain} a block apart, the earlier deposit ${fate}, the wallet short for both`,
          room(2),
          async (m, r) => {
            made(m, 2);
            setup.addSwap(r.world, chain, fate, true);
            advanceBlock(r.world);
            await r.system.net.landDeferred();
            setup.addSwap(r.world, chain, 'sound', false);
            shortWallet(r.world, setup.book, chain);
          },
        ),
      ),
  ];
}
