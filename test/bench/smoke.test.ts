/**
 * `npm run bench -- --smoke`: the benchmarks at tiny sizes, only to keep them working. Nothing
 * here looks at a speed: benchmarks never fail for being slow.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run.ts', '--smoke'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench -- --smoke', () => {
  it('runs every benchmark and prints every table', async () => {
    const { code, stdout, stderr } = await runBench();
    expect(stderr).not.toMatch(/Error|Warning/);
    expect(code).toBe(0);
    for (const heading of [
      '| bare XState, swap machine, happy path',
      '| bare XState, job machine, happy path',
      '| settle sim, real host, jobs, all faults and crashes',
      '| disk: append + fdatasync',
      '| store: persisted transitions, 10 machines transitioning at once',
      '| live machines | µs per persisted transition, median | mean | median vs 10 | mean vs 10 |',
      'restore 100 machines:',
      'RPC calls per swap lifecycle on the real adapters',
      '| jobs due at one claim run | claim method | transactions per job | gas per job | gas vs one job | RPC calls of the claim run |',
      '| strategy | transactions | total gas | jobs claimed |',
      '| settle: dry-run bisection, one batch | 1 |',
    ]) {
      expect(stdout).toContain(heading);
    }
    // Each simulated row carries its own ceiling (the same steps in bare XState) and the ratios.
    const simRows = stdout.split('\n').filter((line) => line.startsWith('| settle sim, real host'));
    expect(simRows).toHaveLength(4);
    for (const row of simRows) {
      expect(row).toMatch(/\| \d+ \| \d+ \| \d+\.\d{3} \| \d+\.\d{3} \| \d+\.\d{3} \|/);
      expect(row).toMatch(/[\d.]+ machine steps, [\d.]+ chain calls, [\d.]+ crash points per lifecycle/);
    }
    // Transactions per job are counted from the node: one claimLocks for a batch of 5 is 0.2.
    for (const method of ['claimLocksAndWithdraw', 'claimLocks']) {
      expect(stdout).toMatch(new RegExp(`^\\| 5 \\| ${method} \\| 0\\.200 \\| \\d+ \\| 0\\.\\d\\d \\| \\d+ \\|$`, 'm'));
    }
    // The bad entry costs ocean-node's strategy a transaction per good job, settle one.
    expect(stdout).toMatch(/^\| ocean-node: batch, then claimLockAndWithdraw per job \| 5 \| \d+ \| 5 \|$/m);
    // The witness asks each chain one call at a start and one before each signature.
    expect(stdout).toMatch(
      /witness check \(included above\): per start and paying account, 1 EVM call\(s\), 1 Subtensor call\(s\) for a TAO account; per first send, 1\.0 EVM call\(s\) \(2 signatures\)/,
    );
    // On chains judged by id: BTC one Esplora call each time; Solana one, plus each new signature's fee payer read once.
    expect(stdout).toMatch(
      /witness check on btc: per start and paying account, 1 call\(s\); per first send, 1\.0 call\(s\) \(2 signatures\)/,
    );
    expect(stdout).toMatch(
      /witness check on sol: per start and paying account, 2 call\(s\); per first send, 1\.5 call\(s\) \(2 signatures\)/,
    );
    // Every figure printed is a number: a NaN or Infinity would mean a benchmark measured nothing.
    expect(stdout).not.toMatch(/NaN|Infinity/);
  }, 600_000);
});
