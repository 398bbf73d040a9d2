/**
 * The simulated Solana destination chain (sim/chains/simSolana.ts): transactions expire with
 * their blockhash or their durable nonce. Its semantics one by one, then whole runs through
 * the real engine with every fault: durable nonces (the product's choice) keep every invariant,
 * restart invisibility included; recent blockhashes with "prove expiry" never pay twice but
 * turn outages into Recovery, so a restart is no longer invisible; and the reference miner's
 * retry (re-sign with a fresh blockhash when the node says the old one is unknown) is caught
 * paying twice.
 */
import { describe, expect, it } from 'vitest';
import { advanceBlock } from '../../sim/advance.ts';
import { SimSolanaSender, type RawSolanaTransfer } from '../../sim/chains/simSolana.ts';
import { FAULT_KINDS } from '../../sim/faults.ts';
import { swapModuleWith, type SwapModuleOptions } from '../../sim/modules/swapModule.ts';
import { runScenario, type ScenarioResult } from '../../sim/scenario.ts';
import type { SimModule } from '../../sim/simModule.ts';
import { reorgNewestBlock } from '../../sim/worldFaults.ts';
import { addressFor } from '../../sim/addresses.ts';
import { World, type Ledger } from '../../sim/world.ts';
import { swapMachineId } from '../../machines/index.ts';
import { NeverLands, type SignedBytes } from '../../src/host/ports.ts';

// Every fault, the data directory's own (rollback, twin) included: the witness of the paying
// account (src/chains/solana/solanaActivity.ts) stops an older store put back from paying again.
const ALL = new Set(FAULT_KINDS);
// Recent-blockhash lifetimes (the alternative settle does not use) without the data directory's
// faults: a transfer still in the pool is invisible to the witness (getSignaturesForAddress
// starts at confirmed), and only a durable nonce makes a put-back store's new transfer and the
// forgotten one exclude each other (seed 26 pays twice with them).
const ALL_BUT_DATA_DIR = new Set(FAULT_KINDS.filter((kind) => kind !== 'rollback' && kind !== 'twin'));
const WINDOW = 4;
const ref = (signed: SignedBytes) => ({ ...signed, decidedAt: 0, anchorBlock: null });

function solanaWorld(options: SwapModuleOptions = {}) {
  const module = swapModuleWith({
    destChains: ['sol'],
    blockhashValidBlocks: WINDOW,
    solanaNonceAccounts: 1,
    ...options,
  });
  const world = World.create(3, { swaps: 0, marginBlocks: 3 }, [module]);
  const ledger = (): Ledger => world.state.ledgers['sol']!;
  const blocks = (n: number) => {
    for (let i = 0; i < n; i++) advanceBlock(world);
  };
  return { world, ledger, blocks };
}

let swapIds = 0;
const pay = (amount = 5n) => ({
  swapId: String(++swapIds),
  chain: 'sol',
  to: addressFor('sol', `user-${swapIds}`),
  amount,
});

