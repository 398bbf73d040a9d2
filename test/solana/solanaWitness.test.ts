/**
 * The witness of the Solana paying account, against the JSON-RPC served here over LiteSVM:
 * the chain lists the transactions the account paid the fee of (getSignaturesForAddress, each
 * new one's fee payer read once with getTransaction), not what others sent it; a data
 * directory put back from before a payout holds its signatures, naming the account, what the
 * chain shows and what it knows; the operator's adoption, matched by recipient and amount
 * (the wallet, for a token payout), lifts the hold and hands the swap the transfer.
 */
import { address, createSolanaRpc, generateKeyPairSigner, type Address, type KeyPairSigner } from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SolanaTransferSender,
  type SolanaTransferSenderOptions,
} from '../../src/chains/solana/solanaTransferSender.ts';
import { findingsOf } from '../../src/witness/reconcile.ts';
import { MemoryDecisions } from '../../src/witness/reconcileDecisions.ts';
import { SigningHeld } from '../../src/witness/witnessGate.ts';
import { MemoryWitnessJournal } from '../../src/witness/witnessJournal.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { witnessedLife } from '../support/witnessedLife.ts';
import { startSolanaTestNode, type SolanaTestNode } from '../support/solana/litesvmRpc.ts';
import { SolanaFixture, TO_FINALIZED } from '../support/solana/solanaFixture.ts';

const SOL = 1_000_000_000n;
const COMPUTE_BUDGET = address('ComputeBudget111111111111111111111111111111');
const STORE = 'd'.repeat(32);
let node: SolanaTestNode;
let fx: SolanaFixture;

beforeAll(async () => {
  node = await startSolanaTestNode({ confirmedDepth: 1, finalizedDepth: 3, blockhashValidBlocks: 150 });
  fx = new SolanaFixture(node);
});
afterAll(async () => {
  await node?.close();
});

interface Miner {
  readonly key: KeyPairSigner;
  readonly nonceAccounts: Address[];
}

const fresh = async (): Promise<Address> => (await generateKeyPairSigner()).address;
let swaps = 0;
const request = (to: string, amount: bigint, chain = 'sol') => ({ swapId: `w${++swaps}`, chain, to, amount });

function senderOf(m: Miner, lines: LogLine[], options: Partial<SolanaTransferSenderOptions> = {}) {
  return new SolanaTransferSender({
    chain: 'sol',
    rpc: createSolanaRpc(node.url),
    signer: m.key,
    asset: { kind: 'sol' },
    nonceAccounts: m.nonceAccounts,
    log: collectingLogger(lines),
    ...options,
  });
}

/** One life of a data directory's witness over a new sender (nothing kept in memory). */
function life(m: Miner, journal: MemoryWitnessJournal, decisions: MemoryDecisions, position: number) {
  const lines: LogLine[] = [];
  return witnessedLife(senderOf(m, lines), { journal, decisions, storeId: STORE, position, lines });
}

/** The newest signature listing the account, as the node serves it (the transaction just run). */
async function lastSignatureOf(account: Address): Promise<string> {
  const [newest] = await createSolanaRpc(node.url)
    .getSignaturesForAddress(account, { limit: 1, commitment: 'confirmed' })
    .send();
  return newest!.signature;
}

