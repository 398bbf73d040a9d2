/**
 * A store written by the release before fees (jobSettlement version 1, the fixture in
 * test/fixtures/jobSettlement-v1) opens with this release, its records read as version 2, and
 * the host resumes its jobs to the end against the same simulated world: nothing lost.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  JOB_MACHINE_VERSION,
  knownMachineVersions,
  migrateJobSnapshotV1,
  migrateSnapshot,
} from '../../machines/index.ts';
import { advanceBlock } from '../../sim/advance.ts';
import { checkInvariants } from '../../sim/invariants.ts';
import { finalMachines, openSimHost } from '../../sim/simHost.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';
import { World } from '../../sim/world.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { StoreError } from '../../src/errors.ts';
import { tempDir } from '../support/simFixture.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/jobSettlement-v1/', import.meta.url));
const silent = { info() {}, warn() {}, error() {} };

function copyFixture(): string {
  const dir = tempDir('settle-v1-');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('a version-1 job store', () => {
  it('is what the fixture claims: version-1 records, claimedAmount, no fee', () => {
    const lines = readFileSync(join(FIXTURE, 'store/log/0000000001.jsonl'), 'utf8').trim().split('\n');
    const texts = lines.filter((l) => l.includes('jobSettlement'));
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) expect(text).toContain('"version":1');
    expect(texts.some((t) => t.includes('claimedAmount'))).toBe(true);
    expect(JOB_MACHINE_VERSION).toBe(2);
  });

  it('opens: live and archived records read as version 2, gross kept, fee and net unknown', async () => {
    const dir = copyFixture();
    const store = await openLowdbSnapshotStore(join(dir, 'store'), {
      create: false,
      knownMachines: knownMachineVersions,
    });
    const live = await store.loadLive();
    expect(live.map((r) => (r.snapshot as { value: string }).value).sort()).toEqual([
      'JobSettle',
      'JobSettle',
      'Running',
    ]);
    for (const record of live) {
      expect(record.machine.version).toBe(2);
      const context = (record.snapshot as { context: Record<string, unknown> }).context;
      expect(context).not.toHaveProperty('claimedAmount');
      expect(context).toMatchObject({
        claimedGross: null,
        claimFee: null,
        claimedNet: null,
        durationSecs: null,
        resultHash: null,
      });
    }
    const archived = [...store.archivedIds];
    expect(archived).toHaveLength(3);
    for (const id of archived) {
      const record = await store.readArchived(id);
      expect(record.machine.version).toBe(2);
      expect((record.snapshot as { context: Record<string, unknown> }).context).toMatchObject({
        claimedGross: '400000000000000000',
        claimFee: null,
        claimedNet: null,
      });
    }
  });

  it('resumes: every job of the old store ends claimed on chain, the new claims with fee and net recorded', async () => {
    const dir = copyFixture();
    const world = World.load(join(dir, 'world.json'), PRODUCT_MODULES);
    const { host, store, recoveryLog } = await openSimHost(world, dir, { create: false, log: silent });
    for (let block = 0; block < 200 && host.liveCount > 0; block += 1) {
      await host.tick();
      advanceBlock(world);
    }
    expect(host.liveCount).toBe(0);
    const finals = await finalMachines(store);
    expect([...finals.values()].map((f) => f.state)).toEqual([
      'Finished',
      'Finished',
      'Finished',
      'Finished',
      'Finished',
      'Finished',
    ]);
    const resumed = [...finals.values()].slice(3).map((f) => f.context as Record<string, unknown>);
    for (const context of resumed) expect(context['claimFee']).toBe('0'); // this world predates fees: rate 0
    expect(resumed.map((c) => c['claimedGross'])).toEqual([
      '500000000000000000',
      '600000000000000000',
      '1000000000000000000',
    ]);
    const invariants = checkInvariants(world, {
      finals,
      live: new Set(),
      recovery: recoveryLog.entries(),
      marginBlocks: 3,
    });
    for (const invariant of invariants)
      expect(invariant.violations, `${invariant.name}: ${invariant.violations.join('; ')}`).toEqual([]);
    expect(invariants.find((i) => i.name === 'no lost claim')!.checked).toBe(6);
  });

  it('refuses a version-1 record it cannot migrate, naming it', async () => {
    expect(() => migrateJobSnapshotV1({ value: 'Running', context: { cost: null } })).toThrow(
      /not a version-1 context/,
    );
    expect(migrateSnapshot('jobSettlement', 0, 2, {})).toBeNull();
    const dir = copyFixture();
    const path = join(dir, 'store/log/0000000001.jsonl');
    // A record claiming version 0: no migration from it.
    const lines = readFileSync(path, 'utf8');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, lines.replace('"version":1', '"version":0'));
    await expect(
      openLowdbSnapshotStore(join(dir, 'store'), { create: false, knownMachines: knownMachineVersions }),
    ).rejects.toBeInstanceOf(StoreError);
  });
});
