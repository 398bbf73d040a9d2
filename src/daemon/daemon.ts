/**
 * `settle daemon`: the host against the configured chains, for as long as the machine runs.
 *
 * Start: validate the whole configuration, every key and every path (all problems at once,
 * nothing started; dataDir is created if absent, its last component only), take the store's
 * lock, open the store (created only with --init, and only after checking the contract holds
 * no swap of ours that a lost store could have sent for), connect (retrying with backoff
 * while an endpoint is down), restore every machine.
 * Run: a tick per poll interval; while an endpoint is unreachable the wait doubles up to
 * maxBackoffMs and drops back once it answers.
 * Stop: on SIGTERM or SIGINT, stop polling, let the tick in progress bring its effects to a
 * durable state, close everything, exit 0. A second signal exits at once: still safe, every
 * step is on disk before its effect.
 *
 * Size (over 300 lines): the start sequence, in order, each step a short function; the order is
 * the point (paths, lock, store, chains, host, then ticks) and reads best in one file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { JOB_KIND, knownMachineVersions, SWAP_KIND } from '../../machines/index.ts';
import { EndpointUnreachable } from '../chains/substrate/substrateChain.ts';
import { type Host, isFatalToHost, openHost } from '../host/host.ts';
import type { Logger } from '../host/ports.ts';
import { errorField, StoreExists, StoreInitRefused } from '../errors.ts';
import { openLowdbSnapshotStore, type LowdbSnapshotStore } from '../store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type JsonlRecoveryLog } from '../store/recoveryLog.ts';
import { readResolutions } from '../store/recoveryResolutions.ts';
import { prepareDirectory, requireReadableFile } from '../usablePaths.ts';
import {
  compactWitness,
  openWitness,
  recordBaselines,
  startWitness,
  type OpenedWitness,
} from '../witness/openWitness.ts';
import { buildChainPorts, loadKeys, WitnessLink, type ChainPorts, type Keys } from './chainPorts.ts';
import { checkConfiguredPaths, loadConfig, type DaemonConfig } from './config.ts';
import { dataPaths, type DataPaths } from './dataPaths.ts';
import { metricsInterceptor } from './daemonHost.ts';
import { acquireLock } from './lockFile.ts';
import { DaemonMetrics } from './metrics.ts';
import { startStatusServer } from './statusServer.ts';
import { Stopper } from './stopper.ts';

export interface DaemonOptions {
  readonly config: string;
  /** Create the store (it must not exist yet). */
  readonly init: boolean;
  /** With --init: take swaps already assigned to us as never sent for. */
  readonly adoptAssigned: boolean;
}

export interface DaemonIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

type DaemonLogger = Logger & pino.Logger;

/** What every step of a running daemon reads. */
interface Daemon {
  readonly config: DaemonConfig;
  readonly paths: DataPaths;
  readonly log: DaemonLogger;
  readonly stopper: Stopper;
  readonly metrics: DaemonMetrics;
}

/** What was opened, closed in reverse order however the run ends. */
type Closers = Array<() => Promise<void>>;

export async function runDaemon(options: DaemonOptions, _io: DaemonIo): Promise<number> {
  const { config, keys, paths } = await prepare(options);
  const log: DaemonLogger = pino(
    { level: config.log.level, base: { pid: process.pid } },
    pino.destination({ dest: 1, sync: true }),
  );
  const daemon: Daemon = { config, paths, log, stopper: new Stopper(log), metrics: new DaemonMetrics() };
  const lock = acquireLock(paths.lock);
  const closers: Closers = [];
  try {
    if (lock.tookOverFrom !== null)
      log.warn(
        { lock: paths.lock, previousPid: lock.tookOverFrom },
        'took over the lock of a daemon that died without releasing it',
      );
    return await runLocked(daemon, options, keys, closers);
  } finally {
    for (const close of closers.reverse()) await close();
    daemon.stopper.dispose();
    lock.release();
    log.flush?.();
  }
}

