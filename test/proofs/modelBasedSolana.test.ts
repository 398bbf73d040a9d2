/**
 * PROPERTY (model-based, fast-check), the Solana swap manager's flavour: for any interleaving of
 *   new swaps (SOL marked on landing, ETH marked at broadcast, TAO; windows down to a few
 *   seconds; payouts of 0, foreign pins, bad addresses), polls, blocks passing, crashes at any
 *   host step, RPC failures before and after their effect, slow calls, torn and failed writes,
 *   frozen funds, nonce conflicts, reorgs, validators extending or cancelling a swap, deposits
 *   that never arrive, arrive late or short, from another sender or reorged out, destination
 *   wallets short for several swaps, and restarts,
 * every invariant holds after every command (the three payout invariants included: never paid
 * short, never from elsewhere than the pin, never marked unpaid), and once the chains settle
 * every swap ends, every send is marked or logged, each recovery entry written exactly once.
 * Bounds: 4 swaps, 40 commands a run, SETTLE_PROVE_RUNS runs (default 100).
 */
import fc from 'fast-check';
import { INVARIANT } from '../../machines/invariants.ts';
import { describe, expect, it } from 'vitest';
import { SWAP_KIND } from '../../machines/index.ts';
import { addressFor } from '../../sim/addresses.ts';
import { solanaSwapModule } from '../../sim/modules/solanaSwapModule.ts';
import { addManagerSwap, SOLANA_DEST_CHAINS } from '../../sim/solanaAdvance.ts';
import { clusterTimeAt, minerAddressOn } from '../../sim/world.ts';
import { reorgNewestBlock } from '../../sim/worldFaults.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import {
  MarksWithSourceHash,
  GatesOnThisPayoutAlone,
  PaysShort,
  PaysWithoutVerifying,
  ResignsAfterRestart,
  SendsBeforePersisting,
  SendsTooLate,
  VerifiesOnZeroConfirmations,
} from '../support/plantedBugs.ts';
import { SOLANA_BOOK } from '../../sim/modules/solanaSwapModule.ts';
import { sourceCommands } from './sourceCommands.ts';
import {
  advanceCommands,
  command,
  crashCommand,
  faultCommand,
  modelProperty,
  pollCommands,
  restartCommand,
  type Command,
} from './modelHarness.ts';

const RUNS = Number(process.env['SETTLE_PROVE_RUNS'] ?? 100);
const MAX_SWAPS = 4;
const created = (m: Readonly<Record<string, number>>) => (m[SWAP_KIND] ?? 0) < MAX_SWAPS;
const BAD = ['sound', 'payout 0', 'a foreign pin', 'a bad address'] as const;

/** The n-th swap of the world (by creation order), if it is still held by the program. */
const nth = (
  r: {
    world: {
      state: {
        swapManager: {
          history: Record<string, unknown>;
          swaps: Record<string, { status: string; timeoutAt: number; terms: { maxExtendAt: number | null } }>;
        };
      };
    };
  },
  i: number,
) => {
  const key = Object.keys(r.world.state.swapManager.history)[i];
  return key === undefined ? undefined : { key, swap: r.world.state.swapManager.swaps[key] };
};

