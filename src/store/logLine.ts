/**
 * One line of the store's log, an envelope like every settle file's but checksummed with
 * CRC-32 over the data's bytes as written:
 *   {"format":"...","crc32":"<8 hex digits>","data":<JSON>}\n
 * Why not SHA-256 as in the single-file documents: the checksum is there to catch torn and
 * damaged writes, not forgery (whoever can write the disk can recompute either), and a restart
 * checks every live record: CRC-32 costs a tenth as much (as LevelDB's and PostgreSQL's logs).
 * The data is hashed and parsed once, never re-serialised.
 */
import { isAscii } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { StoreError } from '../errors.ts';

const HEAD = Buffer.from('{"format":"');
const CRC_FIELD = Buffer.from('","crc32":"');
const DATA_FIELD = Buffer.from('","data":');
const HEX_LENGTH = 8;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;

/** Byte -> its value as a lowercase hex digit (what `hex8` writes), or -1. */
const HEX_DIGIT = new Int8Array(256).fill(-1);
for (const [value, digit] of [...'0123456789abcdef'].entries()) HEX_DIGIT[digit.charCodeAt(0)] = value;

export interface LogLine {
  readonly format: string;
  readonly data: unknown;
}

const hex8 = (n: number): string => n.toString(16).padStart(HEX_LENGTH, '0');

/** The line without its newline (the log adds it). */
export function encodeLogLine(format: string, data: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(data), 'utf8');
  return Buffer.concat([
    Buffer.from(`{"format":${JSON.stringify(format)},"crc32":"${hex8(crc32(body))}","data":`, 'utf8'),
    body,
    Buffer.from('}'),
  ]);
}

/**
 * Decodes one line (without its newline). `where` names it in errors: a line number, or a
 * description ("byte N").
 * Anything not exactly as written by `encodeLogLine` is damage.
 */
export function decodeLogLine(file: string, where: number | string, line: Buffer): LogLine {
  return decodeLogLineAt(file, where, line, 0, line.length, null);
}

/**
 * Decodes the line at [start, end) of `buffer`. `text`, when given, is the buffer read as
 * latin1 (its bytes all ASCII): the data is parsed from a slice of it, so a restart reading
 * every line makes no string of its own per line.
 */
export function decodeLogLineAt(
  file: string,
  where: number | string,
  buffer: Buffer,
  start: number,
  end: number,
  text: string | null,
): LogLine {
  const { formatEnd, dataStart } = checkLogLineAt(file, where, buffer, start, end);
  let data: unknown;
  try {
    data = JSON.parse(text !== null ? text.slice(dataStart, end - 1) : bodyText(buffer, dataStart, end - 1));
  } catch (error) {
    throw damaged(file, where, `not valid JSON (${(error as Error).message})`);
  }
  // A copy, not a slice of `text`: a format kept by a caller must not keep the whole read alive.
  return { format: buffer.toString('utf8', start + HEAD.length, formatEnd), data };
}

function bodyText(buffer: Buffer, start: number, end: number): string {
  // JSON.stringify writes ASCII for most records: read as latin1 it is a plain copy, not a UTF-8 decode.
  return isAscii(buffer.subarray(start, end))
    ? buffer.toString('latin1', start, end)
    : buffer.toString('utf8', start, end);
}

/** Checks a line's envelope and checksum without parsing its data; where its data is. */
export function checkLogLine(file: string, where: number | string, line: Buffer): { formatEnd: number; body: Buffer } {
  const { formatEnd, dataStart } = checkLogLineAt(file, where, line, 0, line.length);
  return { formatEnd, body: line.subarray(dataStart, line.length - 1) };
}

/**
 * The checks of `checkLogLine` on the line at [start, end) of `buffer`, byte by byte: a
 * restart runs them on every line, and Buffer's compare and indexOf cost more in argument
 * checks than in comparing a dozen bytes.
 */
function checkLogLineAt(
  file: string,
  where: number | string,
  buffer: Buffer,
  start: number,
  end: number,
): { formatEnd: number; dataStart: number } {
  if (end === start) throw damaged(file, where, 'empty line (damaged)');
  if (!bytesAt(buffer, start, end, HEAD)) throw damaged(file, where, 'not a settle log line (damaged or foreign)');
  let formatEnd = start + HEAD.length;
  while (formatEnd < end && !(buffer[formatEnd] === QUOTE && bytesAt(buffer, formatEnd, end, CRC_FIELD)))
    formatEnd += 1;
  if (formatEnd === end) throw damaged(file, where, 'no "crc32" field (damaged)');
  const crcStart = formatEnd + CRC_FIELD.length;
  const dataStart = crcStart + HEX_LENGTH + DATA_FIELD.length;
  if (!bytesAt(buffer, crcStart + HEX_LENGTH, end, DATA_FIELD) || buffer[end - 1] !== CLOSE_BRACE) {
    throw damaged(file, where, 'malformed envelope (truncated or damaged)');
  }
  const actual = crc32(buffer.subarray(dataStart, end - 1));
  if (storedCrc(buffer, crcStart) !== actual) {
    throw damaged(
      file,
      where,
      `checksum mismatch: stored crc32 ${buffer.toString('latin1', crcStart, crcStart + HEX_LENGTH)}, content gives ${hex8(actual)}`,
    );
  }
  return { formatEnd, dataStart };
}

/** Whether `bytes` are at `at` of `buffer`, within `end`. */
function bytesAt(buffer: Buffer, at: number, end: number, bytes: Buffer): boolean {
  if (end - at < bytes.length) return false;
  for (let i = 0; i < bytes.length; i += 1) if (buffer[at + i] !== bytes[i]) return false;
  return true;
}

/** The 8 hex digits at `at` as a number; -1 (matching no CRC) if any is not what `hex8` writes. */
function storedCrc(buffer: Buffer, at: number): number {
  let value = 0;
  for (let i = at; i < at + HEX_LENGTH; i += 1) {
    const digit = HEX_DIGIT[buffer[i]!]!;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

function damaged(file: string, where: number | string, problem: string): StoreError {
  return new StoreError(file, `${typeof where === 'number' ? `line ${where}` : where}: ${problem}`);
}
