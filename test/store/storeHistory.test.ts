/**
 * A store knows its own past: an identity made at creation, a position (lines appended since)
 * that only grows, and a manifest that says how far the log had gone. A log shorter than that
 * (an emptied segment, lost acknowledged lines, a segment put back from an older copy) is
 * refused at open by a writer and by a reader (status, reconcile), naming the files and the
 * counts, with nothing touched.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/store/checksummedJsonFile.ts';
import { encodeLogLine } from '../../src/store/logLine.ts';
import {
  openLowdbSnapshotStore,
  RECORD_FORMAT,
  STORE_FORMAT,
  type OpenStoreOptions,
} from '../../src/store/lowdbSnapshotStore.ts';
import type { MachineRecord } from '../../src/store/snapshotStore.ts';
import { StoreBehind } from '../../src/errors.ts';
import { treeFingerprint } from '../support/treeFingerprint.ts';

const KNOWN = { swapFulfillment: 1, jobSettlement: 1 };
let dir: string;

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'settle-history-')), 'store');
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
const create = (options: Partial<OpenStoreOptions> = {}) =>
  openLowdbSnapshotStore(dir, { create: true, knownMachines: KNOWN, ...options });
const segments = (): string[] =>
  readdirSync(join(dir, 'log'))
    .filter((n) => n.endsWith('.jsonl'))
    .sort();
const newestSegment = (): string => join(dir, 'log', segments().at(-1)!);
const manifest = (): { layoutVersion: number; history: Record<string, unknown> } =>
  JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')).data;

/** A reader (status, reconcile), then a writer, refuse with StoreBehind naming `file` and the evidence; nothing on disk changes. */
async function expectBehind(file: RegExp, evidence: RegExp): Promise<void> {
  const before = treeFingerprint(dir);
  for (const readOnly of [true, false]) {
    const error = await open({ readOnly }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreBehind);
    expect((error as StoreBehind).file).toMatch(file);
    expect((error as StoreBehind).evidence).toMatch(evidence);
    expect((error as StoreBehind).message).toMatch(
      readOnly ? /a daemon would refuse to start on it; nothing touched/ : /refusing to start, nothing touched/,
    );
    expect(treeFingerprint(dir)).toEqual(before);
  }
}

/** Drops the last `n` whole lines of the newest segment, as a lost write or an older copy would. */
function dropLastLines(n: number): void {
  const path = newestSegment();
  const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
  writeFileSync(
    path,
    lines
      .slice(0, lines.length - n)
      .map((l) => `${l}\n`)
      .join(''),
  );
}

describe('a store knows its own history', () => {
  it('has an identity from its creation and a position that only grows, across reopens and checkpoints', async () => {
    const store = await create({ checkpointBytes: 1_500 });
    const { storeId } = store.history()!;
    expect(storeId).toMatch(/^[0-9a-f]{32}$/);
    expect(store.history()).toEqual({ storeId, position: 0 });
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    await store.archive('swap:2');
    expect(store.history()!.position).toBe(3);
    for (let seq = 2; seq <= 30; seq += 1) await store.put(record('swap:1', seq));
    // Checkpoints copied the live line into new segments: copies do not move the position.
    expect(segments()[0]).not.toBe('0000000001.jsonl');
    expect(store.history()!.position).toBe(32);
    await store.close();
    const reopened = await open();
    expect(reopened.history()).toEqual({ storeId, position: 32 });
    expect(reopened.openedHistory).toEqual({ storeId, position: 32 });
    expect(manifest().history).toMatchObject({ storeId, seen: 32, archived: 1 });
    // Another store is another identity.
    const other = await openLowdbSnapshotStore(join(dir, '..', 'other'), { create: true, knownMachines: KNOWN });
    expect(other.history()!.storeId).not.toBe(storeId);
  });

  it('a layout-2 store (an earlier release) is given a history by a writer; a reader leaves it as it is', async () => {
    const store = await create();
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    await store.archive('swap:1');
    await store.close();
    writeFileSync(join(dir, 'store.json'), encodeEnvelope(STORE_FORMAT, { layoutVersion: 2 }));
    const before = treeFingerprint(dir);
    const reader = await open({ readOnly: true });
    expect(reader.history()).toBeNull();
    expect(treeFingerprint(dir)).toEqual(before);
    const writer = await open();
    expect(writer.historyBegins).toBe(true);
    expect(writer.history()!.position).toBe(3);
    expect(manifest()).toMatchObject({
      layoutVersion: 3,
      history: { segment: 1, copies: 0, position: 0, archived: 0, seen: 3 },
    });
    await writer.put(record('swap:2', 2));
    await writer.close();
    const again = await open();
    expect(again.historyBegins).toBe(false);
    expect(again.history()!.position).toBe(4);
  });

  it('a checkpoint killed after its segment and before its manifest: the position is kept, the next writer records it', async () => {
    const store = await create();
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    await store.put(record('swap:1', 2));
    await store.close();
    const { storeId } = store.history()!;
    // What the checkpoint would have written: the live lines, as segment 2.
    const live = [record('swap:2', 1), record('swap:1', 2)]
      .map((r) => `${encodeLogLine(RECORD_FORMAT, r).toString('utf8')}\n`)
      .join('');
    writeFileSync(join(dir, 'log', '0000000002.jsonl'), live);
    const reopened = await open();
    expect(reopened.history()).toEqual({ storeId, position: 3 });
    expect(manifest().history).toMatchObject({ segment: 2, copies: 2, position: 3, seen: 3 });
    await reopened.put(record('swap:2', 2));
    await reopened.close();
    expect((await open()).history()).toEqual({ storeId, position: 4 });
  });
});

