import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobMachineId, knownMachineVersions, swapMachineId } from '../../machines/index.ts';
import { addJob, addSwap, advanceBlock } from '../../sim/advance.ts';
import { SimCompute } from '../../sim/chains/simCompute.ts';
import { SimEscrow } from '../../sim/chains/simEscrow.ts';
import { SimSwapContract } from '../../sim/chains/simSwapContract.ts';
import { SimTransferSender } from '../../sim/chains/simTransferSender.ts';
import { World } from '../../sim/world.ts';
import { ClaimSchedule } from '../../src/host/claimSchedule.ts';
import { isFatalToHost, openHost, StoreWriteFailed, type Host } from '../../src/host/host.ts';
import type { Escrow, MarkRequest, SwapContract, TransferRequest, TransferSender } from '../../src/host/ports.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryEntry, type RecoveryLog } from '../../src/store/recoveryLog.ts';
import type { MachineRecord, SnapshotStore } from '../../src/store/snapshotStore.ts';
import { silentLog, smallWorld, tempDir } from '../support/simFixture.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';

type Journal = Array<
  | { kind: 'put'; id: string; state: string; context: Record<string, unknown> }
  | { kind: 'effect'; name: string; id: string; detail?: string }
>;

interface Harness {
  host: Host;
  journal: Journal;
  world: World;
  contract: SimSwapContract & { failList: boolean; markError: string | null };
  recovery: RecoveryLog;
}

/** A host over the world whose store and ports write every call to one journal, in order. */
async function harness(
  world: World,
  dir = tempDir('settle-host-'),
  archiveFails: Error | null = null,
): Promise<Harness> {
  const journal: Journal = [];
  const store = await openLowdbSnapshotStore(join(dir, 'store'), { create: true, knownMachines: knownMachineVersions });
  const journaledStore: SnapshotStore = {
    loadLive: () => store.loadLive(),
    placeOf: (id) => store.placeOf(id),
    archive: (id) => (archiveFails === null ? store.archive(id) : Promise.reject(archiveFails)),
    readArchived: (id) => store.readArchived(id),
    put: (record: MachineRecord) => journaledStore.putMany([record]),
    putMany: async (records: readonly MachineRecord[]) => {
      await store.putMany(records);
      for (const record of records) {
        const snapshot = record.snapshot as { value: string; context: Record<string, unknown> };
        journal.push({ kind: 'put', id: record.id, state: snapshot.value, context: snapshot.context });
      }
    },
  };
  const { log } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  const recovery: RecoveryLog = {
    entries: () => log.entries(),
    record: async (entry: RecoveryEntry) => {
      journal.push({ kind: 'effect', name: 'record', id: entry.key });
      return log.record(entry);
    },
  };
  const base = new SimSwapContract(world);
  const contract = Object.assign(Object.create(base) as SimSwapContract, {
    failList: false,
    markError: null as string | null,
  });
  contract.listAssigned = async () => {
    if (contract.failList) throw new Error('connection reset');
    return base.listAssigned();
  };
  contract.markFulfilled = async (request: MarkRequest) => {
    journal.push({ kind: 'effect', name: 'markFulfilled', id: swapMachineId(request.swapId) });
    return contract.markError === null ? base.markFulfilled(request) : { ok: false, error: contract.markError };
  };
  const senders = new Map<string, TransferSender>();
  for (const chain of Object.keys(world.state.ledgers)) {
    const sender = new SimTransferSender(world, chain);
    senders.set(chain, {
      chain,
      addressProblem: (address) => sender.addressProblem(address),
      controls: (address) => sender.controls(address),
      lookup: (transfer) => sender.lookup(transfer),
      adopt: (transfer) =>
        void journal.push({
          kind: 'effect',
          name: 'adopt',
          id: swapMachineId((JSON.parse(transfer.raw) as { swapId: string }).swapId),
        }),
      sign: async (request: TransferRequest) => {
        journal.push({ kind: 'effect', name: 'sign', id: swapMachineId(request.swapId) });
        return sender.sign(request);
      },
      broadcast: async (raw: string) => {
        journal.push({
          kind: 'effect',
          name: 'broadcast',
          id: swapMachineId((JSON.parse(raw) as { swapId: string }).swapId),
          detail: raw,
        });
        return sender.broadcast(raw);
      },
    });
  }
  const simEscrow = new SimEscrow(world);
  const jobId = jobMachineId;
  const escrow: Escrow = {
    chain: simEscrow.chain,
    readSettlements: (jobs) => simEscrow.readSettlements(jobs),
    checkClaims: (entries) => simEscrow.checkClaims(entries),
    claimLocks: async (entries) => {
      for (const entry of entries)
        journal.push({ kind: 'effect', name: 'claim', id: jobId(entry.terms), detail: entry.amount.toString() });
      return simEscrow.claimLocks(entries);
    },
    cancelExpiredLocks: async (jobs) => {
      for (const terms of jobs) journal.push({ kind: 'effect', name: 'cancel', id: jobId(terms) });
      return simEscrow.cancelExpiredLocks(jobs);
    },
  };
  const compute = new SimCompute(world);
  const host = await openHost({
    store: journaledStore,
    recoveryLog: recovery,
    swapContract: contract as SwapContract,
    senders,
    escrows: new Map([[escrow.chain, escrow]]),
    clock: compute,
    jobSource: compute,
    log: silentLog,
    cushion: 3,
    claimSchedule: { intervalSec: 120, firstRunDelaySec: 24 },
  });
  return { host, journal, world, contract, recovery };
}

