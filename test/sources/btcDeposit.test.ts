/**
 * The BTC deposit check against the Esplora HTTP API the tests serve (fakeEsplora over a small
 * Bitcoin that checks scripts and signatures), through the project's Esplora client: each case
 * of the reference's source-funds check (shared/reference/allways-solana-swap-manager.md §7),
 * and the confirmed-UTXO balance the funds gate reads.
 */
import { NETWORK, p2wpkh, Transaction } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BtcDepositVerifier, btcConfirmedBalance } from '../../src/chains/bitcoin/btcDepositVerifier.ts';
import { Esplora } from '../../src/chains/bitcoin/esplora.ts';
import type { DepositClaim } from '../../src/host/sourceVerifier.ts';
import { MINER_KEY, minerSource, USER_KEY } from '../support/esplora/btcFixture.ts';
import { startFakeEsplora, type FakeEsplora } from '../support/esplora/fakeEsplora.ts';

const STRANGER_KEY = Uint8Array.from(Buffer.from('33'.repeat(32), 'hex'));
const miner = minerSource('p2wpkh');
const walletOf = (key: Uint8Array) => p2wpkh(pubECDSA(key, true));
const user = walletOf(USER_KEY);

let esplora: FakeEsplora;
let verifier: BtcDepositVerifier;

beforeAll(async () => {
  esplora = await startFakeEsplora(NETWORK);
  verifier = new BtcDepositVerifier(new Esplora({ urls: [esplora.url], timeoutMs: 5_000 }), 2);
});
afterAll(async () => {
  await esplora?.close();
});

/** `key` pays `amount` to `to` from a fresh coin of its own (change back to itself); pooled, not mined. */
function pay(key: Uint8Array, to: Uint8Array, amount: bigint): string {
  const wallet = walletOf(key);
  const coin = esplora.chain.fund(wallet.script, amount + 20_000n);
  const tx = new Transaction();
  tx.addInput({ txid: coin.txid, index: coin.vout, witnessUtxo: { script: wallet.script, amount: amount + 20_000n } });
  tx.addOutput({ script: to, amount });
  tx.addOutput({ script: wallet.script, amount: 15_000n });
  tx.sign(key);
  tx.finalize();
  return esplora.chain.accept(tx.hex);
}

const claim = (txHash: string, over: Partial<DepositClaim> = {}): DepositClaim => ({
  chain: 'btc',
  txHash,
  blockHint: 0,
  recipient: miner.address,
  sender: user.address!,
  minAmount: 50_000n,
  ...over,
});

