/**
 * `settle sim`: many seeded runs of the real host against simulated chains with faults, and
 * a report of every invariant checked. Exit 0 when nothing was violated, 1 otherwise.
 */
import { writeFileSync } from 'node:fs';
import { FAULT_KINDS, formatFaults, type FaultKind } from '../../sim/faults.ts';
import { CoverageRecorder } from '../diagram/coverage.ts';
import { simulate, type SimSummary, type ViolationReport } from '../../sim/simulate.ts';
import type { EngineInterceptor } from '../engine/interceptors.ts';
import { requireWritableFile } from '../usablePaths.ts';
import { ProgressLine } from './progressLine.ts';
import { DEFAULT_CUSHION, swapMachineId } from '../../machines/index.ts';

export interface SimCommandOptions {
  readonly seed: number;
  readonly runs: number;
  readonly swaps: number;
  readonly jobs: number;
  readonly faults: ReadonlySet<FaultKind>;
  readonly margin?: number;
  /** The swap contract simulated (default ink). */
  readonly contract?: 'ink' | 'solana';
  readonly json?: boolean;
  /** Where to write how often each transition was taken (for settle diagram --coverage). */
  readonly coverage?: string;
}

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

/** The most trace lines printed; --json carries them all. */
const TRACE_LINES_SHOWN = 200;

export async function simCommand(
  options: SimCommandOptions,
  io: Io,
  interceptors?: readonly EngineInterceptor[],
): Promise<number> {
  // Checked before the runs, which can take minutes: a bad path is said at once.
  const coveragePath = options.coverage === undefined ? undefined : requireWritableFile(options.coverage, '--coverage');
  const progress = io.stderr.isTTY === true ? new ProgressLine(io.stderr) : null;
  const started = performance.now();
  const coverage = options.coverage === undefined ? null : new CoverageRecorder();
  const summary = await simulate({
    seed: options.seed,
    runs: options.runs,
    swaps: options.swaps,
    jobs: options.jobs,
    faults: options.faults,
    ...(options.margin === undefined ? {} : { marginBlocks: options.margin }),
    ...(options.contract === undefined ? {} : { contract: options.contract }),
    ...(interceptors === undefined ? {} : { interceptors }),
    ...(coverage === null ? {} : { inspect: coverage.inspect }),
    onRun: (done, total, violating) => progress?.update(bar(done, total, violating)),
  });
  progress?.done();
  if (coverage !== null && coveragePath !== undefined) {
    const source = `settle sim --seed ${options.seed} --runs ${options.runs} --swaps ${options.swaps} --jobs ${options.jobs} --faults ${formatFaults(options.faults)}`;
    writeFileSync(coveragePath, `${JSON.stringify(coverage.file(source), null, 2)}\n`);
    io.stderr.write(`settle sim: transition coverage written to ${coveragePath}\n`);
  }
  const seconds = (performance.now() - started) / 1000;
  if (options.json === true) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else io.stdout.write(formatSummary(summary, seconds));
  return summary.violation === null ? 0 : 1;
}

function bar(done: number, total: number, violating: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} runs, ${violating} violating`;
}

export function formatSummary(s: SimSummary, seconds: number): string {
  const lines: string[] = [];
  lines.push(
    `settle sim: seed ${s.seed}, ${s.runs} runs of ${s.swapsPerRun} swaps and ${s.jobsPerRun} jobs, faults: ${s.faults}, ${s.contract === 'solana' ? `the Solana swap manager, cushion ${DEFAULT_CUSHION.solana} s` : `margin ${s.marginBlocks} blocks`}`,
  );
  for (const [machine, life] of Object.entries(s.lifecycles)) {
    const ends = Object.entries(life.endStates)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    lines.push(
      `  ${machine.padEnd(16)} ${String(life.completed).padStart(7)} lifecycles completed (${ends || 'none'})`,
    );
  }
  const faults = FAULT_KINDS.filter((k) => s.faultsInjected[k] > 0).map((k) => `${k} ${s.faultsInjected[k]}`);
  lines.push(`  faults injected: ${faults.join(', ') || 'none'}`);
  lines.push(
    `  host deaths ${s.restarts} (crashes ${s.crashes}), each followed by a restart from the store; incomplete runs ${s.incompleteRuns}`,
  );
  lines.push('invariants:');
  const width = Math.max(...s.invariants.map((i) => i.name.length));
  for (const inv of s.invariants) {
    lines.push(
      `  ${inv.name.padEnd(width)}  checked ${String(inv.checked).padStart(8)}  ${inv.violations === 0 ? 'ok' : `${inv.violations} VIOLATION(S)`}`,
    );
  }
  const lifecycles = s.lifecycles.swapFulfillment.completed + s.lifecycles.jobSettlement.completed;
  lines.push(`${seconds.toFixed(1)} s, ${Math.round(lifecycles / Math.max(seconds, 1e-9))} lifecycles/s`);
  if (s.violation !== null) lines.push(...formatViolation(s.violation, s.violatingSeeds));
  return `${lines.join('\n')}\n`;
}

function formatViolation(v: ViolationReport, seeds: readonly number[]): string[] {
  const lines = [
    '',
    `VIOLATION in the run of seed ${v.seed} (violating seeds: ${seeds.slice(0, 10).join(', ')}${seeds.length > 10 ? ', ...' : ''})`,
  ];
  for (const detail of v.details) lines.push(`  ${detail}`);
  const ids = involvedIds(v.details);
  const relevant =
    ids.length === 0
      ? v.trace
      : v.trace.filter((l) => ids.some((id) => l.includes(id)) || /fault|died|restart/.test(l));
  lines.push(
    `shortest trace found (${v.shrunk.swaps} swaps, ${v.shrunk.jobs} jobs, faults ${v.shrunk.faults})${ids.length === 0 ? '' : `, lines about ${ids.join(', ')}, faults and restarts`}:`,
  );
  for (const line of relevant.slice(0, TRACE_LINES_SHOWN)) lines.push(`  ${line}`);
  if (relevant.length > TRACE_LINES_SHOWN)
    lines.push(`  ... ${relevant.length - TRACE_LINES_SHOWN} more lines (--json has the whole trace)`);
  lines.push(`replay: ${v.replay}`);
  return lines;
}

/** The obligations a violation names: "swap 3", "swap:3", "job 0x...". */
function involvedIds(details: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const detail of details) {
    for (const m of detail.matchAll(/swap[ :](\d+)/g)) ids.add(swapMachineId(m[1]!));
    for (const m of detail.matchAll(/job[ :](?:[\w-]+:)?(0x[0-9a-f]+)/g)) ids.add(m[1]!);
  }
  return [...ids];
}
