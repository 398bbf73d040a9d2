/**
 * Job settlement on a real EVM chain: the host, the batch claimer and the ethers adapter
 * against Ocean's published Escrow bytecode (@oceanprotocol/contracts, with the package's
 * FactoryRouter taking the OPC fee) on a local hardhat node (started here on 127.0.0.1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Contract, Interface } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownMachineVersions, type JobTerms } from '../../machines/index.ts';
import { artifactFragment, ESCROW_ABI, ESCROW_FRAGMENTS_USED, fragmentName } from '../../src/chains/evm/escrowAbi.ts';
import type { ClaimMethod } from '../../src/chains/evm/evmEscrow.ts';
import { decodeSettlementProof } from '../../src/chains/evm/settlementProof.ts';
import { TxJournal } from '../../src/chains/evm/txJournal.ts';
import { SimulatedCrash } from '../../src/engine/crashpoints.ts';
import { openHost as openSettleHost, type Host } from '../../src/host/host.ts';
import type { Escrow, Logger } from '../../src/host/ports.ts';
import { openLowdbSnapshotStore, type LowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type JsonlRecoveryLog } from '../../src/store/recoveryLog.ts';
import { CHAIN, deployEscrow, FEE_0_1_PERCENT, FEE_0_2_PERCENT, type EscrowFixture } from '../support/escrowFixture.ts';
import { startEvmNode, type EvmNode } from '../support/evmNode.ts';
import { tempDir } from '../support/simFixture.ts';
import { jobMachineId } from '../../machines/index.ts';

let node: EvmNode;
let f: EscrowFixture;

beforeAll(async () => {
  node = await startEvmNode();
  f = await deployEscrow(node);
}, 120_000);

afterAll(async () => {
  await node?.stop();
});

/** A logger that keeps what it is told, for assertions. */
function recordingLog(): Logger & {
  lines: Array<{ level: string; message: string; fields: Record<string, unknown> }>;
} {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: object, message?: string) =>
    void lines.push({ level, message: message ?? '', fields: fields as Record<string, unknown> });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

interface Run {
  host: Host;
  store: LowdbSnapshotStore;
  recovery: JsonlRecoveryLog;
  escrow: Escrow;
  log: ReturnType<typeof recordingLog>;
}

/** A host over `dir` settling `jobs` (published, with their costs) through the real adapter. */
async function openHost(
  dir: string,
  jobs: readonly JobTerms[],
  cost: (terms: JobTerms) => bigint,
  options: {
    clock?: () => Promise<number>;
    afterBroadcast?: (hash: string) => void;
    wrap?: (escrow: Escrow) => Escrow;
    claimMethod?: ClaimMethod;
  } = {},
): Promise<Run> {
  const log = recordingLog();
  const { escrow, sender } = await f.adapter(
    join(dir, 'evm'),
    log,
    options.afterBroadcast === undefined ? {} : { afterBroadcast: options.afterBroadcast },
    options.claimMethod,
  );
  await sender.resume();
  const store = await openLowdbSnapshotStore(join(dir, 'store'), {
    create: !existsSync(join(dir, 'store')),
    knownMachines: knownMachineVersions,
  });
  const { log: recovery } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  const port = options.wrap?.(escrow) ?? escrow;
  const host = await openSettleHost({
    store,
    recoveryLog: recovery,
    swapContract: null,
    senders: new Map(),
    escrows: new Map([[CHAIN, port]]),
    clock: { now: options.clock ?? (() => f.chainTime()) },
    jobSource: {
      poll: async () => jobs.map((terms) => ({ terms, phase: 'published' as const, cost: cost(terms).toString() })),
    },
    log,
    claimSchedule: { intervalSec: 3_600, firstRunDelaySec: 0 },
  });
  return { host, store, recovery, escrow: port, log };
}

const idOf = (terms: JobTerms) => jobMachineId({ chain: CHAIN, jobId: terms.jobId });

async function finalState(
  store: LowdbSnapshotStore,
  terms: JobTerms,
): Promise<{ value: string; context: Record<string, unknown> }> {
  return (await store.readArchived(idOf(terms))).snapshot as { value: string; context: Record<string, unknown> };
}

const escrowInterface = new Interface(ESCROW_ABI);

