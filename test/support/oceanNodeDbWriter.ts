/**
 * Writes a database as ocean-node 3.2.0 does (src/components/database/sqliteCompute.ts): the
 * c2djobs table with its schema, one row per job, the job's internal structure as the JSON
 * body. Written with node-sqlite3-wasm (the reader's own library), in ocean-node's default
 * rollback-journal mode, or in WAL mode (locking_mode=EXCLUSIVE: no shared memory) to test a
 * database whose newest commits are still in its -wal file.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Database } = require('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');

export const C2D_SCHEMA = `CREATE TABLE IF NOT EXISTS c2djobs (
  owner TEXT, did TEXT DEFAULT NULL, jobId TEXT PRIMARY KEY, dateCreated TEXT, dateFinished TEXT DEFAULT NULL,
  status INTEGER, statusText TEXT, results BLOB, inputDID TEXT DEFAULT NULL, algoDID TEXT DEFAULT NULL,
  agreementId TEXT DEFAULT NULL, expireTimestamp INTEGER, environment TEXT DEFAULT NULL, body BLOB
);
CREATE TABLE IF NOT EXISTS docker_images (image TEXT PRIMARY KEY, lastUsedTimestamp INTEGER NOT NULL);`;

export interface OceanNodeJob {
  readonly jobId: string;
  readonly owner: string;
  status: number;
  readonly environment: string;
  readonly maxJobDuration: number;
  /** The JSON body (getInternalStructure); a string is written as is (bad input tests). */
  body: Record<string, unknown> | string;
}

/** ocean-node's jobId: sha256 hex of something unique (no 0x). */
export function oceanJobId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** The escrow's job id of an ocean-node job: '0x' + sha256(jobId). */
export function jobIdHash(jobId: string): string {
  return `0x${createHash('sha256').update(jobId, 'utf8').digest('hex')}`;
}

export class OceanNodeDbWriter {
  private readonly db: InstanceType<typeof Database>;

  constructor(
    readonly path: string,
    mode: 'rollback' | 'wal' = 'rollback',
  ) {
    this.db = new Database(path);
    if (mode === 'wal') {
      this.db.exec('PRAGMA locking_mode=EXCLUSIVE');
      this.db.all('PRAGMA journal_mode=WAL');
    }
    this.db.exec(C2D_SCHEMA);
  }

  /** Keeps commits in the WAL until `pages` are there (0: never checkpoint). */
  autocheckpoint(pages: number): void {
    this.db.all(`PRAGMA wal_autocheckpoint=${pages}`);
  }

  upsert(job: OceanNodeJob): void {
    const body = typeof job.body === 'string' ? job.body : JSON.stringify(job.body);
    this.db.run(
      `INSERT OR REPLACE INTO c2djobs (owner, jobId, dateCreated, status, statusText, expireTimestamp, environment, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        job.owner,
        job.jobId,
        String(Date.now() / 1000),
        job.status,
        `status ${job.status}`,
        job.maxJobDuration,
        job.environment,
        new TextEncoder().encode(body),
      ],
    );
  }

  /** Several statements in one transaction. */
  transaction(work: () => void): void {
    this.db.exec('BEGIN');
    try {
      work();
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  run(sql: string, values?: Array<string | number>): void {
    this.db.run(sql, values);
  }

  close(): void {
    this.db.close();
  }
}
