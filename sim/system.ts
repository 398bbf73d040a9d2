/**
 * The simulated system: a world, the network and disk between it and the engine, and a way to
 * open the real engine (with interceptors a test may plant) over them, generation after
 * generation. It runs whatever obligations the world's modules bring (sim/simModule.ts). The
 * scenario runner, the property tests and the crash-point explorer all drive this one thing.
 */
import type { InspectionEvent } from 'xstate';
import { SimulatedCrash, type CrashHook } from '../src/engine/crashpoints.ts';
import { Engine } from '../src/engine/engine.ts';
import type { EngineInterceptor } from '../src/engine/interceptors.ts';
import { isFatalToHost } from '../src/engine/live.ts';
import type { Logger } from '../src/host/ports.ts';
import { withoutStack, type FaultSource } from './faults.ts';
import { checkInvariants, type InvariantResult } from './invariants.ts';
import { MemoryDisk, MemoryRecoveryLog, MemorySnapshotStore } from './memoryStore.ts';
import { SimNetwork } from './network.ts';
import type { SimConnection } from './simModule.ts';
import { finalMachines, type SimHost } from './simHost.ts';
import { advanceBlock, type World } from './world.ts';

export const SILENT_LOG: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface SystemOptions {
  /** Composed around the engine: tests plant bugs through these. */
  readonly interceptors?: readonly EngineInterceptor[];
  readonly inspect?: (event: InspectionEvent) => void;
  readonly log?: Logger;
  readonly trace?: (line: string) => void;
}

export class SimulatedSystem {
  readonly disk = new MemoryDisk();
  readonly net: SimNetwork;
  private readonly connections: readonly SimConnection[];
  private tick = 0;
  /** The host of the current generation; replaced at each restart. */
  current: SimHost | null = null;

  constructor(
    readonly world: World,
    readonly faults: FaultSource,
    private readonly options: SystemOptions = {},
  ) {
    this.net = new SimNetwork(world, faults, () => this.disk.generation);
    this.connections = world.modules.map((module) => module.connect(world, this.net));
  }

  /** A new host on the same disk: what a process restarted after a crash meets. */
  async openHost(generation: number): Promise<SimHost> {
    this.disk.generation = generation;
    if (generation > 0) this.options.trace?.(`restart ${generation}: a new host on the same store`);
    const log = this.options.log ?? SILENT_LOG;
    const obligations = this.connections.map((connection) => connection.obligation(log));
    const store = new MemorySnapshotStore(this.disk, Engine.knownMachines(obligations), this.faults);
    const recoveryLog = new MemoryRecoveryLog(this.disk, this.faults);
    let reached = 0;
    const crashHook: CrashHook = (point, machineId) => {
      reached += 1;
      if (this.faults.decide('crash', `${point}:${machineId}:b${this.world.height}:g${generation}:${reached}`)) {
        throw withoutStack(() => new SimulatedCrash(point, machineId));
      }
    };
    const host = await Engine.restore({
      store,
      recoveryLog,
      log,
      obligations,
      crashHook,
      ...(this.options.inspect === undefined ? {} : { inspect: this.options.inspect }),
      ...(this.options.interceptors === undefined ? {} : { interceptors: this.options.interceptors }),
    });
    this.current = { host, store, recoveryLog };
    return this.current;
  }

  private generation = -1;
  /** Host deaths so far (crashes, torn and failed writes), each followed by a restart. */
  deaths = 0;

  /** Opens the first host, or the next generation after a death or a deliberate kill. */
  restart(): Promise<SimHost> {
    this.generation += 1;
    return this.openHost(this.generation);
  }

  /** One poll of the current host; if it dies, a new one polls the same block again. */
  async tickSurviving(maxDeaths = 20): Promise<void> {
    for (let deaths = 0; ; deaths += 1) {
      try {
        // Restoring can die too: it rewrites snapshots that do not restore to themselves.
        if (this.current === null) await this.restart();
        await this.current!.host.tick();
        return;
      } catch (error) {
        if (!isFatalToHost(error) || deaths >= maxDeaths) throw error;
        this.deaths += 1;
        this.options.trace?.(`host died: ${error instanceof Error ? error.message : String(error)}`);
        this.current = null;
      }
    }
  }

  /** Time between two polls: usually one block; none (slow blocks) or several (missed polls). */
  async advance(): Promise<void> {
    this.tick += 1;
    if (this.faults.decide('slow-blocks', `tick:${this.tick}`)) return;
    const blocks = this.faults.decide('skipped-blocks', `tick:${this.tick}`)
      ? 2 + this.faults.pick(`skip:${this.tick}`, 4)
      : 1;
    for (let i = 0; i < blocks; i += 1) {
      advanceBlock(this.world);
      for (const module of this.world.modules) module.applyFaults(this.world, this.faults);
      await this.net.landDeferred();
    }
  }

  /** The invariants now; `final` once the run is over (every obligation must have ended). */
  async invariants(final: boolean): Promise<InvariantResult[]> {
    if (this.current === null) throw new Error('no host opened yet');
    return checkInvariants(this.world, {
      finals: await finalMachines(this.current.store),
      live: new Set(this.current.host.machines().map((m) => m.id)),
      recovery: this.current.recoveryLog.entries(),
      marginBlocks: this.world.state.plan.marginBlocks,
      final,
    });
  }
}
