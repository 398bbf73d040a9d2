import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openRecoveryLog, type RecoveryEntry } from '../../src/store/recoveryLog.ts';
import { StoreError } from '../../src/errors.ts';

let path: string;
beforeEach(() => {
  path = join(mkdtempSync(join(tmpdir(), 'settle-recovery-')), 'recovery.jsonl');
});

const entry = (key: string): RecoveryEntry => ({
  key,
  obligation: 'swap',
  kind: 'stuck-funds',
  reason: 'funds sent but the swap left the contract while unmarked',
  state: 'Recovery',
  chains: { source: 'btc', dest: 'tao' },
  amounts: { dest: '2500000000' },
  txHashes: { destTransfer: '0xabc' },
  block: 120,
  time: null,
});

describe('recovery log', () => {
  it('appends one line per obligation, exactly once, across reopen', async () => {
    const { log } = await openRecoveryLog(path);
    expect(await log.record(entry('swap:1'))).toBe('recorded');
    expect(await log.record(entry('swap:1'))).toBe('already-recorded');
    const reopened = (await openRecoveryLog(path)).log;
    expect(await reopened.record(entry('swap:1'))).toBe('already-recorded');
    expect(await reopened.record(entry('swap:2'))).toBe('recorded');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).key)).toEqual(['swap:1', 'swap:2']);
    expect(reopened.entries().map((e) => e.key)).toEqual(['swap:1', 'swap:2']);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      amounts: { dest: '2500000000' },
      txHashes: { destTransfer: '0xabc' },
      block: 120,
    });
  });

  it('keeps a torn last line aside and lets the entry be written again', async () => {
    const { log } = await openRecoveryLog(path);
    await log.record(entry('swap:1'));
    const torn = JSON.stringify({ ...entry('swap:2'), check: 'x' }).slice(0, 40);
    appendFileSync(path, torn);
    const opened = await openRecoveryLog(path);
    expect(opened.tornTailSavedTo).toBe(`${path}.torn-1`);
    expect(readFileSync(`${path}.torn-1`, 'utf8')).toBe(torn);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    expect(await opened.log.record(entry('swap:2'))).toBe('recorded');
    expect((await openRecoveryLog(path)).log.entries().map((e) => e.key)).toEqual(['swap:1', 'swap:2']);
  });

  it('refuses a damaged line in the middle, naming the line, touching nothing', async () => {
    const { log } = await openRecoveryLog(path);
    await log.record(entry('swap:1'));
    await log.record(entry('swap:2'));
    const text = readFileSync(path, 'utf8').replace('swap:1', 'swap:9');
    writeFileSync(path, text);
    await expect(openRecoveryLog(path)).rejects.toThrow(StoreError);
    await expect(openRecoveryLog(path)).rejects.toThrow(/line 1 \(swap:9\) fails its checksum/);
    writeFileSync(path, `not json\n${text.split('\n')[1]}\n`);
    await expect(openRecoveryLog(path)).rejects.toThrow(/line 1 is not valid JSON/);
    expect(readFileSync(path, 'utf8')).toBe(`not json\n${text.split('\n')[1]}\n`);
    expect(existsSync(`${path}.torn-1`)).toBe(false);
  });
});