/** Every Claimed or Canceled event for these jobs, from the chain itself. */
async function eventsOf(jobs: readonly JobTerms[], name: 'Claimed' | 'Canceled') {
  const contract = new Contract(await f.escrow.getAddress(), ESCROW_ABI, node.provider);
  const logs = await contract.queryFilter(contract.filters[name]!(), f.deployBlock, 'latest');
  const ids = new Set(jobs.map((j) => BigInt(j.jobId)));
  return logs
    .map((log) => ({ log, parsed: escrowInterface.parseLog(log)! }))
    .filter(({ parsed }) => ids.has(parsed.args.getValue('jobId') as bigint))
    .map(({ log, parsed }) => ({
      tx: log.transactionHash,
      jobId: parsed.args.getValue('jobId') as bigint,
      amount: parsed.args.getValue('amount') as bigint,
      proof: name === 'Claimed' ? (parsed.args.getValue('proof') as string) : null,
    }));
}

const payeeNonce = () => node.provider.getTransactionCount(f.payee.address, 'latest');

describe('the escrow ABI the adapter uses', () => {
  it("is the published artifact's, fragment for fragment, as the adapter's decoding expects", () => {
    const artifact = JSON.parse(
      readFileSync(
        createRequire(import.meta.url).resolve(
          '@oceanprotocol/contracts/artifacts/contracts/escrow/Escrow.sol/Escrow.json',
        ),
        'utf8',
      ),
    ) as { abi: never };
    const published = new Interface(artifact.abi);
    const used = new Interface(ESCROW_ABI);
    expect(used.fragments).toHaveLength(ESCROW_FRAGMENTS_USED.length);
    for (const expected of ESCROW_FRAGMENTS_USED) {
      const name = fragmentName(expected);
      const twin = published.fragments.find((fr) => (fr as { name?: string }).name === name);
      expect(twin?.format('full'), name).toBe(new Interface([expected]).fragments[0]!.format('full'));
      expect(artifactFragment(name)).toBe(twin?.format('full'));
      expect(used.fragments.find((fr) => (fr as { name?: string }).name === name)?.format('full'), name).toBe(
        twin?.format('full'),
      );
    }
    // The lock the adapter decodes has five fields and no payee (contracts 2.5.0 and later).
    const getLocks = published.getFunction('getLocks')!;
    expect(getLocks.outputs[0]!.arrayChildren!.components!.map((c) => c.name)).toEqual([
      'jobId',
      'payer',
      'amount',
      'expiry',
      'token',
    ]);
  });
});

