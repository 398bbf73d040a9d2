/**
 * The witness: a paying account signs nothing while the chain (or the witness journal) shows
 * a transaction this data directory does not know, and signs again once the operator has
 * decided each one. Judged purely (witnessCheck), then through the decorator around the
 * simulated ledger's real sender.
 *
 * Size (over 300 lines): the judgement's cases and the decorator's scenarios share one rig and
 * one set of entry builders; split, each file would carry its own copy.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotStore, StoreHistory } from '../../src/store/snapshotStore.ts';
import { MemoryDecisions, type Decision } from '../../src/witness/reconcileDecisions.ts';
import { judge, MAX_LISTED_UNKNOWN, type JudgeInput } from '../../src/witness/witnessCheck.ts';
import { SigningHeld, WitnessGate } from '../../src/witness/witnessGate.ts';
import { MemoryWitnessJournal, type WitnessEntry } from '../../src/witness/witnessJournal.ts';
import { WitnessedSender } from '../../src/witness/witnessedSender.ts';
import { advanceBlock } from '../../sim/advance.ts';
import { SimTransferSender } from '../../sim/chains/simTransferSender.ts';
import { takeNonce } from '../../sim/worldFaults.ts';
import { PRODUCT_MODULES } from '../../sim/modules/product.ts';
import { minerAddressOn, World } from '../../sim/world.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';

const STORE = 'a'.repeat(32);
const ACCOUNT = '0xAbC0000000000000000000000000000000000001';

const broadcast = (nonce: number, position: number, storeId = STORE): WitnessEntry => ({
  kind: 'broadcast',
  chain: 'eth',
  account: ACCOUNT,
  storeId,
  at: 't',
  id: `0x${nonce}`,
  nonce,
  ref: `swap:${nonce}`,
  position,
});
const baseline = (next: number): WitnessEntry => ({
  kind: 'baseline',
  chain: 'eth',
  account: ACCOUNT,
  storeId: STORE,
  at: 't',
  next,
  ids: [],
  why: 'test',
});
const decision = (fields: Partial<Decision>): Decision => ({
  kind: 'dismiss',
  chain: 'eth',
  account: ACCOUNT.toLowerCase(),
  id: null,
  nonce: null,
  throughNonce: null,
  swapId: null,
  raw: null,
  block: null,
  by: 'alice',
  reason: 'checked',
  at: 't',
  ...fields,
});

function verdictOf(input: Partial<JudgeInput>) {
  return judge({
    chain: 'eth',
    account: ACCOUNT,
    entries: [],
    decisions: [],
    opened: { storeId: STORE, position: 100 },
    storeKnows: new Map(),
    report: null,
    ...input,
  });
}

describe('the witness judges an account against what this data directory knows', () => {
  it('nothing unknown when the chain shows what the journal holds', () => {
    const verdict = verdictOf({
      entries: [baseline(2), broadcast(2, 10), broadcast(3, 20)],
      report: { kind: 'nonce', account: ACCOUNT, next: 4 },
    });
    expect(verdict.unknown).toEqual([]);
    expect(verdict.shows).toBe('next nonce 4');
    expect(verdict.knows).toMatch(
      /nonces below 2 from before this store, its transactions up to nonce 3, store aaaaaaaa… opened at position 100/,
    );
  });

  it('chain ahead: nonces the chain shows used that no transaction known here has', () => {
    const verdict = verdictOf({
      entries: [baseline(0), broadcast(0, 10), broadcast(1, 20)],
      report: { kind: 'nonce', account: ACCOUNT, next: 4 },
    });
    expect(verdict.unknown.map((i) => i.nonce)).toEqual([2, 3]);
    expect(verdict.unknown[0]!.evidence).toMatch(
      /the chain shows nonce 2 of 0xAbC0.* used or pending; no transaction known here has it/,
    );
  });

  it("a gap below a known nonce is unknown too, and the store's own transfers count as known", () => {
    const verdict = verdictOf({
      entries: [baseline(0), broadcast(0, 10), broadcast(3, 20)],
      storeKnows: new Map([['0xstore', 1]]),
      report: { kind: 'nonce', account: ACCOUNT, next: 4 },
    });
    expect(verdict.unknown.map((i) => i.nonce)).toEqual([2]);
  });

  it('journal ahead: a broadcast journaled after the position the store was opened at, whose transfer it does not hold', () => {
    const entries = [baseline(0), broadcast(0, 90), broadcast(1, 120), broadcast(2, 130, 'b'.repeat(32))];
    const verdict = verdictOf({ entries, report: { kind: 'nonce', account: ACCOUNT, next: 2 } });
    expect(verdict.unknown).toHaveLength(1);
    expect(verdict.unknown[0]).toMatchObject({ id: '0x1', nonce: 1 });
    expect(verdict.unknown[0]!.evidence).toMatch(
      /broadcast at position 120 of store a+, but the store was opened at position 100 and does not hold it/,
    );
    // The store holding that transfer (restored with it) is not behind for it.
    expect(verdictOf({ entries, storeKnows: new Map([['0x1', 1]]) }).unknown).toEqual([]);
    // Without the chain's word the journal still tells.
    expect(verdictOf({ entries, report: null }).unknown.map((i) => i.id)).toEqual(['0x1']);
  });

  it('a recorded unknown stays until decided; decisions by id, nonce or range lift it', () => {
    const unknown: WitnessEntry = {
      kind: 'unknown',
      chain: 'eth',
      account: ACCOUNT,
      storeId: STORE,
      at: 't',
      id: null,
      nonce: 7,
      position: 1,
      evidence: 'nonce 7 taken',
    };
    const report = { kind: 'nonce' as const, account: ACCOUNT, next: 9 };
    const entries = [baseline(0), ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => broadcast(n, n))];
    expect(verdictOf({ entries: [...entries, unknown], report }).unknown.map((i) => i.nonce)).toEqual([7]);
    expect(verdictOf({ entries: [...entries, unknown], report, decisions: [decision({ nonce: 7 })] }).unknown).toEqual(
      [],
    );
    expect(
      verdictOf({
        entries: [baseline(0)],
        report,
        decisions: [
          decision({ throughNonce: 6 }),
          decision({ kind: 'adopt', id: '0xa', nonce: 7, swapId: '3', raw: '0x' }),
        ],
      }).unknown.map((i) => i.nonce),
    ).toEqual([8]);
    // Another account's decision decides nothing here.
    expect(
      verdictOf({
        entries: [baseline(0)],
        report,
        decisions: [decision({ account: '0x0000000000000000000000000000000000000002', throughNonce: 8 })],
      }).unknown,
    ).toHaveLength(9);
  });

  it('chains without nonces: an id the chain lists that is known nowhere here', () => {
    const ids: WitnessEntry = {
      kind: 'baseline',
      chain: 'eth',
      account: ACCOUNT,
      storeId: STORE,
      at: 't',
      next: null,
      ids: ['s1'],
      why: 'test',
    };
    const verdict = verdictOf({
      entries: [ids, { ...(broadcast(0, 1) as Extract<WitnessEntry, { kind: 'broadcast' }>), id: 's2', nonce: null }],
      report: { kind: 'ids', account: ACCOUNT, ids: ['s4', 's3', 's2', 's1'] },
      decisions: [decision({ id: 's3' })],
    });
    expect(verdict.unknown.map((i) => i.id)).toEqual(['s4']);
  });

  it('lists a bounded number of unknown nonces and counts the rest', () => {
    const verdict = verdictOf({
      entries: [],
      report: { kind: 'nonce', account: ACCOUNT, next: MAX_LISTED_UNKNOWN + 250 },
    });
    expect(verdict.unknown).toHaveLength(MAX_LISTED_UNKNOWN);
    expect(verdict.more).toBe(250);
  });
});

/** A world, its eth ledger's real sender, and a data directory's witness around it. */
function rig(
  options: {
    journal?: MemoryWitnessJournal;
    decisions?: MemoryDecisions;
    opened?: StoreHistory;
    baselineNew?: boolean;
    world?: World;
  } = {},
) {
  const world = options.world ?? World.create(1, { swaps: 0, jobs: 0, marginBlocks: 3 }, PRODUCT_MODULES);
  const journal = options.journal ?? new MemoryWitnessJournal();
  const decisions = options.decisions ?? new MemoryDecisions();
  const lines: LogLine[] = [];
  let position = options.opened?.position ?? 0;
  const store = { history: () => ({ storeId: STORE, position }) } as unknown as SnapshotStore;
  const gate = new WitnessGate({
    journal,
    decisions,
    store,
    opened: options.opened ?? { storeId: STORE, position },
    log: collectingLogger(lines),
    now: () => `block ${world.height}`,
  });
  const sender = new WitnessedSender(new SimTransferSender(world, 'eth'), gate);
  /** The start check, after the baseline a store that begins now records first. */
  const start = async () => {
    if (options.baselineNew ?? true) await gate.baseline('eth', await sender.witness());
    return gate.start([sender]);
  };
  return { world, journal, decisions, gate, sender, lines, start, advance: (n = 1) => (position += n) };
}

