/**
 * The witness of the BTC pinned paying address, against the fake Esplora served here: the
 * chain lists what spends from the address (GET /address/:address/txs), and a data directory
 * put back from before a payout (witness journal and payout journal both older) holds its
 * signatures, naming the address, what the chain shows and what it knows; the operator's
 * decision (matched to the open swap by `findingsOf`) lifts the hold.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecoveryEntry, RecoveryLog } from '../../src/store/recoveryLog.ts';
import { findingsOf } from '../../src/witness/reconcile.ts';
import { MemoryDecisions } from '../../src/witness/reconcileDecisions.ts';
import { SigningHeld } from '../../src/witness/witnessGate.ts';
import { MemoryWitnessJournal } from '../../src/witness/witnessJournal.ts';
import {
  asTransfer,
  journalDir,
  minerSource,
  NETWORK,
  openSender,
  request,
  userDestinations,
} from '../support/esplora/btcFixture.ts';
import { startFakeEsplora, type FakeEsplora } from '../support/esplora/fakeEsplora.ts';
import { witnessedLife } from '../support/witnessedLife.ts';

let esplora: FakeEsplora;

beforeEach(async () => {
  esplora = await startFakeEsplora(NETWORK);
});
afterEach(async () => {
  await esplora.close();
});

const user = userDestinations().p2wpkh.address;
const miner = minerSource('p2wpkh');
const STORE = 'c'.repeat(32);

/** A data directory's witness over a sender whose payout journal lives in `dir`. */
const recovery: RecoveryEntry[] = [];
const recoveryLog: RecoveryLog = {
  entries: () => recovery,
  record: async (entry) => {
    if (recovery.some((e) => e.key === entry.key)) return 'already-recorded';
    recovery.push(entry);
    return 'recorded';
  },
};

async function witnessed(dir: string, journal: MemoryWitnessJournal, decisions: MemoryDecisions, position: number) {
  const { sender: inner } = await openSender(dir, [esplora.url], 'p2wpkh');
  return witnessedLife(inner, { journal, decisions, storeId: STORE, position, lines: [], recoveryLog });
}

describe('the witness of the BTC pinned address', () => {
  it('lists the transactions spending from the address, not those paying it; identifies and describes a payout', async () => {
    esplora.chain.fund(miner.script, 200_000n);
    const { sender } = await openSender(journalDir(), [esplora.url], 'p2wpkh');
    expect(await sender.witness()).toEqual({ kind: 'ids', account: miner.address, ids: [] });
    const signed = await sender.sign(request('1', user, 50_000n));
    await sender.broadcast(signed.raw);
    expect(sender.identify(signed.raw)).toEqual({ account: miner.address, nonce: null, id: signed.hash });
    // Pooled, then mined: listed either way (a twin's payout is seen before it confirms).
    expect(await sender.witness()).toMatchObject({ ids: [signed.hash] });
    esplora.chain.mine();
    esplora.chain.fund(miner.script, 10_000n); // a receipt: not the miner's doing, not listed
    expect(await sender.witness()).toEqual({ kind: 'ids', account: miner.address, ids: [signed.hash] });
    const [activity] = await sender.activity({ ids: [signed.hash], maxBlocks: 10 });
    expect(activity).toMatchObject({ id: signed.hash, nonce: null, to: user, amount: 50_000n, raw: signed.raw });
    expect(activity!.note).toMatch(/a payment from .*, output 0 \(block \d+\)/);
  });

  it('a data directory put back from before a payout holds signing, names it, and signs again once the operator decides', async () => {
    esplora.chain.fund(miner.script, 200_000n);
    esplora.chain.fund(miner.script, 200_000n);
    const backupDir = journalDir();
    const journal = new MemoryWitnessJournal();
    const decisions = new MemoryDecisions();
    // The store begins: what the chain shows is its baseline (nothing spent yet).
    const first = await witnessed(journalDir(), journal, decisions, 10);
    await first.gate.baseline('btc', await first.sender.witness());
    const backup = journal.copy(); // the backup: witness journal and payout journal as they are now
    const signed = await first.sender.sign(request('7', user, 60_000n));
    first.advance();
    await first.sender.broadcast(signed.raw);
    esplora.chain.mine();
    expect(await first.gate.check(first.sender)).toMatchObject({ unknown: [] });

    // Put back: the older witness journal, an empty payout journal, the store at its older position.
    const restored = await witnessed(backupDir, backup, decisions, 10);
    const verdict = await restored.gate.check(restored.sender);
    expect(verdict).toMatchObject({ chain: 'btc', account: miner.address, shows: '1 recent transactions' });
    expect(verdict.unknown.map((i) => i.id)).toEqual([signed.hash]);
    expect(verdict.unknown[0]!.evidence).toMatch(/the chain lists transaction .* it is known nowhere here/);
    expect(verdict.knows).toMatch(/nothing before this store/);
    await expect(restored.sender.sign(request('7', user, 60_000n))).rejects.toBeInstanceOf(SigningHeld);
    expect(restored.lines.some((l) => l.message?.startsWith('signing held') === true)).toBe(true);
    // Recorded: a new life on the same (put back) journal is held without asking the chain first.
    expect(backup.entries().some((e) => e.kind === 'unknown' && e.id === signed.hash)).toBe(true);
    // And in the recovery log, once, naming the address and the transaction (whatever the operator decides).
    await restored.gate.check(restored.sender);
    expect(recovery).toEqual([
      expect.objectContaining({
        key: `witness:btc:${signed.hash}`,
        txHashes: { btc: signed.hash },
        kind: 'stuck-funds',
      }),
    ]);
    expect(recovery[0]!.reason).toContain(`account ${miner.address} made transaction ${signed.hash}`);

    // The operator: the transfer pays the open swap 7 (same recipient and amount): adopted.
    const open = [{ swapId: '7', state: 'Funded', chain: 'btc', to: user, amount: 60_000n }];
    const [finding] = await findingsOf(restored.sender, 'btc', verdict.unknown, open, 100);
    expect(finding!.matches.map((m) => m.swapId)).toEqual(['7']);
    decisions.all.push({
      kind: 'adopt',
      chain: 'btc',
      account: miner.address,
      id: signed.hash,
      nonce: null,
      throughNonce: null,
      swapId: '7',
      raw: finding!.activity!.raw,
      block: finding!.activity!.block,
      by: 'op',
      reason: 'pays swap 7',
      at: 't',
    });
    // The swap takes the adopted transfer instead of a second payout; the hold is lifted.
    expect(await restored.sender.sign(request('7', user, 60_000n))).toEqual({ raw: signed.raw, hash: signed.hash });
    expect(await restored.sender.lookup(asTransfer(signed))).toMatchObject({ kind: 'pending' });
    expect(restored.gate.held()).toEqual([]);
    const other = await restored.sender.sign(request('8', user, 20_000n));
    expect(other.hash).not.toBe(signed.hash);
  });
});
