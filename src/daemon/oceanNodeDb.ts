/**
 * Reads ocean-node's C2D database (databases/c2dDatabase.sqlite, table c2djobs) without ever
 * writing it and without taking a lock ocean-node would wait on.
 *
 * Why not open it with SQLite: no SQLite reachable from Node 20 without a native build can take
 * the POSIX locks ocean-node's SQLite uses, so it could not tell a half-written database from a
 * whole one, and on finding a journal it would try to roll it back, i.e. write. So the files
 * are read as bytes under a consistency check, and the copy is opened with SQLite compiled to
 * WebAssembly (node-sqlite3-wasm) in a private temporary directory:
 * - rollback-journal mode: no hot journal before or after the read, and the database header
 *   (its change counter included) the same before and after: no commit overlapped the read;
 * - WAL mode: the WAL header read before the database, then the whole WAL, then its header
 *   again, all three equal: no WAL restart overlapped; any frame a checkpoint copied into the
 *   database during the read is in the WAL copy too, which SQLite applies over it. SQLite's own
 *   WAL recovery (checksums, salts) drops a frame being written and everything after the last
 *   commit. The copy is opened with locking_mode=EXCLUSIVE, so no shared memory is needed.
 * A read that overlaps a write is tried again (a few times, briefly), else reported busy.
 * A file that is not SQLite, or has no c2djobs table, or is corrupt, is an OceanNodeDbError.
 * Crash: nothing of ocean-node's is touched; a temporary copy may be left in the temp dir.
 */
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const { Database } = require('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');

/** The file is not ocean-node's C2D database, or is damaged: named, with the reason. */
export class OceanNodeDbError extends Error {
  override readonly name = 'OceanNodeDbError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** ocean-node kept writing during every try: read again at the next poll. */
export class OceanNodeDbBusy extends Error {
  override readonly name = 'OceanNodeDbBusy';
}

/** One row of c2djobs, as the reader needs it. */
export interface C2dJobRow {
  readonly jobId: string;
  readonly owner: string;
  readonly status: number;
  readonly environment: string | null;
  /** ocean-node stores the job's maxJobDuration (seconds) in this column. */
  readonly expireTimestamp: number | null;
  /** UTF-8 JSON of the job, as ocean-node wrote it (not parsed here). */
  readonly body: string | null;
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** A larger database is refused rather than copied into memory every poll. */
const MAX_DATABASE_BYTES = 512 * 1024 * 1024;
const TRIES = 6;
const HEADER_BYTES = 100;
const WAL_HEADER_BYTES = 32;

async function readHead(path: string, bytes: number): Promise<Buffer | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

const same = (a: Buffer | null, b: Buffer | null): boolean => (a === null ? b === null : b !== null && a.equals(b));

/** A rollback journal is hot (a write in progress) when it exists with a non-zero header. */
async function hotJournal(path: string): Promise<boolean> {
  const head = await readHead(`${path}-journal`, 28);
  return head !== null && head.length > 0 && head.some((byte) => byte !== 0);
}

interface Copy {
  readonly db: Buffer;
  readonly wal: Buffer | null;
}

/** One attempt at a consistent copy; null when a write overlapped it. */
async function tryCopy(path: string): Promise<Copy | null> {
  const header = await readHead(path, HEADER_BYTES);
  if (header === null) throw new OceanNodeDbError(path, 'no such file');
  if (header.length < HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC))
    throw new OceanNodeDbError(path, 'not an SQLite database (bad header)');
  const size = (await stat(path)).size;
  if (size > MAX_DATABASE_BYTES)
    throw new OceanNodeDbError(path, `${size} bytes: larger than the ${MAX_DATABASE_BYTES} this reader copies`);
  const wal = header[18] === 2;
  if (!wal) {
    if (await hotJournal(path)) return null;
    const db = await readFile(path);
    if (await hotJournal(path)) return null;
    return same(await readHead(path, HEADER_BYTES), header) && same(db.subarray(0, HEADER_BYTES), header)
      ? { db, wal: null }
      : null;
  }
  const walPath = `${path}-wal`;
  const before = await readHead(walPath, WAL_HEADER_BYTES);
  const db = await readFile(path);
  const walBytes = await readOrNull(walPath);
  const after = await readHead(walPath, WAL_HEADER_BYTES);
  const walHead = walBytes === null ? null : walBytes.subarray(0, Math.min(WAL_HEADER_BYTES, walBytes.length));
  if (!same(before, walHead) || !same(before, after) || db[18] !== 2) return null;
  return { db, wal: walBytes };
}

async function consistentCopy(path: string): Promise<Copy> {
  for (let attempt = 1; attempt <= TRIES; attempt += 1) {
    const copy = await tryCopy(path);
    if (copy !== null) return copy;
    await sleep(10 * attempt);
  }
  throw new OceanNodeDbBusy(`${path}: written during each of ${TRIES} reads; trying again at the next poll`);
}

const text = (value: unknown): string | null =>
  typeof value === 'string' ? value : value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : null;
const integer = (value: unknown): number | null =>
  typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : null;

/** Every row of c2djobs in a consistent copy of the database at `path`. */
export async function readC2dJobs(path: string): Promise<C2dJobRow[]> {
  const copy = await consistentCopy(path);
  const dir = await mkdtemp(join(tmpdir(), 'settle-c2d-'));
  try {
    const file = join(dir, basename(path));
    await writeFile(file, copy.db);
    if (copy.wal !== null) await writeFile(`${file}-wal`, copy.wal);
    let db: InstanceType<typeof Database> | null = null;
    try {
      db = new Database(file, { fileMustExist: true });
      // Before the first read: WAL without shared memory, and no other connection to wait on.
      db.exec('PRAGMA locking_mode=EXCLUSIVE');
      const table = db.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'c2djobs'");
      if (table === null) throw new OceanNodeDbError(path, "no table c2djobs: not ocean-node's C2D database");
      const rows = db.all('SELECT jobId, owner, status, environment, expireTimestamp, body FROM c2djobs') as Array<
        Record<string, unknown>
      >;
      return rows.map((r) => ({
        jobId: text(r['jobId']) ?? '',
        owner: text(r['owner']) ?? '',
        status: integer(r['status']) ?? -1,
        environment: text(r['environment']),
        expireTimestamp: integer(r['expireTimestamp']),
        body: text(r['body']),
      }));
    } catch (error) {
      if (error instanceof OceanNodeDbError) throw error;
      throw new OceanNodeDbError(path, `unreadable as ocean-node's C2D database: ${(error as Error).message}`);
    } finally {
      db?.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
