/**
 * The job feed: JSON lines appended by the compute engine, read incrementally, the latest
 * observation per job kept, bad lines reported once with file:line and skipped.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileJobFeed, type FeedChain } from '../../src/daemon/fileJobFeed.ts';
import type { Logger } from '../../src/host/ports.ts';

const BASE: FeedChain = {
  escrow: '0x1111111111111111111111111111111111111111',
  payee: '0x2222222222222222222222222222222222222222',
};
const OP: FeedChain = {
  escrow: '0x3333333333333333333333333333333333333333',
  payee: '0x4444444444444444444444444444444444444444',
};
const CHAINS = new Map([
  ['base', BASE],
  ['op', OP],
]);
const TOKEN = '0x5555555555555555555555555555555555555555';
const PAYER = '0x6666666666666666666666666666666666666666';

const jobId = (n: number): string => `0x${n.toString(16).padStart(64, '0')}`;

interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

class Recorder implements Logger {
  readonly lines: LogLine[] = [];
  info(fields: object, message?: string): void {
    this.lines.push({ level: 'info', fields: fields as Record<string, unknown>, message });
  }
  warn(fields: object, message?: string): void {
    this.lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message?: string): void {
    this.lines.push({ level: 'error', fields: fields as Record<string, unknown>, message });
  }
}

let dir: string;
let path: string;
let log: Recorder;
let feed: FileJobFeed;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-feed-'));
  path = join(dir, 'jobs.jsonl');
  log = new Recorder();
  feed = new FileJobFeed(path, CHAINS, log);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function observation(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jobId: jobId(n),
    chain: 'base',
    token: TOKEN,
    payer: PAYER,
    lock: { amount: '1000000000000000000', expiry: 1_700_000_000 },
    phase: 'running',
    cost: null,
    ...overrides,
  };
}

const line = (value: unknown): string => `${typeof value === 'string' ? value : JSON.stringify(value)}\n`;
const append = (...values: unknown[]): void => appendFileSync(path, values.map(line).join(''));

/** job id -> phase/cost, to compare polls compactly. */
async function pollSummary(): Promise<Record<string, string>> {
  const observations = await feed.poll();
  return Object.fromEntries(
    observations.map((o) => [`${o.terms.chain}:${o.terms.jobId}`, `${o.phase}/${o.cost ?? '-'}`]),
  );
}

