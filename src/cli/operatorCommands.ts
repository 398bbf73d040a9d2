/**
 * What an operator runs beside the daemon: `settle status` and `settle recovery
 * list|show|resolve`. They read the store and the recovery log without writing them (the
 * daemon owns those); a resolution is appended to its own file, with who and why.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { knownMachineVersions, requiredPayout } from '../../machines/index.ts';
import { dataPaths } from '../daemon/dataPaths.ts';
import { lockHolder } from '../daemon/lockFile.ts';
import { AlreadyResolved, RecoveryEntryUnknown, StoreBehind, StoreError, UsageError } from '../errors.ts';
import { openLowdbSnapshotStore } from '../store/lowdbSnapshotStore.ts';
import { readRecoveryLog, type RecoveryEntry } from '../store/recoveryLog.ts';
import { appendResolution, readResolutions, type Resolution } from '../store/recoveryResolutions.ts';
import { heldAccounts, readWitnessFiles, storeBehindJournal } from '../witness/heldAccounts.ts';
import { locateData, type Where } from './dataLocation.ts';

export { dataDirOf, type Where } from './dataLocation.ts';

/**
 * The data directory the command reads: as given, or the one obvious place, which is then
 * said on `err` (one line) so the operator knows whose data is shown.
 */
function dataDirFor(where: Where, err: NodeJS.WritableStream): string {
  const { dataDir, foundAs } = locateData(where);
  if (foundAs !== null) err.write(`settle: reading ${dataDir} (${foundAs})\n`);
  return dataDir;
}

interface StoreView {
  readonly live: Array<{ id: string; state: string; seq: number; context: unknown }>;
  readonly archived: number;
  readonly history: { storeId: string; position: number } | null;
}

/**
 * Live machines and the finished count, from one read-only open. Retried when the daemon moved
 * on between two reads: a checkpoint removed a segment after the listing, or an archive file
 * was written after the log was read (it then holds a newer record than the one read).
 */
async function readStore(storeDir: string): Promise<StoreView> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const store = await openLowdbSnapshotStore(storeDir, {
        create: false,
        readOnly: true,
        knownMachines: knownMachineVersions,
      });
      const records = await store.loadLive();
      return {
        live: records.map((r) => ({
          id: r.id,
          seq: r.seq,
          state: String((r.snapshot as { value: unknown }).value),
          context: (r.snapshot as { context: unknown }).context,
        })),
        archived: store.archivedIds.size,
        history: store.history(),
      };
    } catch (error) {
      // A store behind its own history is also what a checkpoint in progress looks like for an instant.
      const racing =
        error instanceof StoreBehind ||
        (error instanceof StoreError &&
          /cannot be read|not the newest segment|both live and archived/.test(error.message));
      if (!racing || attempt >= 5) throw error;
      await sleep(50 * attempt);
    }
  }
}

export async function statusCommand(
  where: Where & { json?: boolean },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const dataDir = dataDirFor(where, err);
  const paths = dataPaths(dataDir);
  const witness = await readWitnessFiles(paths.witness, paths.reconcile); // before the store: see heldAccounts.ts
  const { live, archived, history } = await readStore(paths.store);
  const { entries, unfinishedTail } = await readRecoveryLog(paths.recoveryLog);
  const resolutions = await readResolutions(paths.resolutions);
  const open = entries.filter((e) => !resolutions.has(e.key));
  const pid = lockHolder(paths.lock);
  const held = heldAccounts(witness, history);
  const behind = storeBehindJournal(witness, history);
  if (where.json === true) {
    const machines = live.map(({ id, state, seq }) => ({ id, state, seq }));
    out.write(
      `${JSON.stringify({ dataDir, daemonPid: pid, store: history, live: machines, archived, recovery: { entries: entries.length, open: open.length }, signingHeld: held, storeBehindJournal: behind })}\n`,
    );
    return 0;
  }
  out.write(`data: ${dataDir}\n`);
  out.write(`daemon: ${pid === null ? 'not running' : `running (pid ${pid})`}\n`);
  if (history !== null) out.write(`store: ${history.storeId}, position ${history.position}\n`);
  if (behind !== null)
    out.write(
      `STORE BEHIND its witness journal: ${behind.broadcasts} transfer(s) broadcast at positions up to ${behind.highest}, the store is at ${behind.position} (put back from an older copy, or its newest writes lost); see README "Restoring a backup"\n`,
    );
  for (const h of held)
    out.write(
      `SIGNING HELD on ${h.chain} (${h.account}): ${h.unknown} transaction(s) the store does not know; settle reconcile list --config ...\n`,
    );
  out.write(`machines: ${live.length} live, ${archived} finished\n`);
  const width = Math.max(0, ...live.map((m) => m.id.length));
  for (const machine of live.sort((a, b) => a.id.localeCompare(b.id))) {
    out.write(`  ${machine.id.padEnd(width)}  ${machine.state.padEnd(16)} ${describeContext(machine.context)}\n`);
  }
  out.write(
    `recovery log: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${open.length} open${unfinishedTail ? ' (an append is in progress)' : ''}\n`,
  );
  for (const entry of open) out.write(`  ${entry.key} [${entry.kind}] ${entry.reason}\n`);
  return 0;
}

