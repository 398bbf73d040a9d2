/**
 * `settle reconcile list|adopt|dismiss`: what an operator runs when the witness holds an
 * account (the chain shows transactions the store does not know: a backup was put back, a
 * copy of the data directory ran elsewhere, someone else used the key).
 *
 *   list     each paying account: what its chain shows, what is known here, every unknown
 *            transaction with what the chain says it did, and the open swaps it matches
 *            (same recipient, same amount) with the command that adopts it;
 *   adopt    the transaction paid that swap: the swap takes it as its transfer (checked
 *            against the chain and the swap's terms first), instead of a new signature;
 *   dismiss  not a payment settle owes (an escrow claim, a manual transfer...), with why.
 *
 * A decision is an operator's act: who, why and when, appended and fsynced to
 * `reconcile.jsonl` (the daemon only reads it, and signs again once nothing is undecided).
 * It reads the store and the witness journal without writing them, so it runs beside a
 * daemon or while the daemon refuses to sign; it connects to the configured chains (so it
 * needs the configuration and its keys, like the daemon).
 */
import pino from 'pino';
import { knownMachineVersions, type SwapContext } from '../../machines/index.ts';
import { buildChainPorts, loadKeys, type ChainPorts } from '../daemon/chainPorts.ts';
import { loadConfig } from '../daemon/config.ts';
import { dataPaths } from '../daemon/dataPaths.ts';
import { DaemonMetrics } from '../daemon/metrics.ts';
import { openLowdbSnapshotStore } from '../store/lowdbSnapshotStore.ts';
import { FileDecisions, type Decision } from '../witness/reconcileDecisions.ts';
import { findingsOf, openSwaps, type Finding } from '../witness/reconcile.ts';
import { judge, type Verdict } from '../witness/witnessCheck.ts';
import { readWitnessJournal } from '../witness/witnessJournal.ts';
import { ReconcileRefused, UsageError } from '../errors.ts';

/** Blocks read back from the head when looking for unknown transactions by nonce. */
export const DEFAULT_SCAN_BLOCKS = 10_000;

export interface ReconcileOptions {
  readonly config: string;
  readonly maxBlocks?: number;
  readonly json?: boolean;
  readonly now?: () => Date;
}

export interface AccountSurvey {
  readonly verdict: Verdict;
  readonly findings: readonly Finding[];
}

interface Context {
  readonly dataDir: string;
  readonly ports: ChainPorts;
  readonly decisions: FileDecisions;
}

async function withChains<T>(options: ReconcileOptions, run: (context: Context) => Promise<T>): Promise<T> {
  const config = loadConfig(options.config);
  const keys = await loadKeys(config, options.config);
  const quiet = pino({ level: 'silent' });
  const ports = await buildChainPorts(config, keys, quiet, new DaemonMetrics());
  try {
    return await run({
      dataDir: config.dataDir,
      ports,
      decisions: new FileDecisions(dataPaths(config.dataDir).reconcile),
    });
  } finally {
    await ports.close();
  }
}

/** Each witnessed account's verdict, and what the chain says of each unknown transaction. */
export async function survey(context: Context, maxBlocks: number): Promise<AccountSurvey[]> {
  const paths = dataPaths(context.dataDir);
  const store = await openLowdbSnapshotStore(paths.store, {
    create: false,
    readOnly: true,
    knownMachines: knownMachineVersions,
  });
  const swaps = (await store.loadLive())
    .filter((r) => r.id.startsWith('swap:'))
    .map((r) => r.snapshot as { value: string; context: SwapContext });
  const entries = await readWitnessJournal(paths.witness);
  const decisions = await context.decisions.read();
  const assigned = context.ports.swapContract === null ? [] : await context.ports.swapContract.listAssigned();
  const open = openSwaps(swaps, assigned, (id) => store.placeOf(id));
  const surveys: AccountSurvey[] = [];
  for (const [chain, sender] of context.ports.senders) {
    if (sender.witness === undefined || sender.identify === undefined) continue;
    const report = await sender.witness();
    const storeKnows = new Map<string, number | null>();
    for (const swap of swaps) {
      if (swap.context.terms.destChain !== chain || swap.context.transfer === null) continue;
      const identity = sender.identify(swap.context.transfer.raw);
      storeKnows.set(identity.id, identity.nonce);
    }
    const verdict = judge({
      chain,
      account: report.account,
      entries,
      decisions,
      opened: store.history(),
      storeKnows,
      report,
    });
    surveys.push({ verdict, findings: await findingsOf(sender, chain, verdict.unknown, open, maxBlocks) });
  }
  return surveys;
}