describe('BTC deposits', () => {
  it('verifies an output to the recipient from the claimed sender at 2 confirmations, pending before', async () => {
    const txid = pay(USER_KEY, miner.script, 60_000n);
    const pooled = await verifier.verify(claim(txid));
    expect(pooled).toMatchObject({ kind: 'pending', reason: 'deposit not yet in a block' });
    const block = esplora.chain.mine();
    const one = await verifier.verify(claim(txid));
    expect(one).toMatchObject({ kind: 'pending', evidence: { block: block.height, confirmations: 1, required: 2 } });
    esplora.chain.mine([]);
    const verdict = await verifier.verify(claim(txid));
    expect(verdict).toEqual({
      kind: 'verified',
      evidence: {
        txHash: txid,
        block: block.height,
        amountSeen: 60_000n,
        senderSeen: user.address,
        confirmations: 2,
        required: 2,
      },
    });
  });

  it('answers wrong for an output to another address', async () => {
    const txid = pay(USER_KEY, walletOf(STRANGER_KEY).script, 60_000n);
    esplora.chain.mine();
    const verdict = await verifier.verify(claim(txid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { amountSeen: null } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('pays nothing to the recipient');
  });

  it('answers wrong for a short amount, even before it confirms', async () => {
    const txid = pay(USER_KEY, miner.script, 49_999n);
    const verdict = await verifier.verify(claim(txid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { amountSeen: 49_999n } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('short of the 50000 claimed');
  });

  it('answers wrong for a deposit from another sender, once confirmed', async () => {
    const txid = pay(STRANGER_KEY, miner.script, 60_000n);
    esplora.chain.mine();
    expect((await verifier.verify(claim(txid))).kind).toBe('pending');
    esplora.chain.mine([]);
    const verdict = await verifier.verify(claim(txid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { senderSeen: walletOf(STRANGER_KEY).address } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('not from the claimed sender');
  });

  it('answers wrong when the sender cannot be proven (an input with no prevout address)', async () => {
    const coin = esplora.chain.fund(miner.script, 70_000n);
    esplora.chain.mine([]);
    const verdict = await verifier.verify(claim(coin.txid));
    expect(verdict).toMatchObject({ kind: 'wrong', evidence: { senderSeen: '', amountSeen: 70_000n } });
    expect(verdict.kind === 'wrong' && verdict.reason).toContain('cannot be proven');
  });

  it('answers wrong when the sender is the recipient itself', async () => {
    const txid = pay(MINER_KEY, miner.script, 60_000n);
    esplora.chain.mine();
    esplora.chain.mine([]);
    const verdict = await verifier.verify(claim(txid, { sender: miner.address }));
    expect(verdict).toMatchObject({ kind: 'wrong', reason: 'the deposit sender is the recipient itself' });
  });

  it('answers pending for a transaction Esplora does not know, and for a malformed txid', async () => {
    expect(await verifier.verify(claim('cd'.repeat(32)))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
      evidence: { block: null, amountSeen: null, confirmations: 0, required: 2 },
    });
    expect((await verifier.verify(claim('not-a-txid'))).kind).toBe('pending');
  });

  it('answers pending, never verified, when Esplora fails (5xx, a dropped connection)', async () => {
    const txid = pay(USER_KEY, miner.script, 60_000n);
    esplora.chain.mine();
    esplora.chain.mine([]);
    esplora.fault({ method: 'GET', path: /^\/tx\//, mode: 'status', status: 503 });
    const failed = await verifier.verify(claim(txid));
    expect(failed).toMatchObject({ kind: 'pending', evidence: { block: null } });
    expect(failed.kind === 'pending' && failed.reason).toContain('did not answer');
    esplora.fault({ method: 'GET', path: /^\/blocks\/tip\/height$/, mode: 'drop-before' });
    expect((await verifier.verify(claim(txid))).kind).toBe('pending');
    expect((await verifier.verify(claim(txid))).kind).toBe('verified');
  });

  it('answers pending once the deposit is reorganised out, and for a block Esplora says is off the best chain', async () => {
    const txid = pay(USER_KEY, miner.script, 60_000n);
    esplora.chain.mine();
    esplora.chain.mine([]);
    const seenBefore = (await (await fetch(`${esplora.url}/tx/${txid}`)).json()) as object;
    expect((await verifier.verify(claim(txid))).kind).toBe('verified');
    esplora.chain.reorg(); // the empty block
    esplora.chain.reorg({ dropTxs: true }); // the deposit's block, its transactions gone
    expect(await verifier.verify(claim(txid))).toMatchObject({
      kind: 'pending',
      reason: 'deposit transaction not found',
    });
    // An Esplora that still answers the transaction in its old block: that block is not in the best chain.
    esplora.fault({ method: 'GET', path: new RegExp(`^/tx/${txid}$`), mode: 'answer', body: seenBefore });
    const stale = await verifier.verify(claim(txid));
    expect(stale).toMatchObject({ kind: 'pending', evidence: { confirmations: 0 } });
    expect(stale.kind === 'pending' && stale.reason).toContain('not in the best chain');
  });
});

describe('BTC balance for the funds gate', () => {
  it('sums the confirmed unspent outputs of the address, leaving the mempool out', async () => {
    const wallet = walletOf(Uint8Array.from(Buffer.from('44'.repeat(32), 'hex')));
    const reader = new Esplora({ urls: [esplora.url], timeoutMs: 5_000 });
    expect(await btcConfirmedBalance(reader, wallet.address!)).toBe(0n);
    esplora.chain.fund(wallet.script, 30_000n);
    esplora.chain.fund(wallet.script, 12_345n);
    esplora.chain.fund(wallet.script, 99_999n, { confirmed: false });
    expect(await btcConfirmedBalance(reader, wallet.address!)).toBe(42_345n);
    esplora.fault({ method: 'GET', path: /\/utxo$/, mode: 'status', status: 502 });
    await expect(btcConfirmedBalance(reader, wallet.address!)).rejects.toThrow(/no Esplora endpoint answered/);
  });
});