const commands: Array<fc.Arbitrary<Command>> = [
  fc
    .record({
      chain: fc.constantFrom(...SOLANA_DEST_CHAINS),
      windowSecs: fc.integer({ min: 12, max: 900 }),
      bad: fc.constantFrom(...BAD),
    })
    .map(({ chain, windowSecs, bad }) =>
      command(`swap(${chain}, ${windowSecs} s, ${bad})`, created, (m, r) => {
        m[SWAP_KIND] = (m[SWAP_KIND] ?? 0) + 1;
        addManagerSwap(r.world, {
          destChain: chain,
          windowSecs,
          ...(bad === 'payout 0' ? { destAmount: '0' } : {}),
          ...(bad === 'a foreign pin' ? { senderPin: addressFor(chain, 'someone-else') } : {}),
          ...(bad === 'a bad address' ? { userDestAddress: 'nope' } : {}),
        });
      }),
    ),
  ...pollCommands(),
  ...advanceCommands(),
  crashCommand(),
  faultCommand([
    'rpc-before',
    'rpc-after',
    'slow',
    'insufficient-balance',
    'nonce-conflict',
    'failed-write',
    'torn-write',
  ]),
  fc.constantFrom(...SOLANA_DEST_CHAINS).map((chain) =>
    command(
      `reorg ${chain}`,
      () => true,
      (_, r) => reorgNewestBlock(r.world, chain),
    ),
  ),
  fc
    .record({ chain: fc.constantFrom(...SOLANA_DEST_CHAINS), blocks: fc.integer({ min: 1, max: 6 }) })
    .map(({ chain, blocks }) =>
      command(
        `freeze ${chain} funds ${blocks} blocks`,
        () => true,
        (_, r) => {
          const ledger = r.world.state.ledgers[chain]!;
          ledger.frozenUntil[minerAddressOn(chain)] = ledger.height + blocks;
        },
      ),
    ),
  fc.record({ i: fc.nat(MAX_SWAPS - 1), secs: fc.integer({ min: 1, max: 600 }) }).map(({ i, secs }) =>
    command(
      `a validator extends swap #${i + 1} by ${secs} s`,
      () => true,
      (_, r) => {
        const found = nth(r as never, i);
        if (found?.swap === undefined) return;
        const target = Math.min(found.swap.timeoutAt + secs, found.swap.terms.maxExtendAt ?? found.swap.timeoutAt);
        if (target <= found.swap.timeoutAt) return;
        found.swap.timeoutAt = target;
        r.world.state.swapManager.events.push({
          block: r.world.height,
          swapId: found.key,
          kind: 'Extended',
          miner: r.world.state.miner,
          destTxHash: '',
          at: target,
        });
      },
    ),
  ),
  fc.nat(MAX_SWAPS - 1).map((i) =>
    command(
      `validators cancel swap #${i + 1}`,
      () => true,
      (_, r) => {
        const found = nth(r as never, i);
        if (found?.swap === undefined) return;
        const sm = r.world.state.swapManager;
        const swap = sm.swaps[found.key]!;
        delete sm.swaps[found.key];
        sm.events.push({
          block: r.world.height,
          swapId: found.key,
          kind: 'Cancelled',
          miner: swap.miner,
          destTxHash: swap.destTxHash,
        });
      },
    ),
  ),
  restartCommand(),
  ...sourceCommands({
    chains: SOLANA_DEST_CHAINS,
    book: SOLANA_BOOK,
    maxSwaps: MAX_SWAPS,
    // One live swap per hub: a pair owed on one chain is backed by both hubs.
    addSwap: (world, destChain, deposit, first) =>
      void addManagerSwap(world, { destChain, windowSecs: 600, deposit, hub: first ? 'sol' : 'tao' }),
  }),
];

function property(interceptors?: readonly EngineInterceptor[]) {
  return modelProperty({
    modules: [solanaSwapModule],
    commands,
    ...(interceptors === undefined ? {} : { interceptors }),
  });
}

describe('model-based, Solana swap manager: any interleaving of swaps, faults, crashes and restarts', () => {
  it(`keeps every invariant after every command, and settles every swap (${RUNS} runs)`, async () => {
    expect(clusterTimeAt(1)).toBeGreaterThan(0);
    await fc.assert(property(), { numRuns: RUNS, verbose: 1 });
  });

  it.each([
    ['sends before persisting the signed transfer', SendsBeforePersisting],
    ['re-signs after a restart', ResignsAfterRestart],
    ['sends with too little time left', SendsTooLate],
    ['pays 98% of to_amount', PaysShort],
    ['marks with the source transaction hash', MarksWithSourceHash],
  ] as const)('finds and shrinks a counterexample against a host that %s', async (_, interceptors) => {
    const result = await fc.check(property(interceptors), { numRuns: 300, seed: 20_261_201 });
    expect(result.failed).toBe(true);
    expect(result.counterexamplePath).toEqual(expect.any(String));
    expect(String(result.counterexample?.[1]).split(',').length).toBeLessThanOrEqual(12);
  });
  it.each([
    ['pays without verifying the deposit', PaysWithoutVerifying, INVARIANT.neverPaidUnverified],
    ['verifies a deposit on 0 confirmations', VerifiesOnZeroConfirmations, INVARIANT.neverPaidUnverified],
    ['gates the funds on this payout alone', GatesOnThisPayoutAlone, INVARIANT.neverStarvedEarlier],
  ] as const)(
    'finds and shrinks a counterexample against a host that %s, on "%s"',
    async (_, interceptors, invariant) => {
      const result = await fc.check(property(interceptors), { numRuns: 300, seed: 20_261_201 });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toContain(invariant);
      expect(String(result.counterexample?.[1]).split(',').length).toBeLessThanOrEqual(12);
    },
  );
});
