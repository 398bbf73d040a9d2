/** The `settle` command line: one verb per user (start, daemon, status, recovery, reconcile, sim, diagram). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { FAULT_KINDS, parseFaults, type FaultKind } from '../../sim/faults.ts';
import { DEFAULT_MARGIN_BLOCKS } from '../defaults.ts';
import { SettleError, StoreError } from '../errors.ts';
import { requireReadableFile, requireWritableDirectory, requireWritableFile } from '../usablePaths.ts';
import { EMBEDDED_DIR, LOCAL_CONFIG } from './dataLocation.ts';

export function integerOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

function faultsOption(value: string): ReadonlySet<FaultKind> {
  try {
    return parseFaults(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('settle')
    .description('Move money between chains with machines that are durable before every effect.')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command('start')
    .description(
      'Run the host on the embedded default: both machines against the simulated chains, state in --dir. ' +
        'Stop it at any instant (Ctrl-C, even SIGKILL) and start again: it resumes where it stopped.',
    )
    .option(
      '--dir <path>',
      'where the store, the recovery log and the simulated chains live (created if absent, its parent must exist)',
      EMBEDDED_DIR,
    )
    .option('--seed <n>', 'seed of a new run (ignored when resuming)', integerOption('--seed', 0), 1)
    .option('--swaps <n>', 'swaps in a new run', integerOption('--swaps', 0, 100_000), 24)
    .option('--jobs <n>', 'jobs in a new run', integerOption('--jobs', 0, 100_000), 24)
    .option(
      '--margin <blocks>',
      'timeout margin for a first send, in blocks',
      integerOption('--margin', 0, 1_000),
      DEFAULT_MARGIN_BLOCKS,
    )
    .option('--block-ms <ms>', 'wall-clock pause between simulated blocks', integerOption('--block-ms', 0, 60_000), 150)
    .option('--max-blocks <n>', 'give up after this many blocks', integerOption('--max-blocks', 1), 5_000)
    .action(async (options) => {
      // Said before the simulator loads (a second): startEmbedded checks it again as it creates it.
      requireWritableDirectory(options.dir, '--dir');
      const { startEmbedded } = await import('./startEmbedded.ts');
      exitCode = await startEmbedded(options);
    });

  program
    .command('sim')
    .description(
      'Drive the real host and machines against simulated chains with injected faults, reproducibly from a seed, ' +
        'and check every invariant. Run i uses seed + i. Exit 0 with no violation, 1 otherwise.',
    )
    .option('--seed <n>', 'seed of the first run', integerOption('--seed', 0), 1)
    .option('--runs <n>', 'how many runs (scenarios)', integerOption('--runs', 1, 100_000_000), 100)
    .option('--swaps <n>', 'swaps per run', integerOption('--swaps', 0, 10_000), 8)
    .option('--jobs <n>', 'jobs per run', integerOption('--jobs', 0, 10_000), 8)
    .option(
      '--faults <list>',
      `fault kinds, comma-separated, or all, or none: ${FAULT_KINDS.join(', ')}`,
      faultsOption,
      parseFaults('all'),
    )
    .option(
      '--margin <blocks>',
      'timeout margin for a first send, in blocks',
      integerOption('--margin', 0, 1_000),
      DEFAULT_MARGIN_BLOCKS,
    )
    .addOption(
      new Option('--contract <kind>', 'the swap contract simulated: ink (Subtensor) or solana (the swap manager)')
        .choices(['ink', 'solana'])
        .default('ink'),
    )
    .option('--json', 'print one JSON object with the figures on stdout')
    .option('--coverage <file>', 'write how often each transition was taken (for settle diagram --coverage)')
    .action(async (options) => {
      if (options.coverage !== undefined) requireWritableFile(options.coverage, '--coverage'); // before the simulator loads
      const { simCommand } = await import('./simCommand.ts');
      exitCode = await simCommand(options, { stdout: process.stdout, stderr: process.stderr });
    });

  program
    .command('diagram')
    .description('Draw the machines from their definitions: Mermaid, SVG, JSON, or an HTML report for auditors.')
    .option('--machine <name>', 'swapFulfillment, jobSettlement, or all', 'all')
    .option('--format <list>', 'mermaid, svg, json, html (comma-separated), or all', 'mermaid')
    .option('--out <dir>', 'write <machine>.<ext> files here instead of printing')
    .option('--coverage <file>', 'colour transitions by how often settle sim --coverage saw them taken')
    .action(async (options) => {
      // Before the renderer loads; diagramCommand checks them again for embedders.
      if (options.coverage !== undefined) requireReadableFile(options.coverage, '--coverage');
      if (options.out !== undefined) requireWritableDirectory(options.out, '--out');
      const { diagramCommand } = await import('./diagramCommand.ts');
      exitCode = await diagramCommand(options, process.stdout);
    });

  program
    .command('daemon')
    .description(
      'Run against the configured chains until SIGTERM/SIGINT: swaps of the allways contract, jobs of the escrow. ' +
        'Safe to kill at any instant (even SIGKILL); one daemon per data directory.',
    )
    .requiredOption('--config <file>', 'YAML or JSON configuration (see README: settle daemon)')
    .option('--init', 'create the store (the data directory must not hold one yet)')
    .option('--adopt-assigned', 'with --init: take swaps already assigned to this miner as never sent for')
    .action(async (options: { config: string; init?: boolean; adoptAssigned?: boolean }) => {
      // Said before the chain libraries load (seconds): runDaemon checks it again for embedders.
      const config = requireReadableFile(options.config, '--config');
      const { runDaemon } = await import('../daemon/daemon.ts');
      exitCode = await runDaemon(
        { config, init: options.init === true, adoptAssigned: options.adoptAssigned === true },
        { stdout: process.stdout, stderr: process.stderr },
      );
    });

  // Neither given: ./.settle (settle start's) or ./settle.yaml's dataDir, if exactly one is here (dataLocation.ts).
  const where = (command: Command): Command =>
    command
      .option(
        '--config <file>',
        `the daemon's configuration (only its dataDir is read); default: ./${LOCAL_CONFIG} if here`,
      )
      .option('--data-dir <dir>', `the data directory itself; default: ./${EMBEDDED_DIR} if here`);

  where(
    program
      .command('status')
      .description("The daemon's store: live machines and their states, finished count, open recovery entries."),
  )
    .option('--json', 'one JSON object')
    .action(async (options) => {
      const { statusCommand } = await import('./operatorCommands.ts');
      exitCode = await statusCommand(options, process.stdout);
    });

  const recovery = program
    .command('recovery')
    .description('Obligations that need a person: funds that left and could not be finalized, claims that were lost.');
  where(recovery.command('list').description('Open entries (--all: resolved ones too).'))
    .option('--all', 'include resolved entries')
    .option('--json', 'JSON')
    .action(async (options) => {
      const { recoveryList } = await import('./operatorCommands.ts');
      exitCode = await recoveryList(options, process.stdout);
    });
  where(
    recovery
      .command('show')
      .description('One entry, whole, with its resolution if any.')
      .argument('<key>', 'e.g. swap:42'),
  ).action(async (key: string, options) => {
    const { recoveryShow } = await import('./operatorCommands.ts');
    exitCode = await recoveryShow({ ...options, key }, process.stdout);
  });
  where(
    recovery
      .command('resolve')
      .description('Record that a person settled an entry: who, and why. The entry itself stays.')
      .argument('<key>', 'e.g. swap:42'),
  )
    .requiredOption('--by <name>', 'who resolves it')
    .requiredOption('--reason <text>', 'what was checked and done')
    .action(async (key: string, options) => {
      const { recoveryResolve } = await import('./operatorCommands.ts');
      exitCode = await recoveryResolve({ ...options, key }, process.stdout);
    });

  const reconcile = program
    .command('reconcile')
    .description(
      'When signing is held: the transactions the chains show that the store does not know (a backup put back, a copy running elsewhere), and the decisions that lift the hold.',
    );
  const chains = (command: Command): Command =>
    command
      .requiredOption('--config <file>', "the daemon's configuration (its chains and keys are used to ask the chains)")
      .option(
        '--max-blocks <n>',
        'blocks read back from the head when looking for a transaction',
        integerOption('--max-blocks', 1, 10_000_000),
        10_000,
      );
  chains(
    reconcile
      .command('list')
      .description(
        'Each paying account: what its chain shows, what is known here, each unknown transaction and the open swaps it matches.',
      ),
  )
    .option('--json', 'JSON')
    .action(async (options) => {
      const { reconcileList } = await import('./reconcileCommand.ts');
      exitCode = await reconcileList(
        { ...options, config: requireReadableFile(options.config, '--config') },
        process.stdout,
      );
    });
  chains(
    reconcile
      .command('adopt')
      .description('Record that an unknown transaction paid an open swap: the swap takes it as its transfer.')
      .argument('<txid>', 'the transaction (hash)'),
  )
    .requiredOption('--swap <id>', 'the swap it paid (same recipient, same amount)')
    .requiredOption('--by <name>', 'who decides')
    .requiredOption('--reason <text>', 'what was checked')
    .action(async (id: string, options) => {
      const { reconcileAdopt } = await import('./reconcileCommand.ts');
      exitCode = await reconcileAdopt(
        { ...options, config: requireReadableFile(options.config, '--config'), id },
        process.stdout,
      );
    });
  chains(
    reconcile
      .command('dismiss')
      .description(
        'Record that an unknown transaction is not a payment settle owes (an escrow claim, a manual transfer...).',
      )
      .argument('[txid]', 'the transaction (hash)'),
  )
    .requiredOption('--chain <name>', 'the chain, as named in the configuration')
    .option(
      '--nonce <n>',
      'the transaction by its nonce (when the chain could not say which)',
      integerOption('--nonce', 0),
    )
    .option(
      '--through-nonce <n>',
      'every nonce up to this one: an account with a past this data directory never knew',
      integerOption('--through-nonce', 0),
    )
    .requiredOption('--by <name>', 'who decides')
    .requiredOption('--reason <text>', 'what it was, what was checked')
    .action(async (id: string | undefined, options) => {
      const { reconcileDismiss } = await import('./reconcileCommand.ts');
      exitCode = await reconcileDismiss(
        { ...options, config: requireReadableFile(options.config, '--config'), ...(id === undefined ? {} : { id }) },
        process.stdout,
      );
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return 2;
    return reportFailure(error, argv.includes('start') || argv.includes('daemon'), process.stderr);
  }
  return exitCode;
}

/** Exit code of a bug: EX_SOFTWARE of sysexits.h, apart from 1 (a violated invariant) and 2 (refused). */
export const EXIT_BUG = 70;

/**
 * An error that ended a command, as the operator reads it: a SettleError is one plain line
 * (exit 2), with "refusing to start" when a store refused a start; anything else is a bug,
 * printed with its stack to be reported (exit EXIT_BUG).
 */
export function reportFailure(error: unknown, starting: boolean, stderr: NodeJS.WritableStream): number {
  if (error instanceof SettleError) {
    const refusing = starting && error instanceof StoreError ? 'refusing to start: ' : '';
    stderr.write(`settle: ${refusing}${error.message}\n`);
    return 2;
  }
  const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  stderr.write(`settle: bug: ${error instanceof Error ? error.message : String(error)}\n${stack}\n`);
  return EXIT_BUG;
}
