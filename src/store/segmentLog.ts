/**
 * The store's log on disk: numbered segment files of newline-terminated lines, appended to and
 * fsynced, never rewritten in place.
 *
 *   <dir>/0000000001.jsonl   older segments (superseded by a later checkpoint, removed after it)
 *   <dir>/0000000007.jsonl   the newest segment: appends go here
 *
 * A checkpoint writes a new segment holding only the lines still needed (temp file, fsync,
 * rename, directory fsync) and then removes the older ones, so the log's size stays
 * proportional to what is live. A crash between the two leaves both: readers take the newest
 * copy of each record, which is the same record.
 *
 * A crash during an append can leave the newest segment ending in a fragment with no newline.
 * That write was never acknowledged (acknowledgement follows the fsync of whole lines), so it
 * is not data: a writer cuts it off, a reader skips it.
 *
 * Size (over 300 lines): rotation, append, checkpoint and reading a log larger than one read
 * share the segment numbering and the fsync rules; split, each half would restate them.
 */
import { isAscii } from 'node:buffer';
import { close as closeFd, fdatasync, fsync, open as openFd, write } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm, truncate } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fsyncDirectory, TEMP_SUFFIX } from './durableFile.ts';
import { assert, StoreError } from '../errors.ts';

const SEGMENT_NAME = /^(\d{10})\.jsonl$/;
const NEWLINE = 0x0a;
/** Bytes read at once while scanning; at least the longest line allowed. */
const SCAN_CHUNK = 8 * 1024 * 1024;
/** A line longer than this is damage, not a record (a snapshot is about 1 KB). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export interface LineLocation {
  readonly segment: number;
  readonly offset: number;
  /** Bytes of the line, without its newline. */
  readonly length: number;
}

export interface TornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
}

/** Whole lines read at once from one segment: valid only during the visit (the buffer is reused). */
export interface ScannedChunk {
  readonly file: string;
  readonly segment: number;
  /** File offset of buffer[0]. */
  readonly base: number;
  readonly buffer: Buffer;
  /**
   * The chunk's whole lines as one latin1 string when they are all ASCII (as JSON.stringify
   * writes most records), else null. One string per read, not one per line: a restart reads
   * about 100 MB, and a string per line is that much more garbage for the collector.
   */
  readonly text: string | null;
}

/** Visits the line at [start, end) of the chunk (without its newline). */
export type LineVisitor = (chunk: ScannedChunk, start: number, end: number, lineNumber: number) => void;

export const segmentFileName = (segment: number): string => `${String(segment).padStart(10, '0')}.jsonl`;

const openFile = promisify(openFd);
const writeFd = promisify(write);
const datasyncFd = promisify(fdatasync);
const fsyncFd = promisify(fsync);
const closeFile = promisify(closeFd);

export class SegmentLog {
  /**
   * The newest segment, open for appending, for the life of the store. A plain descriptor
   * rather than a FileHandle: a store dropped without close() leaks one descriptor, quietly,
   * instead of Node closing it at garbage collection with a warning on stderr.
   */
  private appendFd: number | null = null;
  private newestBytes = 0;
  private olderBytes = 0;

  private constructor(
    readonly dir: string,
    private segments: number[],
  ) {}

