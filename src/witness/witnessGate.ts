/**
 * The witness gate: one per data directory, shared by every paying account's WitnessedSender.
 * It asks each chain what the account did (`witness`), judges it against the store, the
 * witness journal and the operator's decisions (witnessCheck.ts), and holds an account's
 * signatures while anything is unknown. It journals every first broadcast with the store's
 * identity and position before the broadcast is made, and writes down each unknown activity
 * it finds (so a hold survives a restart); it says, once per change, which account is held,
 * what the chain shows and what the store knows.
 *
 * It never decides for the operator: only a recorded decision (`settle reconcile`) lifts a
 * hold. A transfer the operator adopted for a swap is handed to that swap instead of a new
 * signature (WitnessedSender.sign).
 *
 * What a crash leaves: entries are appended before what they describe (a broadcast entry
 * before the broadcast), so the journal knows at least what the chain knows of this data
 * directory, never less.
 */
import { EffectWaits, type Logger, type SignedIdentity, type WitnessReport } from '../host/ports.ts';
import type { RecoveryEntry, RecoveryLog } from '../store/recoveryLog.ts';
import type { SnapshotStore, StoreHistory } from '../store/snapshotStore.ts';
import { sameAccount, type Decision, type DecisionSource } from './reconcileDecisions.ts';
import { ANY_ACCOUNT, judge, type UnknownItem, type Verdict } from './witnessCheck.ts';
import type { WitnessJournal } from './witnessJournal.ts';

/** The account is held: the chain shows activity this data directory does not know. */
export class SigningHeld extends EffectWaits {
  override readonly name = 'SigningHeld';
  constructor(readonly verdict: Verdict) {
    super(
      `signing held on ${verdict.chain} for ${verdict.account}: ${verdict.unknown.length + verdict.more} transaction(s) the store does not know ` +
        `(the chain shows ${verdict.shows ?? 'nothing asked'}; known here: ${verdict.knows}); run \`settle reconcile list\``,
    );
  }
}

export interface WitnessGateOptions {
  readonly journal: WitnessJournal;
  readonly decisions: DecisionSource;
  /** The store the host writes: its position is journaled with each broadcast. */
  readonly store: SnapshotStore;
  /** The store as opened, before this life wrote to it (LowdbSnapshotStore.openedHistory). */
  readonly opened: StoreHistory | null;
  readonly log: Logger;
  /** A time for each entry: ISO 8601 for the daemon, a block for the simulator. */
  readonly now: () => string;
  /**
   * Where each unknown transaction is also written for the operator (recovery.jsonl): funds
   * that left the paying account and that the store does not know, whatever the operator then
   * decides (a put-back store may have forgotten a payment altogether).
   */
  readonly recoveryLog?: RecoveryLog;
}

/** What the gate asks of a sender (the WitnessedSender around it). */
export interface Witnessed {
  readonly chain: string;
  report(): Promise<WitnessReport | null>;
}

export class WitnessGate {
  /** chain -> transfer id -> nonce: the transfers the store holds (told by the host's restore). */
  private readonly storeKnows = new Map<string, Map<string, number | null>>();
  /** `${chain}|${id}` of every broadcast journaled. */
  private readonly journaled = new Set<string>();
  /** chain -> the unknown items last told (logged once per change). */
  private readonly told = new Map<string, string>();
  /** chain -> the latest verdict, for status and health. */
  private readonly verdicts = new Map<string, Verdict>();
  /** Keys of the unknown items written down (see unknownKeys). */
  private readonly recorded = new Set<string>();
  /** chain -> what it showed at the last check (the journal's compaction reads it). */
  readonly reports = new Map<string, WitnessReport>();

  constructor(private readonly options: WitnessGateOptions) {
    for (const entry of options.journal.entries()) {
      if (entry.kind === 'broadcast') this.journaled.add(`${entry.chain}|${entry.id}`);
      if (entry.kind === 'unknown') for (const key of unknownKeys(entry.chain, entry)) this.recorded.add(key);
    }
  }

  /** Every held account's latest verdict. */
  held(): Verdict[] {
    return [...this.verdicts.values()].filter(isHeld);
  }

  /** A transfer the store holds (a restored swap's), for the chain named. */
  storeHolds(chain: string, identity: SignedIdentity): void {
    let known = this.storeKnows.get(chain);
    if (known === undefined) {
      known = new Map();
      this.storeKnows.set(chain, known);
    }
    known.set(identity.id, identity.nonce);
  }

