/**
 * One daemon per store. The lock is a file created exclusively (O_EXCL) holding the owner's
 * pid; a second daemon finds it and refuses, naming the pid. A daemon killed with SIGKILL
 * leaves its file behind: the next one sees that the pid is gone and takes the lock over,
 * saying so. (mtime-based locks such as proper-lockfile's would refuse a restart for their
 * staleness window after every kill -9, which is exactly when a miner restarts.)
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export class LockHeld extends Error {
  override readonly name = 'LockHeld';
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another settle daemon (pid ${pid}) is running on this store: ${path} is held; stop it first`);
  }
}

export interface HeldLock {
  readonly path: string;
  /** The pid of a previous owner that died without releasing, if the lock was taken over. */
  readonly tookOverFrom: number | null;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function writeExclusive(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  // Not fsynced: after a power loss a missing lock file only lets the next daemon start.
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

export function acquireLock(path: string): HeldLock {
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (writeExclusive(path)) {
      return {
        path,
        tookOverFrom,
        release: () => {
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    }
    let text = '';
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw error;
    }
    const pid = Number(text);
    if (/^[0-9]+$/.test(text) && pid !== process.pid && alive(pid)) throw new LockHeld(path, pid);
    // The owner is gone (killed), or the file is not ours to make sense of: take it over.
    tookOverFrom = /^[0-9]+$/.test(text) ? pid : null;
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`could not take the lock ${path}: other processes keep racing for it`);
}