  /** The log in `dir`, which must exist. Lists segments; reads nothing yet. */
  static async open(dir: string): Promise<SegmentLog> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      throw new StoreError(
        dir,
        `missing or unreadable: the store is incomplete; refusing to start (${(error as Error).message})`,
      );
    }
    const segments: number[] = [];
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (match !== null) segments.push(Number(match[1]));
      else if (!name.endsWith(TEMP_SUFFIX))
        throw new StoreError(join(dir, name), 'unexpected file in the log directory');
    }
    if (segments.length === 0) throw new StoreError(dir, 'no log segment: the store is incomplete; refusing to start');
    return new SegmentLog(
      dir,
      segments.sort((a, b) => a - b),
    );
  }

  /** A new, empty log: the first segment, made durable. */
  static async create(dir: string): Promise<void> {
    const handle = await open(join(dir, segmentFileName(1)), 'wx', 0o600);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsyncDirectory(dir);
  }

  /** Segment numbers, oldest first. */
  get segmentNumbers(): readonly number[] {
    return this.segments;
  }

  get newest(): number {
    return this.segments[this.segments.length - 1]!;
  }

  /** Bytes in every segment: what a restart reads. */
  get totalBytes(): number {
    return this.olderBytes + this.newestBytes;
  }

  pathOf(segment: number): string {
    return join(this.dir, segmentFileName(segment));
  }

  /**
   * Visits every whole line, oldest segment first. Returns the torn fragment at the end of the
   * newest segment, if any; a fragment anywhere else is damage.
   */
  async scan(visit: LineVisitor): Promise<TornTail | null> {
    let torn: TornTail | null = null;
    this.olderBytes = 0;
    for (const segment of this.segments) {
      const file = this.pathOf(segment);
      const { end, fragment } = await scanFile(file, segment, visit);
      if (fragment > 0) {
        if (segment !== this.newest)
          throw new StoreError(
            file,
            `ends in ${fragment} bytes that are not a whole line, and it is not the newest segment (damaged)`,
          );
        torn = { file, offset: end, bytes: fragment };
      }
      if (segment === this.newest) this.newestBytes = end;
      else this.olderBytes += end + fragment;
    }
    return torn;
  }

  /** Cuts off a torn fragment (an append that was never acknowledged), durably. */
  async cutTornTail(torn: TornTail): Promise<void> {
    await truncate(torn.file, torn.offset);
    const handle = await open(torn.file, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Removes temp files left by a checkpoint that a crash interrupted: they were never renamed into the log. */
  async removeTempFiles(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.endsWith(TEMP_SUFFIX)) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Appends whole lines to the newest segment: durable (fdatasync) when it resolves. */
  async append(lines: readonly Buffer[]): Promise<LineLocation[]> {
    this.appendFd ??= await openFile(this.pathOf(this.newest), 'a', 0o600);
    const fd = this.appendFd;
    const { buffer, locations, end } = layOut(this.newest, this.newestBytes, lines);
    await writeAll(fd, buffer);
    await datasyncFd(fd);
    this.newestBytes = end;
    return locations;
  }

  /** Reads one whole line back (for archiving and a second loadLive). */
  async read(at: LineLocation): Promise<Buffer> {
    return (await this.readMany([at]))[0]!;
  }

  /**
   * Reads whole lines back, each segment once, front to back in large reads: a checkpoint
   * reads every live line, and one read per line would cost a thread-pool round trip each.
   */
  async readMany(locations: readonly LineLocation[]): Promise<Buffer[]> {
    const lines = new Array<Buffer>(locations.length);
    const bySegment = new Map<number, number[]>();
    for (const [i, at] of locations.entries()) {
      const indices = bySegment.get(at.segment);
      if (indices === undefined) bySegment.set(at.segment, [i]);
      else indices.push(i);
    }
    for (const [segment, indices] of bySegment) {
      const path = this.pathOf(segment);
      indices.sort((a, b) => locations[a]!.offset - locations[b]!.offset);
      const handle = await open(path, 'r');
      try {
        let window = Buffer.alloc(0);
        let windowStart = 0;
        for (const i of indices) {
          const at = locations[i]!;
          if (at.offset < windowStart || at.offset + at.length > windowStart + window.length) {
            windowStart = at.offset;
            // One line alone (an archive) is read exactly; many are read in large windows.
            window = Buffer.allocUnsafe(indices.length === 1 ? at.length : Math.max(SCAN_CHUNK, at.length));
            const { bytesRead } = await handle.read(window, 0, window.length, windowStart);
            window = window.subarray(0, bytesRead);
          }
          if (at.offset + at.length > windowStart + window.length)
            throw new StoreError(path, `line at byte ${at.offset} is shorter than when it was written (damaged)`);
          lines[i] = Buffer.from(window.subarray(at.offset - windowStart, at.offset - windowStart + at.length));
        }
      } finally {
        await handle.close();
      }
    }
    return lines;
  }

  /**
   * Writes `lines` as a new segment and makes it the newest, then removes every older one.
   * Returns where each line now is. `beforeRemoving` runs once the new segment is durable
   * and before anything older is removed (the store records the checkpoint in its manifest).
   */
  async checkpoint(
    lines: readonly Buffer[],
    beforeRemoving?: (segment: number) => Promise<void>,
  ): Promise<LineLocation[]> {
    const segment = this.newest + 1;
    const path = this.pathOf(segment);
    const temp = path + TEMP_SUFFIX;
    const { buffer, locations, end } = layOut(segment, 0, lines);
    const fd = await openFile(temp, 'w', 0o600);
    try {
      await writeAll(fd, buffer);
      await fsyncFd(fd);
    } finally {
      await closeFile(fd);
    }
    await rename(temp, path);
    await fsyncDirectory(this.dir);
    await beforeRemoving?.(segment);
    await this.close();
    const older = this.segments;
    this.segments = [segment];
    this.newestBytes = end;
    this.olderBytes = 0;
    for (const old of older) await rm(this.pathOf(old), { force: true });
    await fsyncDirectory(this.dir);
    return locations;
  }

  async close(): Promise<void> {
    const fd = this.appendFd;
    this.appendFd = null;
    if (fd !== null) await closeFile(fd);
  }
}

const NEWLINE_BUFFER = Buffer.from([NEWLINE]);

function assertLine(line: Buffer): void {
  assert(
    line.length > 0 && line.length <= MAX_LINE_BYTES && !line.includes(NEWLINE),
    `log line of ${line.length} bytes is empty, too long, or holds a newline`,
  );
}

/** Whole lines as the bytes to write from `offset` of `segment`, and where each will be. */
function layOut(
  segment: number,
  offset: number,
  lines: readonly Buffer[],
): { buffer: Buffer; locations: LineLocation[]; end: number } {
  const locations: LineLocation[] = [];
  const parts: Buffer[] = [];
  let end = offset;
  for (const line of lines) {
    assertLine(line);
    locations.push({ segment, offset: end, length: line.length });
    parts.push(line, NEWLINE_BUFFER);
    end += line.length + 1;
  }
  return { buffer: Buffer.concat(parts), locations, end };
}

async function writeAll(fd: number, buffer: Buffer): Promise<void> {
  for (let written = 0; written < buffer.length; )
    written += (await writeFd(fd, buffer, written, buffer.length - written)).bytesWritten;
}

/**
 * Visits the whole lines of one file; returns where they end and the bytes after them. Reads
 * into two buffers in turn: the next read runs (in the thread pool) while the lines of the
 * last one are visited, and only the unfinished line at the end of a read is copied, to the
 * front of the other buffer.
 */
async function scanFile(file: string, segment: number, visit: LineVisitor): Promise<{ end: number; fragment: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new StoreError(file, `cannot be read: ${(error as Error).message}`);
  }
  let reading: Promise<{ bytesRead: number }> | null = null;
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(SCAN_CHUNK, Math.max(size, 1));
    let buffer: Buffer = Buffer.allocUnsafe(length);
    /** The buffer the next read goes to: made at the first read that does not take the whole file. */
    let spare: Buffer | null = null;
    /** File offset of buffer[0], and bytes of an unfinished line held at its front. */
    let base = 0;
    let held = 0;
    let lineNumber = 0;
    if (size > 0) reading = handle.read(buffer, 0, length, 0);
    while (reading !== null) {
      const { bytesRead } = await reading;
      reading = null;
      if (bytesRead === 0) break;
      const filled = held + bytesRead;
      const wholeLines = buffer.lastIndexOf(NEWLINE, filled - 1) + 1;
      const next = filled - wholeLines;
      if (base + filled < size) {
        if (next === length)
          throw new StoreError(file, `line ${lineNumber + 1} is longer than ${length} bytes (damaged)`);
        spare ??= Buffer.allocUnsafe(length);
        buffer.copy(spare, 0, wholeLines, filled);
        reading = handle.read(spare, next, length - next, base + filled);
      }
      if (wholeLines > 0) {
        const lines = buffer.subarray(0, wholeLines);
        const chunk: ScannedChunk = {
          file,
          segment,
          base,
          buffer,
          text: isAscii(lines) ? lines.toString('latin1') : null,
        };
        let start = 0;
        for (
          let newline = buffer.indexOf(NEWLINE, held);
          newline >= 0 && newline < wholeLines;
          newline = buffer.indexOf(NEWLINE, newline + 1)
        ) {
          lineNumber += 1;
          visit(chunk, start, newline, lineNumber);
          start = newline + 1;
        }
      }
      base += wholeLines;
      held = next;
      if (spare !== null) [buffer, spare] = [spare, buffer];
    }
    return { end: base, fragment: held };
  } finally {
    // A read still in flight when a line is refused: waited for (its outcome no longer matters).
    await reading?.catch(() => undefined);
    await handle.close();
  }
}
