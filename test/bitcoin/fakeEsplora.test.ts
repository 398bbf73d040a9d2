/**
 * The fake Esplora refuses what a node refuses, so the sender's tests prove something: a
 * signature that does not verify (a flipped byte, an output changed after signing, the wrong
 * key), a double spend against the mempool and against a block, dust, a fee below the relay
 * minimum; and its reorganisation puts transactions back in the mempool.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceKind } from '../../src/chains/bitcoin/btcTx.ts';
import {
  conflictingSpend,
  journalDir,
  minerSource,
  NETWORK,
  openSender,
  request,
  userDestinations,
} from '../support/esplora/btcFixture.ts';
import { BroadcastRefusal } from '../support/esplora/fakeBitcoin.ts';
import { startFakeEsplora, type FakeEsplora } from '../support/esplora/fakeEsplora.ts';
import { hexOf, parseTx, serialize } from '../support/esplora/rawTx.ts';

let esplora: FakeEsplora;
beforeEach(async () => {
  esplora = await startFakeEsplora(NETWORK);
});
afterEach(async () => {
  await esplora.close();
});

const users = userDestinations();

async function signedPayout(kind: SourceKind): Promise<string> {
  const { sender } = await openSender(journalDir(), [esplora.url], kind);
  esplora.chain.fund(minerSource(kind).script, 100_000n);
  return (await sender.sign(request(`x-${kind}`, users.p2wpkh.address, 30_000n))).raw;
}

/** The same transaction with one output's value changed (its signatures left as they were). */
function withOutputValue(raw: string, value: bigint): string {
  const at = raw.indexOf(Buffer.from(new BigUint64Array([30_000n]).buffer).toString('hex'));
  const le = Buffer.alloc(8);
  le.writeBigUInt64LE(value);
  return raw.slice(0, at) + le.toString('hex') + raw.slice(at + 16);
}

describe('the fake node checks scripts and signatures for real', () => {
  for (const kind of ['p2wpkh', 'p2sh-p2wpkh', 'p2pkh'] as const) {
    it(`refuses a ${kind} spend whose signature does not cover what it signs`, async () => {
      const raw = await signedPayout(kind);
      const tampered = withOutputValue(raw, 29_999n);
      expect(() => esplora.chain.accept(tampered)).toThrow(/mandatory-script-verify-flag-failed/);
      // A flipped byte inside the signature's r value: no longer verifies, or no longer DER.
      const tx = parseTx(raw);
      const sig = kind === 'p2pkh' ? tx.inputs[0]!.scriptSig.subarray(1, 72) : tx.witnesses[0]![0]!;
      const flipped = raw.replace(hexOf(sig.subarray(10, 20)), hexOf(sig.subarray(10, 20).map((b) => b ^ 1)));
      expect(flipped).not.toBe(raw);
      expect(() => esplora.chain.accept(flipped)).toThrow(/mandatory-script-verify-flag-failed/);
      expect(esplora.chain.accept(raw)).toBe(tx.txid);
    });
  }

  it('refuses a spend without its witness, and a spend of an output that does not exist', async () => {
    const raw = await signedPayout('p2wpkh');
    const tx = parseTx(raw);
    const otherKeyOutput = esplora.chain.fund(users.p2wpkh.script, 100_000n);
    const stolen = hexOf(serialize({ ...tx, inputs: [{ ...tx.inputs[0]!, txid: otherKeyOutput.txid }] }));
    // Without witnesses the spend of a P2WPKH output cannot verify.
    expect(() => esplora.chain.accept(stolen)).toThrow(BroadcastRefusal);
    const nowhere = raw.replace(tx.inputs[0]!.txid.match(/../g)!.reverse().join(''), 'ab'.repeat(32));
    expect(() => esplora.chain.accept(nowhere)).toThrow(/bad-txns-inputs-missingorspent/);
  });

  it('refuses double spends: against the mempool, then against a block', async () => {
    const raw = await signedPayout('p2wpkh');
    const tx = parseTx(raw);
    const coin = { txid: tx.inputs[0]!.txid, vout: tx.inputs[0]!.vout, value: 100_000n };
    const other = conflictingSpend('p2wpkh', coin, users.p2tr.script);
    esplora.chain.accept(raw);
    expect(() => esplora.chain.accept(other)).toThrow(/txn-mempool-conflict/);
    esplora.chain.mine();
    expect(() => esplora.chain.accept(other)).toThrow(/bad-txns-inputs-missingorspent/);
    expect(() => esplora.chain.accept(raw)).toThrow(/already in block chain/);
  });

  it('refuses dust and a fee below the relay minimum', async () => {
    const coin = { ...esplora.chain.fund(minerSource('p2wpkh').script, 100_000n), value: 100_000n };
    const tooCheap = parseTx(conflictingSpend('p2wpkh', coin, users.p2tr.script));
    expect(tooCheap.outputs[0]!.value).toBe(95_000n);
    esplora.chain.minRelaySatVb = 100;
    expect(() => esplora.chain.accept(tooCheap.hex)).toThrow(/min relay fee not met/);
    const dust = { ...esplora.chain.fund(minerSource('p2wpkh').script, 5_293n), value: 5_293n };
    esplora.chain.minRelaySatVb = 1;
    expect(() => esplora.chain.accept(conflictingSpend('p2wpkh', dust, users.p2wpkh.script))).toThrow(/dust/);
  });

  it('reorganises the newest block: its transactions go back to the mempool, or are dropped', async () => {
    const raw = await signedPayout('p2wpkh');
    const txid = esplora.chain.accept(raw);
    const block = esplora.chain.mine();
    expect(esplora.chain.view().where.get(txid)).toBe(block.height);
    esplora.chain.reorg();
    expect(esplora.chain.view().where.get(txid)).toBeNull();
    esplora.chain.mine();
    esplora.chain.reorg({ dropTxs: true });
    expect(esplora.chain.view().where.has(txid)).toBe(false);
    const status = await fetch(`${esplora.url}/block/${block.hash}/status`);
    expect(await status.json()).toMatchObject({ in_best_chain: false });
  });
});
