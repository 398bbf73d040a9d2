import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeEnvelope } from '../../src/store/checksummedJsonFile.ts';
import { encodeLogLine } from '../../src/store/logLine.ts';
import {
  ARCHIVED_FORMAT,
  openLowdbSnapshotStore,
  RECORD_FORMAT,
  STORE_FORMAT,
  type OpenStoreOptions,
} from '../../src/store/lowdbSnapshotStore.ts';
import { SegmentLog } from '../../src/store/segmentLog.ts';
import type { MachineRecord } from '../../src/store/snapshotStore.ts';
import { StoreError } from '../../src/errors.ts';
import { swapMachineId } from '../../machines/index.ts';
import { treeFingerprint } from '../support/treeFingerprint.ts';

const KNOWN = { swapFulfillment: 1, jobSettlement: 1 };
let dir: string;

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'settle-store-')), 'store');
});

afterEach(() => {
  vi.restoreAllMocks();
});

function record(id: string, seq: number, extra: object = {}): MachineRecord {
  return {
    id,
    machine: { name: 'swapFulfillment', version: 1 },
    seq,
    snapshot: { status: 'active', value: 'Pending', context: { n: seq, ...extra } },
  };
}

const open = (options: Partial<OpenStoreOptions> = {}) =>
  openLowdbSnapshotStore(dir, { create: false, knownMachines: KNOWN, ...options });

async function expectRefusal(file: RegExp, problem: RegExp): Promise<void> {
  const before = treeFingerprint(dir);
  for (const readOnly of [false, true]) {
    const opening = open({ readOnly }).then((s) => s.loadLive());
    await expect(opening).rejects.toBeInstanceOf(StoreError);
    await opening.catch((error: StoreError) => {
      expect(error.file).toMatch(file);
      expect(error.problem).toMatch(problem);
    });
  }
  expect(treeFingerprint(dir)).toEqual(before);
}

async function seeded(count = 2, options: Partial<OpenStoreOptions> = {}) {
  const store = await openLowdbSnapshotStore(dir, { create: true, knownMachines: KNOWN, ...options });
  for (let i = 1; i <= count; i += 1) await store.put(record(swapMachineId(String(i)), 1));
  return store;
}

function segments(): string[] {
  return readdirSync(join(dir, 'log'))
    .filter((n) => n.endsWith('.jsonl'))
    .sort();
}

/** The newest segment's path. */
function newestSegment(): string {
  return join(dir, 'log', segments().at(-1)!);
}

/** Appends raw lines to the newest segment, as a damaged or hand-made log would hold. */
function appendLines(...lines: string[]): void {
  appendFileSync(newestSegment(), lines.map((l) => `${l}\n`).join(''));
}

const line = (data: unknown, format = RECORD_FORMAT): string => encodeLogLine(format, data).toString('utf8');

