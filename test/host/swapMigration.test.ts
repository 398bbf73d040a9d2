/**
 * A store written by an earlier release (test/fixtures/store-v1-swaps: swapFulfillment version
 * 1 records in every live state, and an archived one, written by settle at 008cc88, store layout
 * 2; test/fixtures/store-v1-swaps-layout3: the same records written by main at a2a1987, the
 * release before machine version 2, store layout 3 with its history) opens under this one: each record is migrated and rewritten as version 2 before any effect,
 * and every swap resumes where it stood, its signed bytes re-broadcast, never re-signed.
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { knownMachineVersions, type SwapTerms } from '../../machines/index.ts';
import { ContractMismatch } from '../../src/errors.ts';
import { openHost } from '../../src/host/host.ts';
import type { AssignedSwap, SwapContract, TransferRequest, TransferSender } from '../../src/host/ports.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../../src/store/recoveryLog.ts';
import { silentLog, tempDir } from '../support/simFixture.ts';

const FIXTURES = {
  'settle at 008cc88 (store layout 2)': fileURLToPath(new URL('../fixtures/store-v1-swaps', import.meta.url)),
  'main at a2a1987 (store layout 3)': fileURLToPath(new URL('../fixtures/store-v1-swaps-layout3', import.meta.url)),
};

function terms(n: number): SwapTerms {
  return {
    contract: 'ink',
    swapId: String(n),
    miner: '5Miner',
    sourceChain: 'btc',
    destChain: 'tao',
    sourceAmount: '100000',
    destAmount: '2500000000',
    collateralAmount: '2500000000',
    hub: 'tao',
    userDestAddress: '5User',
    senderPin: '',
    sourceTxHash: `btc-tx-${n}`,
    initiatedAt: 100,
    timeoutAt: 130,
    maxExtendAt: null,
  };
}

describe.each(Object.entries(FIXTURES))('a version-1 store written by %s under version 2', (_, FIXTURE) => {
  it('opens, rewrites every live record as version 2 before any effect, and resumes each swap', async () => {
    const dir = tempDir('settle-v1-');
    cpSync(FIXTURE, join(dir, 'store'), { recursive: true });
    const calls: string[] = [];
    const contract: SwapContract = {
      kind: 'ink',
      miner: '5Miner',
      now: async () => 102,
      listAssigned: async (): Promise<AssignedSwap[]> =>
        [1, 2, 3, 4, 5, 6, 7].map((n) => ({ terms: terms(n), status: 'Active' })),
      markFulfilled: async (r) => {
        calls.push(`mark ${r.swapId} ${r.destTxHash} ${r.destTxBlock} ${r.destAmount}`);
        return { ok: true };
      },
      getSwap: async (id) => ({
        status: id === '7' ? 'Fulfilled' : 'Active',
        miner: '5Miner',
        destTxHash: id === '7' ? '0xhash42' : '',
        deadline: 130,
      }),
    };
    const sender: TransferSender = {
      chain: 'tao',
      addressProblem: () => null,
      controls: () => true,
      adopt: (t) => void calls.push(`adopt ${t.hash} anchor ${t.anchorBlock}`),
      sign: async (r: TransferRequest) => {
        calls.push(`sign ${r.swapId}`);
        return { raw: `0xraw-${r.swapId}`, hash: `0xhash-${r.swapId}` };
      },
      broadcast: async (raw) => void calls.push(`broadcast ${raw}`),
      lookup: async (t) => (t.hash === '0xhash42' ? { kind: 'included', block: 9000 } : { kind: 'pending' }),
    };
    const store = await openLowdbSnapshotStore(join(dir, 'store'), {
      create: false,
      knownMachines: knownMachineVersions,
    });
    // On disk: version 1; read through the machine's migration, every record is version 2.
    const onDisk = readFileSync(join(FIXTURE, 'log', readdirSync(join(FIXTURE, 'log')).sort()[0]!), 'utf8');
    expect(onDisk.match(/"machine":\{"name":"swapFulfillment","version":1\}/g)?.length).toBe(8);
    expect((await store.loadLive()).map((r) => r.machine.version)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
    const host = await openHost({
      store,
      recoveryLog,
      swapContract: contract,
      senders: new Map([['tao', sender]]),
      escrows: new Map(),
      clock: null,
      jobSource: null,
      log: silentLog,
    });
    // Restored and rewritten as version 2 before the first tick.
    expect((await store.loadLive()).map((r) => r.machine.version)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(calls.filter((c) => c.startsWith('adopt'))).toEqual([
      'adopt 0xhash42 anchor 101',
      'adopt 0xhash42 anchor 101',
      'adopt 0xhash42 anchor 101',
      'adopt 0xhash42 anchor 101',
      'adopt 0xhash42 anchor 101',
    ]);
    expect(store.placeOf('swap:99')).toBe('archived');

    await host.tick();
    const states = Object.fromEntries(host.machines().map((m) => [m.id, m.state]));
    // 1 Pending -> Sending (signs), 2 Sending unsigned (signs), 3 Sending signed (looked up, found
    // included, marked: never re-signed), 4 Sent in backoff (due at 105), 5 Marking (marks),
    // 6 Reconciling unknown -> Marking (marks), 7 Reconciling refused -> our mark found landed.
    expect(states).toEqual({ 'swap:1': 'Sending', 'swap:2': 'Sending', 'swap:4': 'Sent' });
    expect(calls.filter((c) => c.startsWith('sign')).sort()).toEqual(['sign 1', 'sign 2']);
    expect(calls.filter((c) => c.startsWith('mark')).sort()).toEqual([
      'mark 3 0xhash42 9000 2500000000',
      'mark 5 0xhash42 9000 2500000000',
      'mark 6 0xhash42 9000 2500000000',
    ]);
    expect(store.placeOf('swap:3')).toBe('archived');
    expect(store.placeOf('swap:5')).toBe('archived');
    expect(store.placeOf('swap:7')).toBe('archived');
    expect(readdirSync(join(dir, 'store', 'log')).length).toBeGreaterThan(0);
    const lines = readFileSync(
      join(
        dir,
        'store',
        'log',
        readdirSync(join(dir, 'store', 'log'))
          .sort()
          .at(-1)!,
      ),
      'utf8',
    );
    expect(lines).toContain('"version":2');
  });

  it('is refused, before any effect, by a host configured for the Solana swap manager', async () => {
    const dir = tempDir('settle-v1-');
    cpSync(FIXTURE, join(dir, 'store'), { recursive: true });
    const calls: string[] = [];
    const contract: SwapContract = {
      kind: 'solana',
      miner: 'MinerKey',
      now: async () => 1_000,
      listAssigned: async () => [],
      markFulfilled: async (r) => {
        calls.push(`mark ${r.swapId}`);
        return { ok: true };
      },
      getSwap: async () => null,
    };
    const store = await openLowdbSnapshotStore(join(dir, 'store'), {
      create: false,
      knownMachines: knownMachineVersions,
    });
    const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
    const opening = openHost({
      store,
      recoveryLog,
      swapContract: contract,
      senders: new Map(),
      escrows: new Map(),
      clock: null,
      jobSource: null,
      log: silentLog,
    });
    await expect(opening).rejects.toThrow(ContractMismatch);
    await expect(opening).rejects.toThrow(/swap:1 is a live swap of the ink contract, but swaps.contract is solana/);
    expect(calls).toEqual([]);
  });

  it('is refused by a release that knows only version 2 without the migration', async () => {
    const dir = tempDir('settle-v1-');
    cpSync(FIXTURE, join(dir, 'store'), { recursive: true });
    await expect(
      openLowdbSnapshotStore(join(dir, 'store'), {
        create: false,
        knownMachines: { swapFulfillment: 2, jobSettlement: 1 },
      }),
    ).rejects.toThrow(/written by swapFulfillment version 1; this release \(version 2\) has no migration from it/);
  });
});
