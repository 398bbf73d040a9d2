/**
 * The reader of ocean-node's C2D database: rows as ocean-node wrote them, in rollback-journal
 * and WAL mode (commits still in the -wal file included), consistent while another process
 * keeps writing (and checkpointing), never writing ocean-node's files, and clear refusals of a
 * file that is not ocean-node's database.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OceanNodeDbBusy, OceanNodeDbError, readC2dJobs } from '../../src/daemon/oceanNodeDb.ts';
import { OceanNodeDbWriter } from '../support/oceanNodeDbWriter.ts';
import { tempDir } from '../support/simFixture.ts';

const CHURN = fileURLToPath(new URL('../support/oceanNodeDbChurn.ts', import.meta.url));
const owner = `0x${'11'.repeat(20)}`;

function writeJobs(path: string, mode: 'rollback' | 'wal', count: number, keepOpen = false): OceanNodeDbWriter {
  const writer = new OceanNodeDbWriter(path, mode);
  if (mode === 'wal') writer.autocheckpoint(0);
  for (let i = 0; i < count; i += 1)
    writer.upsert({ jobId: `job-${i}`, owner, status: 71, environment: 'env', maxJobDuration: 60, body: { i } });
  if (!keepOpen) writer.close();
  return writer;
}

describe("reading ocean-node's C2D database", () => {
  it('reads the rows of a rollback-journal database', async () => {
    const path = join(tempDir('settle-c2d-'), 'c2dDatabase.sqlite');
    writeJobs(path, 'rollback', 5);
    const rows = await readC2dJobs(path);
    expect(rows.map((r) => r.jobId).sort()).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(rows[0]).toMatchObject({ owner, status: 71, environment: 'env', expireTimestamp: 60 });
    expect(JSON.parse(rows.find((r) => r.jobId === 'job-3')!.body!)).toEqual({ i: 3 });
  });

  it('reads commits still in the -wal file of a WAL database that is open for writing', async () => {
    const path = join(tempDir('settle-c2d-'), 'c2dDatabase.sqlite');
    const writer = writeJobs(path, 'wal', 40, true);
    try {
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(statSync(path).size);
      expect((await readC2dJobs(path)).length).toBe(40);
    } finally {
      writer.close();
    }
  });

  it('never writes: the files, their times and the directory are as they were', async () => {
    const dir = tempDir('settle-c2d-');
    const path = join(dir, 'c2dDatabase.sqlite');
    const writer = writeJobs(path, 'wal', 10, true);
    try {
      const before = readdirSync(dir).map((name) => [
        name,
        statSync(join(dir, name)).mtimeMs,
        statSync(join(dir, name)).size,
      ]);
      const bytes = readFileSync(`${path}-wal`);
      for (let i = 0; i < 5; i += 1) await readC2dJobs(path);
      expect(
        readdirSync(dir).map((name) => [name, statSync(join(dir, name)).mtimeMs, statSync(join(dir, name)).size]),
      ).toEqual(before);
      expect(readFileSync(`${path}-wal`).equals(bytes)).toBe(true);
    } finally {
      writer.close();
    }
  });

  for (const mode of ['rollback', 'wal'] as const) {
    it(`sees one whole generation at every read while another process keeps writing (${mode})`, async () => {
      const path = join(tempDir('settle-c2d-'), 'c2dDatabase.sqlite');
      // tsx as a loader in this very process, not its CLI: the CLI runs the script in a grandchild
      // that a SIGKILL of the CLI leaves running (it did, for hours, at 12% of a core each).
      // stdin is a pipe: the writer exits when it closes, should this test die first.
      const child = spawn(process.execPath, ['--import', 'tsx', CHURN, path, mode, '20'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
          child.once('exit', (code) => reject(new Error(`writer exited ${code}`)));
        });
        let reads = 0;
        let busy = 0;
        const generations = new Set<number>();
        for (let attempt = 0; attempt < 40; attempt += 1) {
          try {
            const rows = await readC2dJobs(path);
            const ks = new Set(rows.map((r) => (JSON.parse(r.body!) as { k: number }).k));
            const statuses = new Set(rows.map((r) => r.status));
            expect(rows).toHaveLength(20);
            expect(ks.size).toBe(1);
            expect([...statuses]).toEqual([...ks]);
            generations.add([...ks][0]!);
            reads += 1;
          } catch (error) {
            if (!(error instanceof OceanNodeDbBusy)) throw error;
            busy += 1;
          }
        }
        // Whole reads (every one checked above), of generations that moved on while we read.
        expect(reads).toBeGreaterThan(0);
        expect(reads + busy).toBe(40);
      } finally {
        child.kill('SIGKILL');
      }
    }, 120_000);
  }

  it('refuses a file that is not SQLite, a foreign SQLite database and a damaged one, naming the file', async () => {
    const dir = tempDir('settle-c2d-');
    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(
      garbage,
      'not a database at all, just text that is long enough to have a header of a hundred bytes or more........',
    );
    await expect(readC2dJobs(garbage)).rejects.toThrow(/garbage\.sqlite: not an SQLite database/);
    const foreign = join(dir, 'foreign.sqlite');
    const other = new OceanNodeDbWriter(foreign);
    other.run('DROP TABLE c2djobs');
    other.close();
    await expect(readC2dJobs(foreign)).rejects.toThrow(/foreign\.sqlite: no table c2djobs/);
    const damaged = join(dir, 'damaged.sqlite');
    writeJobs(damaged, 'rollback', 30);
    const bytes = readFileSync(damaged);
    bytes.fill(0xa5, 4096, bytes.length); // every page after the first overwritten
    writeFileSync(damaged, bytes);
    const error = await readC2dJobs(damaged).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OceanNodeDbError);
    expect(String(error)).toMatch(/damaged\.sqlite: unreadable as ocean-node's C2D database/);
    await expect(readC2dJobs(join(dir, 'missing.sqlite'))).rejects.toThrow(/missing\.sqlite: no such file/);
  });
});