describe('the simulated Solana chain', () => {
  it('a durable-nonce transfer lands after any outage, advances its nonce, and holds the account until final', async () => {
    const { world, ledger, blocks } = solanaWorld();
    const sender = new SimSolanaSender(world, 'sol');
    const signed = await sender.sign(pay());
    await expect(sender.sign(pay())).rejects.toThrow(/every nonce account/);
    blocks(WINDOW * 5); // far beyond any blockhash
    await sender.broadcast(signed.raw);
    blocks(6);
    expect(await sender.lookup(ref(signed))).toMatchObject({ kind: 'included' });
    const { lifetime } = JSON.parse(signed.raw) as RawSolanaTransfer;
    expect(ledger().solana!.nonceAccounts[(lifetime as { account: string }).account]).not.toBe(
      (lifetime as { value: string }).value,
    );
    await sender.broadcast(signed.raw); // landed: its nonce moved, yet the signature is known: no NeverLands
    expect(await sender.sign(pay())).toBeDefined(); // the account is free again
  });

  it('a blockhash transfer broadcast too late is refused; NeverLands only once the expiry is final', async () => {
    const { world, ledger, blocks } = solanaWorld({ solanaLifetime: 'blockhash' });
    const sender = new SimSolanaSender(world, 'sol', 'blockhash');
    const signed = await sender.sign(pay());
    blocks(WINDOW + 1); // expired at the newest block, not yet at the final one
    await sender.broadcast(signed.raw);
    expect(ledger().transfers[signed.hash]).toBeUndefined();
    blocks(1);
    await expect(sender.broadcast(signed.raw)).rejects.toBeInstanceOf(NeverLands);
  });

  it('a blockhash transfer stuck in the pool past its window is dropped, never included', async () => {
    const { world, ledger, blocks } = solanaWorld({ solanaLifetime: 'blockhash' });
    const sender = new SimSolanaSender(world, 'sol', 'blockhash');
    const signed = await sender.sign(pay());
    await sender.broadcast(signed.raw);
    ledger().frozenUntil[ledger().transfers[signed.hash]!.from] = ledger().height + WINDOW + 5; // the payer's funds frozen meanwhile
    blocks(WINDOW + 2);
    expect(ledger().transfers[signed.hash]).toBeUndefined();
    expect(ledger().solana!.expired).toEqual([signed.hash]);
  });

  it('a new life adopts a transfer it did not broadcast: its nonce is held; without adoption it would be signed against again', async () => {
    const { world, blocks } = solanaWorld();
    const signed = await new SimSolanaSender(world, 'sol').sign(pay());
    const adopting = new SimSolanaSender(world, 'sol');
    adopting.adopt(ref(signed));
    await expect(adopting.sign(pay())).rejects.toThrow(/every nonce account/);
    const forgetful = await new SimSolanaSender(world, 'sol').sign(pay());
    expect((JSON.parse(forgetful.raw) as RawSolanaTransfer).lifetime).toEqual(
      (JSON.parse(signed.raw) as RawSolanaTransfer).lifetime,
    );
    await adopting.broadcast(signed.raw);
    await adopting.broadcast(forgetful.raw);
    blocks(6);
    const landed = [signed, forgetful].filter(
      (s) => world.state.ledgers['sol']!.transfers[s.hash]?.includedBlock != null,
    );
    expect(landed).toHaveLength(1); // two transfers against one nonce value: only one can ever land
  });

  it('a reorg that undoes a transfer gives its nonce value back', async () => {
    const { world, ledger, blocks } = solanaWorld();
    const sender = new SimSolanaSender(world, 'sol');
    const signed = await sender.sign(pay());
    const { lifetime } = JSON.parse(signed.raw) as RawSolanaTransfer;
    await sender.broadcast(signed.raw);
    for (let i = 0; i < 6 && ledger().transfers[signed.hash]!.includedBlock === null; i++) blocks(1);
    expect(ledger().transfers[signed.hash]!.includedBlock).toBe(ledger().height);
    reorgNewestBlock(world, 'sol');
    expect(ledger().solana!.nonceAccounts[(lifetime as { account: string }).account]).toBe(
      (lifetime as { value: string }).value,
    );
  });
});

/** The Solana module with its stats read from the world at the end of every run. */
function instrumented(options: SwapModuleOptions) {
  const stats = { late: 0, expired: 0, transfers: 0, expiredEnds: {} as Record<string, number> };
  const base = swapModuleWith({ destChains: ['sol', 'eth'], ...options });
  const module: SimModule = {
    ...base,
    invariants(world, outcome) {
      const ledger = world.state.ledgers['sol']!;
      stats.expired += ledger.solana!.expired.length;
      // How each swap whose transfer expired in the pool ended.
      for (const hash of ledger.solana!.expired) {
        const end =
          outcome.finals.get(swapMachineId(world.state.observations.signatures[hash]!.swapId))?.state ?? 'live';
        stats.expiredEnds[end] = (stats.expiredEnds[end] ?? 0) + 1;
      }
      for (const t of Object.values(ledger.transfers)) {
        if (t.includedBlock === null) continue;
        stats.transfers += 1;
        // Landed later after its signature than any recent blockhash would have lived.
        if (t.includedBlock - world.state.observations.signatures[t.hash]!.height > WINDOW) stats.late += 1;
      }
      return base.invariants(world, outcome);
    },
  };
  return { module, stats };
}