describe('lowdb snapshot store', () => {
  it('round-trips records through the log and reopens them', async () => {
    const store = await seeded(3);
    await store.put(record('swap:2', 2, { more: 'x' }));
    await store.archive('swap:3');
    const reopened = await open();
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
    // A second read comes from the log by position, not from what opening kept.
    expect((await reopened.loadLive()).map((r) => [r.id, r.seq])).toEqual(live.map((r) => [r.id, r.seq]));
  });

  it('round-trips text that is not ASCII (names, reasons) byte for byte', async () => {
    const store = await seeded(0);
    await store.put(record('swap:1', 1, { reason: 'refusé: ✓ 🦀', latin: 'ÿ' }));
    const reopened = await open();
    expect((await reopened.loadLive())[0]!.snapshot).toEqual(
      record('swap:1', 1, { reason: 'refusé: ✓ 🦀', latin: 'ÿ' }).snapshot,
    );
  });

  it('reads a log larger than one read, lines crossing the reads, ASCII or not, and a torn tail', async () => {
    await seeded(0);
    // About 20 MB in lines of uneven length: several of the scan's 8 MiB reads, each ending mid-line.
    const expected = Array.from({ length: 6_000 }, (_, i) =>
      record(swapMachineId(String(i + 1)), 1, {
        pad: 'x'.repeat(2_000 + ((i * 7_919) % 3_001)),
        ...(i % 1_000 === 999 ? { reason: 'refusé ✓' } : {}),
      }),
    );
    appendLines(...expected.map((r) => line(r)));
    appendFileSync(newestSegment(), '{"format":"settle/mach');
    const reader = await open({ readOnly: true });
    expect(await reader.loadLive()).toEqual(expected);
    expect(reader.tornTail).toMatchObject({ bytes: '{"format":"settle/mach'.length });
  });

  it('appends one line per transition, whatever the number of live machines', async () => {
    const store = await seeded(200);
    const before = treeFingerprint(dir);
    const sizeBefore = statSync(newestSegment()).size;
    await store.put(record('swap:150', 2));
    const after = treeFingerprint(dir);
    const changed = Object.keys(after).filter((path) => after[path] !== before[path]);
    expect(changed).toEqual([newestSegment()]);
    const appended = statSync(newestSegment()).size - sizeBefore;
    expect(appended).toBeGreaterThan(0);
    expect(appended).toBeLessThan(1_000);
    expect(readFileSync(newestSegment()).subarray(sizeBefore).toString('utf8')).toBe(
      `${line(record('swap:150', 2))}\n`,
    );
  });

  it('commits writes that arrive together with one append (group commit), each durable when it resolves', async () => {
    const store = await seeded(0);
    const append = vi.spyOn(SegmentLog.prototype, 'append');
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(record(swapMachineId(String(i + 1)), 1))));
    // The first write starts a flush; the 49 that arrive meanwhile share the next one.
    expect(append.mock.calls.length).toBeLessThanOrEqual(2);
    expect(append.mock.calls.flatMap(([lines]) => lines).length).toBe(50);
    await store.putMany([record('swap:1', 2), record('swap:2', 2), record('swap:1', 3)]);
    const live = await (await open()).loadLive();
    expect(live).toHaveLength(50);
    expect(live.find((r) => r.id === 'swap:1')!.seq).toBe(3);
    expect(live.find((r) => r.id === 'swap:2')!.seq).toBe(2);
  });

  it('refuses a whole commit when one record breaks the sequence, writing none of it', async () => {
    const store = await seeded(2);
    const before = treeFingerprint(dir);
    await expect(store.putMany([record('swap:1', 2), record('swap:2', 3)])).rejects.toThrow(
      /'swap:2' seq 3, expected 2/,
    );
    expect(treeFingerprint(dir)).toEqual(before);
    await store.putMany([record('swap:1', 2), record('swap:2', 2)]);
    expect((await (await open()).loadLive()).map((r) => r.seq)).toEqual([2, 2]);
  });

  it('refuses writes that break the record sequence or touch archived machines', async () => {
    const store = await seeded(1);
    await expect(store.put(record('swap:1', 3))).rejects.toThrow(/seq 3, expected 2/);
    await store.archive('swap:1');
    await expect(store.put(record('swap:1', 2))).rejects.toThrow(/archived and can never be written again/);
    await expect(store.put(record('bad id', 1))).rejects.toThrow(/does not match/);
    await expect(store.archive('swap:1')).rejects.toThrow(/archived already/);
    await expect(store.archive('swap:9')).rejects.toThrow(/'swap:9' is not live/);
  });

  it('refuses a write or a second archive queued behind an archive, and stays usable', async () => {
    const store = await seeded(2);
    const archiving = store.archive('swap:1');
    await expect(store.put(record('swap:1', 2))).rejects.toThrow(/'swap:1' is archived and can never be written again/);
    await expect(store.archive('swap:1')).rejects.toThrow(/'swap:1' is archived already/);
    await archiving;
    await store.put(record('swap:2', 2));
    const reopened = await open();
    expect((await reopened.loadLive()).map((r) => [r.id, r.seq])).toEqual([['swap:2', 2]]);
    expect(reopened.placeOf('swap:1')).toBe('archived');
  });

  it('takes no more writes after one failed: what is on disk is unknown until reopened', async () => {
    const store = await seeded(1);
    vi.spyOn(SegmentLog.prototype, 'append').mockRejectedValueOnce(new Error('EIO: i/o error'));
    await expect(store.put(record('swap:1', 2))).rejects.toThrow(/EIO/);
    await expect(store.put(record('swap:1', 2))).rejects.toThrow(/an earlier write failed \(EIO: i\/o error\)/);
    vi.restoreAllMocks();
    const reopened = await open();
    await reopened.put(record('swap:1', 2));
    expect((await reopened.loadLive())[0]!.seq).toBe(2);
  });

  it('never starts from an empty store by accident', async () => {
    await expect(open()).rejects.toThrow(/no settle store here.*--init/);
  });

  it('counts a creation killed before its manifest as no store at all', async () => {
    mkdirSync(join(dir, 'log'), { recursive: true });
    mkdirSync(join(dir, 'archive'));
    writeFileSync(join(dir, 'log', '0000000001.jsonl'), '');
    await expect(open()).rejects.toThrow(/no settle store here/);
    const store = await openLowdbSnapshotStore(dir, { create: true, knownMachines: KNOWN });
    await store.put(record('swap:1', 1));
    expect((await (await open()).loadLive()).map((r) => r.id)).toEqual(['swap:1']);
  });

  it('a read-only store writes nothing', async () => {
    await seeded(1);
    const before = treeFingerprint(dir);
    const reader = await open({ readOnly: true });
    expect((await reader.loadLive()).map((r) => r.id)).toEqual(['swap:1']);
    await expect(reader.put(record('swap:1', 2))).rejects.toThrow(/read-only/);
    expect(treeFingerprint(dir)).toEqual(before);
  });
});

