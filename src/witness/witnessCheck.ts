/**
 * The witness's judgement, pure: for one paying account, what the chain shows it did, against
 * what this data directory knows it did (the store's transfers, the witness journal, the
 * operator's decisions). Anything the chain or the journal shows that the store cannot know
 * is unknown activity: a transfer made by an earlier life of this store (a backup put back, a
 * copy running elsewhere) or by someone else holding the key. While any is undecided, the
 * account signs nothing.
 *
 * Three sources of unknown activity:
 *   - journal ahead: a broadcast journaled at a store position beyond the one the store was
 *     opened at (the store is older than the journal: only the store was restored, or it lost
 *     its newest writes), whose transfer the store does not hold;
 *   - chain ahead: a nonce the chain shows used (or pending) that no transaction known here
 *     has (the whole data directory is older than the chain, or a stranger used the key); on
 *     chains without nonces, an id the chain lists that is known nowhere here;
 *   - recorded: unknown activity found earlier and written down, not yet decided (a hold must
 *     survive the store's position growing past the numbers it was found with).
 */
import type { StoreHistory } from '../store/snapshotStore.ts';
import type { WitnessReport } from '../host/ports.ts';
import { sameAccount, type Decision } from './reconcileDecisions.ts';
import type { WitnessEntry } from './witnessJournal.ts';

/** The account of a sender that cannot say which it is (no `witness`): entries of any account of its chain. */
export const ANY_ACCOUNT = '*';

/** Unknown nonces listed one by one at most; beyond, the verdict says how many more. */
export const MAX_LISTED_UNKNOWN = 1_000;

export interface UnknownItem {
  readonly id: string | null;
  readonly nonce: number | null;
  readonly evidence: string;
}

export interface Verdict {
  readonly chain: string;
  readonly account: string;
  /** What the chain shows, in words ("next nonce 14"), or null when it was not asked. */
  readonly shows: string | null;
  /** What the store and journals know, in words. */
  readonly knows: string;
  readonly unknown: readonly UnknownItem[];
  /** Unknown nonces beyond those listed. */
  readonly more: number;
}

export interface JudgeInput {
  readonly chain: string;
  readonly account: string;
  readonly entries: readonly WitnessEntry[];
  readonly decisions: readonly Decision[];
  /** The store as it was opened, before this life wrote anything; null without a history. */
  readonly opened: StoreHistory | null;
  /** Transfers the store holds (restored swaps): id -> nonce. */
  readonly storeKnows: ReadonlyMap<string, number | null>;
  readonly report: WitnessReport | null;
}

export function judge(input: JudgeInput): Verdict {
  const { chain, account, decisions } = input;
  const matches = (other: string): boolean => account === ANY_ACCOUNT || sameAccount(other, account);
  const mine = input.entries.filter((e) => e.chain === chain && matches(e.account));
  const ours = decisions.filter((d) => d.chain === chain && matches(d.account));
  // Sets, not scans: the chain-ahead loop below may visit many nonces (a data directory that lost its journal).
  const decidedIds = new Set(ours.flatMap((d) => (d.id === null ? [] : [d.id])));
  const decidedNonces = new Set(ours.flatMap((d) => (d.nonce === null ? [] : [d.nonce])));
  const decidedThrough = Math.max(-1, ...ours.map((d) => d.throughNonce ?? -1));
  const decided = (id: string | null, nonce: number | null): boolean =>
    (id !== null && decidedIds.has(id)) || (nonce !== null && (nonce <= decidedThrough || decidedNonces.has(nonce)));
  const items: UnknownItem[] = [];
  const listedIds = new Set<string>();
  const listedNonces = new Set<number>();
  const listed = (id: string | null, nonce: number | null): boolean =>
    (id !== null && listedIds.has(id)) || (nonce !== null && listedNonces.has(nonce));
  const add = (item: UnknownItem): void => {
    if (decided(item.id, item.nonce) || listed(item.id, item.nonce)) return;
    items.push(item);
    if (item.id !== null) listedIds.add(item.id);
    if (item.nonce !== null) listedNonces.add(item.nonce);
  };
  for (const item of journalAhead(mine, input)) add(item);
  for (const entry of mine) {
    if (entry.kind === 'unknown') add({ id: entry.id, nonce: entry.nonce, evidence: entry.evidence });
  }
  const known = knownActivity(mine, ours, input.storeKnows);
  let more = 0;
  const report = input.report;
  if (report?.kind === 'nonce') {
    for (let nonce = Math.max(known.floor, decidedThrough + 1); nonce < report.next; nonce += 1) {
      if (known.nonces.has(nonce) || decided(null, nonce) || listed(null, nonce)) continue;
      if (items.length >= MAX_LISTED_UNKNOWN) more += 1;
      else
        add({
          id: null,
          nonce,
          evidence: `the chain shows nonce ${nonce} of ${account} used or pending; no transaction known here has it`,
        });
    }
  } else if (report?.kind === 'ids') {
    for (const id of report.ids) {
      if (!known.ids.has(id))
        add({ id, nonce: null, evidence: `the chain lists transaction ${id} of ${account}; it is known nowhere here` });
    }
  }
  return {
    chain,
    account,
    shows: describeReport(report),
    knows: describeKnown(known, input.opened),
    unknown: items,
    more,
  };
}

