/**
 * PROPERTY (model-based, fast-check): for any interleaving of
 *   new swaps and jobs, polls of the host, blocks passing, crashes at any host step,
 *   RPC failures before and after their effect, slow calls, torn and failed store writes,
 *   reverted batches, frozen funds, nonce conflicts, reorgs, reassigned swaps, payers
 *   cancelling expired locks, and deliberate restarts,
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
import { describe, expect, it } from 'vitest';
import { addJob, addSwap, advanceBlock } from '../../sim/advance.ts';
import type { FaultKind } from '../../sim/faults.ts';
import { everyObligationSeen } from '../../sim/runner.ts';
import { SimulatedSystem } from '../../sim/system.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import { ClaimTxIsPayment, DropsUnmarkedSendOnMissedPoll, ResignsAfterRestart, SendsBeforePersisting, SendsTooLate } from '../support/plantedBugs.ts';
import { OTHER_MINER, reorgNewestBlock } from '../../sim/worldFaults.ts';
import { BLOCK_SECONDS, DEST_CHAINS, World, minerAddressOn } from '../../sim/world.ts';
import { SimEscrow } from '../../sim/chains/simEscrow.ts';
import { ScriptedFaults } from './scriptedFaults.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';

const RUNS = Number(process.env['SETTLE_PROVE_RUNS'] ?? 200);
const MAX_OBLIGATIONS = 4;
const DRAIN_BLOCKS = 400;

interface Model {
  swaps: number;
  jobs: number;
}

interface Real {
  readonly world: World;
  readonly faults: ScriptedFaults;
  readonly system: SimulatedSystem;
}

async function assertInvariants(real: Real, final: boolean, after: string): Promise<void> {
  for (const invariant of await real.system.invariants(final)) {
    expect(invariant.violations, `${invariant.name}, after ${after}`).toEqual([]);
  }
}

type Command = fc.AsyncCommand<Model, Real>;

const command = (name: string, check: (m: Readonly<Model>) => boolean, run: (m: Model, r: Real) => Promise<void> | void): Command => ({
  check,
  async run(model, real) {
    await run(model, real);
    await assertInvariants(real, false, name);
  },
  toString: () => name,
});

const commands = [
  fc.record({ chain: fc.constantFrom(...DEST_CHAINS), window: fc.integer({ min: 1, max: 30 }), bad: fc.boolean() }).map(({ chain, window, bad }) =>
    command(
      `swap(${chain}, ${window} blocks${bad ? ', bad address' : ''})`,
      (m) => m.swaps < MAX_OBLIGATIONS,
      (m, r) => {
        m.swaps += 1;
        addSwap(r.world, { destChain: chain, window, ...(bad ? { userDestAddress: 'nope' } : {}) });
      },
    ),
  ),
  fc
    .record({ free: fc.boolean(), run: fc.integer({ min: 0, max: 3 }), lock: fc.integer({ min: 0, max: 20 }), over: fc.boolean(), payerCancels: fc.boolean() })
    .map((j) =>
      command(
        `job(${j.free ? 'free' : `lock ${j.lock} blocks${j.over ? ', cost over the lock' : ''}${j.payerCancels ? ', payer cancels' : ''}`})`,
        (m) => m.jobs < MAX_OBLIGATIONS,
        (m, r) => {
          m.jobs += 1;
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
  // Polls and blocks weigh more: faults fire during polls, deadlines pass with blocks.
  ...Array.from({ length: 3 }, () => fc.constant(command('poll', () => true, (_, r) => r.system.tickSurviving()))),
  ...Array.from({ length: 2 }, () => fc.integer({ min: 1, max: 5 })).map((blocks) => blocks.map((n) =>
    command(`advance ${n} blocks`, () => true, async (_, r) => {
      for (let i = 0; i < n; i += 1) {
        advanceBlock(r.world);
        await r.system.net.landDeferred();
      }
    }),
  )),
  fc.integer({ min: 0, max: 12 }).map((skip) => command(`crash at the ${skip + 1}th step from now`, () => true, (_, r) => r.faults.arm('crash', skip))),
  fc
    .record({
      kind: fc.constantFrom<FaultKind>('rpc-before', 'rpc-after', 'slow', 'batch-revert', 'insufficient-balance', 'nonce-conflict', 'failed-write', 'torn-write'),
      skip: fc.integer({ min: 0, max: 10 }),
    })
    .map(({ kind, skip }) => command(`${kind} at the ${skip + 1}th chance`, () => true, (_, r) => r.faults.arm(kind, skip))),
  fc.constantFrom(...DEST_CHAINS).map((chain) => command(`reorg ${chain}`, () => true, (_, r) => reorgNewestBlock(r.world, chain))),
  fc.record({ chain: fc.constantFrom(...DEST_CHAINS), blocks: fc.integer({ min: 1, max: 6 }) }).map(({ chain, blocks }) =>
    command(`freeze ${chain} funds ${blocks} blocks`, () => true, (_, r) => {
      const ledger = r.world.state.ledgers[chain]!;
      ledger.frozenUntil[minerAddressOn(chain)] = ledger.height + blocks;
    }),
  ),
  fc.nat(3).map((i) =>
    command(`reassign swap #${i + 1}`, () => true, (_, r) => {
      const swap = r.world.state.subtensor.swaps[String(i + 1)];
      if (swap !== undefined && swap.status === 'Active') swap.miner = OTHER_MINER;
    }),
  ),
  fc.constant(
    command('payers cancel expired locks', () => true, async (_, r) => {
      const escrow = new SimEscrow(r.world);
      for (const job of Object.values(r.world.state.compute.jobs)) await escrow.cancelExpiredLocks([job.terms], job.terms.payer);
    }),
  ),
  fc.constant(command('restart', () => true, async (_, r) => void (await r.system.restart()))),
];

function property(interceptors?: readonly EngineInterceptor[]) {
  return fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.commands(commands, { maxCommands: 40, size: 'max' }), async (seed, cmds) => {
    const world = World.create(seed, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    const faults = new ScriptedFaults();
    const system = new SimulatedSystem(world, faults, interceptors === undefined ? {} : { interceptors });
    await system.restart();
    const real: Real = { world, faults, system };
    await fc.asyncModelRun(() => ({ model: { swaps: 0, jobs: 0 }, real }), cmds);
    // Leave the chains to settle: faults still armed fire on the way (each once).
    for (let block = 0; block < DRAIN_BLOCKS && !everyObligationSeen(world, system.current); block += 1) {
      await system.tickSurviving();
      advanceBlock(world);
      await system.net.landDeferred();
    }
    await system.tickSurviving();
    expect(system.current!.host.liveCount, `machines still live after ${DRAIN_BLOCKS} blocks`).toBe(0);
    await assertInvariants(real, true, 'the chains settled');
  });
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
});

