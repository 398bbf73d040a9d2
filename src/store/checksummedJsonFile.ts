/**
 * A lowdb adapter for one JSON document with an integrity envelope:
 *   {"format": "...", "sha256": "<hex of JSON.stringify(data)>", "data": ...}
 * Writes are durable (temp, fsync, rename, fsync dir). Reads refuse anything truncated,
 * foreign or altered, naming the file; a refusal never touches the file.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Adapter } from 'lowdb';
import { writeFileDurably } from './durableFile.ts';
import { StoreError } from '../errors.ts';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function encodeEnvelope(format: string, data: unknown): string {
  const body = JSON.stringify(data);
  return `{"format":${JSON.stringify(format)},"sha256":"${sha256Hex(body)}","data":${body}}\n`;
}

export function decodeEnvelope(file: string, format: string, text: string): unknown {
  if (text.trim() === '') throw new StoreError(file, 'file is empty (truncated by a crash or a full disk?)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StoreError(file, `not valid JSON, truncated or damaged (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || !('format' in parsed)) {
    throw new StoreError(file, `not a settle file: no "format" field (expected "${format}")`);
  }
  const envelope = parsed as { format: unknown; sha256?: unknown; data?: unknown };
  if (envelope.format !== format) {
    throw new StoreError(file, `foreign file: format is ${JSON.stringify(envelope.format)}, expected "${format}"`);
  }
  if (typeof envelope.sha256 !== 'string' || !('data' in envelope)) {
    throw new StoreError(file, 'missing "sha256" or "data" field');
  }
  const actual = sha256Hex(JSON.stringify(envelope.data));
  if (actual !== envelope.sha256) {
    throw new StoreError(file, `checksum mismatch: stored ${envelope.sha256}, content hashes to ${actual}`);
  }
  return envelope.data;
}

export class ChecksummedJsonFile<T> implements Adapter<T> {
  constructor(
    readonly path: string,
    readonly format: string,
    private readonly validate: (file: string, data: unknown) => T,
  ) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StoreError(this.path, `cannot be read: ${(error as Error).message}`);
    }
    return this.validate(this.path, decodeEnvelope(this.path, this.format, text));
  }

  async write(data: T): Promise<void> {
    await writeFileDurably(this.path, encodeEnvelope(this.format, data));
  }
}
