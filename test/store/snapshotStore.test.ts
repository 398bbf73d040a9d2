import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/store/checksummedJsonFile.ts';
import { openLowdbSnapshotStore, RECORD_FORMAT } from '../../src/store/lowdbSnapshotStore.ts';
import type { MachineRecord } from '../../src/store/snapshotStore.ts';
import { StoreError } from '../../src/store/storeError.ts';

const KNOWN = { swapFulfillment: 1, jobSettlement: 1 };
let dir: string;

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'settle-store-')), 'store');
});

function record(id: string, seq: number, extra: object = {}): MachineRecord {
  return { id, machine: { name: 'swapFulfillment', version: 1 }, seq, snapshot: { status: 'active', value: 'Pending', context: { n: seq, ...extra } } };
}

/** Every file under the store, with its bytes and mtime: "untouched" means equal before and after. */
function fingerprint(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const info = statSync(path);
      if (info.isDirectory()) walk(path);
      else out[path] = `${info.mtimeMs}:${readFileSync(path, 'base64')}`;
    }
  };
  walk(root);
  return out;
}

async function expectRefusal(file: RegExp, problem: RegExp): Promise<void> {
  const before = fingerprint(dir);
  const opening = openLowdbSnapshotStore(dir, { create: false, knownMachines: KNOWN }).then((s) => s.loadLive());
  await expect(opening).rejects.toBeInstanceOf(StoreError);
  await opening.catch((error: StoreError) => {
    expect(error.file).toMatch(file);
    expect(error.problem).toMatch(problem);
  });
  expect(fingerprint(dir)).toEqual(before);
}

async function seeded(count = 2) {
  const store = await openLowdbSnapshotStore(dir, { create: true, knownMachines: KNOWN });
  for (let i = 1; i <= count; i += 1) await store.put(record(`swap:${i}`, 1));
  return store;
}

describe('lowdb snapshot store', () => {
  it('round-trips records through durable files and reopens them', async () => {
    const store = await seeded(3);
    await store.put(record('swap:2', 2, { more: 'x' }));
    await store.archive('swap:3');
    const reopened = await openLowdbSnapshotStore(dir, { create: false, knownMachines: KNOWN });
    const live = await reopened.loadLive();
    expect(live.map((r) => [r.id, r.seq])).toEqual([
      ['swap:1', 1],
      ['swap:2', 2],
    ]);
    expect(live[1]!.snapshot).toEqual(record('swap:2', 2, { more: 'x' }).snapshot);
    expect(reopened.placeOf('swap:3')).toBe('archived');
    expect(reopened.placeOf('swap:1')).toBe('live');
    expect(reopened.placeOf('swap:9')).toBeNull();
    expect((await reopened.readArchived('swap:3')).id).toBe('swap:3');
  });

  it('writes one small file per transition, whatever the number of live machines', async () => {
    const store = await seeded(200);
    const before = fingerprint(dir);
    await store.put(record('swap:150', 2));
    const after = fingerprint(dir);
    const changed = Object.keys(after).filter((path) => after[path] !== before[path]);
    expect(changed).toEqual([join(dir, 'live', 'swap~150.json')]);
    expect(statSync(changed[0]!).size).toBeLessThan(1_000);
  });

  it('leaves no temp file behind, and ignores one left by a crash mid-write', async () => {
    const store = await seeded(1);
    expect(readdirSync(join(dir, 'live'))).toEqual(['swap~1.json']);
    writeFileSync(join(dir, 'live', 'swap~1.json.tmp'), '{"format":"settle/machine-rec');
    const reopened = await openLowdbSnapshotStore(dir, { create: false, knownMachines: KNOWN });
    expect((await reopened.loadLive()).map((r) => r.seq)).toEqual([1]);
    await reopened.put(record('swap:1', 2));
    expect((await store.loadLive()).map((r) => r.seq)).toEqual([2]);
  });

  it('refuses writes that break the record sequence or touch archived machines', async () => {
    const store = await seeded(1);
    await expect(store.put(record('swap:1', 3))).rejects.toThrow(/seq 3, expected 2/);
    await store.archive('swap:1');
    await expect(store.put(record('swap:1', 2))).rejects.toThrow(/archived and can never be written again/);
    await expect(store.put(record('bad id', 1))).rejects.toThrow(/does not match/);
  });

  it('never starts from an empty store by accident', async () => {
    await expect(openLowdbSnapshotStore(dir, { create: false, knownMachines: KNOWN })).rejects.toThrow(/no settle store here.*--init/);
  });
});