async function runs(
  module: SimModule,
  seeds: number,
  until: (result: ScenarioResult) => boolean = () => false,
  faults: ReadonlySet<(typeof FAULT_KINDS)[number]> = ALL,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    results.push(await runScenario({ seed, swaps: 8, jobs: 0, modules: [module], faults }));
    if (until(results.at(-1)!)) break;
  }
  return results;
}

const violated = (results: ScenarioResult[], name: string) =>
  results.filter((r) => r.invariants.some((i) => i.name === name && i.violations.length > 0)).length;

describe('whole runs with every fault, a Solana destination beside an EVM one', () => {
  it('durable nonces: every invariant holds, restarts invisible, though transfers landed long after any blockhash would have expired', async () => {
    // Four nonce accounts: a swap waits for its own (durableNonces.ts), two made swaps queue past their deadline.
    const { module, stats } = instrumented({
      solanaLifetime: 'durable-nonce',
      blockhashValidBlocks: WINDOW,
      solanaNonceAccounts: 4,
    });
    const results = await runs(module, 30);
    const broken = results.flatMap((r) =>
      r.invariants.filter((i) => i.violations.length > 0).map((i) => `seed ${r.seed}: ${i.name}: ${i.violations[0]}`),
    );
    expect(broken).toEqual([]);
    expect(results.reduce((n, r) => n + r.restarts, 0)).toBeGreaterThan(0);
    expect(stats.transfers).toBeGreaterThan(30);
    expect(stats.late).toBeGreaterThan(0);
  }, 120_000);

  it('recent blockhashes, expiry proven before NeverLands: never pays twice, but every transfer that outlives its blockhash leaves its swap in Recovery, unpaid', async () => {
    const { module, stats } = instrumented({ solanaLifetime: 'blockhash', blockhashValidBlocks: WINDOW });
    const results = await runs(module, 30, undefined, ALL_BUT_DATA_DIR);
    expect(violated(results, 'no double send')).toBe(0);
    expect(violated(results, 'no lost send')).toBe(0);
    expect(stats.expired).toBeGreaterThan(0);
    expect(stats.expiredEnds).toEqual({ Recovery: stats.expired });
  }, 120_000);

  it("the reference miner's retry (re-sign with a fresh blockhash when the node calls the old one unknown) pays twice", async () => {
    class Resigning extends SimSolanaSender {
      protected override lifetimeEnded(body: RawSolanaTransfer, hash: string): void {
        if (body.lifetime.kind !== 'blockhash') {
          super.lifetimeEnded(body, hash);
          return;
        }
        // The bug: "blockhash not found" taken as "never landed", without looking the signature up.
        const fresh = JSON.stringify({ ...body, lifetime: this.recentBlockhash() });
        const freshHash = this.hashOf(fresh);
        this.world.state.observations.signatures[freshHash] = { height: this.world.height, swapId: body.swapId };
        const { chain, from, to, amount, nonce, swapId, lifetime } = JSON.parse(fresh) as RawSolanaTransfer;
        this.ledger.transfers[freshHash] ??= {
          chain,
          from,
          to,
          amount,
          nonce,
          swapId,
          hash: freshHash,
          raw: fresh,
          includeFrom: this.ledger.height + 1,
          includedBlock: null,
          lifetime,
        };
      }
    }
    const module = swapModuleWith({
      destChains: ['sol', 'eth'],
      solanaLifetime: 'blockhash',
      blockhashValidBlocks: WINDOW,
      senderFor: (world, chain) => (chain === 'sol' ? new Resigning(world, chain, 'blockhash') : undefined),
      withoutWitness: true,
    });
    const results = await runs(module, 30, (r) => violated([r], 'no double send') > 0, ALL_BUT_DATA_DIR);
    expect(violated(results, 'no double send')).toBe(1);
  }, 120_000);
});