/** The operator's file as a racing `settle reconcile adopt` leaves it: a decision lands just after a reading. */
class DecidedDuringRead extends MemoryDecisions {
  private pending: Decision | null = null;

  appendAfterNextRead(decision: Decision): void {
    this.pending = decision;
  }

  override async read(): Promise<readonly Decision[]> {
    const before = [...this.all];
    if (this.pending !== null) this.all.push(this.pending);
    this.pending = null;
    return before;
  }
}

const USER = `0x${'22'.repeat(20)}`;
const pay = (swapId: string) => ({ swapId, chain: 'eth', to: USER, amount: 5n });

async function sendAndInclude(r: ReturnType<typeof rig>, swapId: string): Promise<string> {
  const signed = await r.sender.sign(pay(swapId));
  r.advance();
  await r.sender.broadcast(signed.raw);
  for (let i = 0; i < 4; i += 1) advanceBlock(r.world);
  expect(await r.sender.lookup({ ...signed, decidedAt: 1, anchorBlock: null })).toMatchObject({ kind: 'included' });
  return signed.hash;
}

/**
 * Swap 1 paid, a copy of the journal taken, swap 2 paid (the transfer the copy forgets); then the
 * copy put back on the same chain, with the store opened at its older position.
 */
async function putBackBeforeSwap2(decisions?: MemoryDecisions) {
  const live = rig();
  await live.start();
  await sendAndInclude(live, '1');
  const backup = live.journal.copy();
  const forgotten = await sendAndInclude(live, '2');
  const restored = rig({
    world: live.world,
    journal: backup,
    ...(decisions === undefined ? {} : { decisions }),
    opened: { storeId: STORE, position: 1 },
    baselineNew: false,
  });
  return { live, backup, forgotten, restored };
}

