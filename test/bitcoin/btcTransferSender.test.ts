/**
 * The BTC destination sender against a fake Esplora served here on 127.0.0.1 (a UTXO set that
 * checks every input's script and ECDSA signature over hand-computed sighashes, refuses double
 * spends, mines on demand and reorganises its newest block): what it pays, from where, with
 * what fee; and what it does at each crash point, lost broadcast, eviction and conflict.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BtcDustAmount, BtcFeeRateTooHigh, BtcInsufficientFunds } from '../../src/chains/bitcoin/btcTransferSender.ts';
import { CHANGE_DUST_SATS, type SourceKind } from '../../src/chains/bitcoin/btcTx.ts';
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
import { hexOf, parseTx } from '../support/esplora/rawTx.ts';

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
const mine = (n = 1): void => {
  for (let i = 0; i < n; i++) esplora.chain.mine();
};
const fundMiner = (kind: SourceKind, value: bigint, confirmed = true) => ({
  ...esplora.chain.fund(minerSource(kind).script, value, { confirmed }),
  value,
});
const sumOut = (hex: string): bigint => parseTx(hex).outputs.reduce((s, o) => s + o.value, 0n);

describe('what a payout is', () => {
  it('pays each source kind to each destination type: the fake node verifies every signature, and the validators read it', async () => {
    for (const kind of ['p2wpkh', 'p2sh-p2wpkh', 'p2pkh'] as const) {
      const { sender } = await openSender(journalDir(), [esplora.url], kind);
      for (const [type, dest] of Object.entries(users)) {
        fundMiner(kind, 100_000n);
        const signed = await sender.sign(request(`${kind}-${type}`, dest.address, 40_000n));
        await sender.broadcast(signed.raw);
        mine(2);
        expect(await sender.lookup(asTransfer(signed))).toEqual({ kind: 'included', block: esplora.chain.tip - 1 });
        // What a validator reads: /tx/{txid}, an output paying the recipient, vin[0]'s address the pin.
        const seen = (await (await fetch(`${esplora.url}/tx/${signed.hash}`)).json()) as {
          vin: { prevout: { scriptpubkey_address: string } }[];
          vout: { scriptpubkey_address: string; value: number }[];
        };
        expect(seen.vout[0]).toMatchObject({ scriptpubkey_address: dest.address, value: 40_000 });
        expect(seen.vin[0]!.prevout.scriptpubkey_address).toBe(minerSource(kind).address);
      }
    }
  });

  it("is the reference miner's transaction, byte for byte where the reference says: version 2, locktime 0, final sequences, output 0 to the user, output 1 change to the pin, fee = 1.25 x estimate x size", async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    const small = fundMiner('p2wpkh', 30_000n);
    const large = fundMiner('p2wpkh', 80_000n);
    esplora.chain.feeEstimates = { '2': 10, '3': 8 };
    const signed = await sender.sign(request('s1', users.p2wpkh.address, 50_000n));
    const tx = parseTx(signed.raw);
    expect(tx.txid).toBe(signed.hash);
    expect(tx.version).toBe(2);
    expect(tx.locktime).toBe(0);
    // No BIP-125 signal: every sequence 0xffffffff (a replacement would change the marked txid).
    expect(tx.inputs.map((i) => i.sequence)).toEqual([0xffffffff]);
    // Largest coin first, and it is the pinned address's.
    expect(tx.inputs[0]).toMatchObject({ txid: large.txid, vout: large.vout });
    expect(tx.inputs.map((i) => i.txid)).not.toContain(small.txid);
    expect(hexOf(tx.outputs[0]!.script)).toBe(hexOf(users.p2wpkh.script));
    expect(tx.outputs[0]!.value).toBe(50_000n);
    expect(hexOf(tx.outputs[1]!.script)).toBe(hexOf(minerSource('p2wpkh').script));
    // The reference: rate = round(10 x 1.25) = 12 (Python rounds half to even), size 11 + 68 + 2 x 31 = 141 vB.
    const fee = 80_000n - sumOut(signed.raw);
    expect(fee).toBe(12n * 141n);
    expect(tx.outputs[1]!.value).toBe(80_000n - 50_000n - 12n * 141n);
    expect(tx.vsize).toBeLessThanOrEqual(141);
  });

  it('pays at least the 5 sat/vB floor, and 15 sat/vB when no endpoint gives an estimate', async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2sh-p2wpkh');
    fundMiner('p2sh-p2wpkh', 60_000n);
    fundMiner('p2sh-p2wpkh', 60_000n);
    esplora.chain.feeEstimates = { '2': 1.1 };
    const floor = parseTx((await sender.sign(request('f1', users.p2pkh.address, 10_000n))).raw);
    expect(60_000n - sumOut(floor.hex)).toBeGreaterThanOrEqual(5n * BigInt(floor.vsize));
    expect(60_000n - sumOut(floor.hex)).toBeLessThan(6n * BigInt(floor.vsize));
    esplora.fault({ method: 'GET', path: /^\/fee-estimates$/, mode: 'status', status: 503 });
    const fallback = parseTx((await sender.sign(request('f2', users.p2pkh.address, 10_000n))).raw);
    expect(60_000n - sumOut(fallback.hex)).toBeGreaterThanOrEqual(15n * BigInt(fallback.vsize));
    expect(60_000n - sumOut(fallback.hex)).toBeLessThan(16n * BigInt(fallback.vsize));
  });

  it('leaves change of 546 sat or less to the fee, as the reference does', async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    esplora.chain.feeEstimates = { '2': 4 }; // 5 sat/vB after the multiplier
    fundMiner('p2wpkh', 20_000n + 5n * 141n + CHANGE_DUST_SATS);
    const tx = parseTx((await sender.sign(request('c1', users.p2wpkh.address, 20_000n))).raw);
    expect(tx.outputs).toHaveLength(1);
    expect(tx.outputs[0]!.value).toBe(20_000n);
  });

  it('refuses dust, a fee rate above the ceiling, and funds it does not have confirmed', async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    fundMiner('p2wpkh', 50_000n, false);
    await expect(sender.sign(request('d1', users.p2wpkh.address, 293n))).rejects.toThrow(BtcDustAmount);
    await expect(sender.sign(request('d2', users.p2pkh.address, 545n))).rejects.toThrow(BtcDustAmount);
    const short = sender.sign(request('i1', users.p2wpkh.address, 10_000n));
    await expect(short).rejects.toThrow(BtcInsufficientFunds);
    await expect(short).rejects.toThrow(/0 sat confirmed and free .*50000 unconfirmed/);
    mine();
    esplora.chain.feeEstimates = { '2': 1_000 };
    await expect(sender.sign(request('i1', users.p2wpkh.address, 10_000n))).rejects.toThrow(BtcFeeRateTooHigh);
    esplora.chain.feeEstimates = { '2': 2 };
    await expect(sender.sign(request('i1', users.p2wpkh.address, 294n))).resolves.toMatchObject({
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('judges destinations: every standard type of the network, not another network, not the paying address', async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    for (const dest of Object.values(users)) expect(sender.addressProblem(dest.address)).toBeNull();
    expect(sender.addressProblem('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx')).toMatch(
      /not a Bitcoin address of this network/,
    );
    expect(sender.addressProblem('0x52908400098527886E0F7030069857D2E4169EE7')).toMatch(/cannot be paid/);
    expect(sender.addressProblem(minerSource('p2wpkh').address)).toMatch(/paying address itself/);
  });

  it('refuses a pinned address its key does not pay from, and a P2TR pin', async () => {
    await expect(openSender(dir, [esplora.url], 'p2wpkh', { address: users.p2wpkh.address })).rejects.toThrow(
      /does not pay from .* it derives .*\(p2wpkh\)/,
    );
    await expect(openSender(dir, [esplora.url], 'p2wpkh', { address: users.p2tr.address })).rejects.toThrow(
      /P2TR is not a paying address/,
    );
  });

  it('tries the endpoints in order: one that is down or failing hands the request to the next', async () => {
    const second = await startFakeEsplora(NETWORK, esplora.chain);
    try {
      esplora.fault({ method: 'GET', path: /utxo$/, mode: 'status', status: 503 });
      const { sender } = await openSender(dir, ['http://127.0.0.1:1', esplora.url, second.url], 'p2wpkh');
      fundMiner('p2wpkh', 50_000n);
      const signed = await sender.sign(request('u1', users.p2wpkh.address, 10_000n));
      expect(second.requests).toContain(`GET /address/${minerSource('p2wpkh').address}/utxo`);
      await sender.broadcast(signed.raw);
      expect(esplora.chain.mempool).toContain(signed.hash);
    } finally {
      await second.close();
    }
  });
});

describe('inputs are reserved until the payout is buried or proven dead', () => {
  it('never spends an output a signed payout spends, though nothing is broadcast yet', async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    fundMiner('p2wpkh', 50_000n);
    fundMiner('p2wpkh', 50_000n);
    const a = parseTx((await sender.sign(request('a', users.p2wpkh.address, 10_000n))).raw);
    const b = parseTx((await sender.sign(request('b', users.p2tr.address, 10_000n))).raw);
    expect(b.inputs[0]!.txid).not.toBe(a.inputs[0]!.txid);
    await expect(sender.sign(request('c', users.p2pkh.address, 10_000n))).rejects.toThrow(
      /0 sat confirmed and free \(100000 reserved/,
    );
  });

  it('signs two payouts at once without picking the same output', async () => {
    const { sender } = await openSender(dir, [esplora.url], 'p2wpkh');
    fundMiner('p2wpkh', 50_000n);
    fundMiner('p2wpkh', 50_000n);
    const [a, b] = await Promise.all([
      sender.sign(request('a', users.p2wpkh.address, 10_000n)),
      sender.sign(request('b', users.p2wpkh.address, 10_000n)),
    ]);
    expect(parseTx(a.raw).inputs[0]!.txid).not.toBe(parseTx(b.raw).inputs[0]!.txid);
  });
});
