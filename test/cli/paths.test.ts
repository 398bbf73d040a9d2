/**
 * Every path a command is given that is not a usable directory or file gets one clear line
 * naming the argument, the path and what is wrong, exit 2, and nothing is created: for each
 * verb, as a user meets it (a real child process). The spawn timeout is what fails a command
 * that hangs (as `settle start --dir /proc/nope` did, spinning in Node's recursive mkdir).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/simFixture.ts';

const BIN = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));
const HARDHAT_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
/** Root ignores permission bits: the chmod cases only say something for another user. */
const ROOT = process.getuid?.() === 0;

function settle(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  expect(result.error, 'the command did not end within the spawn timeout').toBeUndefined();
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The command refused with exactly this one line on stderr, and printed nothing else. */
function expectRefused(result: ReturnType<typeof settle>, line: string | RegExp): void {
  expect(result.code).toBe(2);
  if (typeof line === 'string') expect(result.stderr).toBe(`settle: ${line}\n`);
  else expect(result.stderr).toMatch(line);
  expect(result.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
}

let dir: string;
/** A regular file where a directory is expected. */
let file: string;
/** A directory where a file is expected. */
let folder: string;
let missing: string;

beforeAll(() => {
  dir = tempDir('settle-paths-');
  file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory\n');
  folder = join(dir, 'a-folder');
  mkdirSync(folder);
  missing = join(dir, 'no-such-parent');
});

describe('settle start --dir', () => {
  it('a file', () => {
    expectRefused(settle('start', '--dir', file), `--dir ${file}: is a file, not a directory`);
  });

  it('under a file', () => {
    expectRefused(
      settle('start', '--dir', join(file, 'run')),
      `--dir ${join(file, 'run')}: a component of the path is a file, not a directory`,
    );
  });

  it('a missing parent: nothing is created', () => {
    expectRefused(
      settle('start', '--dir', join(missing, 'run')),
      `--dir ${join(missing, 'run')}: its parent ${missing} does not exist`,
    );
    expect(existsSync(missing)).toBe(false);
  });

  it.runIf(existsSync('/proc/self'))('a place the kernel takes no directory in (/proc): said at once, no spin', () => {
    expectRefused(
      settle('start', '--dir', '/proc/nope'),
      /^settle: --dir \/proc\/nope: (cannot be created in \/proc \(mkdir: ENOENT\)|its parent \/proc is not writable \(EACCES\))\n$/,
    );
  });

  it.skipIf(ROOT)('a directory this user cannot write', () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    chmodSync(locked, 0o500);
    expectRefused(settle('start', '--dir', locked), `--dir ${locked}: is not writable (EACCES)`);
    expectRefused(
      settle('start', '--dir', join(locked, 'run')),
      `--dir ${join(locked, 'run')}: its parent ${locked} is not writable (EACCES)`,
    );
  });
});

describe('settle sim --coverage', () => {
  // 10^8 runs would take hours: refused before the first one, or the spawn timeout fails the test.
  it('a directory, or in a missing directory: refused before any run', () => {
    expectRefused(
      settle('sim', '--runs', '100000000', '--coverage', folder),
      `--coverage ${folder}: is a directory, not a file`,
    );
    expectRefused(
      settle('sim', '--runs', '100000000', '--coverage', join(missing, 'cov.json')),
      `--coverage ${join(missing, 'cov.json')}: its parent ${missing} does not exist`,
    );
  });
});

describe('settle diagram', () => {
  it('--out a file, under a missing parent, or in /proc', () => {
    expectRefused(settle('diagram', '--format', 'all', '--out', file), `--out ${file}: is a file, not a directory`);
    expectRefused(
      settle('diagram', '--format', 'all', '--out', join(missing, 'report')),
      `--out ${join(missing, 'report')}: its parent ${missing} does not exist`,
    );
    expect(existsSync(missing)).toBe(false);
    if (existsSync('/proc/self'))
      expectRefused(settle('diagram', '--format', 'all', '--out', '/proc/nope'), /^settle: --out \/proc\/nope: /);
  });

  it('--coverage missing, or a directory', () => {
    const absent = join(dir, 'absent.json');
    expectRefused(
      settle('diagram', '--machine', 'swapFulfillment', '--coverage', absent),
      `--coverage ${absent}: does not exist`,
    );
    expectRefused(
      settle('diagram', '--machine', 'swapFulfillment', '--coverage', folder),
      `--coverage ${folder}: is a directory, not a file`,
    );
  });
});

/** A configuration the schema accepts (jobs only, key file 0600), with `dataDir` and `feed` as given. */
function daemonConfig(name: string, dataDir: string, feed: string): string {
  const home = join(dir, name);
  mkdirSync(home);
  const key = join(home, 'base.key');
  writeFileSync(key, `${HARDHAT_KEY}\n`, { mode: 0o600 });
  const config = join(home, 'settle.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${dataDir}`,
      'jobs:',
      `  feed: ${feed}`,
      '  chains:',
      `    base: { rpcUrl: 'http://127.0.0.1:9', chainId: 8453, escrow: '0x1111111111111111111111111111111111111111', key: { file: ${key} } }`,
      '',
    ].join('\n'),
  );
  return config;
}