describe('the witness of the Solana paying account', () => {
  it('lists what the account paid for, not what it received; identifies a transfer by its signature', async () => {
    const m = { key: await fx.fundedKey(10n * SOL), nonceAccounts: [] as Address[] };
    const s = senderOf({ ...m, nonceAccounts: [await fresh()] }, []);
    expect(await s.witness()).toEqual({ kind: 'ids', account: m.key.address, ids: [] });
    const nonces = await fx.nonceAccounts(m.key, 1); // paid by the miner: its own activity
    const setup = await s.witness();
    expect(setup.kind === 'ids' && setup.ids.length).toBe(1);
    const stranger = await fx.fundedKey(2n * SOL);
    await fx.run(stranger, [getTransferSolInstruction({ source: stranger, destination: m.key.address, amount: SOL })]);
    expect(await s.witness()).toEqual(setup); // a deposit to the account is not its doing
    // Paid by the account, yet no payment: it calls neither the System nor the Token program (as
    // the miner's own mark_fulfilled to the swap manager does). Here, a compute unit limit alone.
    const limitUnits = { programAddress: COMPUTE_BUDGET, data: new Uint8Array([2, 0x40, 0x0d, 0x03, 0x00]) };
    const notPaying = await fx.run(m.key, [limitUnits]);
    expect(await lastSignatureOf(m.key.address)).toBe(notPaying); // the node lists it for the account
    expect(await s.witness()).toEqual(setup); // the witness does not count it

    const paying = senderOf({ key: m.key, nonceAccounts: nonces }, []);
    const to = await fresh();
    const signed = await paying.sign(request(to, SOL / 2n));
    expect(paying.identify(signed.raw)).toEqual({ account: m.key.address, nonce: null, id: signed.hash });
    await paying.broadcast(signed.raw);
    node.chain.produceBlocks(2); // confirmed: listed before it is final
    const after = await paying.witness();
    expect(after.kind === 'ids' && after.ids[0]).toBe(signed.hash);
    const [activity] = await paying.activity({ ids: [signed.hash], maxBlocks: 10 });
    expect(activity).toMatchObject({ id: signed.hash, nonce: null, to, amount: SOL / 2n, raw: signed.raw });
    expect(activity!.note).toMatch(/a SOL transfer \(slot \d+\)/);
  });

  it('a token payout is described by the wallet it pays, as open swaps name it', async () => {
    const issuer = await fx.fundedKey(10n * SOL);
    const mint = await fx.mint(issuer, 6);
    const key = await fx.fundedKey(10n * SOL);
    const m = { key, nonceAccounts: await fx.nonceAccounts(key, 1) };
    await fx.mintTo(issuer, mint, key.address, 5_000_000n, 6); // paid by the issuer: not the miner's doing
    const s = senderOf(m, [], { chain: 'solusdc', asset: { kind: 'spl', mint, decimals: 6 } });
    const before = await s.witness();
    expect(before.kind === 'ids' && before.ids.length).toBe(1); // the nonce account's creation alone
    const owner = await fresh();
    const signed = await s.sign(request(owner, 1_250_000n, 'solusdc'));
    await s.broadcast(signed.raw);
    node.chain.produceBlocks(TO_FINALIZED);
    const [activity] = await s.activity({ ids: [signed.hash], maxBlocks: 10 });
    expect(activity).toMatchObject({ to: owner, amount: 1_250_000n });
    expect(activity!.note).toMatch(new RegExp(`a token transfer of mint ${mint}`));
  });

  it('a data directory put back from before a payout holds signing, names it, and pays the swap with the adopted transfer', async () => {
    const key = await fx.fundedKey(10n * SOL);
    const m = { key, nonceAccounts: await fx.nonceAccounts(key, 2) };
    const journal = new MemoryWitnessJournal();
    const decisions = new MemoryDecisions();
    const first = life(m, journal, decisions, 10);
    await first.gate.baseline('sol', await first.sender.witness()); // the store begins
    const backup = journal.copy();
    const to = await fresh();
    const req = request(to, SOL);
    const signed = await first.sender.sign(req);
    first.advance();
    await first.sender.broadcast(signed.raw);
    node.chain.produceBlocks(TO_FINALIZED);
    expect((await first.gate.check(first.sender)).unknown).toEqual([]);

    const restored = life(m, backup, decisions, 10);
    const verdict = await restored.gate.check(restored.sender);
    expect(verdict).toMatchObject({ chain: 'sol', account: key.address });
    expect(verdict.shows).toMatch(/^\d+ recent transactions$/);
    expect(verdict.unknown.map((i) => i.id)).toEqual([signed.hash]);
    // The second nonce account is free: without the witness the put-back store would pay again.
    await expect(restored.sender.sign(req)).rejects.toBeInstanceOf(SigningHeld);
    expect(restored.lines.some((l) => l.message?.startsWith('signing held') === true)).toBe(true);

    const open = [{ swapId: req.swapId, state: 'Funded', chain: 'sol', to, amount: SOL }];
    const [finding] = await findingsOf(restored.sender, 'sol', verdict.unknown, open, 100);
    expect(finding!.matches.map((x) => x.swapId)).toEqual([req.swapId]);
    decisions.all.push({
      kind: 'adopt',
      chain: 'sol',
      account: key.address,
      id: signed.hash,
      nonce: null,
      throughNonce: null,
      swapId: req.swapId,
      raw: finding!.activity!.raw,
      block: finding!.activity!.block,
      by: 'op',
      reason: 'pays the swap',
      at: 't',
    });
    expect(await restored.sender.sign(req)).toEqual(signed);
    expect(restored.gate.held()).toEqual([]);
  });
});