/** The configuration, every key and path checked (all problems at once), dataDir made. */
async function prepare(options: DaemonOptions): Promise<{ config: DaemonConfig; keys: Keys; paths: DataPaths }> {
  const file = requireReadableFile(options.config, '--config');
  const config = loadConfig(file);
  checkConfiguredPaths(config, file);
  const keys = await loadKeys(config, file);
  prepareDirectory(config.dataDir, `dataDir of ${file}`, 0o700);
  return { config, keys, paths: dataPaths(config.dataDir) };
}

/** With the lock held: connect, open the store, restore the host, tick until asked to stop. */
async function runLocked(daemon: Daemon, options: DaemonOptions, keys: Keys, closers: Closers): Promise<number> {
  const { config, log, metrics, stopper } = daemon;
  await checkStoreFor(options.init, daemon.paths);
  const link = new WitnessLink();
  const ports = await connectWithBackoff(
    config,
    () => buildChainPorts(config, keys, log, metrics, () => stopper.requested, link),
    log,
    stopper,
  );
  if (ports === null) return 0; // stopped while waiting for the endpoints
  closers.push(() => ports.close());
  if (options.init) await reconcileBeforeInit(ports, options.adoptAssigned, log);
  const durable = await openDurable(daemon.paths, options.init, log);
  const witness = await openWitnessFor(daemon, durable, ports);
  link.gate = witness.gate;
  const begins = durable.store.createdNow || durable.store.historyBegins;
  if (
    begins &&
    !(await recordBaselines(
      witness,
      log,
      config.maxBackoffMs,
      () => stopper.requested,
      (ms) => stopper.sleep(ms),
    ))
  )
    return 0;
  const host = await buildHost(daemon, durable, ports, witness);
  // After the restore: the wrapped senders know which transfers the store holds.
  await startWitness(witness, log);
  await compactWitness(witness, durable.store, log);
  resumeJournals(ports, log);
  const health = new Health(config, witness);
  await startHttp(daemon, host, health, closers);
  log.info(
    { live: host.liveCount, swaps: config.swaps !== undefined, jobs: config.jobs !== undefined },
    'daemon started',
  );
  await tickUntilStopped(daemon, host, health, durable.recoveryLog);
  log.info({ live: host.liveCount }, 'stopped: every effect in progress reached a durable state');
  return 0;
}

/** --init only where no store is; without it, a missing store refuses (never start empty by accident). */
async function checkStoreFor(init: boolean, paths: DataPaths): Promise<void> {
  const storeExists = existsSync(join(paths.store, 'store.json'));
  if (init && storeExists)
    throw new StoreExists(paths.store, 'already exists; --init creates a new store only: drop --init');
  if (!init && !storeExists) {
    // Opening without create gives the store's own message.
    await openLowdbSnapshotStore(paths.store, { create: false, knownMachines: knownMachineVersions });
  }
}

interface Durable {
  readonly store: LowdbSnapshotStore;
  readonly recoveryLog: JsonlRecoveryLog;
}

/** The store and the recovery log, saying what a crash left torn in them. */
async function openDurable(paths: DataPaths, init: boolean, log: Logger): Promise<Durable> {
  const store = await openLowdbSnapshotStore(paths.store, { create: init, knownMachines: knownMachineVersions });
  if (store.tornTail !== null)
    log.warn(
      { file: store.tornTail.file, bytes: store.tornTail.bytes },
      'store log ended in a torn line (a write killed before it was acknowledged); cut off',
    );
  const { log: recoveryLog, tornTailSavedTo } = await openRecoveryLog(paths.recoveryLog);
  if (tornTailSavedTo !== null)
    log.warn(
      { savedTo: tornTailSavedTo },
      'recovery log ended in a torn line (a crash mid-append); kept aside, the entry is written again',
    );
  return { store, recoveryLog };
}

/**
 * The witness over the store as opened: every transfer sender wrapped, so that a store behind
 * the chains (a backup put back, a copy running elsewhere) signs nothing (README, "Restoring a
 * backup"). A new store, or one given its history now, takes what the chains show as known.
 */
