/**
 * Durability figures, measured in one run on the same disk:
 * - the disk's own limits: append + fsync, and temp file + fsync + rename + directory fsync;
 * - the real store's durable transitions per second, one per commit, and with many machines
 *   writing at once (their writes share commits: group commit);
 * - the cost of one persisted transition with 10 ... 100,000 live machines;
 * - the time and heap to restore that many machines, next to XState holding them alone.
 *
 * Size (over 300 lines): one benchmark's rounds, their interleaving and its tables; the rows
 * share the rotation that makes them comparable in one run.
 */
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor } from 'xstate';
import {
  knownMachineVersions,
  SWAP_MACHINE_NAME,
  SWAP_MACHINE_VERSION,
  swapFulfillment,
  type SwapTerms,
} from '../machines/index.ts';
import { openHost } from '../src/host/host.ts';
import { MachineStepper } from '../src/engine/machineStepper.ts';
import { encodeEnvelope } from '../src/store/checksummedJsonFile.ts';
import { writeFileDurably } from '../src/store/durableFile.ts';
import { encodeLogLine } from '../src/store/logLine.ts';
import { freshManifest, openLowdbSnapshotStore, RECORD_FORMAT, STORE_FORMAT } from '../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../src/store/recoveryLog.ts';
import { segmentFileName } from '../src/store/segmentLog.ts';
import type { MachineRecord } from '../src/store/snapshotStore.ts';
import { swapMachineId } from '../machines/index.ts';

const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A realistic persisted snapshot: a swap in Sending with its signed transfer. */
function snapshotOf(i: number): unknown {
  const terms: SwapTerms = {
    contract: 'ink',
    swapId: String(i),
    miner: '5mmPn9SDDhqfY4HZzrTeJME5qMQ4TgAnmmmPn9SDDhqfY4HZ',
    sourceChain: 'btc',
    destChain: 'eth',
    sourceAmount: '1234567',
    destAmount: '2500000000000000000',
    collateralAmount: '25000000000',
    hub: 'tao',
    userDestAddress: `0x${'12'.repeat(20)}`,
    senderPin: '',
    sourceTxHash: `btc-${i}`,
    initiatedAt: 100,
    timeoutAt: 100_000,
    maxExtendAt: null,
  };
  const actor = createActor(swapFulfillment, { input: { terms, now: 101 } }).start();
  actor.send({ type: 'CLOCK', now: 101 });
  actor.send({ type: 'TRANSFER_SIGNED', raw: `0x${'ab'.repeat(110)}`, hash: `0x${'cd'.repeat(32)}` });
  return JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
}

async function scratch(): Promise<string> {
  return mkdtemp(join(process.env['SETTLE_BENCH_DIR'] ?? tmpdir(), 'settle-bench-'));
}

/** The middle value (the upper middle of an even count): a figure one stall cannot move. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/**
 * Calls `turn` for each of `count` contenders in every one of `rounds` rounds, the order
 * rotating by one each round: what a shared machine's speed does over time falls on all of
 * them alike, and none is always first after the slow one.
 */
async function takeTurns(rounds: number, count: number, turn: (i: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    for (let step = 0; step < count; step += 1) await turn((step + round) % count);
  }
}

function rate(count: number, started: number): number {
  return count / ((performance.now() - started) / 1000);
}

export interface DurableWrites {
  /** The disk's own limits: the durable primitives, one write per flush. */
  readonly appendFsync: number;
  /** The store's log appends and calls fdatasync (data and size, not timestamps): its limit. */
  readonly appendFdatasync: number;
  readonly tempRename: number;
  /** The real store over `machines` live machines, one transition per commit. */
  readonly storeOneByOne: number;
  /** The same store with every machine transitioning at once (their writes share commits). */
  readonly storeGrouped: number;
  readonly groupedPerCommit: number;
}

/**
 * Durable writes per second of the disk's primitives and of the real store, measured in
 * `rounds` rounds in which each takes its turn (in an order that rotates) with `perTurn`
 * writes: a shared machine's disk swings by several times over seconds, and each figure
 * measured in its own stretch of time compared one swing with another. Each rate is its
 * writes over the time of all its turns.
 */
