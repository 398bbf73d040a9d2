/**
 * An append-only file of JSON lines, each with a short SHA-256 check of its content, appended
 * and fsynced one line at a time (the witness journal, the operator's reconcile decisions).
 *
 * What a crash leaves: a last line without its newline, never acknowledged. A writer sets it
 * aside (`<file>.torn-<n>`, kept) and cuts the file back to its last whole line before its
 * next append; a reader skips it. A damaged whole line anywhere is refused with its number.
 */
import { existsSync } from 'node:fs';
import { appendFile, open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sha256Hex } from './checksummedJsonFile.ts';
import { fsyncDirectory, writeFileDurably } from './durableFile.ts';
import { StoreError } from '../errors.ts';

const checkOf = (value: unknown): string => sha256Hex(JSON.stringify(value)).slice(0, 16);

/** Every whole line's value, validated; a missing file is empty. */
export async function readCheckedJsonl<T>(path: string, validate: (value: unknown, where: string) => T): Promise<T[]> {
  const text = await readText(path);
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  return whole
    .split('\n')
    .slice(0, -1)
    .map((line, index) => {
      const where = `line ${index + 1}`;
      let parsed: { check?: unknown; value?: unknown };
      try {
        parsed = JSON.parse(line) as { check?: unknown; value?: unknown };
      } catch {
        throw new StoreError(path, `${where} is not valid JSON (damaged)`);
      }
      if (typeof parsed !== 'object' || parsed === null || !('value' in parsed))
        throw new StoreError(path, `${where} is not a settle journal line`);
      if (parsed.check !== checkOf(parsed.value)) throw new StoreError(path, `${where} fails its checksum (damaged)`);
      return validate(parsed.value, `${path}, ${where}`);
    });
}

/**
 * Appends one line durably (the directory too, when the file is new). The file is checked for
 * a torn last line before the first append a writer makes, and trusted after: one writer per
 * file (the daemon, under its lock; or one operator command), so the tail is its own.
 */
export class CheckedJsonlWriter {
  private tailChecked = false;

  constructor(readonly path: string) {}

  async append(value: unknown): Promise<void> {
    if (!this.tailChecked) {
      await setTornTailAside(this.path);
      this.tailChecked = true;
    }
    const isNew = !existsSync(this.path);
    await appendFile(this.path, `${JSON.stringify({ value, check: checkOf(value) })}\n`, { mode: 0o600 });
    const handle = await open(this.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (isNew) await fsyncDirectory(dirname(this.path));
  }
}

/**
 * Replaces the whole file with these values, crash-safe (a temporary file fsynced and renamed
 * over it, the directory fsynced): a crash leaves the old file or the new one, whole. For the
 * file's one writer only (a bounded journal compacted at start).
 */
export async function rewriteCheckedJsonl(path: string, values: readonly unknown[]): Promise<void> {
  await writeFileDurably(path, values.map((value) => `${JSON.stringify({ value, check: checkOf(value) })}\n`).join(''));
}

async function setTornTailAside(path: string): Promise<void> {
  const text = await readText(path);
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  if (whole.length === text.length) return;
  let n = 1;
  while (existsSync(`${path}.torn-${n}`)) n += 1;
  await writeFileDurably(`${path}.torn-${n}`, text.slice(whole.length));
  await truncate(path, Buffer.byteLength(whole));
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new StoreError(path, `cannot be read: ${(error as Error).message}`);
  }
}
