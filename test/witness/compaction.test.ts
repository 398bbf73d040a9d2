/**
 * The witness journal bounded: entries of archived swaps the chain shows done go, the judgement
 * is the same before and after (what was unknown stays unknown, what was known stays known),
 * a gap is never covered, and the rewrite on disk is whole or not at all.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WitnessReport } from '../../src/host/ports.ts';
import type { SnapshotStore } from '../../src/store/snapshotStore.ts';
import { compactWitness, openWitness } from '../../src/witness/openWitness.ts';
import { judge } from '../../src/witness/witnessCheck.ts';
import { COMPACT_FROM_ENTRIES, compactEntries, KEEP_PER_ACCOUNT } from '../../src/witness/witnessCompaction.ts';
import { readWitnessJournal, type WitnessEntry } from '../../src/witness/witnessJournal.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';

const STORE = 'e'.repeat(32);
const EVM = '0x00000000000000000000000000000000000000A1';
const BTC = 'bc1qminer';

const broadcast = (chain: string, account: string, n: number, nonce: number | null): WitnessEntry => ({
  kind: 'broadcast',
  chain,
  account,
  storeId: STORE,
  at: 't',
  id: `${chain}-tx-${n}`,
  nonce,
  ref: `swap:${n}`,
  position: n + 1,
});
const baseline = (next: number): WitnessEntry => ({
  kind: 'baseline',
  chain: 'eth',
  account: EVM,
  storeId: STORE,
  at: 't',
  next,
  ids: [],
  why: 'store began',
});

const verdict = (entries: readonly WitnessEntry[], chain: string, account: string, report: WitnessReport) =>
  judge({
    chain,
    account,
    entries,
    decisions: [],
    opened: { storeId: STORE, position: 10_000 },
    storeKnows: new Map(),
    report,
  });

const compact = (entries: WitnessEntry[], live: ReadonlySet<string>, reports: [string, WitnessReport][]) =>
  compactEntries({
    entries,
    decisions: [],
    archived: (swapId) => !live.has(swapId),
    reports: new Map(reports),
    storeId: STORE,
    at: 't',
  });

describe('compacting the witness journal', () => {
  it('nonce chains: archived swaps below the chain next go, a baseline takes their place, the verdict does not change', () => {
    const entries = [baseline(0), ...Array.from({ length: 10 }, (_, n) => broadcast('eth', EVM, n, n))];
    const report: WitnessReport = { kind: 'nonce', account: EVM, next: 10 };
    const { kept, removed } = compact(entries, new Set(['5']), [['eth', report]]);
    // Nine entries and the old baseline out, one baseline in; the live swap's entry stays.
    expect(removed).toBe(10);
    expect(kept.filter((e) => e.kind === 'broadcast').map((e) => e.nonce)).toEqual([5]);
    expect(kept.filter((e) => e.kind === 'baseline').map((e) => e.next)).toEqual([10]);
    for (const next of [10, 12]) {
      const shown: WitnessReport = { kind: 'nonce', account: EVM, next };
      expect(verdict(kept, 'eth', EVM, shown).unknown).toEqual(verdict(entries, 'eth', EVM, shown).unknown);
    }
    expect(verdict(kept, 'eth', EVM, { kind: 'nonce', account: EVM, next: 12 }).unknown.map((i) => i.nonce)).toEqual([
      10, 11,
    ]);
  });

  it('a nonce no transfer known here has is never covered: the floor stops below it', () => {
    const entries = [baseline(0), ...[0, 1, 2, 4, 5].map((n) => broadcast('eth', EVM, n, n))];
    const report: WitnessReport = { kind: 'nonce', account: EVM, next: 6 };
    const { kept } = compact(entries, new Set(), [['eth', report]]);
    expect(kept.filter((e) => e.kind === 'baseline').map((e) => e.next)).toEqual([3]);
    expect(verdict(kept, 'eth', EVM, report).unknown.map((i) => i.nonce)).toEqual([3]);
    // Nor above what the chain shows used, nor without the chain's word.
    expect(
      compact(entries, new Set(), [['eth', { ...report, next: 2 }]]).kept.filter((e) => e.kind === 'baseline'),
    ).toMatchObject([{ next: 2 }]);
    expect(compact(entries, new Set(), []).removed).toBe(0);
  });

  it('chains judged by id keep the newest entries of each account, more than any chain lists', () => {
    const entries = Array.from({ length: 260 }, (_, n) => broadcast('btc', BTC, n, null));
    const newest: WitnessReport = {
      kind: 'ids',
      account: BTC,
      ids: Array.from({ length: 75 }, (_, i) => `btc-tx-${259 - i}`),
    };
    const { kept, removed } = compact(entries, new Set(['3']), [['btc', newest]]);
    expect(removed).toBe(260 - KEEP_PER_ACCOUNT - 1);
    expect(kept.some((e) => e.kind === 'broadcast' && e.id === 'btc-tx-3')).toBe(true); // live: kept
    expect(verdict(kept, 'btc', BTC, newest).unknown).toEqual([]);
  });

  it('on disk: rewritten whole past the threshold; a crash before the rename leaves the old journal; appends go on after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'settle-compact-'));
    const store = { placeOf: () => 'archived', history: () => ({ storeId: STORE, position: 10_000 }) };
    const lines: LogLine[] = [];
    const open = () =>
      openWitness({
        dataDir: dir,
        store: store as unknown as SnapshotStore,
        opened: null,
        senders: new Map(),
        log: collectingLogger(lines),
      });
    const witness = await open();
    await witness.journal.append(baseline(0));
    for (let n = 0; n < COMPACT_FROM_ENTRIES; n += 1) await witness.journal.append(broadcast('eth', EVM, n, n));
    // Without the chain's word nothing goes.
    expect(await compactWitness(witness, store as unknown as SnapshotStore, collectingLogger(lines))).toBe(0);
    // A crash mid-rewrite: a temporary file beside the journal, never renamed; the journal is whole.
    writeFileSync(`${witness.journal.path}.tmp`, 'half a file');
    expect(await readWitnessJournal(witness.journal.path)).toHaveLength(COMPACT_FROM_ENTRIES + 1);
    witness.gate.reports.set('eth', { kind: 'nonce', account: EVM, next: COMPACT_FROM_ENTRIES });
    const removed = await compactWitness(witness, store as unknown as SnapshotStore, collectingLogger(lines));
    expect(removed).toBe(COMPACT_FROM_ENTRIES + 1); // the old baseline too
    expect(existsSync(`${witness.journal.path}.tmp`)).toBe(false);
    const onDisk = await readWitnessJournal(witness.journal.path);
    expect(onDisk).toEqual([expect.objectContaining({ kind: 'baseline', next: COMPACT_FROM_ENTRIES })]);
    await witness.journal.append(broadcast('eth', EVM, COMPACT_FROM_ENTRIES, COMPACT_FROM_ENTRIES));
    const again = await open();
    expect(again.journal.entries()).toHaveLength(2);
    expect(
      verdict(again.journal.entries(), 'eth', EVM, { kind: 'nonce', account: EVM, next: COMPACT_FROM_ENTRIES + 1 })
        .unknown,
    ).toEqual([]);
  });
});
