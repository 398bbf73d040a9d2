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
import { StoreError } from './storeError.ts';

const HEAD = Buffer.from('{"format":"');
const CRC_FIELD = Buffer.from('","crc32":"');
const DATA_FIELD = Buffer.from('","data":');
const HEX_LENGTH = 8;
const CLOSE_BRACE = 0x7d;

export interface LogLine {
  readonly format: string;
  readonly data: unknown;
}

const hex8 = (n: number): string => n.toString(16).padStart(HEX_LENGTH, '0');

/** The line without its newline (the log adds it). */
export function encodeLogLine(format: string, data: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(data), 'utf8');
  return Buffer.concat([Buffer.from(`{"format":${JSON.stringify(format)},"crc32":"${hex8(crc32(body))}","data":`, 'utf8'), body, Buffer.from('}')]);
}

/**
 * Decodes one line (without its newline). `where` names it in errors: a line number, or a
 * description ("byte N").
 * Anything not exactly as written by `encodeLogLine` is damage.
 */
export function decodeLogLine(file: string, where: number | string, line: Buffer): LogLine {
  const { formatEnd, body } = checkLogLine(file, where, line);
  let data: unknown;
  try {
    // JSON.stringify writes ASCII for most records: read as latin1 it is a plain copy, not a UTF-8 decode.
    data = JSON.parse(isAscii(body) ? body.toString('latin1') : body.toString('utf8'));
  } catch (error) {
    throw damaged(file, where, `not valid JSON (${(error as Error).message})`);
  }
  return { format: line.toString('utf8', HEAD.length, formatEnd), data };
}

/** Checks a line's envelope and checksum without parsing its data; where its data is. */
export function checkLogLine(file: string, where: number | string, line: Buffer): { formatEnd: number; body: Buffer } {
  if (line.length === 0) throw damaged(file, where, 'empty line (damaged)');
  if (line.compare(HEAD, 0, HEAD.length, 0, HEAD.length) !== 0) throw damaged(file, where, 'not a settle log line (damaged or foreign)');
  const formatEnd = line.indexOf(CRC_FIELD, HEAD.length);
  if (formatEnd < 0) throw damaged(file, where, 'no "crc32" field (damaged)');
  const crcStart = formatEnd + CRC_FIELD.length;
  const dataStart = crcStart + HEX_LENGTH + DATA_FIELD.length;
  if (line.compare(DATA_FIELD, 0, DATA_FIELD.length, crcStart + HEX_LENGTH, dataStart) !== 0 || line[line.length - 1] !== CLOSE_BRACE) {
    throw damaged(file, where, 'malformed envelope (truncated or damaged)');
  }
  const stored = line.toString('latin1', crcStart, crcStart + HEX_LENGTH);
  const body = line.subarray(dataStart, line.length - 1);
  const actual = hex8(crc32(body));
  if (actual !== stored) throw damaged(file, where, `checksum mismatch: stored crc32 ${stored}, content gives ${actual}`);
  return { formatEnd, body };
}

function damaged(file: string, where: number | string, problem: string): StoreError {
  return new StoreError(file, `${typeof where === 'number' ? `line ${where}` : where}: ${problem}`);
}