describe('settle daemon', () => {
  it('--config missing, or a directory', () => {
    const absent = join(dir, 'absent.yaml');
    expectRefused(settle('daemon', '--config', absent), `--config ${absent}: does not exist`);
    expectRefused(settle('daemon', '--config', folder), `--config ${folder}: is a directory, not a file`);
  });

  it("the configuration's dataDir a file and its feed a directory: both at once, nothing started", () => {
    const config = daemonConfig('both-bad', file, folder);
    const result = settle('daemon', '--config', config);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `settle: ${config}: 2 problems:\n  - dataDir: ${file}: is a file, not a directory\n  - jobs.feed: ${folder}: is a directory, not a file\n`,
    );
    expect(result.stdout).toBe('');
  });

  it("the configuration's dataDir and feed under missing parents: nothing created", () => {
    const config = daemonConfig('parents', join(missing, 'data'), join(missing, 'feed', 'jobs.jsonl'));
    const result = settle('daemon', '--config', config, '--init');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `settle: ${config}: 2 problems:\n  - dataDir: ${join(missing, 'data')}: its parent ${missing} does not exist\n` +
        `  - jobs.feed: ${join(missing, 'feed', 'jobs.jsonl')}: its parent ${join(missing, 'feed')} does not exist\n`,
    );
    expect(existsSync(missing)).toBe(false);
  });

  it.runIf(existsSync('/proc/self'))('a dataDir the kernel takes no directory in (/proc): said at once', () => {
    const config = daemonConfig('proc', '/proc/nope', join(dir, 'jobs.jsonl'));
    const said = ROOT
      ? `dataDir of ${config} /proc/nope: cannot be created in /proc (mkdir: ENOENT)`
      : `${config}: dataDir: /proc/nope: its parent /proc is not writable (EACCES)`;
    expectRefused(settle('daemon', '--config', config, '--init'), said);
  });
});

describe('settle status and settle recovery', () => {
  it('--data-dir missing, or a file', () => {
    const absent = join(dir, 'no-data');
    expectRefused(settle('status', '--data-dir', absent), `--data-dir ${absent}: does not exist`);
    expectRefused(settle('recovery', 'list', '--data-dir', file), `--data-dir ${file}: is a file, not a directory`);
    expectRefused(
      settle('recovery', 'show', 'swap:1', '--data-dir', join(missing, 'data')),
      `--data-dir ${join(missing, 'data')}: its parent ${missing} does not exist`,
    );
  });

  it('--config a directory, or naming a dataDir that does not exist', () => {
    expectRefused(settle('status', '--config', folder), `--config ${folder}: is a directory, not a file`);
    const config = daemonConfig('unstarted', './data', './jobs.jsonl');
    const dataDir = join(dir, 'unstarted', 'data');
    expectRefused(
      settle('recovery', 'resolve', 'swap:1', '--by', 'alice', '--reason', 'checked', '--config', config),
      `dataDir of ${config} ${dataDir}: does not exist`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });
});