describe('job settlement on a local EVM node', () => {
  it('claims 50 jobs in one claimLocksAndWithdraw transaction, each Finished with that transaction, gross, fee and net recorded', async () => {
    await f.setFees(FEE_0_1_PERCENT, FEE_0_2_PERCENT);
    const jobs = await f.lock(50, { amount: 10n ** 18n });
    const before = await payeeNonce();
    const walletBefore = await f.balanceOf(f.token, f.payee.address);
    const run = await openHost(tempDir('settle-evm-'), jobs, () => 4n * 10n ** 17n);
    await run.host.tick();
    expect(run.host.liveCount).toBe(0);
    expect(await payeeNonce()).toBe(before + 1);
    const claimed = await eventsOf(jobs, 'Claimed');
    expect(claimed).toHaveLength(50);
    expect(new Set(claimed.map((c) => c.tx)).size).toBe(1);
    expect(claimed.every((c) => c.amount === 4n * 10n ** 17n)).toBe(true);
    for (const terms of jobs) {
      const final = await finalState(run.store, terms);
      expect(final.value).toBe('Finished');
      expect(final.context['claimTx']).toBe(claimed[0]!.tx);
      expect(final.context['claimedGross']).toBe((4n * 10n ** 17n).toString());
      expect(final.context['claimFee']).toBe((4n * 10n ** 14n).toString());
      expect(final.context['claimedNet']).toBe((4n * 10n ** 17n - 4n * 10n ** 14n).toString());
    }
    // Withdrawn to the wallet: at least the 50 nets (plus whatever earlier claims left in the escrow).
    expect((await f.balanceOf(f.token, f.payee.address)) - walletBefore).toBeGreaterThanOrEqual(
      50n * (4n * 10n ** 17n - 4n * 10n ** 14n),
    );
    // The proof bytes carry the job's settlement record.
    const proof = decodeSettlementProof(claimed[0]!.proof!);
    expect(proof.version).toBe(1);
    expect(proof.cost).toBe(4n * 10n ** 17n);
    expect(jobs.map((j) => j.jobId)).toContain(proof.sourceJobId);
  });

  for (const [label, rate, method] of [
    ['no fee, claimLocks', 0n, 'claimLocks'],
    ['0.1%, claimLocks', FEE_0_1_PERCENT, 'claimLocks'],
    ['0.2%, claimLocksAndWithdraw', FEE_0_2_PERCENT, 'claimLocksAndWithdraw'],
  ] as const) {
    it(`records the fee taken (${label}) and where the net went`, async () => {
      await f.setFees(rate, rate);
      const jobs = await f.lock(3, { amount: 10n ** 18n, token: f.otherToken });
      const cost = 777_777_777_777n;
      const fee = (cost * rate) / 10n ** 18n;
      const collectorBefore = await f.balanceOf(f.otherToken, f.collector);
      const walletBefore = await f.balanceOf(f.otherToken, f.payee.address);
      const escrowBefore = (
        (await f.escrow.getFunction('getUserFunds')(f.payee.address, await f.otherToken.getAddress())) as {
          available: bigint;
        }
      ).available;
      const run = await openHost(tempDir('settle-evm-'), jobs, () => cost, { claimMethod: method });
      await run.host.tick();
      expect(run.host.liveCount).toBe(0);
      for (const terms of jobs) {
        const final = await finalState(run.store, terms);
        expect(final.value).toBe('Finished');
        expect([final.context['claimedGross'], final.context['claimFee'], final.context['claimedNet']]).toEqual([
          cost.toString(),
          fee.toString(),
          (cost - fee).toString(),
        ]);
      }
      expect((await f.balanceOf(f.otherToken, f.collector)) - collectorBefore).toBe(3n * fee);
      const escrowAfter = (
        (await f.escrow.getFunction('getUserFunds')(f.payee.address, await f.otherToken.getAddress())) as {
          available: bigint;
        }
      ).available;
      if (method === 'claimLocks') {
        expect(escrowAfter - escrowBefore).toBe(3n * (cost - fee));
        expect(await f.balanceOf(f.otherToken, f.payee.address)).toBe(walletBefore);
      } else {
        expect(escrowAfter).toBe(0n);
        expect((await f.balanceOf(f.otherToken, f.payee.address)) - walletBefore).toBe(
          escrowBefore + 3n * (cost - fee),
        );
      }
    });
  }

  it('caps the claim at the lock when the job cost more', async () => {
    const [terms] = await f.lock(1, { amount: 1_000n });
    const run = await openHost(tempDir('settle-evm-'), [terms!], () => 5_000n);
    await run.host.tick();
    expect((await eventsOf([terms!], 'Claimed')).map((c) => c.amount)).toEqual([1_000n]);
  });

  it('sets aside a lock claimed under it (the batch would revert) and claims the other 49 in one transaction', async () => {
    const jobs = await f.lock(50, { amount: 10n ** 18n });
    const victim = jobs[17]!;
    let raced = false;
    // The race: the lock is claimed elsewhere after the host read it, before the batch.
    const wrap = (escrow: Escrow): Escrow => ({
      ...escrow,
      chain: escrow.chain,
      readSettlements: (t) => escrow.readSettlements(t),
      claimLocks: (e) => escrow.claimLocks(e),
      cancelExpiredLocks: (j) => escrow.cancelExpiredLocks(j),
      checkClaims: async (entries) => {
        if (!raced) {
          raced = true;
          await (
            await (f.escrow.connect(f.payee) as Contract).getFunction('claimLock')(
              BigInt(victim.jobId),
              victim.token,
              victim.payer,
              1n,
              '0x',
            )
          ).wait();
        }
        return escrow.checkClaims(entries);
      },
    });
    const run = await openHost(tempDir('settle-evm-'), jobs, () => 10n ** 17n, { wrap });
    const before = await payeeNonce();
    await run.host.tick();
    expect(run.host.liveCount).toBe(0);
    const setAside = run.log.lines.find((l) => l.message === 'claim batch: entries set aside');
    expect(setAside?.fields['setAside']).toEqual([{ machine: idOf(victim), reason: 'Lock not found' }]);
    const claimed = await eventsOf(jobs, 'Claimed');
    const batchTxs = new Set(claimed.filter((c) => c.jobId !== BigInt(victim.jobId)).map((c) => c.tx));
    expect(batchTxs.size).toBe(1);
    expect(claimed.filter((c) => c.jobId !== BigInt(victim.jobId))).toHaveLength(49);
    // The victim was claimed once, by the racing claim, and is Finished with that claim.
    const victimClaims = claimed.filter((c) => c.jobId === BigInt(victim.jobId));
    expect(victimClaims).toHaveLength(1);
    const victimFinal = await finalState(run.store, victim);
    expect(victimFinal.context['claimTx']).toBe(victimClaims[0]!.tx);
    // Found by its event, not by our receipt: its fee is read from that transaction's receipt.
    expect(victimFinal.context['claimedGross']).toBe('1');
    expect(victimFinal.context['claimFee']).toBe('0');
    expect(await payeeNonce()).toBe(before + 2); // the race's claim and our one batch
  });

  it('logs a lock that expired before the batch was mined as lost revenue, never as paid', async () => {
    const jobs = await f.lock(3, { amount: 10n ** 18n, expirySeconds: 100 });
    const lockedAt = await f.chainTime();
    // The host's clock lags the chain: it believes the locks live; the chain has moved past expiry.
    await node.increaseTime(200);
    const run = await openHost(tempDir('settle-evm-'), jobs, () => 10n ** 17n, { clock: async () => lockedAt });
    await run.host.tick();
    expect(run.host.liveCount).toBe(0);
    expect(await eventsOf(jobs, 'Claimed')).toEqual([]);
    expect(await eventsOf(jobs, 'Canceled')).toHaveLength(3);
    for (const terms of jobs) {
      const final = await finalState(run.store, terms);
      expect(final.value).toBe('Cancelled');
      expect(final.context['claimTx']).toBeNull();
      expect(final.context['claimedGross']).toBeNull();
    }
    expect(run.recovery.entries().map((e) => [e.key, e.kind])).toEqual(jobs.map((t) => [idOf(t), 'lost-revenue']));
  });

  it('finds a lock the payer cancelled before we claimed, and sends nothing', async () => {
    const [terms] = await f.lock(1, { amount: 10n ** 18n, expirySeconds: 50 });
    await node.increaseTime(100);
    await (
      await (f.escrow.connect(f.payers[0]!) as Contract).getFunction('cancelExpiredLock')(
        BigInt(terms!.jobId),
        terms!.token,
        terms!.payer,
        terms!.payee,
      )
    ).wait();
    const before = await payeeNonce();
    const run = await openHost(tempDir('settle-evm-'), [terms!], () => 10n ** 17n);
    await run.host.tick();
    expect(await payeeNonce()).toBe(before);
    expect((await finalState(run.store, terms!)).value).toBe('Cancelled');
    expect(run.recovery.entries().map((e) => e.kind)).toEqual(['lost-revenue']);
  });

  it('cancels expired locks in one cancelExpiredLocks transaction', async () => {
    const jobs = await f.lock(4, { amount: 10n ** 18n, expirySeconds: 30 });
    await node.increaseTime(60);
    const before = await payeeNonce();
    const run = await openHost(tempDir('settle-evm-'), jobs, () => 10n ** 17n);
    await run.host.tick();
    expect(await payeeNonce()).toBe(before + 1);
    const canceled = await eventsOf(jobs, 'Canceled');
    expect(canceled).toHaveLength(4);
    expect(new Set(canceled.map((c) => c.tx)).size).toBe(1);
    for (const terms of jobs) expect((await finalState(run.store, terms)).value).toBe('Cancelled');
  });

  it('after a crash between broadcast and receipt, finds the claim on chain and never claims again', async () => {
    const jobs = await f.lock(5, { amount: 10n ** 18n });
    const dir = tempDir('settle-evm-');
    const before = await payeeNonce();
    let crashedTx: string | null = null;
    const first = await openHost(dir, jobs, () => 10n ** 17n, {
      afterBroadcast: (hash) => {
        crashedTx = hash;
        throw new SimulatedCrash('after-effect', 'claimLocks');
      },
    });
    await expect(first.host.tick()).rejects.toBeInstanceOf(SimulatedCrash);
    expect(crashedTx).not.toBeNull();
    // A new process on the same directory: the journal and the store are all it has.
    const second = await openHost(dir, jobs, () => 10n ** 17n);
    await second.host.tick();
    expect(second.host.liveCount).toBe(0);
    expect(await payeeNonce()).toBe(before + 1);
    const claimed = await eventsOf(jobs, 'Claimed');
    expect(claimed.map((c) => c.tx)).toEqual(jobs.map(() => crashedTx));
    for (const terms of jobs) expect((await finalState(second.store, terms)).context['claimTx']).toBe(crashedTx);
  });

  it('finishes free jobs without any transaction', async () => {
    const [locked] = await f.lock(1);
    const free: JobTerms = { ...locked!, jobId: `0x${'f'.repeat(64)}`, lock: null };
    const zeroCost = locked!;
    const before = await payeeNonce();
    const run = await openHost(tempDir('settle-evm-'), [free, zeroCost], () => 0n);
    await run.host.tick();
    expect(run.host.liveCount).toBe(0);
    expect(await payeeNonce()).toBe(before);
    expect((await finalState(run.store, free)).value).toBe('Finished');
    expect((await finalState(run.store, zeroCost)).value).toBe('Finished');
    expect(run.recovery.entries()).toEqual([]);
  });
});

