/**
 * PROPERTY (model-based, fast-check): for any interleaving of
 *   new swaps and jobs, polls of the host, blocks passing, crashes at any host step,
 *   RPC failures before and after their effect, slow calls, torn and failed store writes,
 *   reverted batches, frozen funds, nonce conflicts, reorgs, reassigned swaps, payers
 *   cancelling expired locks, deposits that never arrive, arrive late or short, from another
 *   sender or reorged out, destination wallets short for several swaps, and deliberate restarts,
 * every invariant of DESIGN.md holds after every command (no double send, no send too late,
 * no double claim, claims within the lock, every broadcast transfer tracked, recovery entries at
 * most once), and once the chains are left to settle (the faults still armed firing on the
 * way), every obligation ends, every send is marked or logged, every owed claim is made or its
 * expiry logged, each recovery entry written exactly once.
 *
 * Bounds: at most 4 swaps and 4 jobs, 40 commands per run; CI runs SETTLE_PROVE_RUNS (default
 * 200) runs; `npm run prove -- --runs N` runs more. A failure is shrunk by fast-check to a
 * minimal command sequence and printed with the seed and path that replay it.
 */
import fc from 'fast-check';
import { INVARIANT } from '../../machines/invariants.ts';
import { describe, expect, it } from 'vitest';
import { addJob, addSwap } from '../../sim/advance.ts';
import { SimEscrow } from '../../sim/chains/simEscrow.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';
import { OTHER_MINER, reorgNewestBlock } from '../../sim/worldFaults.ts';
import { BLOCK_SECONDS, DEST_CHAINS, minerAddressOn } from '../../sim/world.ts';
import { JOB_KIND, SWAP_KIND } from '../../machines/index.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import {
  ClaimTxIsPayment,
  DropsUnmarkedSendOnMissedPoll,
  GatesOnThisPayoutAlone,
  PaysWithoutVerifying,
  ResignsAfterRestart,
  SendsBeforePersisting,
  SendsTooLate,
  VerifiesOnZeroConfirmations,
} from '../support/plantedBugs.ts';
import { INK_BOOK } from '../../sim/modules/swapModule.ts';
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

const RUNS = Number(process.env['SETTLE_PROVE_RUNS'] ?? 200);
const MAX_OBLIGATIONS = 4;

const created = (kind: string) => (m: Readonly<Record<string, number>>) => (m[kind] ?? 0) < MAX_OBLIGATIONS;
const count = (m: Record<string, number>, kind: string): void => {
  m[kind] = (m[kind] ?? 0) + 1;
};

/** The product's commands, in the order fast-check draws from (the planted-bug seed depends on it). */
const commands: Array<fc.Arbitrary<Command>> = [
  fc
    .record({ chain: fc.constantFrom(...DEST_CHAINS), window: fc.integer({ min: 1, max: 30 }), bad: fc.boolean() })
    .map(({ chain, window, bad }) =>
      command(`swap(${chain}, ${window} blocks${bad ? ', bad address' : ''})`, created(SWAP_KIND), (m, r) => {
        count(m, SWAP_KIND);
        addSwap(r.world, { destChain: chain, window, ...(bad ? { userDestAddress: 'nope' } : {}) });
      }),
    ),
  fc
    .record({
      free: fc.boolean(),
      run: fc.integer({ min: 0, max: 3 }),
      lock: fc.integer({ min: 0, max: 20 }),
      over: fc.boolean(),
      payerCancels: fc.boolean(),
    })
    .map((j) =>
      command(
        `job(${j.free ? 'free' : `lock ${j.lock} blocks${j.over ? ', cost over the lock' : ''}${j.payerCancels ? ', payer cancels' : ''}`})`,
        created(JOB_KIND),
        (m, r) => {
          count(m, JOB_KIND);
          addJob(r.world, {
            free: j.free,
            lockAmount: 1_000n,
            runSeconds: j.run * BLOCK_SECONDS,
            lockSeconds: (j.run + j.lock) * BLOCK_SECONDS,
            cost: j.over ? 5_000n : 400n,
            payerCancelsOnExpiry: j.payerCancels,
          });
        },
      ),
    ),
  ...pollCommands(),
  ...advanceCommands(),
  crashCommand(),
  faultCommand([
    'rpc-before',
    'rpc-after',
    'slow',
    'batch-revert',
    'insufficient-balance',
    'nonce-conflict',
    'failed-write',
    'torn-write',
  ]),
  fc.constantFrom(...DEST_CHAINS).map((chain) =>
    command(
      `reorg ${chain}`,
      () => true,
      (_, r) => reorgNewestBlock(r.world, chain),
    ),
  ),
  fc
    .record({ chain: fc.constantFrom(...DEST_CHAINS), blocks: fc.integer({ min: 1, max: 6 }) })
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
  fc.nat(3).map((i) =>
    command(
      `reassign swap #${i + 1}`,
      () => true,
      (_, r) => {
        const swap = r.world.state.subtensor.swaps[String(i + 1)];
        if (swap !== undefined && swap.status === 'Active') swap.miner = OTHER_MINER;
      },
    ),
  ),
  fc.constant(
    command(
      'payers cancel expired locks',
      () => true,
      async (_, r) => {
        const escrow = new SimEscrow(r.world);
        for (const job of Object.values(r.world.state.compute.jobs))
          await escrow.cancelExpiredLocks([job.terms], job.terms.payer);
      },
    ),
  ),
  restartCommand(),
  ...sourceCommands({
    chains: DEST_CHAINS,
    book: INK_BOOK,
    maxSwaps: MAX_OBLIGATIONS,
    addSwap: (world, destChain, deposit) => addSwap(world, { destChain, window: 30, deposit }),
  }),
];

function property(interceptors?: readonly EngineInterceptor[]) {
  return modelProperty({ modules: PRODUCT_MODULES, commands, ...(interceptors === undefined ? {} : { interceptors }) });
}

const PLANTED_BUG_SEED = 20_261_125;

describe('model-based: any interleaving of obligations, faults, crashes and restarts', () => {
  it(`keeps every invariant after every command, and settles every obligation (${RUNS} runs)`, async () => {
    await fc.assert(property(), { numRuns: RUNS, verbose: 1 });
  });

  it.each([
    ['sends before persisting the signed transfer', SendsBeforePersisting],
    ['re-signs after a restart', ResignsAfterRestart],
    ['drops an unmarked send on a missed poll', DropsUnmarkedSendOnMissedPoll],
    ['takes a claim transaction as payment', ClaimTxIsPayment],
    ['sends with too few blocks left', SendsTooLate],
  ] as const)('finds and shrinks a counterexample against a host that %s', async (_, interceptors) => {
    // A fixed seed: the search is the same every run (a random one found and shrank these bugs
    // almost always, which is not the same as always: one CI run in a dozen missed one).
    const result = await fc.check(property(interceptors), { numRuns: 300, seed: PLANTED_BUG_SEED });
    expect(result.failed).toBe(true);
    // What a developer gets to replay it: the seed, the path, and a short command sequence.
    expect(result.seed).toEqual(expect.any(Number));
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
      const result = await fc.check(property(interceptors), { numRuns: 300, seed: PLANTED_BUG_SEED });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toContain(invariant);
      expect(String(result.counterexample?.[1]).split(',').length).toBeLessThanOrEqual(12);
    },
  );
});
