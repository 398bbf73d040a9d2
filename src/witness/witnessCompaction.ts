/**
 * The witness journal, bounded: broadcast entries of swaps the store has archived whose
 * transfers the chain shows done can go, and the journal is rewritten without them (crash-safe:
 * a temporary file fsynced and renamed over the old one; a crash leaves the old journal or the
 * new one whole). Run by the daemon at start, after the first witness check.
 *
 * What the judgement loses, and why that is safe:
 *   - on nonce chains, an entry's nonce stops being "known" by itself; a baseline entry written
 *     in the same rewrite raises the account's floor past it, and only up to the first nonce not
 *     accounted for (a gap stays judged: an unknown transaction is never hidden by a raised floor);
 *     the floor stops below the nonce the chain showed next at the last check, so only nonces
 *     the chain shows used are covered;
 *   - on chains judged by id (BTC, Solana), the newest KEEP_PER_ACCOUNT entries of each account
 *     stay: the chain lists at most 75 (Esplora) or 25 (Solana) recent ones, so an older
 *     transfer of ours no longer shows there;
 *   - the journal-ahead check for those swaps: a store put back from before them holds them at
 *     an older step or not at all, and the contract no longer asks for them (an archived swap
 *     is Fulfilled, Rejected or timed out there), so the host does not pay them again.
 * Never removed: baselines, recorded unknown activity, escrow transactions, broadcasts of
 * swaps still live or unknown to the store.
 */
import { swapMachineId } from '../../machines/index.ts';
import type { WitnessReport } from '../host/ports.ts';
import { sameAccount, type Decision } from './reconcileDecisions.ts';
import type { BaselineEntry, BroadcastEntry, WitnessEntry } from './witnessJournal.ts';

/** Entries of an account judged by id kept whatever their swap: more than any chain lists. */
export const KEEP_PER_ACCOUNT = 200;
/** A compaction is worth a rewrite only past this many entries. */
export const COMPACT_FROM_ENTRIES = 500;

export interface CompactionInput {
  readonly entries: readonly WitnessEntry[];
  readonly decisions: readonly Decision[];
  /** Whether the store holds this swap archived (its obligation is over). */
  readonly archived: (swapId: string) => boolean;
  /** What each chain showed at the last check (nonce chains: the next nonce); missing: nothing compacted there. */
  readonly reports: ReadonlyMap<string, WitnessReport>;
  readonly storeId: string;
  readonly at: string;
}

export interface Compaction {
  readonly kept: WitnessEntry[];
  readonly removed: number;
}

export function compactEntries(input: CompactionInput): Compaction {
  const drop = new Set<WitnessEntry>();
  const baselines: BaselineEntry[] = [];
  const accounts = new Map<string, BroadcastEntry[]>();
  for (const e of input.entries) {
    if (e.kind !== 'broadcast') continue;
    const key = `${e.chain}|${e.account}`;
    accounts.set(key, [...(accounts.get(key) ?? []), e]);
  }
  for (const list of accounts.values()) {
    const { chain, account } = list[0]!;
    const report = input.reports.get(chain);
    if (report === undefined || !sameAccount(report.account, account)) continue;
    const settled = (e: BroadcastEntry): boolean =>
      e.ref?.startsWith('swap:') === true && input.archived(e.ref.slice('swap:'.length));
    if (report.kind === 'ids') {
      const older = [...list].sort((a, b) => b.position - a.position).slice(KEEP_PER_ACCOUNT);
      for (const e of older) if (settled(e)) drop.add(e);
      continue;
    }
    const floor = raisedFloor(input, list, report.next, settled);
    if (floor === null) continue;
    for (const e of list) if (e.nonce !== null && e.nonce < floor && settled(e)) drop.add(e);
    baselines.push({
      kind: 'baseline',
      chain,
      account,
      storeId: input.storeId,
      at: input.at,
      next: floor,
      ids: [],
      why: `compaction: every nonce below ${floor} is known (archived swaps' transfers, the chain showing them used)`,
    });
  }
  if (drop.size === 0) return { kept: [...input.entries], removed: 0 };
  const superseded = (e: WitnessEntry): boolean =>
    e.kind === 'baseline' &&
    e.ids.length === 0 &&
    baselines.some((b) => b.chain === e.chain && sameAccount(b.account, e.account) && (e.next ?? 0) <= (b.next ?? 0));
  const kept = [...input.entries.filter((e) => !drop.has(e) && !superseded(e)), ...baselines];
  return { kept, removed: input.entries.length + baselines.length - kept.length };
}

/**
 * The highest floor the account's settled entries allow: every nonce from the current floor up
 * to it known (an entry, or a decision), below the chain's next; null when it would not rise
 * past any settled entry.
 */
function raisedFloor(
  input: CompactionInput,
  list: readonly BroadcastEntry[],
  chainNext: number,
  settled: (e: BroadcastEntry) => boolean,
): number | null {
  const { chain, account } = list[0]!;
  let floor = 0;
  for (const e of input.entries)
    if (e.kind === 'baseline' && e.chain === chain && sameAccount(e.account, account))
      floor = Math.max(floor, e.next ?? 0);
  const known = new Set(list.flatMap((e) => (e.nonce === null ? [] : [e.nonce])));
  for (const d of input.decisions) {
    if (d.chain !== chain || !sameAccount(d.account, account)) continue;
    if (d.nonce !== null) known.add(d.nonce);
    if (d.throughNonce !== null) floor = Math.max(floor, d.throughNonce + 1);
  }
  // Recorded unknown activity is never covered, decided or not (the hold's own record).
  const unknown = new Set(
    input.entries.flatMap((e) =>
      e.kind === 'unknown' && e.chain === chain && e.nonce !== null && sameAccount(e.account, account) ? [e.nonce] : [],
    ),
  );
  const limit = Math.min(chainNext, floor + known.size);
  let next = floor;
  while (next < limit && known.has(next) && !unknown.has(next)) next += 1;
  const covers = list.some((e) => e.nonce !== null && e.nonce < next && e.nonce >= floor && settled(e));
  return covers ? next : null;
}

/** The swap id of an archived swap machine, for `archived`. */
export function archivedIn(placeOf: (id: string) => string | null): (swapId: string) => boolean {
  return (swapId) => placeOf(swapMachineId(swapId)) === 'archived';
}