function describeContext(context: unknown): string {
  const c = context as {
    terms?: { destChain?: string; destAmount?: string; chain?: string; contract?: string; senderPin?: string };
    markAttempts?: number;
    lastError?: string | null;
  };
  const parts: string[] = [];
  if (c.terms?.destChain !== undefined) parts.push(describePayout(c.terms));
  if (c.terms?.chain !== undefined) parts.push(`escrow on ${c.terms.chain}`);
  if (typeof c.markAttempts === 'number' && c.markAttempts > 0) parts.push(`${c.markAttempts} mark attempts`);
  if (typeof c.lastError === 'string') parts.push(`last error: ${c.lastError}`);
  return parts.join(', ');
}

/** A swap's payout as its contract requires it (Solana: 99% of to_amount, from the pinned address). */
function describePayout(terms: {
  destChain?: string;
  destAmount?: string;
  contract?: string;
  senderPin?: string;
}): string {
  if (terms.contract !== 'solana' || terms.destAmount === undefined) return `${terms.destAmount} on ${terms.destChain}`;
  const payout = requiredPayout('solana', BigInt(terms.destAmount));
  const from = terms.senderPin === undefined || terms.senderPin === '' ? '' : ` from ${terms.senderPin}`;
  return `pays ${payout} (to_amount ${terms.destAmount}) on ${terms.destChain}${from}`;
}

export async function recoveryList(
  where: Where & { all?: boolean; json?: boolean },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const paths = dataPaths(dataDirFor(where, err));
  const { entries } = await readRecoveryLog(paths.recoveryLog);
  const resolutions = await readResolutions(paths.resolutions);
  const shown = entries.filter((e) => where.all === true || !resolutions.has(e.key));
  if (where.json === true) {
    out.write(`${JSON.stringify(shown.map((e) => ({ ...e, resolution: resolutions.get(e.key) ?? null })))}\n`);
    return 0;
  }
  if (shown.length === 0) out.write(where.all === true ? 'recovery log: empty\n' : 'recovery log: nothing open\n');
  for (const entry of shown) {
    const resolution = resolutions.get(entry.key);
    out.write(
      `${entry.key}  [${entry.kind}] ${entry.state}: ${entry.reason}${resolution === undefined ? '' : `  (resolved by ${resolution.by} at ${resolution.at})`}\n`,
    );
  }
  return 0;
}

/**
 * The entry named `key`: its machine id (`swap:<id>`), or a swap's bare id, which for the Solana
 * swap manager is the swap key validators and explorers show.
 */
function findEntry(entries: readonly RecoveryEntry[], key: string, path: string): RecoveryEntry {
  const entry = entries.find((e) => e.key === key) ?? entries.find((e) => e.key === `swap:${key}`);
  if (entry === undefined) throw new RecoveryEntryUnknown(key, path);
  return entry;
}

export async function recoveryShow(
  where: Where & { key: string },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const paths = dataPaths(dataDirFor(where, err));
  const { entries } = await readRecoveryLog(paths.recoveryLog);
  const entry = findEntry(entries, where.key, paths.recoveryLog);
  const resolution = (await readResolutions(paths.resolutions)).get(entry.key) ?? null;
  out.write(`${JSON.stringify({ ...entry, resolution }, null, 2)}\n`);
  return 0;
}

export async function recoveryResolve(
  where: Where & { key: string; by: string; reason: string; now?: () => Date },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  if (where.by.trim() === '') throw new UsageError('--by: say who resolves it');
  if (where.reason.trim() === '')
    throw new UsageError('--reason: say why it is resolved (what was checked, what was done)');
  const paths = dataPaths(dataDirFor(where, err));
  const { entries } = await readRecoveryLog(paths.recoveryLog);
  const { key } = findEntry(entries, where.key, paths.recoveryLog);
  const earlier = (await readResolutions(paths.resolutions)).get(key);
  if (earlier !== undefined)
    throw new AlreadyResolved(`'${key}' was already resolved by ${earlier.by} at ${earlier.at}: ${earlier.reason}`);
  const resolution: Resolution = {
    key,
    by: where.by.trim(),
    reason: where.reason.trim(),
    at: (where.now?.() ?? new Date()).toISOString(),
  };
  await appendResolution(paths.resolutions, resolution);
  out.write(`resolved ${key} (recorded in ${paths.resolutions})\n`);
  return 0;
}
