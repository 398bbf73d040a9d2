/**
 * `npm run torture -- --kills N [--seed S] [--swaps N] [--jobs N] [--backup-every N] [--restore-after N]`:
 * the daemon killed with SIGKILL N times against a local EVM node and the fake Subtensor, older
 * copies of its data directory put back between kills (see tortureRun.ts). With `--ocean-node`:
 * the daemon configured by network name beside ocean-node (its SQLite job database, its claimer
 * racing on the same key; see oceanNodeTorture.ts). With `--solana`: the daemon configured for the
 * Solana swap manager, against the cluster served by the test (see solanaTortureRun.ts; swaps only,
 * no older copies put back: the SOL sender has no witness yet). Exit 0 when every check holds, 1
 * with the violations listed.
 */
import { Command } from 'commander';
import { integerOption } from '../../src/cli/main.ts';
import { runOceanNodeTorture } from './oceanNodeTorture.ts';
import { runSolanaTorture } from './solanaTortureRun.ts';
import { runTorture } from './tortureRun.ts';

const options = new Command()
  .name('npm run torture --')
  .option('--kills <n>', 'SIGKILLs at random instants', integerOption('--kills', 0, 100_000), 50)
  .option('--seed <n>', 'seed of the kill instants and the scenario', integerOption('--seed', 0), 1)
  .option('--swaps <n>', 'swaps assigned during the run', integerOption('--swaps', 0, 10_000), 12)
  .option('--jobs <n>', 'jobs settled during the run', integerOption('--jobs', 0, 10_000), 12)
  .option(
    '--ocean-node',
    'beside ocean-node: jobs from its SQLite database, its claimer racing, the chain by network name',
  )
  .option(
    '--backup-every <n>',
    'copy the data directory aside every n kills (0: never)',
    integerOption('--backup-every', 0, 100_000),
    10,
  )
  .option(
    '--restore-after <n>',
    'put the copy back this many kills later',
    integerOption('--restore-after', 1, 100_000),
    4,
  )
  .option('--solana', 'the Solana swap manager setup (swaps paid in SOL; no jobs)')
  .parse(process.argv)
  .opts<{
    kills: number;
    seed: number;
    swaps: number;
    jobs: number;
    backupEvery: number;
    restoreAfter: number;
    oceanNode?: boolean;
    solana?: boolean;
  }>();

const started = Date.now();
const progress = (line: string): void => void process.stdout.write(`torture: ${line}\n`);
const seconds = (): string => ((Date.now() - started) / 1000).toFixed(0);

/** Prints the violations, or that every check holds, and exits accordingly. */
function finish(violations: readonly string[]): never {
  if (violations.length > 0) {
    process.stdout.write(`torture: ${violations.length} VIOLATION(S)\n${violations.map((v) => `  ${v}\n`).join('')}`);
    process.exit(1);
  }
  process.stdout.write('torture: every check holds\n');
  process.exit(0);
}

if (options.oceanNode === true) {
  const report = await runOceanNodeTorture({ kills: options.kills, seed: options.seed, jobs: options.jobs, progress });
  process.stdout.write(
    `torture: ${report.kills} kills in ${seconds()} s; jobs ${JSON.stringify(report.jobStates)}; ` +
      `claimed by the racing claimer ${report.claimedByRival}, by settle ${report.claimedBySettle}\ntorture: data and the daemon's log in ${report.dir}\n`,
  );
  finish(report.violations);
}
if (options.solana === true) {
  const report = await runSolanaTorture({ ...options, progress });
  process.stdout.write(
    `torture (solana): ${report.kills} kills in ${seconds()} s; swaps ${JSON.stringify(report.swapStates)}; ` +
      `${report.payouts} payouts, ${report.marks} marks, ${report.recoveryEntries} recovery entries\ntorture: data and the daemon's log in ${report.dir}\n`,
  );
  finish(report.violations);
}
const report = await runTorture({ ...options, progress });
process.stdout.write(
  `torture: ${report.kills} kills, ${report.restarts} starts in ${seconds()} s; ` +
    `swaps ${JSON.stringify(report.swapStates)}, jobs ${JSON.stringify(report.jobStates)}; ` +
    `${report.transfers} transfers, ${report.claimed} claimed, ${report.recoveryEntries} recovery entries; ` +
    `${report.restores} older copies put back (${report.adopted} transfers adopted, ${report.dismissed} dismissed, ${report.fulfilledForgotten} swaps only a forgotten life knew)\n` +
    `torture: data and the daemon's log in ${report.dir}\n`,
);
finish(report.violations);