describe('a store that cannot be trusted is refused, naming the file, touching nothing', () => {
  it('truncated record', async () => {
    await seeded();
    const path = join(dir, 'live', 'swap~2.json');
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 60));
    await expectRefusal(/swap~2\.json$/, /not valid JSON, truncated or damaged/);
  });

  it('empty record (a crash or a full disk)', async () => {
    await seeded();
    writeFileSync(join(dir, 'live', 'swap~1.json'), '');
    await expectRefusal(/swap~1\.json$/, /file is empty/);
  });

  it('bad checksum (one digit of the snapshot changed)', async () => {
    await seeded();
    const path = join(dir, 'live', 'swap~1.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"n":1', '"n":7'));
    await expectRefusal(/swap~1\.json$/, /checksum mismatch/);
  });

  it('foreign file in the live directory', async () => {
    await seeded();
    writeFileSync(join(dir, 'live', 'swap~3.json'), JSON.stringify({ hello: 'world' }));
    await expectRefusal(/swap~3\.json$/, /not a settle file/);
  });

  it('file of another format', async () => {
    await seeded();
    writeFileSync(join(dir, 'live', 'swap~3.json'), encodeEnvelope('other/format', record('swap:3', 1)));
    await expectRefusal(/swap~3\.json$/, /foreign file: format is "other\/format"/);
  });

  it('unknown machine version (written by a newer release)', async () => {
    await seeded();
    writeFileSync(join(dir, 'live', 'swap~3.json'), encodeEnvelope(RECORD_FORMAT, { ...record('swap:3', 1), machine: { name: 'swapFulfillment', version: 2 } }));
    await expectRefusal(/swap~3\.json$/, /version 2, newer than this release's version 1: upgrade settle/);
  });

  it('older machine version with no migration', async () => {
    await seeded();
    writeFileSync(join(dir, 'live', 'swap~3.json'), encodeEnvelope(RECORD_FORMAT, { ...record('swap:3', 1), machine: { name: 'swapFulfillment', version: 0 } }));
    await expectRefusal(/swap~3\.json$/, /has no migration from it/);
  });

  it('unknown machine', async () => {
    await seeded();
    writeFileSync(join(dir, 'live', 'swap~3.json'), encodeEnvelope(RECORD_FORMAT, { ...record('swap:3', 1), machine: { name: 'payroll', version: 1 } }));
    await expectRefusal(/swap~3\.json$/, /unknown machine 'payroll'/);
  });

  it('a record under another machine\'s file name', async () => {
    await seeded();
    renameSync(join(dir, 'live', 'swap~2.json'), join(dir, 'live', 'swap~5.json'));
    await expectRefusal(/swap~5\.json$/, /holds the record of 'swap:2', not of 'swap:5'/);
  });

  it('a machine both live and archived', async () => {
    const store = await seeded();
    await store.archive('swap:1');
    writeFileSync(join(dir, 'live', 'swap~1.json'), readFileSync(join(dir, 'archive', 'swap~1.json')));
    await expectRefusal(/swap~1\.json$/, /both live and archived/);
  });

  it('a missing manifest in a non-empty directory', async () => {
    await seeded();
    renameSync(join(dir, 'store.json'), join(dir, '..', 'elsewhere.json'));
    await expectRefusal(/store\.json$/, /missing, but .* is not empty/);
  });

  it('a damaged manifest', async () => {
    await seeded();
    writeFileSync(join(dir, 'store.json'), '{"format":"settle/store","sha256":"00","data":{"layoutVersion":1}}');
    await expectRefusal(/store\.json$/, /checksum mismatch/);
  });

  it('a missing live directory', async () => {
    await seeded();
    mkdirSync(join(dir, '..', 'moved'));
    renameSync(join(dir, 'live'), join(dir, '..', 'moved', 'live'));
    await expectRefusal(/live$/, /missing: the store is incomplete/);
  });
});
