/**
 * A third obligation, defined only here (a payout made exactly once), runs through everything
 * the product's obligations run through, with no line of the engine, the store, the simulator,
 * the crash-point explorer or the model-based harness written for it:
 * - the real engine and the real lowdb store in a temp dir, crashed at every crash point and
 *   restarted on the same directory;
 * - the simulator (runScenario) with every fault kind, restarts checked invisible;
 * - the crash-point explorer, exhaustively within small bounds;
 * - the model-based property, within small bounds;
 * and a payout planted with a bug (a fresh idempotency key on every attempt) is caught by the
 * simulator and by the model-based property.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFaults } from '../../sim/faults.ts';
import { invariantsAfter, runUntilSettled } from '../../sim/runner.ts';
import { runScenario } from '../../sim/scenario.ts';
import { openSimHost } from '../../sim/simHost.ts';
import { join } from 'node:path';
import { advanceBlock, World } from '../../sim/world.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../../src/store/recoveryLog.ts';
import { Engine } from '../../src/engine/engine.ts';
import { CrashAtNth } from '../../src/engine/crashpoints.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import { isFatalToHost } from '../../src/engine/live.ts';
import { explore } from '../proofs/crashExplorer.ts';
import {
  advanceCommands,
  command,
  crashCommand,
  faultCommand,
  modelProperty,
  pollCommands,
  restartCommand,
} from '../proofs/modelHarness.ts';
import { silentLog, tempDir } from '../support/simFixture.ts';
import { stateMetaOf } from '../../machines/stateMeta.ts';
import type { EffectHandler } from '../../src/engine/obligation.ts';
import { PAYOUT_KIND, type PayoutContext, type PayoutEffect, type PayoutEvent } from './payoutMachine.ts';
import type { PayoutObligation } from './payoutObligation.ts';
import { addPayout, chainOf, payoutModule } from './payoutSim.ts';

const MODULES = [payoutModule];

/** Three payouts due at once or soon, one to a closed account. */
function payoutWorld(seed = 5): World {
  const world = World.create(seed, { marginBlocks: 3 }, MODULES);
  addPayout(world, { amount: 250n });
  addPayout(world, { amount: 40n, dueIn: 2 });
  addPayout(world, { amount: 7n, closed: true });
  return world;
}

/** Bug: every attempt pays with a key of its own, without looking for the payment first. */
let attempt = 0;
const PaysWithAFreshKey: readonly EngineInterceptor[] = [
  {
    async performEffect(call, next) {
      if (call.kind !== PAYOUT_KIND || call.effect !== 'pay') return next(call);
      const { payoutId, to, amount } = (call.context as PayoutContext).terms;
      attempt += 1;
      try {
        const paid = await (call.obligation as PayoutObligation).bank.pay({
          payoutId,
          key: `${payoutId}-${attempt}`,
          to,
          amount: BigInt(amount),
        });
        return paid.ok
          ? { type: 'PAID', tx: paid.tx, block: paid.block }
          : { type: 'PAY_REFUSED', reason: paid.reason };
      } catch (error) {
        if (isFatalToHost(error)) throw error;
        return null;
      }
    },
  },
];

async function settleOnDisk(crashAt: number | null): Promise<{ world: World; crashes: number; points: number }> {
  const world = payoutWorld();
  const dir = tempDir('settle-payout-');
  const counter = new CrashAtNth(crashAt ?? -1);
  const result = await runUntilSettled({
    world,
    maxBlocks: 40,
    openHost: (generation) =>
      openSimHost(world, dir, {
        create: generation === 0,
        log: silentLog,
        ...(generation === 0 ? { crashHook: counter.hook } : {}),
      }),
  });
  expect(result.complete, `crash at ${crashAt}`).toBe(true);
  for (const invariant of await invariantsAfter(world, result))
    expect(invariant.violations, `${invariant.name}, crash at ${crashAt}`).toEqual([]);
  expect(result.host.recoveryLog.entries().map((e) => e.key)).toEqual(['payout:p3']);
  return { world, crashes: result.crashes, points: counter.reached };
}

