/**
 * `settle status` beside a daemon that is writing: the store changes under the reader
 * (appends, archives, checkpoints removing segments), and every status must still succeed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/cli/operatorCommands.ts';
import { Collector } from '../support/collector.ts';

const WRITER = fileURLToPath(new URL('../support/busyStoreWriter.ts', import.meta.url));

describe('settle status beside a busy writer', () => {
  it('always answers while the store appends, archives and checkpoints under it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'settle-status-race-'));
    // Checkpoints every few dozen commits: segments come and go while status reads them.
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, join(dataDir, 'store'), '20000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`writer exited ${code}`)));
      });
      const failures: string[] = [];
      let answered = 0;
      const until = Date.now() + 4_000;
      while (Date.now() < until) {
        const out = new Collector();
        try {
          expect(await statusCommand({ dataDir }, out)).toBe(0);
          expect(out.text).toMatch(/machines: \d+ live, \d+ finished/);
          answered += 1;
        } catch (error) {
          failures.push(String(error));
        }
      }
      expect(failures).toEqual([]);
      expect(answered).toBeGreaterThan(20);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