  /**
   * The start check: every sender asked, baselines recorded where due, unknown activity
   * written down and told. Returns the verdicts; nothing here throws for a held account.
   */
  async start(senders: readonly Witnessed[]): Promise<Verdict[]> {
    const verdicts: Verdict[] = [];
    for (const sender of senders) verdicts.push(await this.check(sender));
    return verdicts;
  }

  /**
   * Writes down, without asking any chain, each broadcast the journal holds at a position
   * beyond the one the store was opened at and whose transfer the store does not hold (the
   * store is older than the journal). Right after the restore (which tells what the store
   * holds), before this life writes: once it does, the store's position may pass those numbers
   * and only this record keeps the hold, even if every chain was unreachable meanwhile.
   */
  async recordJournalAhead(): Promise<void> {
    const accounts = new Map<string, { chain: string; account: string }>();
    for (const e of this.options.journal.entries())
      if (e.kind === 'broadcast') accounts.set(`${e.chain}|${e.account}`, e);
    const decisions = await this.options.decisions.read();
    for (const { chain, account } of accounts.values()) {
      const storeKnows = this.storeKnows.get(chain) ?? new Map();
      const verdict = judge({
        chain,
        account,
        entries: this.options.journal.entries(),
        decisions,
        opened: this.options.opened,
        storeKnows,
        report: null,
      });
      if (isHeld(verdict)) {
        this.verdicts.set(chain, verdict);
        await this.recordAndTell(verdict);
      }
    }
  }

  /**
   * Asks the chain (one call) and judges; records and tells what is new. `decisions`: the
   * operator's decisions as the caller already read them, so that one question (sign: adopted,
   * or held?) is answered from one reading of the file the operator appends to.
   */
  async check(sender: Witnessed, decisions?: readonly Decision[]): Promise<Verdict> {
    const report = await sender.report();
    if (report !== null) this.reports.set(sender.chain, report);
    const verdict = judge({
      chain: sender.chain,
      account: report?.account ?? ANY_ACCOUNT,
      entries: this.options.journal.entries(),
      decisions: decisions ?? (await this.options.decisions.read()),
      opened: this.options.opened,
      storeKnows: this.storeKnows.get(sender.chain) ?? new Map(),
      report,
    });
    this.verdicts.set(sender.chain, verdict);
    await this.recordAndTell(verdict);
    return verdict;
  }

  /** Journals a broadcast before it is made (once per transaction). */
  async beforeBroadcast(chain: string, identity: SignedIdentity, ref: string | null): Promise<void> {
    const key = `${chain}|${identity.id}`;
    if (this.journaled.has(key)) return;
    // The host broadcasts only bytes its store holds (persisted before the effect runs).
    this.storeHolds(chain, identity);
    const { storeId, position } = this.options.store.history?.() ??
      this.options.opened ?? { storeId: 'none', position: 0 };
    await this.options.journal.append({
      kind: 'broadcast',
      chain,
      account: identity.account,
      storeId,
      at: this.options.now(),
      id: identity.id,
      nonce: identity.nonce,
      ref,
      position,
    });
    this.journaled.add(key);
  }

  /** Unknown activity found outside a check (a nonce taken by a transaction not ours). */
  async found(chain: string, account: string, item: UnknownItem): Promise<void> {
    await this.record(chain, account, [item]);
    this.options.log.error(
      { chain, account, nonce: item.nonce, evidence: item.evidence },
      'the chain shows a transaction this store does not know; signing held on this chain',
    );
  }

  /** The operator's decisions as they stand now (read again at each call). */
  decisions(): Promise<readonly Decision[]> {
    return this.options.decisions.read();
  }

  /** The transfer the operator adopted for this swap among `decisions`, if any. */
  adoption(decisions: readonly Decision[], chain: string, swapId: string): Decision | null {
    return decisions.find((d) => d.kind === 'adopt' && d.chain === chain && d.swapId === swapId) ?? null;
  }

  /** The block an adopted transfer was included in, for chains searched from a block. */
  async adoptedBlock(chain: string, id: string): Promise<number | null> {
    const decisions = await this.options.decisions.read();
    return decisions.find((d) => d.kind === 'adopt' && d.chain === chain && d.id === id)?.block ?? null;
  }

