/**
 * The simulated system: a world, the network and disk between it and the engine, and a way to
 * open the real engine (with interceptors a test may plant) over them, generation after
 * generation. It runs whatever obligations the world's modules bring (sim/simModule.ts). The
 * scenario runner, the property tests and the crash-point explorer all drive this one thing.
 *
 * The disk is one simulated data directory (the store, the witness journal, the operator's
 * decisions: sim/simWitness.ts). Between polls the operator reconciles what the witness holds
 * on, and the data directory's own faults happen (sim/dataDirFaults.ts): an older copy put
 * back (`rollback`), a second host started on a copy (`twin`).
 */
import type { InspectionEvent } from 'xstate';
import { SimulatedCrash, type CrashHook } from '../src/engine/crashpoints.ts';
import { Engine } from '../src/engine/engine.ts';
import type { EngineInterceptor } from '../src/engine/interceptors.ts';
import { isFatalToHost } from '../src/engine/live.ts';
import type { Logger } from '../src/host/ports.ts';
import { withoutStack, type FaultSource } from './faults.ts';
import { checkInvariants, type InvariantResult } from './invariants.ts';
import { DataDirFaults } from './dataDirFaults.ts';
import { type MemoryDisk, MemoryRecoveryLog, MemorySnapshotStore } from './memoryStore.ts';
import { SimNetwork } from './network.ts';
import type { SimConnection } from './simModule.ts';
import { finalMachines, type SimHost } from './simHost.ts';
import { lifeWitness, operatorReconciles, SimDataDir, startLifeWitness, type LifeWitness } from './simWitness.ts';
import { advanceBlock, type World } from './world.ts';

export const SILENT_LOG: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface SystemOptions {
  /** Composed around the engine: tests plant bugs through these. */
  readonly interceptors?: readonly EngineInterceptor[];
  readonly inspect?: (event: InspectionEvent) => void;
  readonly log?: Logger;
  readonly trace?: (line: string) => void;
  /** Copies of the data directory kept, one per poll, for `rollback` to put back (0: none). */
  readonly backups?: number;
}

/** One host on one data directory: the main one, or a second host on a copy. */
export interface HostOnDir extends SimHost {
  readonly life: LifeWitness;
}

export class SimulatedSystem {
  /** The data directory the host runs on; replaced when an older copy is put back. */
  dir = SimDataDir.created();
  readonly net: SimNetwork;
  private readonly dirFaults: DataDirFaults;
  private readonly connections: readonly SimConnection[];
  private tick = 0;
  /** The host of the current generation; replaced at each restart. */
  current: HostOnDir | null = null;

  constructor(
    readonly world: World,
    readonly faults: FaultSource,
    private readonly options: SystemOptions = {},
  ) {
    this.net = new SimNetwork(world, faults, () => this.disk.generation);
    this.connections = world.modules.map((module) => module.connect(world, this.net));
    this.dirFaults = new DataDirFaults(this, options.backups ?? 0, (line) => this.options.trace?.(line));
  }

  get disk(): MemoryDisk {
    return this.dir.disk;
  }

  /** A new host on the same disk: what a process restarted after a crash meets. */
  async openHost(generation: number): Promise<SimHost> {
    this.disk.generation = generation;
    if (generation > 0) this.options.trace?.(`restart ${generation}: a new host on the same store`);
    let reached = 0;
    const crashHook: CrashHook = (point, machineId) => {
      reached += 1;
      if (this.faults.decide('crash', `${point}:${machineId}:b${this.world.height}:g${generation}:${reached}`)) {
        throw withoutStack(() => new SimulatedCrash(point, machineId));
      }
    };
    this.current = await this.openHostOn(this.dir, this.options.log ?? SILENT_LOG, crashHook);
    this.dirFaults.opened();
    return this.current;
  }

  /** The real engine restored from `dir`, every transfer sender inside that life's witness. */
  async openHostOn(dir: SimDataDir, log: Logger, crashHook?: CrashHook): Promise<HostOnDir> {
    const known = Engine.knownMachines(this.connections.map((connection) => connection.obligation(log)));
    const store = new MemorySnapshotStore(dir.disk, known, this.faults);
    const recoveryLog = new MemoryRecoveryLog(dir.disk, this.faults);
    const life = lifeWitness(this.world, dir, store, log, recoveryLog);
    const obligations = this.connections.map((connection) =>
      connection.obligation(log, { wrapSender: (sender) => life.wrapSender(sender) }),
    );
    const host = await Engine.restore({
      store,
      recoveryLog,
      log,
      obligations,
      ...(crashHook === undefined ? {} : { crashHook }),
      ...(this.options.inspect === undefined ? {} : { inspect: this.options.inspect }),
      ...(this.options.interceptors === undefined ? {} : { interceptors: this.options.interceptors }),
    });
    await startLifeWitness(this.world, dir, life);
    return { host, store, recoveryLog, life };
  }

  /** Machines an older directory put back forgot, and whether a second host ran (sim/dataDirFaults.ts). */
  get dataDirHistory(): { readonly forgotten: ReadonlySet<string>; readonly twinRan: boolean } {
    return { forgotten: this.dirFaults.forgottenSoFar(), twinRan: this.dirFaults.twinStarted };
  }

  /** Whether the data directory's faults ended the current host's life since last asked (the runner restarts it). */
  takeRestart(): boolean {
    return this.dirFaults.takeRestart();
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

  /**
   * Time between two polls: usually one block; none (slow blocks) or several (missed polls).
   * First, between the polls: the operator reconciles what the witness holds on, a second
   * host (if one runs) polls, and the data directory's faults happen.
   */
  async advance(): Promise<void> {
    await this.betweenPolls();
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

  /** Between two polls, before time moves: the operator, a second host's poll, the data directory's faults. */
  async betweenPolls(): Promise<void> {
    this.tick += 1;
    await this.reconcile();
    await this.dirFaults.betweenPolls(this.tick);
  }

  /** The kept copies of the data directory, for the crash-point explorer's fingerprint. */
  backupsImage(): string {
    return this.dirFaults.image();
  }

  /** The operator's turn: every unknown transaction the current host's witness holds on is decided. */
  async reconcile(): Promise<void> {
    const current = this.current;
    if (current === null) return;
    const decided = await operatorReconciles(this.world, this.dir, current.life, current.store);
    if (decided > 0) this.options.trace?.(`operator: ${decided} unknown transaction(s) adopted or dismissed`);
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
      forgotten: this.dirFaults.forgottenSoFar(),
    });
  }
}
