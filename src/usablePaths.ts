/**
 * Paths a command is given, checked before anything is read or written, so a bad one gets a
 * clear error naming it and what is wrong, at once: missing, a missing parent, a file where a
 * directory is expected (or the reverse), not readable, not writable.
 *
 * A directory is never created recursively: at most its last component, once its parent is
 * known to be a writable directory. (Node's `mkdirSync(..., { recursive: true })` spins
 * forever on a path such as /proc/nope, where mkdir answers ENOENT although the parent
 * exists; and creating a chain of directories nobody asked for hides a typo.) Every check is
 * one or two system calls: no loop, no wait.
 *
 * A crash leaves at most the one directory created, empty.
 */
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UnusablePath } from './errors.ts';

/** What stat and access errors mean, in words an operator reads. */
function explain(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'a component of the path is a file, not a directory';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ELOOP':
      return 'too many symbolic links (a loop?)';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return `cannot be examined (${code ?? (error as Error).message})`;
  }
}

function statOf(path: string): Stats | string {
  try {
    return statSync(path);
  } catch (error) {
    return explain(error);
  }
}

function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a file';
  if (stats.isDirectory()) return 'a directory';
  return 'neither a file nor a directory';
}

function accessProblem(path: string, mode: number, what: string): string | null {
  try {
    accessSync(path, mode);
    return null;
  } catch (error) {
    return `is not ${what} (${(error as NodeJS.ErrnoException).code ?? 'access refused'})`;
  }
}

/** Why `dir` is not an existing directory we may read (and, with `write`, create files in). */
function existingDirectoryProblem(dir: string, write: boolean): string | null {
  const stats = statOf(dir);
  if (typeof stats === 'string') return stats;
  if (!stats.isDirectory()) return `is ${kindOf(stats)}, not a directory`;
  return write
    ? accessProblem(dir, constants.R_OK | constants.W_OK | constants.X_OK, 'writable')
    : accessProblem(dir, constants.R_OK | constants.X_OK, 'readable');
}

/** Why `parent`, the directory a path would be created in, cannot take it; or null. */
function parentProblem(path: string, write: boolean): string | null {
  const parent = dirname(path);
  const problem = existingDirectoryProblem(parent, write);
  return problem === null ? null : `its parent ${parent} ${problem}`;
}

/**
 * Why `path` cannot be a directory we write in: it exists and is not a writable directory,
 * or it does not exist and its parent is not a writable directory. Null if usable (it may
 * still have to be created: `prepareDirectory`).
 */
export function writableDirectoryProblem(path: string): string | null {
  const stats = statOf(path);
  if (stats === 'does not exist') return parentProblem(path, true);
  return existingDirectoryProblem(path, true);
}

/** Why `path` is not an existing directory we can read; or null. */
export function readableDirectoryProblem(path: string): string | null {
  const problem = existingDirectoryProblem(path, false);
  return problem === 'does not exist' ? (parentProblem(path, false) ?? problem) : problem;
}

/** Why `path` is not an existing regular file we can read; or null. */
export function readableFileProblem(path: string): string | null {
  const stats = statOf(path);
  if (stats === 'does not exist') return parentProblem(path, false) ?? stats;
  if (typeof stats === 'string') return stats;
  if (!stats.isFile()) return `is ${kindOf(stats)}, not a file`;
  return accessProblem(path, constants.R_OK, 'readable');
}

/**
 * Why `path` cannot be a file that another program appends to and we read (the jobs feed):
 * absent is fine (nothing written yet) if its parent is a readable directory; present, it
 * must be a readable regular file.
 */
export function watchedFileProblem(path: string): string | null {
  const stats = statOf(path);
  if (stats === 'does not exist') return parentProblem(path, false);
  return readableFileProblem(path);
}

/** Why `path` cannot be a file we (over)write: its parent must be a writable directory. */
export function writableFileProblem(path: string): string | null {
  const stats = statOf(path);
  if (stats === 'does not exist') return parentProblem(path, true);
  if (typeof stats === 'string') return stats;
  if (!stats.isFile()) return `is ${kindOf(stats)}, not a file`;
  return accessProblem(path, constants.W_OK, 'writable') ?? parentProblem(path, true);
}

function required(what: string, path: string, problem: string | null): string {
  if (problem !== null) throw new UnusablePath(what, path, problem);
  return path;
}

/** The absolute path of an existing readable directory, or UnusablePath. */
export function requireReadableDirectory(path: string, what: string): string {
  const absolute = resolve(path);
  return required(what, absolute, readableDirectoryProblem(absolute));
}

/** The absolute path of an existing readable file, or UnusablePath. */
export function requireReadableFile(path: string, what: string): string {
  const absolute = resolve(path);
  return required(what, absolute, readableFileProblem(absolute));
}

/** The absolute path of a directory we may write in (it may still have to be created), or UnusablePath. */
export function requireWritableDirectory(path: string, what: string): string {
  const absolute = resolve(path);
  return required(what, absolute, writableDirectoryProblem(absolute));
}

/** The absolute path of a file we may (over)write, or UnusablePath. */
export function requireWritableFile(path: string, what: string): string {
  const absolute = resolve(path);
  return required(what, absolute, writableFileProblem(absolute));
}

/**
 * A writable directory at `path`, created (the last component only, with `mode`) if absent;
 * its absolute path. UnusablePath when it cannot be.
 */
export function prepareDirectory(path: string, what: string, mode = 0o700): string {
  const absolute = resolve(path);
  required(what, absolute, writableDirectoryProblem(absolute));
  if (statOf(absolute) !== 'does not exist') return absolute; // an existing writable directory
  try {
    mkdirSync(absolute, { mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return required(what, absolute, writableDirectoryProblem(absolute)); // made meanwhile
    throw new UnusablePath(
      what,
      absolute,
      `cannot be created in ${dirname(absolute)} (mkdir: ${code ?? (error as Error).message})`,
    );
  }
  return absolute;
}