async function runBlocks(h: Harness, blocks: number): Promise<void> {
  for (let i = 0; i < blocks; i += 1) {
    await h.host.tick();
    advanceBlock(h.world);
  }
}

const stateOf = (h: Harness, id: string) => h.host.machines().find((m) => m.id === id)?.state;

describe('host: durable before effect', () => {
  it('starts every effect only after the snapshot that asks for it is on disk', async () => {
    const h = await harness(smallWorld(7));
    await runBlocks(h, 40);
    expect(h.host.liveCount).toBe(0);
    const lastPut = new Map<string, Extract<Journal[number], { kind: 'put' }>>();
    const effects: string[] = [];
    const requiredState: Record<string, string[]> = {
      sign: ['Sending'],
      broadcast: ['Sending'],
      markFulfilled: ['Marking'],
      claim: ['Claiming'],
      cancel: ['Cancelling'],
      record: ['Recovery', 'Cancelled'],
    };
    for (const entry of h.journal) {
      if (entry.kind === 'put') {
        lastPut.set(entry.id, entry);
        continue;
      }
      effects.push(entry.name);
      const put = lastPut.get(entry.id);
      expect(put?.state, `${entry.name} of ${entry.id}`).toBeOneOf(requiredState[entry.name]!);
      if (entry.name === 'broadcast') {
        // The very bytes broadcast were persisted first.
        expect((put!.context['transfer'] as { raw: string }).raw).toBe(entry.detail);
      }
      if (entry.name === 'claim') expect(put!.context['claimAmount']).toBe(entry.detail);
    }
    expect(new Set(effects)).toEqual(new Set(Object.keys(requiredState)));
  });

  it('signs each swap once and never signs again once a transfer is persisted', async () => {
    const h = await harness(smallWorld(7));
    await runBlocks(h, 40);
    const signs = h.journal.filter((e) => e.kind === 'effect' && e.name === 'sign').map((e) => e.id);
    expect(signs.length).toBeGreaterThan(0);
    expect(new Set(signs).size).toBe(signs.length);
  });
});

describe('host: restoring signed transfers', () => {
  it('tells each sender of the transfers an earlier life signed, before anything new is signed (their nonces are taken)', async () => {
    const world = smallWorld(7);
    const dir = tempDir('settle-host-adopt-');
    const first = await harness(world, dir);
    // Run until some swap holds a signed transfer that has not landed yet.
    let holding: string[] = [];
    for (let i = 0; i < 40 && holding.length === 0; i += 1) {
      await runBlocks(first, 1);
      holding = first.host
        .machines()
        .filter((m) => m.kind === 'swap' && m.state === 'Sending')
        .map((m) => m.id);
    }
    expect(holding.length).toBeGreaterThan(0);
    const second = await harness(world, dir); // a new process on the same store
    const adopted = second.journal.filter((e) => e.kind === 'effect' && e.name === 'adopt').map((e) => e.id);
    for (const id of holding) expect(adopted).toContain(id);
    await runBlocks(second, 3);
    const firstSign = second.journal.findIndex((e) => e.kind === 'effect' && e.name === 'sign');
    const lastAdopt = second.journal.findLastIndex((e) => e.kind === 'effect' && e.name === 'adopt');
    if (firstSign >= 0) expect(lastAdopt).toBeLessThan(firstSign);
  });
});

