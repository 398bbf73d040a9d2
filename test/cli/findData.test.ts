/**
 * The newcomer's next commands: after `settle start` (data in ./.settle), `settle status` and
 * `settle recovery` run with no flag find the data, say on stderr which they read, and refuse
 * with the candidates when there are none or several. Real child processes in their own
 * working directories, on the data a real `settle start` left.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/simFixture.ts';

const BIN = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));

function settle(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let root: string;
/** Where `settle start` ran with its default --dir: its data is in `${started}/.settle`. */
let started: string;

beforeAll(() => {
  root = tempDir('settle-find-');
  started = join(root, 'started');
  mkdirSync(started);
  const run = settle(started, 'start', '--swaps', '3', '--jobs', '3', '--block-ms', '0', '--seed', '5');
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
}, 180_000);

/** A new working directory under root holding the given files (settle.yaml) and copies of ./.settle. */
function workdir(name: string, options: { embedded?: boolean; config?: string }): string {
  const dir = join(root, name);
  mkdirSync(dir);
  if (options.embedded === true) cpSync(join(started, '.settle'), join(dir, '.settle'), { recursive: true });
  if (options.config !== undefined) writeFileSync(join(dir, 'settle.yaml'), options.config);
  return dir;
}

describe('settle status and settle recovery without --data-dir or --config', () => {
  it('after settle start, read ./.settle and say so on stderr', () => {
    const data = join(started, '.settle');
    const status = settle(started, 'status');
    expect(status.stderr).toBe(`settle: reading ${data} (./.settle, where settle start keeps its data)\n`);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`data: ${data}\n`);
    expect(status.stdout).toContain('machines: 0 live, 6 finished\n');
    // What the run left in its recovery log, listed and shown without a flag.
    const logged = readFileSync(join(data, 'recovery.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { key: string }).key);
    const list = settle(started, 'recovery', 'list', '--all');
    expect(list.code).toBe(0);
    expect(list.stderr).toBe(`settle: reading ${data} (./.settle, where settle start keeps its data)\n`);
    expect(
      list.stdout === 'recovery log: empty\n'
        ? []
        : list.stdout
            .trimEnd()
            .split('\n')
            .map((l) => l.split('  ')[0]),
    ).toEqual(logged);
    if (logged.length > 0) {
      const show = settle(started, 'recovery', 'show', logged[0]!);
      expect(show.code).toBe(0);
      expect((JSON.parse(show.stdout) as { key: string }).key).toBe(logged[0]);
    }
    const missing = settle(started, 'recovery', 'show', 'swap:404');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`settle: no recovery entry 'swap:404' in ${join(data, 'recovery.jsonl')}\n`);
  });

  it('read the dataDir of ./settle.yaml, relative to the file', () => {
    const dir = workdir('operator', {
      config: 'dataDir: ../started/.settle\nswaps: { hotkey: { file: keys/absent } }\n',
    });
    const status = settle(dir, 'status', '--json');
    expect(status.stderr).toBe(`settle: reading ${join(started, '.settle')} (dataDir of ./settle.yaml)\n`);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ dataDir: join(started, '.settle'), live: [], archived: 6 });
  });

  it('take ./.settle and a ./settle.yaml naming it as one place', () => {
    const dir = workdir('same', { embedded: true, config: 'dataDir: .settle\n' });
    const status = settle(dir, 'status');
    expect(status.stderr).toBe(
      `settle: reading ${join(dir, '.settle')} (./.settle, where settle start keeps its data, and dataDir of ./settle.yaml)\n`,
    );
    expect(status.code).toBe(0);
  });

  it('refuse two places, listing both, and read neither', () => {
    const dir = workdir('both', { embedded: true, config: 'dataDir: ../started/.settle\n' });
    for (const args of [
      ['status'],
      ['recovery', 'list'],
      ['recovery', 'resolve', 'swap:1', '--by', 'alice', '--reason', 'checked'],
    ]) {
      const result = settle(dir, ...args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'settle: settle data is in more than one place here; say which with --data-dir <dir> or --config <file>:\n' +
          `  ${join(dir, '.settle')}  (./.settle, where settle start keeps its data)\n` +
          `  ${join(started, '.settle')}  (dataDir of ./settle.yaml)\n`,
      );
    }
    // Told, it reads what it is told and says nothing more.
    const told = settle(dir, 'status', '--data-dir', join(started, '.settle'));
    expect(told.code).toBe(0);
    expect(told.stderr).toBe('');
  });

  it('refuse with what was looked for when neither is here', () => {
    const dir = workdir('nothing', {});
    const status = settle(dir, 'status');
    expect(status.code).toBe(2);
    expect(status.stderr).toBe(
      `settle: say where the data is: --data-dir <dir> or --config <file> (neither ./.settle, where settle start keeps its data, nor ./settle.yaml, a daemon's configuration, is in ${dir})\n`,
    );
  });

  it('name a ./settle.yaml whose dataDir does not exist', () => {
    const dir = workdir('unstarted', { config: 'dataDir: ./data\n' });
    const status = settle(dir, 'status');
    expect(status.code).toBe(2);
    expect(status.stderr).toBe(`settle: the data directory ${join(dir, 'data')}: does not exist\n`);
  });
});
