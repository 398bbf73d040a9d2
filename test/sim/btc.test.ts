/**
 * BTC as a simulated destination chain: a UTXO ledger (sim/chains/simUtxoChain.ts) paid by the
 * real BtcTransferSender through SimEsplora. The double-send invariant is judged on it as on
 * the account ledgers: two payouts of a swap can both land only if they spend different
 * outputs. Under every fault the real sender keeps every invariant; the planted bug "re-sign
 * with fresh inputs after a crash" double-pays and is caught.
 */
import { p2wpkh, Transaction } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import { describe, expect, it } from 'vitest';
import { INVARIANT } from '../../machines/invariants.ts';
import { SIM_BTC_KEY } from '../../sim/addresses.ts';
import { addSwap } from '../../sim/advance.ts';
import { SimEsplora } from '../../sim/chains/simEsplora.ts';
import { includeUtxoTransfers, reorgUtxoBlock, spendForeign, utxoOf } from '../../sim/chains/simUtxoChain.ts';
import { simBtcSender } from '../../sim/chains/simBtcSender.ts';
import { parseFaults } from '../../sim/faults.ts';
import { swapModuleWith, type SwapModuleOptions } from '../../sim/modules/swapModule.ts';
import { runScenario, type ScenarioResult } from '../../sim/scenario.ts';
import { SILENT_LOG } from '../../sim/system.ts';
import { minerAddressOn, World } from '../../sim/world.ts';
import { OPERATOR_BTC } from '../../sim/worldFaults.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import { NeverLands } from '../../src/host/ports.ts';
import { forgetfulJournal, ResignsWithFreshInputs } from '../support/btcPlantedBugs.ts';
import { ResignsAfterRestart } from '../support/plantedBugs.ts';

// Every fault, the data directory's own (rollback, twin) included: the witness of the pinned
// address (src/chains/bitcoin/btcActivity.ts) stops an older store put back from paying again.
const ALL = parseFaults('all');
const btcOnly = (options: SwapModuleOptions = {}) => [swapModuleWith({ destChains: ['btc'], ...options })];

function btcWorld(): World {
  return World.create(3, { swaps: 0, jobs: 0, marginBlocks: 3 }, btcOnly());
}

function payoutRequest(world: World) {
  const id = addSwap(world, { destChain: 'btc', destAmount: '250000' });
  const terms = world.state.subtensor.history[id]!;
  return { swapId: id, chain: 'btc', to: terms.userDestAddress, amount: 250_000n };
}

describe('the simulated UTXO chain', () => {
  it('mines a payout, refuses a second spend of its input, and lists the change once mined', async () => {
    const world = btcWorld();
    const ledger = world.state.ledgers['btc']!;
    const sender = simBtcSender(world, 'btc', SILENT_LOG);
    const signed = await sender.sign(payoutRequest(world));
    await sender.broadcast(signed.raw);
    const esplora = new SimEsplora(world, 'btc');
    const raw = utxoOf(ledger).txs[signed.hash]!;
    expect(ledger.transfers[signed.hash]).toMatchObject({ swapId: '1', amount: '250000', includedBlock: null });
    // Another transaction of the same key spending the same input: the mempool refuses it.
    const [txid, vout] = raw.inputs[0]!.split(':') as [string, string];
    const conflict = new Transaction();
    conflict.addInput({
      txid,
      index: Number(vout),
      witnessUtxo: { script: p2wpkh(pubECDSA(SIM_BTC_KEY, true)).script, amount: 100_000_000n },
    });
    conflict.addOutputAddress(OPERATOR_BTC, 99_990_000n);
    conflict.sign(SIM_BTC_KEY);
    conflict.finalize();
    expect(await esplora.broadcast(conflict.hex)).toMatchObject({
      accepted: false,
      message: expect.stringContaining('txn-mempool-conflict'),
    });
    for (let i = 0; i < 3; i++) includeUtxoTransfers(ledger);
    expect(raw.includedBlock).not.toBeNull();
    const change = (await esplora.utxos(minerAddressOn('btc'))).filter((u) => u.txid === signed.hash);
    expect(change).toHaveLength(1);
    expect(await esplora.broadcast(signed.raw)).toMatchObject({
      accepted: false,
      message: expect.stringContaining('already in block chain'),
    });
  });

  it('drops a payout whose input another mined transaction spends; the sender then says NeverLands', async () => {
    const world = btcWorld();
    const ledger = world.state.ledgers['btc']!;
    const sender = simBtcSender(world, 'btc', SILENT_LOG);
    const signed = await sender.sign(payoutRequest(world));
    await sender.broadcast(signed.raw);
    const input = utxoOf(ledger).txs[signed.hash]!.inputs[0]!;
    spendForeign(world, ledger, input, OPERATOR_BTC);
    expect(utxoOf(ledger).txs[signed.hash]).toBeUndefined();
    expect(ledger.transfers[signed.hash]).toBeUndefined();
    includeUtxoTransfers(ledger); // the conflict is now 2 deep
    await expect(sender.broadcast(signed.raw)).rejects.toThrow(NeverLands);
  });

  it('reorganises the newest block away with whatever spent its outputs', async () => {
    const world = btcWorld();
    const ledger = world.state.ledgers['btc']!;
    const sender = simBtcSender(world, 'btc', SILENT_LOG);
    const signed = await sender.sign(payoutRequest(world));
    await sender.broadcast(signed.raw);
    while (utxoOf(ledger).txs[signed.hash]!.includedBlock === null) includeUtxoTransfers(ledger);
    reorgUtxoBlock(world, ledger);
    expect(utxoOf(ledger).txs[signed.hash]).toBeUndefined();
    expect(world.state.observations.reorgedOut).toContain(signed.hash);
    expect(await sender.lookup({ ...signed, decidedAt: 0, anchorBlock: null })).toEqual({ kind: 'unknown' });
    await sender.broadcast(signed.raw);
    expect(utxoOf(ledger).txs[signed.hash]!.includedBlock).toBeNull();
  });
});

