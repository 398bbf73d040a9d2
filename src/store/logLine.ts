/**
 * One line of the store's log: the same checksummed envelope as every settle file,
 *   {"format":"...","sha256":"<hex of the data's JSON>","data":<JSON>}\n
 * decoded without re-serialising the data: the checksum is over the bytes as written, so a
 * restart hashes and parses each record once.
 */
import { createHash } from 'node:crypto';
import { encodeEnvelope } from './checksummedJsonFile.ts';
import { StoreError } from './storeError.ts';

const HEAD = Buffer.from('{"format":"');
const HASH_FIELD = Buffer.from('","sha256":"');
const DATA_FIELD = Buffer.from('","data":');
const HEX_LENGTH = 64;
const CLOSE_BRACE = 0x7d;

export interface LogLine {
  readonly format: string;
  readonly sha256: string;
  readonly data: unknown;
}

/** The line without its newline (the log adds it). */
export function encodeLogLine(format: string, data: unknown): Buffer {
  const envelope = encodeEnvelope(format, data);
  return Buffer.from(envelope.slice(0, -1), 'utf8');
}

/**
 * Decodes one line (without its newline). `where` names it in errors ("<file>, line N").
 * Anything not exactly as written by `encodeLogLine` is damage.
 */
export function decodeLogLine(file: string, where: string, line: Buffer): LogLine {
  const damaged = (problem: string): StoreError => new StoreError(file, `${where}: ${problem}`);
  if (line.length === 0) throw damaged('empty line (damaged)');
  if (!line.subarray(0, HEAD.length).equals(HEAD)) throw damaged('not a settle log line (damaged or foreign)');
  const formatEnd = line.indexOf(HASH_FIELD, HEAD.length);
  if (formatEnd < 0) throw damaged('no "sha256" field (damaged)');
  const hashStart = formatEnd + HASH_FIELD.length;
  const dataStart = hashStart + HEX_LENGTH + DATA_FIELD.length;
  if (!line.subarray(hashStart + HEX_LENGTH, dataStart).equals(DATA_FIELD) || line[line.length - 1] !== CLOSE_BRACE) {
    throw damaged('malformed envelope (truncated or damaged)');
  }
  const sha256 = line.toString('latin1', hashStart, hashStart + HEX_LENGTH);
  const body = line.subarray(dataStart, line.length - 1);
  const actual = createHash('sha256').update(body).digest('hex');
  if (actual !== sha256) throw damaged(`checksum mismatch: stored ${sha256}, content hashes to ${actual}`);
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw damaged(`not valid JSON (${(error as Error).message})`);
  }
  return { format: line.toString('utf8', HEAD.length, formatEnd), sha256, data };
}