async function openWitnessFor(
  { config, log }: Daemon,
  { store, recoveryLog }: Durable,
  ports: ChainPorts,
): Promise<OpenedWitness> {
  if (store.historyBegins)
    log.warn(
      { store: store.dir },
      'the store is given its history now (an earlier release wrote it): what each chain shows now is taken as what it knows',
    );
  return openWitness({
    dataDir: config.dataDir,
    store,
    opened: store.openedHistory,
    senders: ports.senders,
    log,
    recoveryLog,
  });
}

/** The host, restored from the store: every machine it holds is live again. */
async function buildHost(
  { config, log, metrics }: Daemon,
  { store, recoveryLog }: Durable,
  ports: ChainPorts,
  witness: OpenedWitness,
): Promise<Host> {
  return openHost({
    store,
    recoveryLog,
    swapContract: ports.swapContract,
    senders: witness.senders,
    sources: ports.sources,
    escrows: ports.escrows,
    clock: ports.clock,
    jobSource: ports.jobSource,
    log,
    ...(config.swaps === undefined
      ? {}
      : { cushion: config.swaps.contract === 'ink' ? config.swaps.marginBlocks : config.swaps.cushionSecs }),
    ...(config.jobs === undefined
      ? {}
      : {
          claimSchedule: { intervalSec: config.jobs.claimIntervalSec, firstRunDelaySec: config.jobs.firstRunDelaySec },
        }),
    interceptors: [metricsInterceptor(metrics)],
  });
}

/** Transactions a previous life journaled are followed again, in the background. */
function resumeJournals(ports: ChainPorts, log: Logger): void {
  for (const sender of ports.txSenders) {
    sender
      .resume()
      .catch((error: unknown) =>
        log.warn({ err: errorField(error) }, 'resuming journaled transactions failed; the batch claimer reconciles'),
      );
  }
}

/**
 * What /health says: starting until the first tick, degraded while an endpoint is away, ticks
 * stop, or the witness holds an account's signatures.
 */
class Health {
  lastTickAt: string | null = null;
  lastTickMs = 0;
  degraded = false;
  openRecoveryEntries = 0;
  /** A tick that has not ended for this long is stuck (a node that stopped answering). */
  private readonly staleAfterMs: number;

  constructor(
    config: DaemonConfig,
    private readonly witness: OpenedWitness,
  ) {
    this.staleAfterMs = Math.max(10 * pollIntervalMs(config), config.maxBackoffMs * 2, 120_000);
  }

  status(): 'ok' | 'degraded' | 'starting' {
    if (this.lastTickAt === null) return 'starting';
    return this.degraded || this.signingHeld().length > 0 || Date.now() - this.lastTickMs > this.staleAfterMs
      ? 'degraded'
      : 'ok';
  }

  signingHeld(): Array<{ chain: string; account: string; chainShows: string | null; unknown: number }> {
    return this.witness.gate
      .held()
      .map((v) => ({ chain: v.chain, account: v.account, chainShows: v.shows, unknown: v.unknown.length + v.more }));
  }

  ticked(degraded: boolean): void {
    this.degraded = degraded;
    this.lastTickMs = Date.now();
    this.lastTickAt = new Date(this.lastTickMs).toISOString();
  }
}

/** The shorter of the configured poll intervals: the wait between ticks when all is well. */
function pollIntervalMs(config: DaemonConfig): number {
  return Math.min(config.swaps?.pollIntervalMs ?? Infinity, config.jobs?.pollIntervalMs ?? Infinity);
}

/** /health, /machines, /metrics on 127.0.0.1, if a port is configured. */
async function startHttp(
  { config, log, metrics }: Daemon,
  host: Host,
  health: Health,
  closers: Closers,
): Promise<void> {
  if (config.http === undefined) return;
  const status = await startStatusServer(
    config.http.port,
    {
      health: () => ({
        status: health.status(),
        lastTickAt: health.lastTickAt,
        live: host.liveCount,
        openRecoveryEntries: health.openRecoveryEntries,
        signingHeld: health.signingHeld(),
      }),
      machines: () => host.machines(),
    },
    metrics,
  );
  closers.push(status.close);
  log.info({ url: `http://127.0.0.1:${status.port}` }, 'status endpoint: /health /machines /metrics');
}