describe('the transaction sender', () => {
  it('has the signed transaction in its journal on disk before the node ever sees it', async () => {
    const jobs = await f.lock(2);
    const dir = tempDir('settle-evm-');
    const onDiskAtBroadcast: boolean[] = [];
    // The node, as the sender sees it: each broadcast first looks at the journal file itself.
    const provider = new Proxy(node.provider, {
      get(target, property, receiver) {
        if (property === 'broadcastTransaction') {
          return async (raw: string) => {
            const journal = await TxJournal.open(dir, CHAIN, f.payee.address, 31337n);
            onDiskAtBroadcast.push(journal.entries.some((e) => e.attempts.some((a) => a.raw === raw)));
            return target.broadcastTransaction(raw);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { escrow } = await f.adapter(dir, recordingLog(), { provider });
    const receipt = await escrow.claimLocks(jobs.map((terms) => ({ terms, amount: 1n })));
    expect(receipt.events).toHaveLength(2);
    expect(onDiskAtBroadcast).toEqual([true]);
  });

  it('replaces a stuck transaction with higher fees, same nonce, and keeps the journal until it lands', async () => {
    const [terms] = await f.lock(1);
    const log = recordingLog();
    const dir = tempDir('settle-evm-');
    const { escrow, journal } = await f.adapter(dir, log, { bumpAfterBlocks: 2 });
    await node.provider.send('evm_setAutomine', [false]);
    try {
      const claiming = escrow.claimLocks([{ terms: terms!, amount: 1n }]);
      // Wait for the first attempt, then price it out of the next blocks.
      while (journal.entries.length === 0) await new Promise((r) => setTimeout(r, 20));
      const first = journal.entries[0]!.attempts[0]!;
      await node.provider.send('hardhat_setNextBlockBaseFeePerGas', [
        `0x${(BigInt(first.maxFeePerGas) * 10n).toString(16)}`,
      ]);
      let mined = 0;
      const miner = setInterval(() => void node.provider.send('evm_mine', []).then(() => (mined += 1)), 100);
      const receipt = await claiming.finally(() => clearInterval(miner));
      expect(mined).toBeGreaterThan(1);
      const replaced = log.lines.filter((l) => l.message === 'transaction stuck; replaced with higher fees');
      expect(replaced.length).toBeGreaterThanOrEqual(1);
      expect(receipt.txHash).not.toBe(first.hash);
      expect(replaced.map((l) => l.fields['hash'])).toContain(receipt.txHash);
      expect(await node.provider.getTransactionReceipt(first.hash)).toBeNull();
      expect(journal.entries).toEqual([]);
      expect(receipt.events).toEqual([
        {
          kind: 'Claimed',
          jobId: terms!.jobId,
          amount: 1n,
          fee: 0n,
          payer: terms!.payer.toLowerCase(),
          token: terms!.token.toLowerCase(),
        },
      ]);
    } finally {
      await node.provider.send('evm_setAutomine', [true]);
    }
  });
});