  /**
   * Records what the chain shows now as the account's baseline (activity before it is not this
   * store's to know), unless the journal holds one for this store already. Only for a store
   * that begins now, before it can sign anything: a baseline recorded later could cover a
   * transfer a copy of the store made meanwhile (README, "Restoring a backup"). A new store's
   * creation therefore waits until every chain answers (the daemon's --init, settle start).
   */
  async baseline(chain: string, report: WitnessReport): Promise<void> {
    const storeId = this.options.opened?.storeId ?? 'none';
    const known = this.options.journal
      .entries()
      .some(
        (e) =>
          e.kind === 'baseline' && e.chain === chain && sameAccount(e.account, report.account) && e.storeId === storeId,
      );
    if (known) return;
    const next = report.kind === 'nonce' ? report.next : null;
    const ids = report.kind === 'ids' ? [...report.ids] : [];
    const why = "what the chain showed when this store began: activity before it is not this store's to know";
    await this.options.journal.append({
      kind: 'baseline',
      chain,
      account: report.account,
      storeId,
      at: this.options.now(),
      next,
      ids,
      why,
    });
    this.options.log.warn(
      { chain, account: report.account, next, ids: ids.length },
      'witness baseline recorded for a store that begins now',
    );
  }

  private async recordAndTell(verdict: Verdict): Promise<void> {
    // Told again once the chain has answered, if it had not: the operator reads what it shows.
    const key = JSON.stringify([verdict.unknown.map((i) => [i.id, i.nonce]), verdict.more, verdict.shows === null]);
    const before = this.told.get(verdict.chain);
    if (before === key) return;
    this.told.set(verdict.chain, key);
    if (!isHeld(verdict)) {
      if (before !== undefined)
        this.options.log.info(
          { chain: verdict.chain, account: verdict.account },
          'every unknown transaction is decided; signing resumes on this chain',
        );
      return;
    }
    await this.record(verdict.chain, verdict.account, verdict.unknown);
    this.options.log.error(
      {
        chain: verdict.chain,
        account: verdict.account,
        chainShows: verdict.shows,
        storeKnows: verdict.knows,
        unknown: verdict.unknown.length + verdict.more,
        first: verdict.unknown.slice(0, 5).map((i) => i.evidence),
      },
      'signing held: the chain shows transactions this store does not know (restored from an older copy? another host running a copy?); marking and claiming go on; run `settle reconcile list`',
    );
  }

  /** Writes down unknown items not written yet: the hold must outlive this process. */
  private async record(chain: string, account: string, items: readonly UnknownItem[]): Promise<void> {
    const { storeId, position } = this.options.store.history?.() ??
      this.options.opened ?? { storeId: 'none', position: null };
    for (const item of items) {
      const keys = unknownKeys(chain, item);
      if (keys.some((key) => this.recorded.has(key))) continue;
      await this.options.journal.append({
        kind: 'unknown',
        chain,
        account,
        storeId,
        at: this.options.now(),
        id: item.id,
        nonce: item.nonce,
        position,
        evidence: item.evidence,
      });
      for (const key of keys) this.recorded.add(key);
      await this.options.recoveryLog?.record(recoveryEntryOf(chain, account, item));
    }
  }
}

/** The recovery entry of an unknown transaction: one per transaction (its id, else its account's nonce). */
export function recoveryEntryOf(chain: string, account: string, item: UnknownItem): RecoveryEntry {
  const which = item.id ?? `${account}#${item.nonce}`;
  return {
    key: `witness:${chain}:${which}`,
    obligation: 'witness',
    kind: 'stuck-funds',
    reason:
      `${chain}: account ${account} made transaction ${item.id ?? `(nonce ${item.nonce})`} that this store does not know ` +
      `(${item.evidence}); signing held until \`settle reconcile\` adopts it for a swap or dismisses it`,
    state: 'unknown to the store',
    chains: { from: chain },
    amounts: {},
    txHashes: item.id === null ? {} : { [chain]: item.id },
    block: null,
    time: null,
  };
}

function unknownKeys(chain: string, item: { readonly id: string | null; readonly nonce: number | null }): string[] {
  return [
    ...(item.id === null ? [] : [`${chain}|id|${item.id}`]),
    ...(item.nonce === null ? [] : [`${chain}|nonce|${item.nonce}`]),
  ];
}

export function isHeld(verdict: Verdict): boolean {
  return verdict.unknown.length > 0 || verdict.more > 0;
}