/** The operator's `settle reconcile adopt` of transfer `id` (nonce 1) for swap `swapId`. */
const adoption = (swapId: string, id: string, raw: string | null): Decision =>
  decision({ kind: 'adopt', account: minerAddressOn('eth'), id, nonce: 1, swapId, raw });

describe('the witnessed sender', () => {
  it("journals each first broadcast with the store's position, once, and signs on while nothing is unknown", async () => {
    const r = rig();
    await r.start();
    expect(r.journal.entries()).toMatchObject([{ kind: 'baseline', next: 0, account: minerAddressOn('eth') }]);
    const first = await sendAndInclude(r, '1');
    const second = await sendAndInclude(r, '2');
    const broadcasts = r.journal.entries().filter((e) => e.kind === 'broadcast');
    expect(broadcasts).toMatchObject([
      { id: first, nonce: 0, ref: 'swap:1', position: 1, storeId: STORE },
      { id: second, nonce: 1, ref: 'swap:2', position: 2 },
    ]);
    expect(r.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a data directory restored from an older copy (journal and store) stops signing: the chain shows what it does not know', async () => {
    const { live, backup, forgotten, restored } = await putBackBeforeSwap2();
    const verdicts = await restored.start();
    expect(verdicts[0]!.unknown).toMatchObject([{ nonce: 1, id: null }]);
    await expect(restored.sender.sign(pay('2'))).rejects.toBeInstanceOf(SigningHeld);
    await expect(restored.sender.sign(pay('2'))).rejects.toThrow(
      /signing held on eth for 0x1{40}: 1 transaction\(s\) the store does not know \(the chain shows next nonce 2/,
    );
    // Told once, with the account, what the chain shows and what is known; and written down.
    const told = restored.lines.filter((l) => l.level === 'error');
    expect(told).toHaveLength(1);
    expect(told[0]!.fields).toMatchObject({ chain: 'eth', chainShows: 'next nonce 2', unknown: 1 });
    expect(backup.entries().filter((e) => e.kind === 'unknown')).toMatchObject([{ nonce: 1 }]);
    // The operator finds the transaction and adopts it for the swap: the swap takes it instead of a signature.
    const [activity] = await restored.sender.activity({ nonces: { from: 1, to: 2 }, maxBlocks: 100 });
    expect(activity).toMatchObject({ id: forgotten, nonce: 1, to: USER, amount: 5n });
    restored.decisions.all.push(adoption('2', forgotten, activity!.raw));
    const adopted = await restored.sender.sign(pay('2'));
    expect(adopted.hash).toBe(forgotten);
    expect(await restored.sender.lookup({ ...adopted, decidedAt: 1, anchorBlock: null })).toMatchObject({
      kind: 'included',
    });
    // Decided: signing resumes, and is told.
    await sendAndInclude(restored, '3');
    expect(restored.lines.some((l) => /signing resumes/.test(l.message ?? ''))).toBe(true);
    expect(Object.values(live.world.state.ledgers['eth']!.transfers).filter((t) => t.swapId === '2')).toHaveLength(1);
  });

  it('an adoption decided while a signature is asked for is handed to its swap, never signed around', async () => {
    const decisions = new DecidedDuringRead();
    const { live, forgotten, restored } = await putBackBeforeSwap2(decisions);
    await restored.start();
    const [activity] = await restored.sender.activity({ nonces: { from: 1, to: 2 }, maxBlocks: 100 });
    // `settle reconcile adopt` appends its decision just after the sender first reads the file.
    decisions.appendAfterNextRead(adoption('2', forgotten, activity!.raw));
    await expect(restored.sender.sign(pay('2'))).rejects.toBeInstanceOf(SigningHeld);
    expect((await restored.sender.sign(pay('2'))).hash).toBe(forgotten);
    expect(Object.values(live.world.state.ledgers['eth']!.transfers).filter((t) => t.swapId === '2')).toHaveLength(1);
  });

  it('only the store restored (the journal is newer): recognised from the journal, even before the chain shows anything', async () => {
    const r = rig();
    await r.start();
    const signed = await r.sender.sign(pay('1'));
    r.advance(5);
    await r.sender.broadcast(signed.raw); // in the pool, not yet included
    const restored = rig({
      world: r.world,
      journal: r.journal,
      opened: { storeId: STORE, position: 3 },
      baselineNew: false,
    });
    const [verdict] = await restored.start();
    expect(verdict!.unknown).toMatchObject([{ id: signed.hash, nonce: 0 }]);
    expect(verdict!.unknown[0]!.evidence).toMatch(/broadcast at position 5 .* opened at position 3/);
    // Even once the restored store's position passes 5, the hold stays: it was written down.
    const later = rig({
      world: r.world,
      journal: r.journal,
      opened: { storeId: STORE, position: 9 },
      baselineNew: false,
    });
    expect((await later.start())[0]!.unknown).toMatchObject([{ id: signed.hash }]);
    r.decisions.all.push(
      decision({
        account: minerAddressOn('eth'),
        id: signed.hash,
        nonce: 0,
        reason: 'paid swap 1, which the contract shows fulfilled',
      }),
    );
    const decided = rig({
      world: r.world,
      journal: r.journal,
      decisions: r.decisions,
      opened: { storeId: STORE, position: 9 },
      baselineNew: false,
    });
    expect((await decided.start())[0]!.unknown).toEqual([]);
  });

  it('signs the next transfer of an account only once the last one is seen included', async () => {
    const r = rig();
    await r.start();
    const first = await r.sender.sign(pay('1'));
    await expect(r.sender.sign(pay('2'))).rejects.toThrow(/swap 2 waits on eth: 0x[0-9a-f]+ not yet seen included/);
    r.advance();
    await r.sender.broadcast(first.raw);
    expect(await r.sender.lookup({ ...first, decidedAt: 1, anchorBlock: null })).toMatchObject({ kind: 'pending' });
    await expect(r.sender.sign(pay('2'))).rejects.toThrow(/waits/);
    for (let i = 0; i < 4; i += 1) advanceBlock(r.world);
    expect(await r.sender.lookup({ ...first, decidedAt: 1, anchorBlock: null })).toMatchObject({ kind: 'included' });
    await r.sender.sign(pay('2'));
  });

  it('two hosts on copies of one data directory: the second stops before it pays what the first paid', async () => {
    const a = rig();
    await a.start();
    const copy = rig({
      world: a.world,
      journal: a.journal.copy(),
      opened: { storeId: STORE, position: 0 },
      baselineNew: false,
    });
    await copy.start();
    // Both sign at once: the same nonce. The first pays swap 1; the copy signs swap 2.
    const paidByFirst = await a.sender.sign(pay('1'));
    const signedByCopy = await copy.sender.sign(pay('2'));
    a.advance();
    copy.advance();
    await a.sender.broadcast(paidByFirst.raw);
    await expect(copy.sender.broadcast(signedByCopy.raw)).rejects.toThrow(/nonce 0 taken/);
    // Until it knows what became of its own transfer, the copy signs nothing else...
    await expect(copy.sender.sign(pay('1'))).rejects.toThrow(/waits/);
    expect(await copy.sender.lookup({ ...signedByCopy, decidedAt: 1, anchorBlock: null })).toEqual({ kind: 'unknown' });
    // ...and once it knows its nonce went to a transaction it does not know, it holds.
    await expect(copy.sender.sign(pay('1'))).rejects.toBeInstanceOf(SigningHeld);
    for (let i = 0; i < 4; i += 1) advanceBlock(a.world);
    expect(await a.sender.lookup({ ...paidByFirst, decidedAt: 1, anchorBlock: null })).toMatchObject({
      kind: 'included',
    });
    await expect(copy.sender.sign(pay('1'))).rejects.toBeInstanceOf(SigningHeld);
    const toSwap1 = Object.values(a.world.state.ledgers['eth']!.transfers).filter((t) => t.swapId === '1');
    expect(toSwap1).toHaveLength(1);
  });

  it('a nonce taken by a transaction this store does not know holds signing once the lookup confirms ours never lands', async () => {
    const r = rig();
    await r.start();
    const signed = await r.sender.sign(pay('1'));
    takeNonce(r.world, 'eth', minerAddressOn('eth'), 0);
    await expect(r.sender.broadcast(signed.raw)).rejects.toThrow(/nonce 0 already used/);
    expect(await r.sender.lookup({ ...signed, decidedAt: 1, anchorBlock: null })).toEqual({ kind: 'unknown' });
    await expect(r.sender.sign(pay('2'))).rejects.toBeInstanceOf(SigningHeld);
    expect(r.journal.entries().filter((e) => e.kind === 'unknown')).toMatchObject([
      { nonce: 0, evidence: expect.stringMatching(/used by a transaction this store does not know/) },
    ]);
  });
});
