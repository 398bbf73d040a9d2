/**
 * The witness's own calls on the chains judged by id, counted at the endpoint the tests serve:
 * BTC (the fake Esplora, every request recorded) and Solana (the LiteSVM JSON-RPC, calls
 * counted per method). Per start: one check, in a new process. BTC: one call. Solana: one,
 * plus one per signature of the account's newest 25 whose fee payer this process has not read
 * yet (here the account's history holds one transaction, its nonce account's creation; up to
 * 26 for a busy account). Per first send: the calls of the check before each signature (on
 * Solana the previous payout's fee payer is read once), the signature's own calls left out.
 */
import { createSolanaRpc, generateKeyPairSigner } from '@solana/kit';
import pino from 'pino';
import type { BtcTransferSender } from '../src/chains/bitcoin/btcTransferSender.ts';
import { SolanaTransferSender } from '../src/chains/solana/solanaTransferSender.ts';
import type { TransferSender } from '../src/host/ports.ts';
import type { SnapshotStore } from '../src/store/snapshotStore.ts';
import { MemoryDecisions } from '../src/witness/reconcileDecisions.ts';
import { WitnessGate } from '../src/witness/witnessGate.ts';
import { MemoryWitnessJournal } from '../src/witness/witnessJournal.ts';
import { WitnessedSender } from '../src/witness/witnessedSender.ts';
import { journalDir, minerSource, NETWORK, openSender, userDestinations } from '../test/support/esplora/btcFixture.ts';
import { startFakeEsplora } from '../test/support/esplora/fakeEsplora.ts';
import { startSolanaTestNode } from '../test/support/solana/litesvmRpc.ts';
import { SolanaFixture, TO_FINALIZED } from '../test/support/solana/solanaFixture.ts';

export interface WitnessRpc {
  readonly chain: string;
  readonly startCalls: number;
  readonly perFirstSend: number;
  readonly signatures: number;
}

const log = pino({ level: 'silent' });

/** A witness over `inner`, its baseline taken by `earlier` (the process that created the store). */
async function witnessed(
  inner: TransferSender,
  earlier: { witness(): ReturnType<NonNullable<TransferSender['witness']>> },
) {
  const store = { history: () => ({ storeId: 'f'.repeat(32), position: 0 }) } as unknown as SnapshotStore;
  const gate = new WitnessGate({
    journal: new MemoryWitnessJournal(),
    decisions: new MemoryDecisions(),
    store,
    opened: { storeId: 'f'.repeat(32), position: 0 },
    log,
    now: () => '',
  });
  await gate.baseline(inner.chain, await earlier.witness());
  return { gate, sender: new WitnessedSender(inner, gate) };
}

export async function btcWitnessRpc(signatures: number): Promise<WitnessRpc> {
  const esplora = await startFakeEsplora(NETWORK);
  try {
    const miner = minerSource('p2wpkh');
    for (let i = 0; i < signatures + 1; i += 1) esplora.chain.fund(miner.script, 1_000_000n);
    const { sender: inner } = await openSender(journalDir(), [esplora.url], 'p2wpkh');
    const { gate, sender } = await witnessed(inner, inner as BtcTransferSender);
    const witnessCalls = (): number => esplora.requests.filter((r) => r.endsWith('/txs')).length;
    const before = esplora.requests.length;
    await gate.start([sender]);
    const startCalls = esplora.requests.length - before;
    const sendBefore = witnessCalls();
    const user = userDestinations().p2wpkh.address;
    for (let i = 0; i < signatures; i += 1) {
      const signed = await sender.sign({ swapId: `b${i}`, chain: 'btc', to: user, amount: 50_000n });
      await sender.broadcast(signed.raw);
      esplora.chain.mine();
    }
    return { chain: 'btc', startCalls, perFirstSend: (witnessCalls() - sendBefore) / signatures, signatures };
  } finally {
    await esplora.close();
  }
}

export async function solanaWitnessRpc(signatures: number): Promise<WitnessRpc> {
  const node = await startSolanaTestNode({ confirmedDepth: 1, finalizedDepth: 3 });
  try {
    const fx = new SolanaFixture(node);
    const key = await fx.fundedKey(100_000_000_000n);
    const nonceAccounts = await fx.nonceAccounts(key, 1);
    const senderOf = () =>
      new SolanaTransferSender({
        chain: 'sol',
        rpc: createSolanaRpc(node.url),
        signer: key,
        asset: { kind: 'sol' },
        nonceAccounts,
        log,
      });
    // A start is a new process: the fee payers it learned before are not in its memory.
    const { gate, sender } = await witnessed(senderOf(), senderOf());
    const calls = node.server.calls;
    const witnessCalls = (): number => (calls.get('getSignaturesForAddress') ?? 0) + (calls.get('getTransaction') ?? 0);
    const before = witnessCalls();
    await gate.start([sender]);
    const startCalls = witnessCalls() - before;
    const sendBefore = witnessCalls();
    for (let i = 0; i < signatures; i += 1) {
      const to = (await generateKeyPairSigner()).address;
      const signed = await sender.sign({ swapId: `s${i}`, chain: 'sol', to, amount: 1_000_000_000n });
      await sender.broadcast(signed.raw);
      node.chain.produceBlocks(TO_FINALIZED);
      await sender.lookup({ ...signed, decidedAt: 0, anchorBlock: null });
    }
    return { chain: 'sol', startCalls, perFirstSend: (witnessCalls() - sendBefore) / signatures, signatures };
  } finally {
    await node.close();
  }
}
