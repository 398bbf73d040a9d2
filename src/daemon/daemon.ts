/**
 * `settle daemon`: the host against the configured chains, for as long as the machine runs.
 *
 * Start: validate the whole configuration and every key (all problems at once, nothing
 * started), take the store's lock, open the store (created only with --init, and only after
 * checking the contract holds no swap of ours that a lost store could have sent for), connect
 * (retrying with backoff while an endpoint is down), restore every machine.
 * Run: a tick per poll interval; while an endpoint is unreachable the wait doubles up to
 * maxBackoffMs and drops back once it answers.
 * Stop: on SIGTERM or SIGINT, stop polling, let the tick in progress bring its effects to a
 * durable state, close everything, exit 0. A second signal exits at once: still safe, every
 * step is on disk before its effect.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { knownMachineVersions } from '../../machines/index.ts';
import { EndpointUnreachable } from '../chains/substrate/substrateChain.ts';
import { isFatalToHost, openHost } from '../host/host.ts';
import type { Logger } from '../host/ports.ts';
import { openLowdbSnapshotStore } from '../store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../store/recoveryLog.ts';
import { readResolutions } from '../store/recoveryResolutions.ts';
import { StoreError } from '../store/storeError.ts';
import { buildChainPorts, loadKeys, type ChainPorts } from './chainPorts.ts';
import { loadConfig, type DaemonConfig } from './config.ts';
import { metricsInterceptor } from './daemonHost.ts';
import { acquireLock } from './lockFile.ts';
import { DaemonMetrics } from './metrics.ts';
import { startStatusServer } from './statusServer.ts';

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

export function dataPaths(dataDir: string) {
  return {
    store: join(dataDir, 'store'),
    recoveryLog: join(dataDir, 'recovery.jsonl'),
    resolutions: join(dataDir, 'recovery-resolutions.jsonl'),
    lock: join(dataDir, 'daemon.lock'),
  };
}

export async function runDaemon(options: DaemonOptions, io: DaemonIo): Promise<number> {
  const config = loadConfig(options.config);
  const keys = await loadKeys(config, options.config);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const paths = dataPaths(config.dataDir);
  const log: Logger & pino.Logger = pino({ level: config.log.level, base: { pid: process.pid } }, pino.destination({ dest: 1, sync: true }));

  const stopper = new Stopper(log);
  const lock = acquireLock(paths.lock);
  let ports: ChainPorts | null = null;
  let closeHttp: (() => Promise<void>) | null = null;
  try {
    if (lock.tookOverFrom !== null) log.warn({ lock: paths.lock, previousPid: lock.tookOverFrom }, 'took over the lock of a daemon that died without releasing it');
    const storeExists = existsSync(join(paths.store, 'store.json'));
    if (options.init && storeExists) throw new StoreError(paths.store, 'already exists; --init creates a new store only: drop --init');
    if (!options.init && !storeExists) {
      // Opening without create gives the store's own message: never start empty by accident.
      await openLowdbSnapshotStore(paths.store, { create: false, knownMachines: knownMachineVersions });
    }
    const metrics = new DaemonMetrics();
    ports = await connectWithBackoff(config, () => buildChainPorts(config, keys, log, metrics, () => stopper.requested), log, stopper);
    if (ports === null) return 0; // stopped while waiting for the endpoints
    if (options.init) await reconcileBeforeInit(ports, options.adoptAssigned, log);

    const store = await openLowdbSnapshotStore(paths.store, { create: options.init, knownMachines: knownMachineVersions });
    if (store.tornTail !== null) log.warn({ file: store.tornTail.file, bytes: store.tornTail.bytes }, 'store log ended in a torn line (a write killed before it was acknowledged); cut off');
    const { log: recoveryLog, tornTailSavedTo } = await openRecoveryLog(paths.recoveryLog);
    if (tornTailSavedTo !== null) log.warn({ savedTo: tornTailSavedTo }, 'recovery log ended in a torn line (a crash mid-append); kept aside, the entry is written again');
    const host = await openHost({
      store,
      recoveryLog,
      swapContract: ports.swapContract,
      senders: ports.senders,
      escrows: ports.escrows,
      clock: ports.clock,
      jobSource: ports.jobSource,
      log,
      ...(config.swaps === undefined ? {} : { marginBlocks: config.swaps.marginBlocks }),
      ...(config.jobs === undefined ? {} : { claimSchedule: { intervalSec: config.jobs.claimIntervalSec, firstRunDelaySec: config.jobs.firstRunDelaySec } }),
      interceptors: [metricsInterceptor(metrics)],
    });
    for (const sender of ports.txSenders) {
      sender.resume().catch((error: unknown) => log.warn({ err: String((error as Error).message ?? error) }, 'resuming journaled transactions failed; the batch claimer reconciles'));
    }

    let lastTickAt: string | null = null;
    let lastTickMs = 0;
    let degraded = false;
    let openRecoveryEntries = 0;
    const base = Math.min(config.swaps?.pollIntervalMs ?? Infinity, config.jobs?.pollIntervalMs ?? Infinity);
    // A tick that has not ended for this long is stuck (a node that stopped answering).
    const staleAfterMs = Math.max(10 * base, config.maxBackoffMs * 2, 120_000);
    const healthStatus = (): 'ok' | 'degraded' | 'starting' => {
      if (lastTickAt === null) return 'starting';
      return degraded || Date.now() - lastTickMs > staleAfterMs ? 'degraded' : 'ok';
    };
    if (config.http !== undefined) {
      const status = await startStatusServer(
        config.http.port,
        {
          health: () => ({ status: healthStatus(), lastTickAt, live: host.liveCount, openRecoveryEntries }),
          machines: () => host.machines(),
        },
        metrics,
      );
      closeHttp = status.close;
      log.info({ url: `http://127.0.0.1:${status.port}` }, 'status endpoint: /health /machines /metrics');
    }
    log.info({ live: host.liveCount, swaps: config.swaps !== undefined, jobs: config.jobs !== undefined }, 'daemon started');

    let wait = base;
    while (!stopper.requested) {
      try {
        const summary = await host.tick();
        // An obligation whose chains did not answer; one not configured reports 'off'.
        degraded = Object.values(summary.observed).some((observed) => observed.status === 'unreachable');
        metrics.ticks.inc({ outcome: degraded ? 'degraded' : 'ok' });
      } catch (error) {
        if (isFatalToHost(error)) throw error;
        degraded = true;
        metrics.ticks.inc({ outcome: 'error' });
        log.error({ err: String((error as Error).message ?? error) }, 'tick failed; trying again after a pause');
      }
      lastTickMs = Date.now();
      lastTickAt = new Date(lastTickMs).toISOString();
      metrics.lastTick.set(Date.now() / 1000);
      for (const kind of ['swap', 'job']) metrics.liveMachines.set({ kind }, host.machines().filter((m) => m.kind === kind).length);
      openRecoveryEntries = await countOpen(recoveryLog.entries().map((e) => e.key), paths.resolutions, log);
      metrics.recoveryEntries.set(openRecoveryEntries);
      wait = degraded ? Math.min(config.maxBackoffMs, Math.max(wait * 2, base)) : base;
      if (degraded) log.warn({ nextTickInMs: wait }, 'an endpoint is unreachable; backing off');
      await stopper.sleep(wait);
    }
    log.info({ live: host.liveCount }, 'stopped: every effect in progress reached a durable state');
    return 0;
  } finally {
    await closeHttp?.();
    await ports?.close();
    stopper.dispose();
    lock.release();
    log.flush?.();
  }
}

/** Connects, trying again with backoff while an endpoint is down; null if stopped meanwhile. */
async function connectWithBackoff(config: DaemonConfig, connect: () => Promise<ChainPorts>, log: Logger, stopper: Stopper): Promise<ChainPorts | null> {
  let wait = 1_000;
  for (;;) {
    try {
      return await connect();
    } catch (error) {
      if (!(error instanceof EndpointUnreachable)) throw error;
      log.warn({ err: error.message, retryInMs: wait }, 'endpoint unreachable at start; trying again');
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
    throw new StoreError(
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
    log.error({ err: String((error as Error).message ?? error) }, 'recovery resolutions unreadable; counting every entry as open');
    return keys.length;
  }
}

/** SIGTERM/SIGINT: the first asks for a stop after the tick; the second exits at once. */
class Stopper {
  requested = false;
  private wake: (() => void) | null = null;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.requested) {
      this.log.warn({ signal }, 'second signal: exiting now (safe: every step is on disk before its effect)');
      process.exit(130);
    }
    this.requested = true;
    this.log.info({ signal }, 'stopping: finishing the tick in progress (signal again to exit at once)');
    this.wake?.();
  };

  constructor(private readonly log: Logger) {
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
  }

  async sleep(ms: number): Promise<void> {
    if (this.requested) return;
    const controller = new AbortController();
    this.wake = () => controller.abort();
    await sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined);
    this.wake = null;
  }

  dispose(): void {
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
  }
}
