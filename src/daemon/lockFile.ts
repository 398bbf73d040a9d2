/**
 * One daemon per store. The lock is a file created exclusively (link(2)) holding the owner's
 * pid and the machine's boot id; a second daemon finds it and refuses, naming the pid. A daemon killed with SIGKILL
 * leaves its file behind: the next one sees that the pid is gone and takes the lock over,
 * saying so. (mtime-based locks such as proper-lockfile's would refuse a restart for their
 * staleness window after every kill -9, which is exactly when a miner restarts.)
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { LockContended, LockHeld } from '../errors.ts';

export interface HeldLock {
  readonly path: string;
  /** The pid of a previous owner that died without releasing, if the lock was taken over. */
  readonly tookOverFrom: number | null;
  release(): void;
}

/**
 * This boot of the machine (Linux): a lock written before a reboot names a pid that may now
 * belong to an unrelated process, and must not keep a restarted daemon out.
 */
function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

const THIS_BOOT = readBootId();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Creates `path` holding our pid, or returns false if it exists. The pid is written to a temp
 * file first and linked into place (link fails if the name exists): the lock never exists
 * empty, so no one mistakes a lock being created for a stale one.
 */
function writeExclusive(path: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n${THIS_BOOT}\n`, { mode: 0o600 });
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkQuietly(temp);
  }
}

/** The lock's owner as written (pid, then boot id); pid null when the file makes no sense. */
function readPid(path: string): { text: string; pid: number | null; boot: string } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const [pid = '', boot = ''] = text.split('\n').map((line) => line.trim());
  return { text, pid: /^[0-9]+$/.test(pid) ? Number(pid) : null, boot };
}

/** The pid of a daemon that holds the lock now (same boot, process alive), or null. */
export function lockHolder(path: string): number | null {
  const seen = readPid(path);
  return seen !== null && holds(seen) ? seen.pid : null;
}

function holds(seen: { pid: number | null; boot: string }): seen is { pid: number; boot: string } {
  if (seen.boot !== '' && THIS_BOOT !== '' && seen.boot !== THIS_BOOT) return false; // written before a reboot
  return seen.pid !== null && alive(seen.pid);
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Taking over a stale lock is check-then-act (read a dead pid, remove the file), so two
 * daemons starting together could each remove the other's fresh lock. The takeover is
 * therefore done under a second exclusive file, `<lock>.takeover`: whoever creates it reads
 * the lock again, removes it only if it still names the dead owner, and creates its own.
 */
export function acquireLock(path: string): HeldLock {
  const guard = `${path}.takeover`;
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (writeExclusive(path)) return held(path, tookOverFrom);
    const seen = readPid(path);
    if (seen === null) continue; // released meanwhile: try again
    if (seen.pid !== process.pid && holds(seen)) throw new LockHeld(path, seen.pid);
    if (!writeExclusive(guard)) {
      const guardOwner = readPid(guard);
      if (guardOwner !== null && guardOwner.pid !== process.pid && holds(guardOwner)) {
        pause(20); // another daemon is taking over: see what it ends with
      } else {
        unlinkQuietly(guard); // left by a daemon that died mid-takeover
      }
      continue;
    }
    try {
      const now = readPid(path);
      if (now !== null && now.text !== seen.text) continue; // changed since we looked: look again
      tookOverFrom = seen.pid;
      unlinkQuietly(path);
      if (writeExclusive(path)) return held(path, tookOverFrom);
    } finally {
      unlinkQuietly(guard);
    }
  }
  throw new LockContended(path);
}

function held(path: string, tookOverFrom: number | null): HeldLock {
  return {
    path,
    tookOverFrom,
    release: () => {
      if (readPid(path)?.pid === process.pid) unlinkQuietly(path);
    },
  };
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
