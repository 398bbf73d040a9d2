/**
 * The model-based property, for any set of simulated obligations (sim/simModule.ts): fast-check
 * runs a sequence of commands against the real engine over a simulated world (new obligations,
 * polls, blocks passing, crashes at any step, RPC and store faults, restarts), asserts every
 * invariant of the world's modules after every command, then leaves the chains to settle
 * (the faults still armed firing on the way) and asserts that every obligation ended and every
 * invariant holds. The commands that create obligations and disturb a module's chains are the
 * caller's; the ones every world shares are here.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { FaultKind } from '../../sim/faults.ts';
import { everyObligationSeen } from '../../sim/runner.ts';
import type { SimModule } from '../../sim/simModule.ts';
import { SimulatedSystem } from '../../sim/system.ts';
import { advanceBlock, World } from '../../sim/world.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import { ScriptedFaults } from './scriptedFaults.ts';

/** Obligations created so far, by kind. */
export type Model = Record<string, number>;

export interface Real {
  readonly world: World;
  readonly faults: ScriptedFaults;
  readonly system: SimulatedSystem;
}

export type Command = fc.AsyncCommand<Model, Real>;

async function assertInvariants(real: Real, final: boolean, after: string): Promise<void> {
  for (const invariant of await real.system.invariants(final)) {
    expect(invariant.violations, `${invariant.name}, after ${after}`).toEqual([]);
  }
}

/** A command that asserts every invariant once it has run. */
export const command = (
  name: string,
  check: (m: Readonly<Model>) => boolean,
  run: (m: Model, r: Real) => Promise<void> | void,
): Command => ({
  check,
  async run(model, real) {
    await run(model, real);
    await assertInvariants(real, false, name);
  },
  toString: () => name,
});

/** Polls weigh more than other commands: faults fire during polls. */
export const pollCommands = (): Array<fc.Arbitrary<Command>> =>
  Array.from({ length: 3 }, () =>
    fc.constant(
      command(
        'poll',
        () => true,
        (_, r) => r.system.tickSurviving(),
      ),
    ),
  );

/** Blocks passing (deadlines pass with them), slow calls landing a block late. */
export const advanceCommands = (): Array<fc.Arbitrary<Command>> =>
  Array.from({ length: 2 }, () => fc.integer({ min: 1, max: 5 })).map((blocks) =>
    blocks.map((n) =>
      command(
        `advance ${n} blocks`,
        () => true,
        async (_, r) => {
          for (let i = 0; i < n; i += 1) {
            advanceBlock(r.world);
            await r.system.net.landDeferred();
          }
        },
      ),
    ),
  );

export const crashCommand = (): fc.Arbitrary<Command> =>
  fc.integer({ min: 0, max: 12 }).map((skip) =>
    command(
      `crash at the ${skip + 1}th step from now`,
      () => true,
      (_, r) => r.faults.arm('crash', skip),
    ),
  );

/** A fault of one of `kinds` armed for the (skip + 1)-th time the simulator asks about it. */
export const faultCommand = (kinds: readonly FaultKind[]): fc.Arbitrary<Command> =>
  fc.record({ kind: fc.constantFrom(...kinds), skip: fc.integer({ min: 0, max: 10 }) }).map(({ kind, skip }) =>
    command(
      `${kind} at the ${skip + 1}th chance`,
      () => true,
      (_, r) => r.faults.arm(kind, skip),
    ),
  );

export const restartCommand = (): fc.Arbitrary<Command> =>
  fc.constant(
    command(
      'restart',
      () => true,
      async (_, r) => void (await r.system.restart()),
    ),
  );

export interface PropertySetup {
  readonly modules: readonly SimModule[];
  readonly commands: ReadonlyArray<fc.Arbitrary<Command>>;
  readonly interceptors?: readonly EngineInterceptor[];
  readonly maxCommands?: number;
  /** Blocks the chains are left to settle in at the end. */
  readonly drainBlocks?: number;
}

export function modelProperty(setup: PropertySetup): fc.IAsyncPropertyWithHooks<[number, Iterable<Command>]> {
  const drainBlocks = setup.drainBlocks ?? 400;
  const commands = fc.commands([...setup.commands], { maxCommands: setup.maxCommands ?? 40, size: 'max' });
  return fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), commands, async (seed, cmds) => {
    const world = World.create(seed, { marginBlocks: 3 }, setup.modules);
    const faults = new ScriptedFaults();
    const system = new SimulatedSystem(
      world,
      faults,
      setup.interceptors === undefined ? {} : { interceptors: setup.interceptors },
    );
    await system.restart();
    const real: Real = { world, faults, system };
    await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
    // Leave the chains to settle: faults still armed fire on the way (each once).
    for (let block = 0; block < drainBlocks && !everyObligationSeen(world, system.current); block += 1) {
      await system.tickSurviving();
      advanceBlock(world);
      await system.net.landDeferred();
    }
    await system.tickSurviving();
    expect(system.current!.host.liveCount, `machines still live after ${drainBlocks} blocks`).toBe(0);
    await assertInvariants(real, true, 'the chains settled');
  });
}
