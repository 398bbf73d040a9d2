/**
 * The BTC sender at each point a miner's process can die or a network can lose a message,
 * against the fake Esplora. A "restart" is a new sender over the same journal directory, told
 * of what the host's store holds (`adopt`), as the host does on restore. In every case at most
 * one payout per swap can land, and a payout that could still land keeps its inputs.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BtcBroadcastRefused, BtcInsufficientFunds } from '../../src/chains/bitcoin/btcTransferSender.ts';
import { EsploraUnreachable } from '../../src/chains/bitcoin/esplora.ts';
import { NeverLands, type SignedBytes } from '../../src/host/ports.ts';
import {
  asTransfer,
  conflictingSpend,
  journalDir,
  MINER_KEY,
  minerPub,
  minerSource,
  NETWORK,
  openSender,
  request,
  userDestinations,
} from '../support/esplora/btcFixture.ts';
import { startFakeEsplora, type FakeEsplora } from '../support/esplora/fakeEsplora.ts';
import { hexOf, legacySighash, parseTx, serialize } from '../support/esplora/rawTx.ts';

let esplora: FakeEsplora;
let dir: string;
beforeEach(async () => {
  esplora = await startFakeEsplora(NETWORK);
  dir = journalDir();
});
afterEach(async () => {
  await esplora.close();
});

const users = userDestinations();
const S = request('swap-S', users.p2wpkh.address, 40_000n);
const T = request('swap-T', users.p2tr.address, 40_000n);
const mine = (n = 1): void => {
  for (let i = 0; i < n; i++) esplora.chain.mine();
};
const fund = (value = 100_000n) => ({ ...esplora.chain.fund(minerSource('p2wpkh').script, value), value });
const restart = (held: readonly SignedBytes[] = [], at = dir) =>
  openSender(at, [esplora.url], 'p2wpkh').then((rig) => {
    for (const signed of held) rig.sender.adopt(asTransfer(signed));
    return rig;
  });
const firstInput = (signed: SignedBytes): string => {
  const input = parseTx(signed.raw).inputs[0]!;
  return `${input.txid}:${input.vout}`;
};

describe('crash points', () => {
  it('after sign, before the host persisted the bytes: the swap asking again gets the same bytes, never a second payout', async () => {
    fund();
    fund();
    const first = await (await openSender(dir, [esplora.url], 'p2wpkh')).sender.sign(S);
    const { sender, lines } = await restart();
    const again = await sender.sign(S);
    expect(again).toEqual(first);
    expect(lines.some((l) => l.message?.includes('journaled bytes are used again'))).toBe(true);
    await sender.broadcast(again.raw);
    mine(2);
    expect(await sender.lookup(asTransfer(again))).toMatchObject({ kind: 'included' });
  });

  it('after sign, before the host persisted, another swap first: the unheld, unbroadcast payout frees its inputs', async () => {
    fund();
    const orphan = await (await openSender(dir, [esplora.url], 'p2wpkh')).sender.sign(S);
    const { sender, lines } = await restart();
    const other = await sender.sign(T);
    expect(firstInput(other)).toBe(firstInput(orphan));
    expect(
      lines.some(
        (l) =>
          l.level === 'warn' && l.message?.includes('payout released from the journal') && l.fields.why === 'unspent',
      ),
    ).toBe(true);
    // S's old bytes were never broadcast; if they were, they could not both land.
    await sender.broadcast(other.raw);
    expect(() => esplora.chain.accept(orphan.raw)).toThrow(/txn-mempool-conflict/);
  });

  it('after sign and persist, before broadcast: the adopted payout keeps its inputs, even with the journal lost', async () => {
    fund();
    const held = await (await openSender(dir, [esplora.url], 'p2wpkh')).sender.sign(S);
    for (const at of [dir, journalDir()]) {
      const { sender } = await restart([held], at);
      await expect(sender.sign(T)).rejects.toThrow(BtcInsufficientFunds);
    }
    rmSync(dir, { recursive: true });
    const { sender } = await restart([held], journalDir());
    await sender.broadcast(held.raw);
    mine(2);
    expect(await sender.lookup(asTransfer(held))).toMatchObject({ kind: 'included' });
  });

  it('after broadcast, before its answer was recorded: found pending after the restart, broadcast again harmlessly, included', async () => {
    fund();
    fund();
    const first = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await first.sender.sign(S);
    esplora.fault({ method: 'POST', path: /^\/tx$/, mode: 'drop-after' });
    await expect(first.sender.broadcast(signed.raw)).rejects.toThrow(EsploraUnreachable);
    expect(esplora.chain.mempool).toContain(signed.hash);
    const { sender } = await restart([signed]);
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'pending' });
    await sender.broadcast(signed.raw);
    const other = await sender.sign(T);
    expect(firstInput(other)).not.toBe(firstInput(signed));
    mine(2);
    expect(await sender.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
  });

  it('a broadcast lost on the way: unknown, then the same bytes again', async () => {
    fund();
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await sender.sign(S);
    esplora.fault({ method: 'POST', path: /^\/tx$/, mode: 'drop-before' });
    await expect(sender.broadcast(signed.raw)).rejects.toThrow(EsploraUnreachable);
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });
    await sender.broadcast(signed.raw);
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'pending' });
  });

  it('evicted from the mempool: unknown, the same bytes again, included; the inputs stay reserved meanwhile', async () => {
    fund();
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await sender.sign(S);
    await sender.broadcast(signed.raw);
    esplora.chain.evict(signed.hash);
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });
    await expect(sender.sign(T)).rejects.toThrow(BtcInsufficientFunds); // Esplora lists the coin as unspent again
    await sender.broadcast(signed.raw);
    mine(2);
    expect(await sender.lookup(asTransfer(signed))).toMatchObject({ kind: 'included' });
  });
});

describe('conflicts and reorganisations', () => {
  it('an input spent by another transaction: refused while the conflict is pooled or shallow, NeverLands once it is 2 deep, then released', async () => {
    const coin = fund();
    const { sender, lines } = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await sender.sign(S);
    const conflict = conflictingSpend('p2wpkh', coin, users.p2pkh.script);
    esplora.chain.accept(conflict);
    await expect(sender.broadcast(signed.raw)).rejects.toThrow(BtcBroadcastRefused);
    mine();
    await expect(sender.broadcast(signed.raw)).rejects.toThrow(BtcBroadcastRefused);
    mine();
    const dead = sender.broadcast(signed.raw);
    await expect(dead).rejects.toThrow(NeverLands);
    await expect(dead).rejects.toThrow(new RegExp(`spent by ${parseTx(conflict).txid}, confirmed 2 deep`));
    fund();
    await sender.sign(T);
    expect(lines.some((l) => l.message?.includes('payout released') && l.fields.why === 'conflict')).toBe(true);
  });

  it('a conflicting spend mined over ours in the mempool evicts ours: NeverLands once buried', async () => {
    const coin = fund();
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await sender.sign(S);
    await sender.broadcast(signed.raw);
    esplora.chain.mineConflicting(conflictingSpend('p2wpkh', coin, users.p2pkh.script));
    mine();
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });
    await expect(sender.broadcast(signed.raw)).rejects.toThrow(NeverLands);
  });

  it('a reorganised block: back to pending; dropped with it: unknown, the same bytes again, included higher', async () => {
    fund();
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await sender.sign(S);
    await sender.broadcast(signed.raw);
    mine(2);
    const included = await sender.lookup(asTransfer(signed));
    expect(included).toMatchObject({ kind: 'included' });
    esplora.chain.reorg();
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'pending' }); // 1 confirmation left
    esplora.chain.reorg({ dropTxs: true });
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'unknown' });
    await sender.broadcast(signed.raw);
    mine(2);
    expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'included', block: esplora.chain.tip - 1 });
  });

  it('a P2PKH payout whose signature was re-encoded on the way (another txid) and mined: NeverLands, saying the user was paid', async () => {
    esplora.chain.fund(minerSource('p2pkh').script, 100_000n);
    const { sender } = await openSender(dir, [esplora.url], 'p2pkh');
    const signed = await sender.sign(S);
    const tx = parseTx(signed.raw);
    const hash = legacySighash(tx, 0, minerSource('p2pkh').script, 1);
    const sig = Uint8Array.of(
      ...secp256k1.sign(hash, MINER_KEY, { prehash: false, extraEntropy: true, format: 'der' }),
      1,
    );
    const copy = hexOf(serialize(tx, [Uint8Array.of(sig.length, ...sig, minerPub.length, ...minerPub)]));
    expect(parseTx(copy).txid).not.toBe(signed.hash);
    esplora.chain.mineConflicting(copy);
    mine();
    await expect(sender.broadcast(signed.raw)).rejects.toThrow(/the user WAS paid, by [0-9a-f]{64}/);
  });

  it('releases a payout buried 6 deep; never names signed bytes in a log line or an error', async () => {
    fund();
    fund();
    const { sender, lines, journal } = await openSender(dir, [esplora.url], 'p2wpkh');
    const signed = await sender.sign(S);
    await sender.broadcast(signed.raw);
    mine(5);
    await sender.sign(T);
    expect(journal.entries.map((e) => e.swapId)).toEqual(['swap-S', 'swap-T']);
    mine(1);
    await expect(sender.sign(request('swap-U', users.p2wpkh.address, 1_000_000n))).rejects.toThrow(
      BtcInsufficientFunds,
    );
    expect(journal.entries.map((e) => e.swapId)).toEqual(['swap-T']);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(signed.raw.slice(-80));
    expect(text).toContain(signed.hash);
  });
});