describe('a third obligation, defined only in test/: a payout made exactly once', () => {
  it('runs through the real engine and the real store, crashed at every crash point', async () => {
    const clean = await settleOnDisk(null);
    expect(chainOf(clean.world).payments.map((p) => [p.payoutId, p.amount])).toEqual([
      ['p1', '250'],
      ['p2', '40'],
    ]);
    expect(clean.points).toBeGreaterThan(20);
    for (let n = 0; n < clean.points; n += 1) {
      const crashed = await settleOnDisk(n);
      expect(crashed.crashes, `crash at ${n}`).toBe(1);
      expect(
        chainOf(crashed.world)
          .payments.map((p) => p.payoutId)
          .sort(),
      ).toEqual(['p1', 'p2']);
    }
  }, 120_000);

  it('migrates records of an older machine version at restore, through the real store', async () => {
    const world = payoutWorld();
    const dir = tempDir('settle-payout-migrate-');
    const v1 = payoutModule.connect(world, null).obligation(silentLog);
    const openStore = (known: ReturnType<typeof Engine.knownMachines>) =>
      openLowdbSnapshotStore(join(dir, 'store'), { create: false, knownMachines: known });
    const recovery = (await openRecoveryLog(join(dir, 'recovery.jsonl'))).log;
    const first = await Engine.restore({
      store: await openLowdbSnapshotStore(join(dir, 'store'), {
        create: true,
        knownMachines: Engine.knownMachines([v1]),
      }),
      recoveryLog: recovery,
      log: silentLog,
      obligations: [v1],
    });
    await first.tick(); // creates the three payouts; p1 and p3 are due and reach Paid and Recovery, p2 waits
    expect(first.machines().map((m) => [m.id, m.state])).toEqual([['payout:p2', 'Pending']]);
    const migrate = (snapshot: unknown, from: number): unknown => {
      const s = snapshot as { context: object };
      return { ...s, context: { ...s.context, migratedFrom: from } };
    };
    const v2 = { ...v1, definition: { ...v1.definition, version: 2, migratesFrom: 1, migrate } };
    await expect(openStore({ payout: 2 })).rejects.toThrow(
      /payout version 1; this release \(version 2\) has no migration from it/,
    );
    const store = await openStore(Engine.knownMachines([v2]));
    const second = await Engine.restore({ store, recoveryLog: recovery, log: silentLog, obligations: [v2] });
    const [record] = await store.loadLive();
    expect(record!.machine).toEqual({ name: 'payout', version: 2 });
    expect((record!.snapshot as { context: { migratedFrom: number } }).context.migratedFrom).toBe(1);
    for (let i = 0; i < 4 && second.liveCount > 0; i += 1) {
      advanceBlock(world);
      await second.tick();
    }
    expect(second.liveCount).toBe(0);
    expect(chainOf(world).payments.map((p) => p.payoutId)).toEqual(['p1', 'p2']);
  });

  it('is refused by the engine when a handler is missing', async () => {
    const obligation = {
      ...payoutModule.connect(payoutWorld(), null).obligation(silentLog),
      handlers: { pay: { perform: async () => null } },
    };
    const store = {
      loadLive: async () => [],
      placeOf: () => null,
      put: async () => undefined,
      putMany: async () => undefined,
      archive: async () => undefined,
      readArchived: async () => {
        throw new Error('none');
      },
    };
    const recoveryLog = { record: async () => 'recorded' as const, entries: () => [] };
    const restoring = Engine.restore({ store, recoveryLog, log: silentLog, obligations: [obligation] });
    await expect(restoring).rejects.toThrow(/state Recovery asks for effect 'recordRecovery', which has no handler/);
  });

  it('has its effects checked by tsc: a handler table without one, a state asking for another', () => {
    // @ts-expect-error: recordRecovery, which the machine may ask for, has no handler.
    const incomplete = { pay: { perform: async () => null } } satisfies Record<
      PayoutEffect,
      EffectHandler<PayoutContext, PayoutEvent>
    >;
    // @ts-expect-error: 'refund' is not one of the payout machine's effects.
    const unknownEffect = stateMetaOf<PayoutEffect>()({ effect: 'refund', summary: 'x' });
    expect([incomplete, unknownEffect]).toHaveLength(2);
  });

  it('runs through the simulator with every fault kind, restarts invisible', async () => {
    let restarts = 0;
    for (let seed = 1; seed <= 30; seed += 1) {
      const result = await runScenario({
        seed,
        swaps: 0,
        jobs: 0,
        counts: { [PAYOUT_KIND]: 6 },
        modules: MODULES,
        faults: parseFaults('all'),
      });
      expect(result.complete, `seed ${seed}`).toBe(true);
      expect(result.invariants.map((i) => i.name)).toEqual(
        restartsIn(result)
          ? ['paid exactly once', 'recovery entry exactly once', 'restart is invisible']
          : ['paid exactly once', 'recovery entry exactly once'],
      );
      for (const invariant of result.invariants)
        expect(invariant.violations, `${invariant.name}, seed ${seed}`).toEqual([]);
      expect(Object.values(result.endStates['payout']!).reduce((a, b) => a + b, 0)).toBe(6);
      restarts += result.restarts;
    }
    expect(restarts).toBeGreaterThan(0);
  }, 120_000);

  it('a payout planted with a bug is caught by the simulator', async () => {
    let caught = false;
    for (let seed = 1; seed <= 60 && !caught; seed += 1) {
      const result = await runScenario({
        seed,
        swaps: 0,
        jobs: 0,
        counts: { [PAYOUT_KIND]: 6 },
        modules: MODULES,
        faults: parseFaults('crash,rpc-after'),
        interceptors: PaysWithAFreshKey,
      });
      caught = result.invariants.some(
        (i) => i.name === 'paid exactly once' && i.violations.some((v) => /paid 2 times/.test(v)),
      );
    }
    expect(caught).toBe(true);
  }, 120_000);

  it('keeps "paid exactly once" at every combination of 2 crashes and 1 RPC fault (explorer)', async () => {
    const report = await explore(payoutWorld, { crashes: 2, faults: 1, maxBlocks: 20 });
    expect(report.violations).toEqual([]);
    expect(report.pathsCompleted).toBeGreaterThan(0);
    expect(report.pathsRun).toBeGreaterThan(20);
  }, 300_000);

  const payoutCommands = [
    fc
      .record({
        amount: fc.integer({ min: 1, max: 1_000 }),
        dueIn: fc.integer({ min: 0, max: 5 }),
        closed: fc.boolean(),
      })
      .map(({ amount, dueIn, closed }) =>
        command(
          `payout(${amount}, due in ${dueIn}${closed ? ', closed account' : ''})`,
          (m) => (m[PAYOUT_KIND] ?? 0) < 4,
          (m, r) => {
            m[PAYOUT_KIND] = (m[PAYOUT_KIND] ?? 0) + 1;
            addPayout(r.world, { amount: BigInt(amount), dueIn, closed });
          },
        ),
      ),
    ...pollCommands(),
    ...advanceCommands(),
    crashCommand(),
    faultCommand(['rpc-before', 'rpc-after', 'slow', 'failed-write', 'torn-write']),
    restartCommand(),
  ];

  it('keeps every invariant under any interleaving (model-based)', async () => {
    await fc.assert(modelProperty({ modules: MODULES, commands: payoutCommands, maxCommands: 25, drainBlocks: 60 }), {
      numRuns: 40,
      seed: 20_261_201,
    });
    const buggy = await fc.check(
      modelProperty({
        modules: MODULES,
        commands: payoutCommands,
        maxCommands: 25,
        drainBlocks: 60,
        interceptors: PaysWithAFreshKey,
      }),
      {
        numRuns: 200,
        seed: 20_261_201,
      },
    );
    expect(buggy.failed).toBe(true);
    expect(String(buggy.errorInstance)).toMatch(/paid exactly once.*paid 2 times/s);
  }, 300_000);
});

function restartsIn(result: { restarts: number }): boolean {
  return result.restarts > 0;
}