export async function durableWrites(machines: number, rounds: number, perTurn: number): Promise<DurableWrites> {
  const dir = await scratch();
  const payload = encodeEnvelope(RECORD_FORMAT, { id: 'swap:1', seq: 1, snapshot: snapshotOf(1) });
  const fd = openSync(join(dir, 'log'), 'a');
  const seeded = await openSeeded(machines);
  try {
    let renamed = 0;
    const commitsBefore = seeded.commits;
    const grouped = perTurn * 20;
    /** Each kind's turn: its writes, and the seconds they took. */
    const timed = (write: () => Promise<void> | void) => async (): Promise<number> => {
      const started = performance.now();
      await write();
      return (performance.now() - started) / 1000;
    };
    const kinds: Array<{ count: number; turn: () => Promise<number> }> = [
      { count: perTurn, turn: timed(() => appendEach(fd, payload, perTurn, fsyncSync)) },
      { count: perTurn, turn: timed(() => appendEach(fd, payload, perTurn, fdatasyncSync)) },
      // A quarter as many: each is several flushes and a rename.
      {
        count: perTurn / 4,
        turn: timed(async () => {
          for (let i = 0; i < perTurn / 4; i += 1)
            await writeFileDurably(join(dir, `f${renamed++ % 64}.json`), payload);
        }),
      },
      // The store times its own writes (after collecting the garbage of the turns before).
      { count: perTurn, turn: async () => perTurn / (await seeded.time(perTurn, 1)) },
      { count: grouped, turn: async () => grouped / (await seeded.time(grouped, machines)) },
    ];
    const seconds = kinds.map(() => 0);
    await takeTurns(rounds, kinds.length, async (i) => {
      seconds[i] = seconds[i]! + (await kinds[i]!.turn());
    });
    const perSecond = kinds.map((kind, i) => (kind.count * rounds) / seconds[i]!);
    const groupCommits = seeded.commits - commitsBefore - perTurn * rounds;
    return {
      appendFsync: perSecond[0]!,
      appendFdatasync: perSecond[1]!,
      tempRename: perSecond[2]!,
      storeOneByOne: perSecond[3]!,
      storeGrouped: perSecond[4]!,
      groupedPerCommit: (grouped * rounds) / groupCommits,
    };
  } finally {
    closeSync(fd);
    await seeded.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function appendEach(fd: number, payload: string, count: number, flush: (fd: number) => void): void {
  for (let i = 0; i < count; i += 1) {
    writeSync(fd, payload);
    flush(fd);
  }
}

/** Writes `count` machine records straight into a store's log (setup: one fsync at the end). */
export async function seedStore(count: number): Promise<string> {
  const dir = join(await scratch(), 'store');
  mkdirSync(join(dir, 'log'), { recursive: true });
  mkdirSync(join(dir, 'archive'));
  writeFileSync(join(dir, 'store.json'), encodeEnvelope(STORE_FORMAT, freshManifest()));
  const snapshot = snapshotOf(1) as { context: { terms: SwapTerms } };
  const fd = openSync(join(dir, 'log', segmentFileName(1)), 'w');
  for (let i = 1; i <= count; i += 1) {
    const record: MachineRecord = {
      id: swapMachineId(String(i)),
      machine: { name: SWAP_MACHINE_NAME, version: SWAP_MACHINE_VERSION },
      seq: 1,
      snapshot: {
        ...snapshot,
        context: { ...snapshot.context, terms: { ...snapshot.context.terms, swapId: String(i) } },
      },
    };
    writeSync(fd, Buffer.concat([encodeLogLine(RECORD_FORMAT, record), Buffer.from('\n')]));
  }
  // Flushed now, so that the measured writes do not pay for flushing the seed's pages.
  fsyncSync(fd);
  closeSync(fd);
  return dir;
}

/** A real store over `machines` seeded machines, whose durable transitions can be timed. */
interface SeededStore {
  /** Transitions per second of `transitions` puts, `writers` machines at a time. */
  time(transitions: number, writers: number): Promise<number>;
  /** One durable transition, its own commit: milliseconds it took. */
  timeOne(): Promise<number>;
  readonly commits: number;
  close(): Promise<void>;
}

async function openSeeded(machines: number): Promise<SeededStore> {
  const dir = await seedStore(machines);
  const store = await openLowdbSnapshotStore(dir, { create: false, knownMachines: knownMachineVersions });
  const records = await store.loadLive();
  const seqs = new Map(records.map((r) => [r.id, r.seq]));
  let cursor = 0;
  const transition = (): Promise<void> => {
    const record = records[(cursor++ * 7919) % records.length]!;
    const seq = seqs.get(record.id)! + 1;
    seqs.set(record.id, seq);
    return store.put({ ...record, seq });
  };
  // The seed's parsing left garbage proportional to the machines: collected before timing,
  // or one major collection lands inside a few hundred writes and looks like their cost.
  const collect = (): void => (globalThis as { gc?: () => void }).gc?.();
  collect();
  return {
    async time(transitions, writers) {
      let claimed = 0;
      // Each writer waits for its write before the next, as the host does; with one writer
      // every transition is its own commit.
      const writer = async (): Promise<void> => {
        for (; claimed < transitions; ) {
          claimed += 1;
          await transition();
        }
      };
      collect();
      const started = performance.now();
      await Promise.all(Array.from({ length: Math.min(writers, records.length) }, writer));
      return rate(transitions, started);
    },
    async timeOne() {
      const started = performance.now();
      await transition();
      return performance.now() - started;
    },
    get commits() {
      return store.commits;
    },
    async close() {
      await store.close();
      await rm(join(dir, '..'), { recursive: true, force: true });
    },
  };
}

/**
 * The cost of one persisted transition (its own commit) over each number of live machines.
 * Every size's store is open at once and their writes interleave one by one, in an order that
 * rotates, each timed alone: a shared machine's disk swings between 0.2 and 1 ms per flush
 * over seconds, and sizes timed one after another (or in rounds of a few hundred writes) read
 * that swing as a cost of whichever size it fell on. The median and the mean of each size's
 * writes are reported; both see the same disk.
 */
export async function scaleCosts(
  sizes: readonly number[],
  transitionsEach: number,
): Promise<Array<{ size: number; medianMicros: number; meanMicros: number }>> {
  const stores: SeededStore[] = [];
  try {
    for (const size of sizes) stores.push(await openSeeded(size));
    const took: number[][] = sizes.map(() => []);
    await takeTurns(transitionsEach, sizes.length, async (i) => void took[i]!.push(await stores[i]!.timeOne()));
    return sizes.map((size, i) => ({
      size,
      medianMicros: 1_000 * median(took[i]!),
      meanMicros: (1_000 * took[i]!.reduce((a, b) => a + b, 0)) / took[i]!.length,
    }));
  } finally {
    for (const store of stores) await store.close();
  }
}

export interface RestoreFigures {
  /** The median of the restores' times, and each of them. */
  readonly hostMs: number;
  readonly hostMsEach: readonly number[];
  readonly hostBytesPerMachine: number;
  /** XState's own snapshot of each machine, restored from the same JSON (what the host holds). */
  readonly snapshotBytesPerMachine: number;
  /** A started XState actor per machine, for comparison (what a host of actors would hold). */
  readonly actorBytesPerMachine: number;
}

/** Heap per machine of `count` objects made by `make` from each parsed snapshot. */
function heapOf(count: number, make: (snapshot: unknown) => unknown, gc: () => void): number {
  const parsed = Array.from({ length: count }, (_, i) => snapshotOf(i + 1));
  gc();
  const before = process.memoryUsage().heapUsed;
  const made = parsed.map((snapshot) => make(JSON.parse(JSON.stringify(snapshot))));
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  if (made.length !== count) throw new Error('unreachable');
  return bytes;
}

/** Restores made per run: a shared machine stalls now and then for a second, and one stall is not a figure. */
const RESTORES = 3;

/** Time and heap to restore `count` machines with the host, next to XState holding them alone. */
export async function restore(count: number): Promise<RestoreFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)');
  const dir = await seedStore(count);
  try {
    // The host first, on a heap as fresh as a restarted daemon's; the comparisons after.
    const first = await restoreOnce(dir, count, gc);
    const times = [first.ms];
    for (let i = 1; i < RESTORES; i += 1) times.push((await restoreOnce(dir, count, gc)).ms);
    const stepper = new MachineStepper(swapFulfillment);
    const snapshotBytesPerMachine = heapOf(count, (s) => stepper.restore(s), gc);
    const actorBytesPerMachine = heapOf(
      count,
      (s) => createActor(swapFulfillment, { snapshot: s, input: undefined } as never).start(),
      gc,
    );
    return {
      hostMs: median(times),
      hostMsEach: times,
      hostBytesPerMachine: first.bytesPerMachine,
      snapshotBytesPerMachine,
      actorBytesPerMachine,
    };
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true });
  }
}

/** What a restarted daemon does: open the store and restore a host over it; its time and heap. */
async function restoreOnce(
  dir: string,
  count: number,
  gc: () => void,
): Promise<{ ms: number; bytesPerMachine: number }> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  const store = await openLowdbSnapshotStore(dir, { create: false, knownMachines: knownMachineVersions });
  const { log: recoveryLog } = await openRecoveryLog(join(dir, '..', 'recovery.jsonl'));
  const host = await openHost({
    store,
    recoveryLog,
    swapContract: null,
    senders: new Map(),
    escrows: new Map(),
    clock: null,
    jobSource: null,
    log: SILENT,
  });
  const ms = performance.now() - started;
  if (host.liveCount !== count) throw new Error(`restored ${host.liveCount} of ${count}`);
  gc();
  const bytesPerMachine = (process.memoryUsage().heapUsed - before) / count;
  if (host.liveCount !== count) throw new Error('unreachable'); // keeps the host alive through the measurement
  await store.close();
  return { ms, bytesPerMachine };
}
