/**
 * The operator's scenario of issue 18 on the embedded default: `settle start` runs, its store
 * and recovery log are copied aside (a backup), it runs on and pays more swaps, the backup is
 * put back and it is started again. It must not pay any swap twice: it refuses to start,
 * naming the account, what the chain shows and what the store knows, and signs nothing. The
 * same when the whole directory but the simulated chains is put back (the witness journal is
 * then as old as the store: only the chain can tell).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/simFixture.ts';

const BIN = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));

function settle(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs settle start until it has printed `lines` progress lines, then stops it with SIGINT (it finishes its block). */
function runFor(args: string[], lines: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!sent && stdout.split('\n').filter((l) => l.startsWith('block ')).length >= lines) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

interface Transfer {
  readonly swapId: string;
  readonly hash: string;
}

/** Every transfer the simulated destination chains hold, of every swap. */
function transfers(dir: string): Transfer[] {
  const world = JSON.parse(readFileSync(join(dir, 'sim-world.json'), 'utf8')) as {
    ledgers: Record<string, { transfers: Record<string, Transfer> }>;
  };
  return Object.values(world.ledgers)
    .flatMap((ledger) => Object.values(ledger.transfers))
    .filter((t) => t.swapId !== '');
}

function expectNoDoubleSend(dir: string): void {
  const bySwap = new Map<string, number>();
  for (const t of transfers(dir)) bySwap.set(t.swapId, (bySwap.get(t.swapId) ?? 0) + 1);
  expect([...bySwap].filter(([, n]) => n > 1)).toEqual([]);
}

describe('settle start: a backup put back never pays twice', () => {
  it('refuses to start from an older store (alone, or with its whole directory), naming what the chain shows, and signs nothing', async () => {
    const dir = join(tempDir('settle-restore-'), 'run');
    const backup = join(tempDir('settle-restore-'), 'backup');
    const args = ['start', '--dir', dir, '--block-ms', '40', '--swaps', '16', '--jobs', '4', '--seed', '5'];
    expect(await runFor(args, 8)).toBe(0);
    const before = transfers(dir).length;
    cpSync(dir, backup, { recursive: true });

    // Runs on: more swaps are paid.
    expect(await runFor(args, 25)).toBe(0);
    const paid = transfers(dir);
    expect(paid.length).toBeGreaterThan(before);
    expectNoDoubleSend(dir);

    // The store and the recovery log put back, as the operator of issue 18 did.
    for (const name of ['store', 'recovery.jsonl']) {
      rmSync(join(dir, name), { recursive: true, force: true });
      if (existsSync(join(backup, name))) cpSync(join(backup, name), join(dir, name), { recursive: true });
    }
    const storeOnly = settle(args);
    expect(storeOnly.code).toBe(2);
    expect(storeOnly.stderr).toMatch(
      /^settle: refusing to start: .*: the (eth|tao) chain shows next nonce \d+ for account \S+, known here: .*store [0-9a-f]{8}… opened at position \d+; \d+ transaction\(s\) unknown \(the witness journal recorded swap:\d+ .* broadcast at position \d+ of store [0-9a-f]{32}, but the store was opened at position \d+/,
    );
    expect(storeOnly.stderr).toMatch(/paying now could pay twice; nothing was signed/);
    expect(transfers(dir)).toEqual(paid);

    // The whole directory put back, but for the simulated chains: only the chain can tell.
    for (const name of ['store', 'recovery.jsonl', 'witness.jsonl']) {
      rmSync(join(dir, name), { recursive: true, force: true });
      if (existsSync(join(backup, name))) cpSync(join(backup, name), join(dir, name), { recursive: true });
    }
    const whole = settle(args);
    expect(whole.code).toBe(2);
    expect(whole.stderr).toMatch(
      /the (eth|tao) chain shows next nonce \d+ for account \S+, .* \(the chain shows nonce \d+ of \S+ used or pending; no transaction known here has it\)/,
    );
    expect(transfers(dir)).toEqual(paid);
    expectNoDoubleSend(dir);
  }, 300_000);
});