describe('FileJobFeed', () => {
  it('yields nothing, without throwing, while the file does not exist', async () => {
    expect(await feed.poll()).toEqual([]);
    expect(await feed.poll()).toEqual([]);
    expect(log.lines).toEqual([]);
  });

  it('fills in the escrow and payee of the chain and keeps the line terms', async () => {
    append(observation(1), observation(2, { chain: 'op', lock: null, phase: 'ended', cost: '0' }));
    expect(await feed.poll()).toEqual([
      {
        terms: {
          jobId: jobId(1),
          chain: 'base',
          escrow: BASE.escrow,
          token: TOKEN,
          payer: PAYER,
          payee: BASE.payee,
          lock: { amount: '1000000000000000000', expiry: 1_700_000_000 },
        },
        phase: 'running',
        cost: null,
      },
      {
        terms: {
          jobId: jobId(2),
          chain: 'op',
          escrow: OP.escrow,
          token: TOKEN,
          payer: PAYER,
          payee: OP.payee,
          lock: null,
        },
        phase: 'ended',
        cost: '0',
      },
    ]);
    expect(log.lines).toEqual([]);
  });

  it('keeps costs beyond 2^53 exact, as decimal strings', async () => {
    append(observation(1, { phase: 'ended', cost: '123456789012345678901234567891' }));
    const [only] = await feed.poll();
    expect(only!.cost).toBe('123456789012345678901234567891');
    expect(BigInt(only!.cost!)).toBe(123_456_789_012_345_678_901_234_567_891n);
  });

  it('picks up lines appended across polls, each read once, and keeps the latest observation per job', async () => {
    append(observation(1), observation(2));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-', [`base:${jobId(2)}`]: 'running/-' });
    append(observation(1, { phase: 'ended', cost: '400' }));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'ended/400', [`base:${jobId(2)}`]: 'running/-' });
    append(observation(1, { phase: 'published', cost: '400' }), observation(3));
    expect(await pollSummary()).toEqual({
      [`base:${jobId(1)}`]: 'published/400',
      [`base:${jobId(2)}`]: 'running/-',
      [`base:${jobId(3)}`]: 'running/-',
    });
    // Nothing appended: the same observations again.
    expect(await pollSummary()).toEqual({
      [`base:${jobId(1)}`]: 'published/400',
      [`base:${jobId(2)}`]: 'running/-',
      [`base:${jobId(3)}`]: 'running/-',
    });
  });

  it('keeps the same job id on two chains apart', async () => {
    append(observation(1), observation(1, { chain: 'op', phase: 'ended', cost: '5' }));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-', [`op:${jobId(1)}`]: 'ended/5' });
  });

  it('waits for the newline of an unfinished last line', async () => {
    const text = JSON.stringify(observation(1, { phase: 'ended', cost: '7' }));
    append(observation(1));
    appendFileSync(path, text.slice(0, 30));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-' });
    appendFileSync(path, text.slice(30));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-' });
    appendFileSync(path, '\n');
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'ended/7' });
    expect(log.lines).toEqual([]);
  });

  it('lower-cases job ids, so one job written in two cases is one job', async () => {
    const upper = `0x${'AB'.repeat(32)}`;
    append(observation(0, { jobId: upper }));
    append(observation(0, { jobId: upper.toLowerCase(), phase: 'ended', cost: '9' }));
    const observations = await feed.poll();
    expect(observations).toHaveLength(1);
    expect(observations[0]!.terms.jobId).toBe(`0x${'ab'.repeat(32)}`);
    expect(observations[0]!.phase).toBe('ended');
  });

  it('logs a bad JSON line and a schema-invalid line once each with file:line, and skips them', async () => {
    append(
      observation(1), // line 1
      '{"jobId": "0x01", ', // line 2: not JSON
      observation(2, { jobId: '0x1234' }), // line 3: job id too short
      observation(3, { phase: 'ended', cost: '1.5' }), // line 4: cost not an integer
      '', // line 5: blank, ignored
      observation(4, { phase: 'ended', cost: '12' }), // line 6
    );
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-', [`base:${jobId(4)}`]: 'ended/12' });
    expect(log.lines.map((l) => [l.level, l.fields.feed])).toEqual([
      ['error', `${path}:2`],
      ['error', `${path}:3`],
      ['error', `${path}:4`],
    ]);
    expect(log.lines[0]!.message).toMatch(/not JSON/);
    expect(log.lines[1]!.fields.problems).toMatch(/^jobId: a 0x-prefixed 64-digit job id$/);
    expect(log.lines[2]!.fields.problems).toMatch(/^cost: /);
    // Later polls and later good lines: the bad ones are not reported again, line numbers go on.
    append(observation(5), '[not, json');
    expect(await pollSummary()).toEqual({
      [`base:${jobId(1)}`]: 'running/-',
      [`base:${jobId(4)}`]: 'ended/12',
      [`base:${jobId(5)}`]: 'running/-',
    });
    await feed.poll();
    expect(log.lines.map((l) => l.fields.feed)).toEqual([`${path}:2`, `${path}:3`, `${path}:4`, `${path}:8`]);
  });

  it('skips a line naming a chain this daemon does not settle on, with a log', async () => {
    append(observation(1, { chain: 'arbitrum' }), observation(2));
    expect(await pollSummary()).toEqual({ [`base:${jobId(2)}`]: 'running/-' });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.fields).toEqual({ feed: `${path}:1`, chain: 'arbitrum' });
  });

  it.each(['ended', 'published'])('skips a job %s without a cost, with a log', async (phase) => {
    append(observation(1), observation(1, { phase, cost: null }));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-' });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.fields).toEqual({ feed: `${path}:2` });
    expect(log.lines[0]!.message).toContain(`a job ${phase} without a cost`);
  });

  it('refuses unknown fields and malformed addresses', async () => {
    append(
      observation(1, { extra: 1 }),
      observation(2, { payer: '0x12' }),
      observation(3, { lock: { amount: 5, expiry: 1 } }),
    );
    expect(await feed.poll()).toEqual([]);
    expect(log.lines.map((l) => l.fields.feed)).toEqual([`${path}:1`, `${path}:2`, `${path}:3`]);
  });

  it('reads a file that shrank (rotated) again from the start, with line numbers from 1', async () => {
    append(observation(1), observation(2), observation(3, { phase: 'ended', cost: '30' }));
    expect(Object.keys(await pollSummary())).toHaveLength(3);
    writeFileSync(path, line(observation(4, { phase: 'ended', cost: '40' })) + line('oops'));
    const summary = await pollSummary();
    expect(summary[`base:${jobId(4)}`]).toBe('ended/40');
    // Observations already seen are kept: the host ignores jobs it has finished.
    expect(summary[`base:${jobId(3)}`]).toBe('ended/30');
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.fields)).toEqual([{ feed: path }]);
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.fields.feed)).toEqual([`${path}:2`]);
  });

  it('drops an unfinished line of the file before it was rotated', async () => {
    append(observation(1));
    appendFileSync(path, JSON.stringify(observation(2)).slice(0, 50));
    await feed.poll();
    writeFileSync(path, line(observation(3)));
    expect(await pollSummary()).toEqual({ [`base:${jobId(1)}`]: 'running/-', [`base:${jobId(3)}`]: 'running/-' });
    expect(log.lines.map((l) => l.level)).toEqual(['warn']);
  });
});