describe('what a crash leaves behind', () => {
  it('a torn last line (an append never acknowledged): a reader skips it, a writer cuts it off', async () => {
    const store = await seeded(2);
    await store.close();
    const whole = statSync(newestSegment()).size;
    appendFileSync(newestSegment(), line(record('swap:1', 2)).slice(0, 70));
    const before = treeFingerprint(dir);
    const reader = await open({ readOnly: true });
    expect(reader.tornTail).toMatchObject({ offset: whole, bytes: 70 });
    expect((await reader.loadLive()).map((r) => [r.id, r.seq])).toEqual([
      ['swap:1', 1],
      ['swap:2', 1],
    ]);
    expect(treeFingerprint(dir)).toEqual(before);
    const writer = await open();
    expect(statSync(newestSegment()).size).toBe(whole);
    await writer.put(record('swap:1', 2));
    const again = await open();
    expect(again.tornTail).toBeNull();
    expect((await again.loadLive()).map((r) => [r.id, r.seq])).toEqual([
      ['swap:1', 2],
      ['swap:2', 1],
    ]);
  });

  it('a checkpoint keeps the log proportional to what is live, and a crash before it removed the old segments changes nothing', async () => {
    const store = await seeded(3, { checkpointBytes: 2_000 });
    copyFileSync(newestSegment(), join(dir, '..', 'old.jsonl'));
    const oldName = segments()[0]!;
    for (let seq = 2; seq <= 40; seq += 1) await store.put(record('swap:1', seq));
    await store.archive('swap:3');
    expect(segments()).not.toContain(oldName);
    expect(store.logBytes).toBeLessThanOrEqual(2_000 + 300);
    // As if the crash came between the checkpoint's rename and the removal of what it replaced.
    copyFileSync(join(dir, '..', 'old.jsonl'), join(dir, 'log', oldName));
    const reopened = await open();
    expect((await reopened.loadLive()).map((r) => [r.id, r.seq])).toEqual([
      ['swap:1', 40],
      ['swap:2', 1],
    ]);
    expect(reopened.placeOf('swap:3')).toBe('archived');
  });

  it('a checkpoint temp file that was never renamed is ignored, and removed by a writer', async () => {
    await seeded(1);
    const temp = join(dir, 'log', '0000000002.jsonl.tmp');
    writeFileSync(temp, line(record('swap:1', 5)));
    expect((await (await open({ readOnly: true })).loadLive())[0]!.seq).toBe(1);
    expect(existsSync(temp)).toBe(true);
    await open();
    expect(existsSync(temp)).toBe(false);
  });

  it("an archive file's temp that was never renamed is removed by a writer; the record stays live", async () => {
    await seeded(1);
    const temp = join(dir, 'archive', 'swap~1.json.tmp');
    writeFileSync(temp, encodeEnvelope(RECORD_FORMAT, record('swap:1', 1)).slice(0, 40));
    await open();
    expect(existsSync(temp)).toBe(false);
    expect((await (await open()).loadLive()).map((r) => r.id)).toEqual(['swap:1']);
  });

  it('an archive file written, its log marker not: the record counts as archived, and the marker is written', async () => {
    await seeded(2);
    writeFileSync(join(dir, 'archive', 'swap~2.json'), encodeEnvelope(RECORD_FORMAT, record('swap:2', 1)));
    const reader = await open({ readOnly: true });
    expect(reader.placeOf('swap:2')).toBe('archived');
    expect((await reader.loadLive()).map((r) => r.id)).toEqual(['swap:1']);
    await open();
    expect(readFileSync(newestSegment(), 'utf8')).toContain(line({ id: 'swap:2', seq: 1 }, ARCHIVED_FORMAT));
    expect((await (await open()).loadLive()).map((r) => r.id)).toEqual(['swap:1']);
  });
});

