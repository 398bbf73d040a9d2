import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, parseFaults } from '../../sim/faults.ts';
import { simCommand } from '../../src/cli/simCommand.ts';
import { SendsTooLate } from '../support/plantedBugs.ts';

const BIN = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));
const settle = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

function capture() {
  const out = new PassThrough();
  const err = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { io: { stdout: out, stderr: err }, text: () => text };
}

describe('settle sim (command line)', () => {
  it('prints one JSON object with the figures, identical for the same seed, exit 0', () => {
    const args = ['sim', '--seed', '7', '--runs', '5', '--swaps', '4', '--jobs', '4', '--json'];
    const first = settle(args);
    expect(first.status).toBe(0);
    const summary = JSON.parse(first.stdout) as {
      runs: number;
      invariants: Array<{ name: string; checked: number; violations: number }>;
      faultsInjected: Record<string, number>;
    };
    expect(summary.runs).toBe(5);
    expect(summary.invariants.map((i) => i.name)).toContain('no double send');
    expect(summary.invariants.every((i) => i.violations === 0)).toBe(true);
    expect(Object.keys(summary.faultsInjected)).toHaveLength(FAULT_KINDS.length);
    expect(settle(args).stdout).toBe(first.stdout);
  });

  it('prints a readable report', () => {
    const { status, stdout } = settle(['sim', '--runs', '3', '--swaps', '3', '--jobs', '3', '--faults', 'crash,reorg']);
    expect(status).toBe(0);
    expect(stdout).toContain('settle sim: seed 1, 3 runs of 3 swaps and 3 jobs, faults: crash,reorg, margin 3 blocks');
    expect(stdout).toMatch(/no double send\s+checked\s+\d+\s+ok/);
    expect(stdout).toMatch(/lifecycles\/s/);
  });

  it('names an unknown fault kind and runs nothing', () => {
    const { status, stderr, stdout } = settle(['sim', '--faults', 'crash,gremlins']);
    expect(status).toBe(2);
    expect(stderr).toContain("unknown fault kind 'gremlins'; known: rpc-before");
    expect(stdout).toBe('');
  });

  it('on a violation: exit 1, the seed, the shortest trace found and the command that replays it', async () => {
    const { io, text } = capture();
    const code = await simCommand(
      { seed: 1, runs: 30, swaps: 6, jobs: 2, faults: parseFaults('all') },
      io,
      SendsTooLate,
    );
    expect(code).toBe(1);
    const out = text();
    expect(out).toMatch(/no send too late\s+checked\s+\d+\s+[1-9]\d* VIOLATION\(S\)/);
    expect(out).toMatch(/VIOLATION in the run of seed \d+/);
    expect(out).toMatch(/no send too late: swap \d+: signed at block \d+, margin 3, timeout \d+/);
    expect(out).toMatch(/shortest trace found \(\d+ swaps, \d+ jobs, faults [a-z-,]+\)/);
    expect(out).toMatch(/\[\d+\] swap:\d+: Pending -> Sending on CLOCK/);
    expect(out).toMatch(/replay: settle sim --seed \d+ --runs 1 --swaps \d+ --jobs \d+ --faults [a-z-,]+/);
  });
});
