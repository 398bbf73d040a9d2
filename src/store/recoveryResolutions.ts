/**
 * Operators' resolutions of recovery entries: an append-only, fsynced JSONL file beside the
 * recovery log, written only by `settle recovery resolve`. The daemon never writes it, so an
 * operator and a running daemon never append to the same file. A resolution says who looked,
 * why it is settled and when; the entry itself is never changed or removed.
 */
import { existsSync } from 'node:fs';
import { appendFile, open, readFile, truncate } from 'node:fs/promises';
import { sha256Hex } from './checksummedJsonFile.ts';
import { writeFileDurably } from './durableFile.ts';
import { StoreError } from '../errors.ts';

export interface Resolution {
  readonly key: string;
  readonly by: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
}

const checkOf = (r: Resolution): string => sha256Hex(JSON.stringify(r)).slice(0, 16);

export async function readResolutions(path: string): Promise<Map<string, Resolution>> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StoreError(path, `cannot be read: ${(error as Error).message}`);
  }
  const resolutions = new Map<string, Resolution>();
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  whole
    .split('\n')
    .slice(0, -1)
    .forEach((line, index) => {
      let parsed: Resolution & { check?: string };
      try {
        parsed = JSON.parse(line) as Resolution & { check?: string };
      } catch {
        throw new StoreError(path, `line ${index + 1} is not valid JSON`);
      }
      const { check, ...resolution } = parsed;
      if (check !== checkOf(resolution)) throw new StoreError(path, `line ${index + 1} fails its checksum`);
      if (!resolutions.has(resolution.key)) resolutions.set(resolution.key, resolution);
    });
  return resolutions;
}

/**
 * Appends durably. A resolve killed mid-append left a torn last line: it is set aside (to
 * `<file>.torn-<n>`, never deleted) and cut off first, so the new line starts a line of its own.
 */
export async function appendResolution(path: string, resolution: Resolution): Promise<void> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new StoreError(path, `cannot be read: ${(error as Error).message}`);
  }
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  if (whole.length < text.length) {
    let n = 1;
    while (existsSync(`${path}.torn-${n}`)) n += 1;
    await writeFileDurably(`${path}.torn-${n}`, text.slice(whole.length));
    await truncate(path, Buffer.byteLength(whole));
  }
  await appendFile(path, `${JSON.stringify({ ...resolution, check: checkOf(resolution) })}\n`, { mode: 0o600 });
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