describe('stores of an earlier release (layout 1: one file per live machine)', () => {
  function layout1(records: MachineRecord[]): void {
    mkdirSync(join(dir, 'live'), { recursive: true });
    mkdirSync(join(dir, 'archive'));
    writeFileSync(join(dir, 'store.json'), encodeEnvelope(STORE_FORMAT, { layoutVersion: 1 }));
    for (const r of records)
      writeFileSync(join(dir, 'live', `${r.id.replaceAll(':', '~')}.json`), encodeEnvelope(RECORD_FORMAT, r));
  }

  it('are converted by a writer, records intact, live/ removed', async () => {
    layout1([record('swap:1', 3), record('swap:2', 1)]);
    writeFileSync(join(dir, 'archive', 'swap~7.json'), encodeEnvelope(RECORD_FORMAT, record('swap:7', 2)));
    const store = await open();
    expect((await store.loadLive()).map((r) => [r.id, r.seq])).toEqual([
      ['swap:1', 3],
      ['swap:2', 1],
    ]);
    expect(store.placeOf('swap:7')).toBe('archived');
    expect(existsSync(join(dir, 'live'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')).data;
    expect(manifest).toMatchObject({ layoutVersion: 3, history: { copies: 2, position: 0, archived: 1, seen: 0 } });
    expect(store.history()).toEqual({ storeId: manifest.history.storeId, position: 0 });
    await store.put(record('swap:1', 4));
    expect((await (await open()).loadLive())[0]!.seq).toBe(4);
  });

  it('are refused by a reader (it writes nothing) with what to do', async () => {
    layout1([record('swap:1', 1)]);
    const before = treeFingerprint(dir);
    await expect(open({ readOnly: true })).rejects.toThrow(/layout 1.*settle daemon.*converts it/);
    expect(treeFingerprint(dir)).toEqual(before);
  });

  it('with a damaged record are not converted, and nothing is touched', async () => {
    layout1([record('swap:1', 1), record('swap:2', 1)]);
    writeFileSync(
      join(dir, 'live', 'swap~2.json'),
      readFileSync(join(dir, 'live', 'swap~2.json'), 'utf8').replace('"n":1', '"n":7'),
    );
    const before = treeFingerprint(dir);
    await expect(open()).rejects.toThrow(/swap~2\.json: checksum mismatch/);
    expect(treeFingerprint(dir)).toEqual(before);
  });

  it('a conversion killed after the new manifest leaves live/ behind, which the next writer removes', async () => {
    layout1([record('swap:1', 1)]);
    await open();
    mkdirSync(join(dir, 'live'));
    writeFileSync(join(dir, 'live', 'swap~1.json'), encodeEnvelope(RECORD_FORMAT, record('swap:1', 1)));
    expect((await (await open({ readOnly: true })).loadLive()).map((r) => r.id)).toEqual(['swap:1']);
    await open();
    expect(existsSync(join(dir, 'live'))).toBe(false);
  });
});

describe('a store that cannot be trusted is refused, naming the file, touching nothing', () => {
  it('a damaged line (one digit of a snapshot changed)', async () => {
    const store = await seeded(3);
    await store.close();
    const path = newestSegment();
    writeFileSync(path, readFileSync(path, 'utf8').replace('{"n":1}', '{"n":7}'));
    await expectRefusal(/0000000001\.jsonl$/, /line 1: checksum mismatch/);
  });

  it('a line cut short in the middle of the log', async () => {
    await seeded(2);
    const path = newestSegment();
    const [first, second] = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, `${first!.slice(0, 60)}\n${second}\n`);
    await expectRefusal(/0000000001\.jsonl$/, /line 1: malformed envelope/);
  });

  it('a line cut short inside its envelope, or before the end of its head', async () => {
    await seeded(2);
    const path = newestSegment();
    const [first, second] = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, `${first!.slice(0, 45)}\n${second}\n`);
    await expectRefusal(/0000000001\.jsonl$/, /line 1: malformed envelope/);
    writeFileSync(path, `${first!.slice(0, 6)}\n${second}\n`);
    await expectRefusal(/0000000001\.jsonl$/, /line 1: not a settle log line/);
  });

  it('a checksum written in capitals is not the one written', async () => {
    await seeded(2);
    const path = newestSegment();
    const text = readFileSync(path, 'utf8');
    const crc = /"crc32":"([0-9a-f]{8})"/.exec(text)![1]!;
    expect(crc).toMatch(/[a-f]/);
    writeFileSync(path, text.replace(crc, crc.toUpperCase()));
    await expectRefusal(
      /0000000001\.jsonl$/,
      /line 1: checksum mismatch: stored crc32 [0-9A-F]{8}, content gives [0-9a-f]{8}/,
    );
  });

  it('a fragment at the end of a segment that is not the newest', async () => {
    await seeded(1);
    appendFileSync(newestSegment(), '{"format":"settle/mach');
    writeFileSync(join(dir, 'log', '0000000002.jsonl'), `${line(record('swap:2', 1))}\n`);
    await expectRefusal(/0000000001\.jsonl$/, /not a whole line, and it is not the newest segment/);
  });

  it('a foreign line', async () => {
    await seeded();
    appendLines(JSON.stringify({ hello: 'world' }));
    await expectRefusal(/0000000001\.jsonl$/, /line 3: not a settle log line/);
  });

  it('a line of another format', async () => {
    await seeded();
    appendLines(line(record('swap:3', 1), 'other/format'));
    await expectRefusal(/0000000001\.jsonl$/, /line 3: foreign line: format is "other\/format"/);
  });

  it('unknown machine version (written by a newer release)', async () => {
    await seeded();
    appendLines(line({ ...record('swap:3', 1), machine: { name: 'swapFulfillment', version: 2 } }));
    await expectRefusal(/0000000001\.jsonl, line 3$/, /version 2, newer than this release's version 1: upgrade settle/);
  });

  it('older machine version with no migration', async () => {
    await seeded();
    appendLines(line({ ...record('swap:3', 1), machine: { name: 'swapFulfillment', version: 0 } }));
    await expectRefusal(/line 3$/, /has no migration from it/);
  });

  it('unknown machine', async () => {
    await seeded();
    appendLines(line({ ...record('swap:3', 1), machine: { name: 'payroll', version: 1 } }));
    await expectRefusal(/line 3$/, /unknown machine 'payroll'/);
  });

  it('a record older than one before it', async () => {
    const store = await seeded();
    await store.put(record('swap:1', 2));
    appendLines(line(record('swap:1', 1)));
    await expectRefusal(/0000000001\.jsonl$/, /line 4: 'swap:1' seq 1 after seq 2: the log goes backwards/);
  });

  it('two different records with the same seq', async () => {
    await seeded();
    appendLines(line(record('swap:1', 1, { other: true })));
    await expectRefusal(/0000000001\.jsonl$/, /two different records of 'swap:1' with seq 1/);
  });

  it('a record written again after its archive marker', async () => {
    const store = await seeded();
    await store.archive('swap:1');
    appendLines(line(record('swap:1', 2)));
    await expectRefusal(/0000000001\.jsonl$/, /'swap:1' was archived earlier in the log and is written again/);
  });

  it('an archive marker whose archive file is missing', async () => {
    const store = await seeded();
    await store.archive('swap:1');
    rmSync(join(dir, 'archive', 'swap~1.json'));
    await expectRefusal(/archive\/swap~1\.json$/, /missing: the log says 'swap:1' \(seq 1\) was archived here/);
  });

  it('a machine both live and archived, with different records', async () => {
    await seeded();
    writeFileSync(
      join(dir, 'archive', 'swap~1.json'),
      encodeEnvelope(RECORD_FORMAT, record('swap:1', 1, { different: true })),
    );
    await expectRefusal(/swap~1\.json$/, /both live and archived, with different records/);
  });

  it('a missing manifest in a non-empty directory', async () => {
    await seeded();
    renameSync(join(dir, 'store.json'), join(dir, '..', 'elsewhere.json'));
    await expectRefusal(/store\.json$/, /missing, but .* is not empty/);
  });

  it('a damaged manifest', async () => {
    await seeded();
    writeFileSync(join(dir, 'store.json'), '{"format":"settle/store","sha256":"00","data":{"layoutVersion":2}}');
    await expectRefusal(/store\.json$/, /checksum mismatch/);
  });

  it('a manifest from a newer release', async () => {
    await seeded();
    writeFileSync(join(dir, 'store.json'), encodeEnvelope(STORE_FORMAT, { layoutVersion: 4 }));
    await expectRefusal(/store\.json$/, /layout version 4 was written by a newer release.*upgrade settle/);
  });

  it('a missing log directory', async () => {
    await seeded();
    mkdirSync(join(dir, '..', 'moved'));
    renameSync(join(dir, 'log'), join(dir, '..', 'moved', 'log'));
    await expectRefusal(/log$/, /missing or unreadable: the store is incomplete/);
  });

  it('an unexpected file in the log directory', async () => {
    await seeded();
    writeFileSync(join(dir, 'log', 'notes.txt'), 'hello');
    await expectRefusal(/notes\.txt$/, /unexpected file in the log directory/);
  });

  it('a log cut inside its first line holds no record: a torn tail, not damage', async () => {
    const store = await seeded(2);
    await store.close();
    truncateSync(newestSegment(), 10);
    const reader = await open({ readOnly: true });
    expect(await reader.loadLive()).toEqual([]);
  });
});