export async function reconcileList(options: ReconcileOptions, out: NodeJS.WritableStream): Promise<number> {
  const surveys = await withChains(options, (context) => survey(context, options.maxBlocks ?? DEFAULT_SCAN_BLOCKS));
  if (options.json === true) {
    out.write(
      `${JSON.stringify(surveys, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}\n`,
    );
    return 0;
  }
  for (const { verdict, findings } of surveys) out.write(describeSurvey(verdict, findings));
  if (surveys.length === 0) out.write('no paying account has a witness\n');
  return 0;
}

function describeSurvey(verdict: Verdict, findings: readonly Finding[]): string {
  const held = verdict.unknown.length + verdict.more;
  const lines = [
    `${verdict.chain} (account ${verdict.account}): ${held === 0 ? 'nothing unknown, signing' : `SIGNING HELD, ${held} unknown transaction(s)`}`,
    `  the chain shows: ${verdict.shows ?? 'not asked'}; known here: ${verdict.knows}`,
  ];
  for (const { item, activity, matches } of findings) {
    const what =
      activity === null
        ? 'not found in the blocks read (--max-blocks to read further)'
        : `${activity.id}: ${activity.note}${activity.to === null ? '' : `, ${activity.amount} to ${activity.to}`}`;
    lines.push(`  ${item.nonce === null ? '' : `nonce ${item.nonce}  `}${what}`);
    lines.push(`    why unknown: ${item.evidence}`);
    const id = activity?.id ?? item.id;
    for (const swap of matches) {
      lines.push(
        `    matches swap ${swap.swapId} (${swap.state}, ${swap.amount} to ${swap.to}): settle reconcile adopt ${id} --swap ${swap.swapId} --by <you> --reason "<what you checked>"`,
      );
    }
    const target = id ?? `--nonce ${item.nonce}`;
    lines.push(
      `    ${matches.length === 0 ? 'no open swap matches' : 'or, if it paid none of them'}: settle reconcile dismiss ${target} --chain ${verdict.chain} --by <you> --reason "<what it was>"`,
    );
  }
  if (verdict.more > 0)
    lines.push(`  ... and ${verdict.more} more unknown nonces (decide a range with dismiss --through-nonce N)`);
  return `${lines.join('\n')}\n`;
}

export interface AdoptOptions extends ReconcileOptions {
  readonly id: string;
  readonly swap: string;
  readonly by: string;
  readonly reason: string;
}

/** Records that transaction `id` paid swap `swap`, after checking both against the chain and the store. */
export async function reconcileAdopt(options: AdoptOptions, out: NodeJS.WritableStream): Promise<number> {
  requireWho(options);
  return withChains(options, async (context) => {
    const surveys = await survey(context, options.maxBlocks ?? DEFAULT_SCAN_BLOCKS);
    const hit = surveys
      .flatMap((s) => s.findings.map((f) => ({ verdict: s.verdict, finding: f })))
      .find(({ finding }) => finding.activity?.id === options.id || finding.item.id === options.id);
    if (hit === undefined)
      throw new ReconcileRefused(
        `transaction ${options.id} is not among the unknown transactions of any paying account (settle reconcile list shows them)`,
      );
    const { verdict, finding } = hit;
    const activity = finding.activity;
    if (activity === null || activity.raw === null)
      throw new ReconcileRefused(
        `${options.id}: the chain did not give its signed bytes back; it can only be dismissed`,
      );
    const swap = finding.matches.find((s) => s.swapId === options.swap);
    if (swap === undefined) {
      throw new ReconcileRefused(
        `${options.id} (${activity.note}${activity.to === null ? '' : `, ${activity.amount} to ${activity.to}`}) does not pay open swap ${options.swap}: ` +
          `only a live swap with nothing signed yet, on ${verdict.chain}, with the same recipient and amount can adopt it`,
      );
    }
    const earlier = (await context.decisions.read()).find(
      (d) => d.kind === 'adopt' && d.chain === verdict.chain && d.swapId === options.swap,
    );
    if (earlier !== undefined)
      throw new ReconcileRefused(
        `swap ${options.swap} already adopted ${earlier.id} (by ${earlier.by} at ${earlier.at})`,
      );
    await context.decisions.append(
      decisionOf(options, 'adopt', verdict, {
        id: activity.id,
        nonce: activity.nonce,
        swapId: swap.swapId,
        raw: activity.raw,
        block: activity.block,
      }),
    );
    out.write(
      `adopted ${activity.id} as the transfer of swap ${swap.swapId} on ${verdict.chain} (recorded in ${context.decisions.path}); the daemon marks it at its next tick\n`,
    );
    return 0;
  });
}

