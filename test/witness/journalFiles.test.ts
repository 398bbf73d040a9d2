/**
 * The witness journal and the reconcile decisions on disk: one checked line each, appended and
 * fsynced; a torn last line (a crash mid-append) is skipped by readers and set aside by the
 * next writer; a damaged or foreign line is refused with its file and line.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.ts';
import { FileDecisions, type Decision } from '../../src/witness/reconcileDecisions.ts';
import { FileWitnessJournal, readWitnessJournal, type WitnessEntry } from '../../src/witness/witnessJournal.ts';

const entry: WitnessEntry = {
  kind: 'broadcast',
  chain: 'eth',
  account: '0x1',
  storeId: 'a'.repeat(32),
  at: 't',
  id: '0xabc',
  nonce: 3,
  ref: 'swap:1',
  position: 9,
};
const decision: Decision = {
  kind: 'dismiss',
  chain: 'eth',
  account: '0x1',
  id: '0xabc',
  nonce: null,
  throughNonce: null,
  swapId: null,
  raw: null,
  block: null,
  by: 'alice',
  reason: 'manual top-up',
  at: 't',
};

describe('the witness journal and the decisions on disk', () => {
  it('round-trip; a torn tail is skipped by a reader and set aside by the next writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'settle-witness-'));
    const path = join(dir, 'witness.jsonl');
    const journal = await FileWitnessJournal.open(path);
    await journal.append(entry);
    await journal.append({ ...entry, id: '0xdef', nonce: 4 });
    appendFileSync(path, '{"value":{"kind":"broad');
    expect(await readWitnessJournal(path)).toEqual([entry, { ...entry, id: '0xdef', nonce: 4 }]);
    const again = await FileWitnessJournal.open(path);
    await again.append({ ...entry, id: '0x123', nonce: 5 });
    expect((await readWitnessJournal(path)).map((e) => (e as { id: string }).id)).toEqual(['0xabc', '0xdef', '0x123']);
    expect(readFileSync(`${path}.torn-1`, 'utf8')).toBe('{"value":{"kind":"broad');
  });

  it('refuses a damaged line and a line that is not an entry, naming the file and the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'settle-witness-'));
    const path = join(dir, 'witness.jsonl');
    await (await FileWitnessJournal.open(path)).append(entry);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"nonce":3', '"nonce":4'));
    await expect(readWitnessJournal(path)).rejects.toThrow(/witness\.jsonl: line 1 fails its checksum/);
    const decisions = new FileDecisions(join(dir, 'reconcile.jsonl'));
    await decisions.append({ ...decision, by: '' });
    await expect(decisions.read()).rejects.toBeInstanceOf(StoreError);
    await expect(decisions.read()).rejects.toThrow(/reconcile\.jsonl, line 1: not a reconcile decision/);
  });

  it('a missing file is empty; decisions are appended and read back whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'settle-witness-'));
    expect(await readWitnessJournal(join(dir, 'none.jsonl'))).toEqual([]);
    const decisions = new FileDecisions(join(dir, 'reconcile.jsonl'));
    expect(await decisions.read()).toEqual([]);
    await decisions.append(decision);
    await decisions.append({ ...decision, kind: 'adopt', swapId: '7', raw: '0xff', id: '0xfed', block: 12 });
    expect(await decisions.read()).toEqual([
      decision,
      { ...decision, kind: 'adopt', swapId: '7', raw: '0xff', id: '0xfed', block: 12 },
    ]);
    expect(existsSync(join(dir, 'reconcile.jsonl'))).toBe(true);
  });
});
