/**
 * `settle start`: the real host and store against the simulated chains of sim/, so a newcomer
 * sees the machines work with no chain at all. The simulated chains persist beside the store,
 * so a restart after Ctrl-C or SIGKILL meets the chain it left, and the invariants are checked
 * against that chain at the end.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { InvariantResult } from '../../sim/invariants.ts';
import { invariantsAfter, runUntilSettled } from '../../sim/runner.ts';
import { openSimHost, type SimHost } from '../../sim/simHost.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';
import { World } from '../../sim/world.ts';
import { JOB_KIND, kindOfMachineId, SWAP_KIND } from '../../machines/index.ts';
import { StoreBehindChains, StoreError, StoreMissing } from '../errors.ts';
import { isHeld } from '../witness/witnessGate.ts';
import { prepareDirectory } from '../usablePaths.ts';
import { ProgressLine } from './progressLine.ts';

export interface StartOptions {
  readonly dir: string;
  readonly seed: number;
  readonly swaps: number;
  readonly jobs: number;
  readonly margin: number;
  readonly blockMs: number;
  readonly maxBlocks: number;
}

export async function startEmbedded(options: StartOptions): Promise<number> {
  const dir = prepareDirectory(options.dir, '--dir', 0o700);
  const worldPath = join(dir, 'sim-world.json');
  const storeDir = join(dir, 'store');
  const fresh = readdirSync(dir).length === 0;
  if (!fresh && !existsSync(worldPath)) {
    throw new StoreError(
      worldPath,
      `missing, but ${dir} is not empty: the simulated chains that hold our transfers are gone; refusing to start`,
    );
  }
  if (!fresh && !existsSync(storeDir)) {
    throw new StoreMissing(
      storeDir,
      'missing, but the simulated chains exist: starting empty could send twice; refusing to start',
    );
  }
  const world = fresh
    ? World.create(
        options.seed,
        { swaps: options.swaps, jobs: options.jobs, marginBlocks: options.margin },
        PRODUCT_MODULES,
        worldPath,
      )
    : World.load(worldPath, PRODUCT_MODULES);
  const plan = {
    swaps: world.planned(SWAP_KIND),
    jobs: world.planned(JOB_KIND),
    marginBlocks: world.state.plan.marginBlocks,
  };
  const out = process.stdout;
  out.write(
    fresh
      ? `settle: new run in ${dir}: seed ${world.state.seed}, ${plan.swaps} swaps, ${plan.jobs} jobs, margin ${plan.marginBlocks} blocks\n`
      : `settle: resuming the run in ${dir} at block ${world.height} (seed ${world.state.seed}, ${plan.swaps} swaps, ${plan.jobs} jobs; run options are those of the first start)\n`,
  );
  const log = pino(
    { base: null },
    pino.destination({ dest: join(dir, 'settle.log'), sync: true, append: true, mkdir: true }),
  );

  let stopRequested = false;
  const onSignal = (signal: string): void => {
    if (stopRequested) {
      out.write(`\nsettle: second ${signal}: exiting now (safe: every step is on disk before its effect)\n`);
      process.exit(130);
    }
    stopRequested = true;
    out.write(`\nsettle: ${signal}: finishing this block, then stopping (again to exit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = new ProgressLine(out);
  const report = new RunReport();
  try {
    const result = await runUntilSettled({
      world,
      maxBlocks: options.maxBlocks,
      openHost: async () => refuseWhenBehind(await openSimHost(world, dir, { create: fresh, log }), dir),
      shouldStop: () => stopRequested,
      onTick: async (_summary, host) => {
        progress.update(await report.describe(world, host));
        if (options.blockMs > 0) await sleep(options.blockMs);
      },
    });
    progress.done();
    if (result.stopped) {
      out.write(`settle: stopped at block ${world.height}; run the same command again to resume\n`);
      return 0;
    }
    if (!result.complete) {
      out.write(
        `settle: gave up after ${result.blocks} blocks with ${result.host.host.liveCount} machines still live\n`,
      );
      return 1;
    }
    const invariants = await invariantsAfter(world, result);
    out.write(`${await report.describe(world, result.host)}\n`);
    out.write(formatInvariants(invariants));
    const entries = result.host.recoveryLog.entries();
    out.write(
      entries.length === 0
        ? 'recovery log: empty, nothing stuck\n'
        : `recovery log: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} in ${join(dir, 'recovery.jsonl')}\n`,
    );
    for (const entry of entries) out.write(`  ${entry.key} [${entry.kind}] ${entry.reason}\n`);
    out.write(`transitions logged to ${join(dir, 'settle.log')}; delete ${dir} for a new run\n`);
    return invariants.some((i) => i.violations.length > 0) ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A host whose witness found transfers the store does not know is refused: the store (or the
 * whole directory) was put back from an older copy while the simulated chains kept theirs.
 */
function refuseWhenBehind(simHost: SimHost, dir: string): SimHost {
  const held = (simHost.witness?.verdicts ?? []).filter(isHeld);
  if (held.length === 0) return simHost;
  const accounts = held.map(
    (v) =>
      `the ${v.chain} chain shows ${v.shows ?? 'nothing asked'} for account ${v.account}, known here: ${v.knows}; ${v.unknown.length + v.more} transaction(s) unknown (${v.unknown[0]?.evidence ?? ''})`,
  );
  throw new StoreBehindChains(dir, accounts.join('; '));
}

/** One line on where the run stands; final states are read from the archive once per machine. */
class RunReport {
  private readonly finalStates = new Map<string, string>();

  async describe(world: World, simHost: SimHost): Promise<string> {
    const counts = new Map<string, number>();
    const count = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const machine of simHost.host.machines()) count(`${machine.kind}:in flight`);
    for (const id of simHost.store.archivedIds) count(`${kindOfMachineId(id)}:${await this.finalStateOf(simHost, id)}`);
    const part = (kind: string, planned: number): string => {
      const states = [...counts]
        .filter(([k]) => k.startsWith(`${kind}:`))
        .map(([k, n]) => `${n} ${k.slice(kind.length + 1)}`);
      return `${kind}s ${planned}: ${states.join(', ') || 'none yet'}`;
    };
    return `block ${world.height} | ${part(SWAP_KIND, world.planned(SWAP_KIND))} | ${part(JOB_KIND, world.planned(JOB_KIND))}`;
  }

  private async finalStateOf(simHost: SimHost, id: string): Promise<string> {
    let state = this.finalStates.get(id);
    if (state === undefined) {
      state = ((await simHost.store.readArchived(id)).snapshot as { value: string }).value;
      this.finalStates.set(id, state);
    }
    return state;
  }
}

export function formatInvariants(results: readonly InvariantResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => {
      const verdict = r.violations.length === 0 ? 'ok' : `${r.violations.length} VIOLATION(S)`;
      const details = r.violations.map((v) => `\n    ${v}`).join('');
      return `  ${r.name.padEnd(width)}  checked ${String(r.checked).padStart(5)}  ${verdict}${details}\n`;
    })
    .join('');
}