/** Broadcasts journaled after the position the store was opened at, whose transfer the store does not hold. */
function journalAhead(mine: readonly WitnessEntry[], input: JudgeInput): UnknownItem[] {
  const opened = input.opened;
  if (opened === null) return [];
  const items: UnknownItem[] = [];
  for (const entry of mine) {
    if (
      entry.kind !== 'broadcast' ||
      entry.storeId !== opened.storeId ||
      entry.position <= opened.position ||
      input.storeKnows.has(entry.id)
    )
      continue;
    items.push({
      id: entry.id,
      nonce: entry.nonce,
      evidence:
        `the witness journal recorded ${entry.ref ?? 'a transaction'} (${entry.id}) broadcast at position ${entry.position} of store ${opened.storeId}, ` +
        `but the store was opened at position ${opened.position} and does not hold it: the store is older than the journal`,
    });
  }
  return items;
}

interface Known {
  /** Every nonce below this is accounted for by a baseline. */
  readonly floor: number;
  readonly nonces: ReadonlySet<number>;
  readonly ids: ReadonlySet<string>;
  readonly baseline: boolean;
}

function knownActivity(
  mine: readonly WitnessEntry[],
  decisions: readonly Decision[],
  storeKnows: ReadonlyMap<string, number | null>,
): Known {
  let floor = 0;
  let baseline = false;
  const nonces = new Set<number>();
  const ids = new Set<string>();
  const note = (id: string | null, nonce: number | null): void => {
    if (id !== null) ids.add(id);
    if (nonce !== null) nonces.add(nonce);
  };
  for (const entry of mine) {
    if (entry.kind === 'baseline') {
      baseline = true;
      floor = Math.max(floor, entry.next ?? 0);
      for (const id of entry.ids) ids.add(id);
    } else if (entry.kind === 'broadcast') {
      note(entry.id, entry.nonce);
    }
  }
  for (const decision of decisions) note(decision.id, decision.nonce);
  for (const [id, nonce] of storeKnows) note(id, nonce);
  return { floor, nonces, ids, baseline };
}

function describeReport(report: WitnessReport | null): string | null {
  if (report === null) return null;
  return report.kind === 'nonce' ? `next nonce ${report.next}` : `${report.ids.length} recent transactions`;
}

function describeKnown(known: Known, opened: StoreHistory | null): string {
  const highest = known.nonces.size === 0 ? null : Math.max(...known.nonces);
  const parts = [
    known.baseline
      ? known.floor > 0
        ? `nonces below ${known.floor} from before this store`
        : 'nothing before this store'
      : 'no baseline',
    highest === null ? 'no transaction journaled' : `its transactions up to nonce ${highest}`,
  ];
  if (opened !== null) parts.push(`store ${opened.storeId.slice(0, 8)}… opened at position ${opened.position}`);
  return parts.join(', ');
}