interface Tally {
  readonly runs: ScenarioResult[];
  violations(name: string): string[];
  count(pattern: RegExp): number;
}

async function runSeeds(
  seeds: number,
  modules: ReturnType<typeof btcOnly>,
  interceptors?: readonly EngineInterceptor[],
  stopAt?: string,
): Promise<Tally> {
  const runs: ScenarioResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const run = await runScenario({
      seed,
      swaps: 8,
      jobs: 0,
      modules,
      faults: ALL,
      trace: true,
      ...(interceptors === undefined ? {} : { interceptors }),
    });
    runs.push(run);
    if (stopAt !== undefined && run.invariants.some((i) => i.name === stopAt && i.violations.length > 0)) break;
  }
  return {
    runs,
    violations: (name) => runs.flatMap((r) => r.invariants.filter((i) => i.name === name).flatMap((i) => i.violations)),
    count: (pattern) => runs.reduce((n, r) => n + r.trace.filter((l) => pattern.test(l)).length, 0),
  };
}

describe('the simulator on a BTC destination chain', () => {
  it('the real sender keeps every invariant under every fault: crashes, lost broadcasts, reorgs, conflicting spends', async () => {
    const tally = await runSeeds(30, btcOnly());
    for (const run of tally.runs)
      expect(
        run.invariants.filter((i) => i.violations.length > 0),
        `seed ${run.seed}`,
      ).toEqual([]);
    expect(tally.runs.every((r) => r.complete)).toBe(true);
    const sum = (f: (r: ScenarioResult) => number) => tally.runs.reduce((n, r) => n + f(r), 0);
    expect(sum((r) => r.crashes)).toBeGreaterThan(0);
    expect(sum((r) => r.injected.reorg)).toBeGreaterThan(0);
    expect(sum((r) => r.injected['nonce-conflict'])).toBeGreaterThan(0);
    expect(sum((r) => r.endStates.swapFulfillment?.Fulfilled ?? 0)).toBeGreaterThan(30 * 8 * 0.5);
    // A conflicting spend, once 2 blocks deep, sends the swap to Recovery with nothing paid twice.
    expect(
      tally.count(
        /recovery entry swap:\d+: signed transfer can never land: .* is spent by [0-9a-f]{64}, confirmed \d+ deep/,
      ),
    ).toBeGreaterThan(0);
  });

  it('catches the planted bug "re-sign with fresh inputs after a crash": two payouts of one swap land', async () => {
    const tally = await runSeeds(
      200,
      btcOnly({ btcJournal: ResignsWithFreshInputs.btcJournal }),
      ResignsWithFreshInputs.interceptors,
      INVARIANT.noDoubleSend,
    );
    const violations = tally.violations(INVARIANT.noDoubleSend);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations[0]).toMatch(/^swap \d+: [2-9] transfers broadcast/);
    // The same seed with the journal kept: the engine still forgets, the sender hands back the same bytes.
    const seed = tally.runs.at(-1)!.seed;
    const kept = await runScenario({
      seed,
      swaps: 8,
      jobs: 0,
      modules: btcOnly(),
      faults: ALL,
      interceptors: ResignsAfterRestart,
    });
    expect(kept.invariants.find((i) => i.name === INVARIANT.noDoubleSend)!.violations).toEqual([]);
  });

  it('either half of that bug alone pays no swap twice: the journal hands back the same bytes, and a sound engine never asks again', async () => {
    const engineBugOnly = await runSeeds(20, btcOnly(), ResignsAfterRestart);
    expect(engineBugOnly.violations(INVARIANT.noDoubleSend)).toEqual([]);
    const senderBugOnly = await runSeeds(20, btcOnly({ btcJournal: forgetfulJournal }));
    expect(senderBugOnly.violations(INVARIANT.noDoubleSend)).toEqual([]);
  });
});