describe('host: observing the swap contract', () => {
  it('treats nothing as gone when listing fails, and reconciles a swap that is really gone', async () => {
    const world = World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    addSwap(world, { destChain: 'tao', window: 40 });
    const h = await harness(world);
    h.contract.markError = 'RpcFailure';
    for (let i = 0; i < 6 && stateOf(h, 'swap:1') !== 'Sent'; i += 1) await runBlocks(h, 1);
    expect(stateOf(h, 'swap:1')).toBe('Sent');
    delete world.state.subtensor.swaps['1'];
    h.contract.failList = true;
    await runBlocks(h, 3);
    expect(stateOf(h, 'swap:1')).toBe('Sent');
    h.contract.failList = false;
    await h.host.tick();
    expect(stateOf(h, 'swap:1')).toBeUndefined();
    expect(h.recovery.entries().map((e) => [e.key, e.reason])).toEqual([
      ['swap:1', 'funds sent but the swap left the contract while unmarked, and no event says how it ended'],
    ]);
    const [entry] = h.recovery.entries();
    expect(entry).toMatchObject({
      obligation: 'swap',
      kind: 'stuck-funds',
      state: 'Recovery',
      chains: { source: 'btc', dest: 'tao' },
    });
    expect(entry!.txHashes['destTransfer']).toMatch(/^0x[0-9a-f]{64}$/);
    expect(entry!.amounts['dest']).toBe(world.state.subtensor.history['1']!.destAmount);
  });

  it('rejects swaps it cannot pay: unknown destination chain, unparseable address; signs nothing', async () => {
    const world = World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    addSwap(world, { destChain: 'sol' });
    addSwap(world, { destChain: 'eth', userDestAddress: '0x1234' });
    const h = await harness(world);
    await h.host.tick();
    expect(h.host.liveCount).toBe(0);
    const puts = h.journal.filter((e) => e.kind === 'put');
    expect(puts.map((p) => [p.id, p.state])).toEqual([
      ['swap:1', 'Rejected'],
      ['swap:2', 'Rejected'],
    ]);
    expect(puts.map((p) => p.context['reason'])).toEqual([
      "no transfer sender is configured for destination chain 'sol'",
      "'0x1234' is not a valid eth address",
    ]);
    expect(h.journal.filter((e) => e.kind === 'effect')).toEqual([]);
  });

  it('never starts a machine again for a swap it archived, though the contract still lists it', async () => {
    const world = World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    addSwap(world, { destChain: 'tao', window: 2 });
    const h = await harness(world);
    await h.host.tick();
    expect(h.journal.filter((e) => e.kind === 'put').map((p) => p.kind === 'put' && p.state)).toEqual([
      'Pending',
      'Expired',
    ]);
    await h.host.tick();
    await h.host.tick();
    expect(h.journal.filter((e) => e.kind === 'put')).toHaveLength(2);
    expect(world.state.subtensor.swaps['1']?.status).toBe('Active');
  });

  it('stops (fail-stop) when a finished machine cannot be archived, rather than ticking on', async () => {
    const world = World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    addSwap(world, { destChain: 'tao', window: 2 });
    const h = await harness(world, tempDir('settle-host-'), new Error('EIO: i/o error'));
    const ticked = h.host.tick();
    await expect(ticked).rejects.toBeInstanceOf(StoreWriteFailed);
    await ticked.catch((error: unknown) => expect(isFatalToHost(error)).toBe(true));
  });

  it('does not touch a swap of ours that is Fulfilled on chain yet unknown to the store', async () => {
    const world = World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    addSwap(world, { destChain: 'tao', window: 30 });
    world.state.subtensor.swaps['1']!.status = 'Fulfilled';
    const h = await harness(world);
    await runBlocks(h, 3);
    expect(h.journal).toEqual([]);
  });
});

describe('host: job settlement', () => {
  it('claims the capped cost, and records a lock that expired as lost revenue', async () => {
    const world = World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
    addJob(world, { lockAmount: 100n, cost: 250n });
    addJob(world, { lockAmount: 100n, runSeconds: 24, lockSeconds: 12 });
    const h = await harness(world);
    await runBlocks(h, 20);
    expect(h.host.liveCount).toBe(0);
    const claims = h.journal.filter((e) => e.kind === 'effect' && e.name !== 'record');
    expect(claims.map((c) => [c.kind === 'effect' && c.name, c.id.slice(-1), c.kind === 'effect' && c.detail])).toEqual(
      [
        ['claim', '1', '100'],
        ['cancel', '2', undefined],
      ],
    );
    expect(world.state.escrow.events.filter((e) => e.kind !== 'Lock').map((e) => [e.kind, e.amount])).toEqual([
      ['Claimed', '100'],
      ['Canceled', '100'],
    ]);
    expect(h.recovery.entries().map((e) => [e.key.slice(-1), e.kind, e.amounts])).toEqual([
      ['2', 'lost-revenue', { locked: '100', cost: '50', owed: '50' }],
    ]);
  });
});

describe('claim schedule', () => {
  it('runs first after the delay, then every interval', () => {
    const schedule = new ClaimSchedule({ intervalSec: 3600, firstRunDelaySec: 60 });
    expect(schedule.due(1_000, [])).toBe(false);
    expect(schedule.due(1_059, [])).toBe(false);
    expect(schedule.due(1_060, [])).toBe(true);
    expect(schedule.due(1_061, [])).toBe(false);
    expect(schedule.due(4_659, [])).toBe(false);
    expect(schedule.due(4_660, [])).toBe(true);
  });

  it('runs early when a waiting lock would expire before the next run', () => {
    const schedule = new ClaimSchedule({ intervalSec: 3600, firstRunDelaySec: 60 });
    expect(schedule.due(1_000, [50_000])).toBe(false);
    expect(schedule.due(1_001, [1_050])).toBe(true);
    expect(schedule.due(1_002, [10_000])).toBe(false);
    expect(schedule.due(1_003, [4_601])).toBe(true);
  });

  it('refuses a nonsensical schedule', () => {
    expect(() => new ClaimSchedule({ intervalSec: 0, firstRunDelaySec: 60 })).toThrow(/interval 0s must be > 0/);
  });
});
