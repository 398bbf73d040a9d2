/**
 * One daemon per store: the pid lock file. Live owners are real child processes; dead ones
 * are children that have exited.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acquireLock } from '../../src/daemon/lockFile.ts';
import { LockHeld } from '../../src/errors.ts';

/** Lets one test step in between the lock's read of the file and what it does next. */
const fsHook = vi.hoisted(() => ({ afterRead: null as ((path: string) => void) | null }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((...args: Parameters<typeof actual.readFileSync>) => {
    const result = actual.readFileSync(...args);
    const hook = fsHook.afterRead;
    if (hook !== null) {
      fsHook.afterRead = null;
      hook(String(args[0]));
    }
    return result;
  }) as typeof actual.readFileSync;
  return { ...actual, default: { ...actual, readFileSync }, readFileSync };
});

let dir: string;
let path: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'settle-lock-'));
  path = join(dir, 'daemon.lock');
});

afterEach(() => {
  fsHook.afterRead = null;
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A process that stays alive until afterEach kills it. */
function liveProcess(): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  children.push(child);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  expect(result.status).toBe(0);
  expect(() => process.kill(result.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  return result.pid;
}

function fingerprint(file: string): string {
  const info = statSync(file);
  return `${info.mtimeMs}:${info.ino}:${readFileSync(file, 'utf8')}`;
}

describe('acquireLock', () => {
  it('creates the file holding our pid, readable by its owner only', () => {
    const lock = acquireLock(path);
    expect(lock.path).toBe(path);
    expect(lock.tookOverFrom).toBeNull();
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(`${process.pid}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    lock.release();
  });

  it('refuses while a live process holds it, naming that pid, and leaves the file untouched', () => {
    const pid = liveProcess();
    writeFileSync(path, `${pid}\n`);
    const before = fingerprint(path);
    let thrown: unknown;
    try {
      acquireLock(path);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LockHeld);
    expect((thrown as LockHeld).pid).toBe(pid);
    expect((thrown as LockHeld).path).toBe(path);
    expect((thrown as LockHeld).message).toContain(`pid ${pid}`);
    expect((thrown as LockHeld).message).toContain(path);
    expect(fingerprint(path)).toBe(before);
  });

  it('takes over the lock of a dead process and says whose it was', () => {
    const dead = deadPid();
    writeFileSync(path, `${dead}\n`);
    const lock = acquireLock(path);
    expect(lock.tookOverFrom).toBe(dead);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(`${process.pid}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it.each([
    ['garbage', 'not a pid at all\n'],
    ['an empty file', ''],
    ['a negative number', '-12\n'],
  ])('takes over a file holding %s, with no previous owner to name', (_, content) => {
    writeFileSync(path, content);
    const lock = acquireLock(path);
    expect(lock.tookOverFrom).toBeNull();
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(`${process.pid}`);
    lock.release();
  });

  it('can be taken again once released', () => {
    acquireLock(path).release();
    expect(existsSync(path)).toBe(false);
    const again = acquireLock(path);
    expect(again.tookOverFrom).toBeNull();
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(`${process.pid}`);
    again.release();
  });
});

describe('release', () => {
  it('removes the file while it holds our pid', () => {
    const lock = acquireLock(path);
    expect(existsSync(path)).toBe(true);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('leaves a file that now holds another pid', () => {
    const lock = acquireLock(path);
    const other = liveProcess();
    unlinkSync(path);
    writeFileSync(path, `${other}\n`);
    lock.release();
    expect(readFileSync(path, 'utf8')).toBe(`${other}\n`);
  });

  it('does nothing when the file is already gone', () => {
    const lock = acquireLock(path);
    unlinkSync(path);
    expect(() => lock.release()).not.toThrow();
    expect(existsSync(path)).toBe(false);
  });
});

describe('two daemons taking over the same stale lock', () => {
  // Check-then-act: acquireLock reads the stale pid, decides its owner is dead, and removes the
  // file. If another daemon took the stale lock over in between, removing "the stale file"
  // would remove that live daemon's lock and both would run on one store. The hook below plays
  // the other daemon in exactly that window; the takeover guard makes us look again.
  it('does not delete a lock that a live daemon took over after our read', () => {
    const dead = deadPid();
    writeFileSync(path, `${dead}\n`);
    const rival = liveProcess();
    fsHook.afterRead = (file) => {
      expect(file).toBe(path);
      // The rival daemon: sees the same dead pid, removes the file, creates its own.
      unlinkSync(path);
      writeFileSync(path, `${rival}\n`, { flag: 'wx', mode: 0o600 });
    };
    let thrown: unknown = null;
    let lock: ReturnType<typeof acquireLock> | null = null;
    try {
      lock = acquireLock(path);
    } catch (error) {
      thrown = error;
    }
    expect(fsHook.afterRead).toBeNull(); // the window was reached
    const holder = readFileSync(path, 'utf8');
    lock?.release();
    expect(holder).toBe(`${rival}\n`);
    expect(thrown).toBeInstanceOf(LockHeld);
  });
});

describe('a lock written before a reboot', () => {
  it('is taken over even if its pid now belongs to a live process (another boot id)', () => {
    const rival = liveProcess();
    writeFileSync(path, `${rival}\n00000000-0000-0000-0000-000000000000\n`);
    const lock = acquireLock(path);
    expect(lock.tookOverFrom).toBe(rival);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(`${process.pid}`);
    lock.release();
  });

  it('is held when it names a live process of this boot', () => {
    const rival = liveProcess();
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(path, `${rival}\n${boot}\n`);
    expect(() => acquireLock(path)).toThrow(LockHeld);
  });
});
