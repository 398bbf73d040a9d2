/**
 * `settle start` as a user runs it: a real child process on a directory, killed with SIGKILL
 * at arbitrary instants and started again, must finish with every invariant holding.
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/simFixture.ts';

const BIN = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));

function settle(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts settle and kills it with `signal` once it has printed `afterLines` progress lines. */
function startAndSignal(
  args: string[],
  signal: NodeJS.Signals,
  afterLines: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!sent && stdout.split('\n').filter((l) => l.startsWith('block ')).length >= afterLines) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code, signal: sig, stdout }));
  });
}

const INVARIANTS = [
  INVARIANT.noDoubleSend,
  INVARIANT.noLostSend,
  INVARIANT.noSendTooLate,
  INVARIANT.noLostClaim,
  INVARIANT.noDoubleClaim,
  INVARIANT.claimRecordedAsPaid,
  INVARIANT.recoveryEntryExactlyOnce,
];

function expectAllInvariantsOk(stdout: string): void {
  for (const name of INVARIANTS)
    expect(stdout).toMatch(new RegExp(`${name.replace(/[()]/g, '\\$&')}\\s+checked\\s+\\d+\\s+ok`));
  expect(stdout).not.toContain('VIOLATION');
}

describe('settle start (the embedded default)', () => {
  it('runs both machines to the end against the simulated chains and checks the invariants', () => {
    const dir = join(tempDir('settle-cli-'), 'run');
    const { code, stdout } = settle([
      'start',
      '--dir',
      dir,
      '--block-ms',
      '0',
      '--swaps',
      '12',
      '--jobs',
      '12',
      '--seed',
      '3',
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`new run in ${dir}: seed 3, 12 swaps, 12 jobs, margin 3 blocks`);
    expectAllInvariantsOk(stdout);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['settle.log', 'sim-world.json', 'store']));
    const log = readFileSync(join(dir, 'settle.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; machine?: string; to?: string });
    expect(log.filter((l) => l.msg === 'transition').length).toBeGreaterThan(50);
    // Started again after the end: nothing left to do, the same verdict.
    const again = settle(['start', '--dir', dir, '--block-ms', '0']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('resuming the run');
    expectAllInvariantsOk(again.stdout);
  });

  it('survives SIGKILL at arbitrary instants: every restart resumes, the end is sound', async () => {
    const dir = join(tempDir('settle-cli-'), 'run');
    const args = ['start', '--dir', dir, '--block-ms', '5', '--swaps', '20', '--jobs', '20', '--seed', '11'];
    let kills = 0;
    for (const afterLines of [1, 3, 2, 5, 4, 2, 6, 3]) {
      const run = await startAndSignal(args, 'SIGKILL', afterLines);
      if (run.signal === 'SIGKILL') kills += 1;
      else break; // finished before the kill landed
    }
    expect(kills).toBeGreaterThanOrEqual(4);
    const last = settle(args);
    expect(last.code).toBe(0);
    expect(last.stdout).toContain('resuming the run');
    expectAllInvariantsOk(last.stdout);
  });

  it('stops cleanly on SIGINT after the current block and resumes later', async () => {
    const dir = join(tempDir('settle-cli-'), 'run');
    const args = ['start', '--dir', dir, '--block-ms', '30', '--swaps', '10', '--jobs', '10'];
    const stopped = await startAndSignal(args, 'SIGINT', 2);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/SIGINT: finishing this block, then stopping/);
    expect(stopped.stdout).toMatch(/stopped at block \d+; run the same command again to resume/);
    const resumed = settle(['start', '--dir', dir, '--block-ms', '0']);
    expect(resumed.code).toBe(0);
    expectAllInvariantsOk(resumed.stdout);
  });

  it('refuses to start when the store is gone but the chains remember our transfers, touching nothing', () => {
    const dir = join(tempDir('settle-cli-'), 'run');
    expect(settle(['start', '--dir', dir, '--block-ms', '0', '--swaps', '3', '--jobs', '0']).code).toBe(0);
    renameSync(join(dir, 'store'), join(dir, '..', 'store-moved'));
    const world = readFileSync(join(dir, 'sim-world.json'), 'utf8');
    const { code, stderr } = settle(['start', '--dir', dir, '--block-ms', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      `settle: refusing to start: ${join(dir, 'store')}: missing, but the simulated chains exist`,
    );
    expect(readFileSync(join(dir, 'sim-world.json'), 'utf8')).toBe(world);
    expect(existsSync(join(dir, 'store'))).toBe(false);
  });

  it('refuses a corrupt store with the file and the problem', async () => {
    const dir = join(tempDir('settle-cli-'), 'run');
    const first = await startAndSignal(
      ['start', '--dir', dir, '--block-ms', '50', '--swaps', '20', '--jobs', '20'],
      'SIGKILL',
      3,
    );
    expect(first.signal).toBe('SIGKILL');
    const segments = readdirSync(join(dir, 'store', 'log')).filter((name) => name.endsWith('.jsonl'));
    expect(segments.length).toBeGreaterThan(0);
    const victim = join(dir, 'store', 'log', segments.sort()[0]!);
    const text = readFileSync(victim, 'utf8');
    const firstLine = text.slice(0, text.indexOf('\n'));
    expect(firstLine.length).toBeGreaterThan(100);
    // One digit of the first record changed: a whole line, checksummed, that no longer matches.
    const damaged = text.replace(/"seq":(\d)/, (_, digit: string) => `"seq":${(Number(digit) + 1) % 10}`);
    expect(damaged).not.toBe(text);
    writeFileSync(victim, damaged);
    const { code, stderr } = settle(['start', '--dir', dir, '--block-ms', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain(`${victim}: line 1: checksum mismatch`);
    expect(readFileSync(victim, 'utf8')).toBe(damaged);
  });

  it('names a bad argument and starts nothing', () => {
    const dir = join(tempDir('settle-cli-'), 'run');
    const { code, stderr } = settle(['start', '--dir', dir, '--swaps', 'many']);
    expect(code).toBe(2);
    expect(stderr).toContain("--swaps must be an integer from 0 to 100000, got 'many'");
    expect(existsSync(dir)).toBe(false);
  });
});