/** A tick per poll interval; while an endpoint is unreachable the wait doubles up to maxBackoffMs. */
async function tickUntilStopped(
  daemon: Daemon,
  host: Host,
  health: Health,
  recoveryLog: JsonlRecoveryLog,
): Promise<void> {
  const { config, log, stopper } = daemon;
  const base = pollIntervalMs(config);
  let wait = base;
  while (!stopper.requested) {
    const degraded = await tickOnce(daemon, host);
    health.ticked(degraded);
    await recordTick(daemon, host, health, recoveryLog);
    wait = degraded ? Math.min(config.maxBackoffMs, Math.max(wait * 2, base)) : base;
    if (degraded) log.warn({ nextTickInMs: wait }, 'an endpoint is unreachable; backing off');
    await stopper.sleep(wait);
  }
}

/** One tick; whether it was degraded (an endpoint did not answer, or the tick failed). */
async function tickOnce({ log, metrics }: Daemon, host: Host): Promise<boolean> {
  try {
    const summary = await host.tick();
    // An obligation whose chains did not answer; one not configured reports 'off'.
    const degraded = Object.values(summary.observed).some((observed) => observed.status === 'unreachable');
    metrics.ticks.inc({ outcome: degraded ? 'degraded' : 'ok' });
    return degraded;
  } catch (error) {
    if (isFatalToHost(error)) throw error;
    metrics.ticks.inc({ outcome: 'error' });
    log.error({ err: errorField(error) }, 'tick failed; trying again after a pause');
    return true;
  }
}

/** The metrics and the health figures after a tick. */
async function recordTick(
  { paths, log, metrics }: Daemon,
  host: Host,
  health: Health,
  recoveryLog: JsonlRecoveryLog,
): Promise<void> {
  metrics.lastTick.set(Date.now() / 1000);
  for (const kind of [SWAP_KIND, JOB_KIND])
    metrics.liveMachines.set({ kind }, host.machines().filter((m) => m.kind === kind).length);
  health.openRecoveryEntries = await countOpen(
    recoveryLog.entries().map((e) => e.key),
    paths.resolutions,
    log,
  );
  metrics.recoveryEntries.set(health.openRecoveryEntries);
}

/** Connects, trying again with backoff while an endpoint is down; null if stopped meanwhile. */
async function connectWithBackoff(
  config: DaemonConfig,
  connect: () => Promise<ChainPorts>,
  log: Logger,
  stopper: Stopper,
): Promise<ChainPorts | null> {
  let wait = 1_000;
  for (;;) {
    try {
      return await connect();
    } catch (error) {
      if (!(error instanceof EndpointUnreachable)) throw error;
      log.warn({ err: errorField(error), retryInMs: wait }, 'endpoint unreachable at start; trying again');
    }
    await stopper.sleep(wait);
    if (stopper.requested) return null;
    wait = Math.min(config.maxBackoffMs, wait * 2);
  }
}

/**
 * A new store knows of no transfer. If the contract already holds swaps assigned to us, a
 * previous store (lost?) may have sent for them: refuse unless the operator says otherwise.
 */
async function reconcileBeforeInit(ports: ChainPorts, adoptAssigned: boolean, log: Logger): Promise<void> {
  if (ports.swapContract === null) return;
  const assigned = await ports.swapContract.listAssigned();
  if (assigned.length === 0) return;
  const ids = assigned.map((s) => `${s.terms.swapId} (${s.status})`).join(', ');
  if (!adoptAssigned) {
    throw new StoreInitRefused(
      'swaps',
      `the contract already holds swaps assigned to this miner: ${ids}. A new store cannot know whether funds were sent for them. ` +
        'Check the destination chains; then start with --init once none is left, or add --adopt-assigned to take the Active ones as never sent',
    );
  }
  log.warn({ swaps: ids }, '--adopt-assigned: swaps already assigned are taken as never sent');
}

async function countOpen(keys: readonly string[], resolutionsPath: string, log: Logger): Promise<number> {
  try {
    const resolved = await readResolutions(resolutionsPath);
    return keys.filter((k) => !resolved.has(k)).length;
  } catch (error) {
    log.error({ err: errorField(error) }, 'recovery resolutions unreadable; counting every entry as open');
    return keys.length;
  }
}
