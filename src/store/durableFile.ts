/**
 * Crash- and power-safe file replacement: write a temp file, fsync it, rename it over the
 * target, fsync the directory. A crash at any instant leaves either the old file or the new
 * one, never a mix; steno (lowdb's own writer) renames but never fsyncs.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export const TEMP_SUFFIX = '.tmp';

export async function writeFileDurably(path: string, contents: string): Promise<void> {
  const temp = path + TEMP_SUFFIX;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(contents, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await fsyncDirectory(dirname(path));
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The same, synchronously: for state that must be durable before a call returns at all. */
export function writeFileDurablySync(path: string, contents: string): void {
  const temp = path + TEMP_SUFFIX;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