export interface DismissOptions extends ReconcileOptions {
  readonly chain: string;
  readonly id?: string;
  readonly nonce?: number;
  readonly throughNonce?: number;
  readonly by: string;
  readonly reason: string;
}

/** Records that an unknown transaction (or every nonce up to one) is not a payment settle owes. */
export async function reconcileDismiss(options: DismissOptions, out: NodeJS.WritableStream): Promise<number> {
  requireWho(options);
  const given = [options.id, options.nonce, options.throughNonce].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('say which: a transaction id, --nonce N, or --through-nonce N');
  return withChains(options, async (context) => {
    const sender = context.ports.senders.get(options.chain);
    if (sender?.witness === undefined)
      throw new ReconcileRefused(
        `no paying account with a witness on chain '${options.chain}' (configured: ${[...context.ports.senders.keys()].join(', ')})`,
      );
    const account = (await sender.witness()).account;
    const verdict = { chain: options.chain, account } as Verdict;
    // A transaction named by id is looked up for its nonce: the witness finds unknown nonces, not ids.
    let nonce = options.nonce ?? null;
    if (options.id !== undefined && sender.activity !== undefined) {
      const [found] = await sender.activity({ ids: [options.id], maxBlocks: options.maxBlocks ?? DEFAULT_SCAN_BLOCKS });
      if (found?.block === null) {
        throw new ReconcileRefused(
          `${options.id} is still pending: decide once it is included (dismissed, it could yet be dropped and free its nonce under a later transfer, which would then wait forever)`,
        );
      }
      if (found === undefined)
        throw new ReconcileRefused(
          `${options.id} is not a transaction of ${account} that the ${options.chain} node knows; dismiss it by --nonce if the chain lost it`,
        );
      nonce = found.nonce;
    }
    await context.decisions.append(
      decisionOf(options, 'dismiss', verdict, {
        id: options.id ?? null,
        nonce,
        throughNonce: options.throughNonce ?? null,
      }),
    );
    const what =
      options.id ??
      (options.nonce !== undefined ? `nonce ${options.nonce}` : `every nonce through ${options.throughNonce}`);
    out.write(`dismissed ${what} of ${account} on ${options.chain} (recorded in ${context.decisions.path})\n`);
    return 0;
  });
}

function requireWho(options: { by: string; reason: string }): void {
  if (options.by.trim() === '') throw new UsageError('--by: say who decides');
  if (options.reason.trim() === '') throw new UsageError('--reason: say what was checked and why');
}

function decisionOf(
  options: ReconcileOptions & { by: string; reason: string },
  kind: Decision['kind'],
  verdict: Verdict,
  fields: Partial<Decision>,
): Decision {
  return {
    kind,
    chain: verdict.chain,
    account: verdict.account,
    id: null,
    nonce: null,
    throughNonce: null,
    swapId: null,
    raw: null,
    block: null,
    by: options.by.trim(),
    reason: options.reason.trim(),
    at: (options.now?.() ?? new Date()).toISOString(),
    ...fields,
  };
}