describe('a log shorter than its manifest or archive say is refused at open', () => {
  it('an emptied log segment while the archive still holds records', async () => {
    const store = await create();
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    await store.archive('swap:1');
    await store.close();
    truncateSync(newestSegment(), 0);
    await expectBehind(
      /archive$/,
      /holds 1 archived records, but the log accounts for 0 .*the log lost the lines of 1/,
    );
  });

  it('an emptied log segment after a checkpoint', async () => {
    const store = await create({ checkpointBytes: 600 });
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    for (let seq = 2; seq <= 8; seq += 1) await store.put(record('swap:1', seq));
    await store.close();
    expect(segments()[0]).not.toBe('0000000001.jsonl');
    truncateSync(newestSegment(), 0);
    await expectBehind(/log\/\d{10}\.jsonl$/, /holds 0 lines, but the checkpoint that wrote it copied 2/);
  });

  it('a lost last acknowledged line (the store was opened after it was written)', async () => {
    const store = await create();
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    await store.put(record('swap:1', 2));
    await store.close();
    await (await open()).close(); // the writer's open records how far the log went
    dropLastLines(1);
    await expectBehind(
      /0000000001\.jsonl$/,
      /the log ends at position 2 .* had reached position 3 when it was last opened .*1 acknowledged lines are gone/,
    );
  });

  it('a log put back from an older copy of the store', async () => {
    const store = await create();
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    await store.close();
    mkdirSync(join(dir, '..', 'backup'));
    copyFileSync(newestSegment(), join(dir, '..', 'backup', 'segment'));
    const writer = await open();
    await writer.put(record('swap:1', 2));
    await writer.close();
    await (await open()).close(); // restarted once since the backup
    copyFileSync(join(dir, '..', 'backup', 'segment'), newestSegment());
    await expectBehind(/0000000001\.jsonl$/, /ends at position 2 .* had reached position 3/);
  });

  it('a manifest naming a segment the log no longer has', async () => {
    const store = await create({ checkpointBytes: 600 });
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    for (let seq = 2; seq <= 8; seq += 1) await store.put(record('swap:1', seq));
    await store.close();
    const name = segments().at(-1)!;
    // An older copy's first segment in place of the checkpoint segment.
    rmSync(join(dir, 'log', name));
    writeFileSync(
      join(dir, 'log', '0000000001.jsonl'),
      `${encodeLogLine(RECORD_FORMAT, record('swap:1', 1)).toString('utf8')}\n`,
    );
    await expectBehind(
      /log$/,
      new RegExp(
        `manifest .*store\\.json says segment ${name} holds the log since its last checkpoint, but the log directory holds 0000000001\\.jsonl`,
      ),
    );
  });

  it('a reader compares too, and reads a store a checkpoint left consistent', async () => {
    const store = await create({ checkpointBytes: 600 });
    await store.putMany([record('swap:1', 1), record('swap:2', 1)]);
    for (let seq = 2; seq <= 8; seq += 1) await store.put(record('swap:1', seq));
    await store.archive('swap:2');
    await store.close();
    const reader = await open({ readOnly: true });
    expect(reader.history()).toEqual({ storeId: manifest().history['storeId'], position: 10 });
    expect((await reader.loadLive()).map((r) => r.id)).toEqual(['swap:1']);
    truncateSync(newestSegment(), 0);
    await expectBehind(/log\/\d{10}\.jsonl$/, /holds 0 lines, but the checkpoint that wrote it copied/);
  });
});
