/**
 * The daemon's kill -9 torture: `settle daemon` as a real child process against a local EVM
 * node (hardhat: swap transfers in its coin, jobs paid through the project's Escrow) and the
 * fake Subtensor (the allways contract), killed with SIGKILL at random instants and restarted
 * each time, while swaps are assigned and jobs end and publish. Then it runs to the end,
 * stops on SIGTERM, and the chains are checked:
 * - exactly one transfer to the user of every Fulfilled swap, marked with that transfer's
 *   hash; no transfer to a user whose deposit the machine did not record verified at the
 *   required confirmations, or that the EVM chain does not hold (issue 16); none for a swap that ended without sending; at most one (and a recovery entry) for
 *   one in Recovery; no mark_fulfilled executed twice;
 * - every job that ended with a cost is claimed: min(cost, lock) reached the payee, once;
 * - every machine in Recovery has its recovery-log entry, and the log has no other.
 * Used by test/torture/torture.test.ts (CI) and `npm run torture -- --kills N`.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Contract, Wallet, getAddress, type TransactionResponse } from 'ethers';
import prand from 'pure-rand';
import { knownMachineVersions, type JobContext, type SwapContext } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { jobIdHex } from '../../src/chains/evm/evmEscrow.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { readRecoveryLog } from '../../src/store/recoveryLog.ts';
import {
  DEPOSIT_CONFIRMATIONS,
  DEPOSIT_WEI,
  EVM_CHAIN,
  MINER_DEPOSIT_ADDRESS,
  startDaemonRig,
  type DaemonRig,
  type JobPlan,
} from '../support/daemonRig.ts';
import { jobMachineId, swapMachineId } from '../../machines/index.ts';

export interface TortureOptions {
  readonly kills: number;
  readonly seed: number;
  readonly swaps: number;
  readonly jobs: number;
  /** Progress, one line at a time. */
  readonly progress?: (line: string) => void;
}

export interface TortureReport {
  readonly dir: string;
  readonly kills: number;
  readonly restarts: number;
  readonly swapStates: Record<string, number>;
  readonly jobStates: Record<string, number>;
  readonly transfers: number;
  readonly claimed: bigint;
  readonly recoveryEntries: number;
  readonly violations: string[];
}

export async function runTorture(options: TortureOptions): Promise<TortureReport> {
  const say = options.progress ?? (() => undefined);
  let rng = prand.xoroshiro128plus(options.seed);
  const draw = (min: number, max: number): number => {
    const [value, next] = prand.uniformIntDistribution(min, max, rng);
    rng = next;
    return value;
  };
  const rig = await startDaemonRig();
  try {
    const plans = Array.from({ length: options.jobs }, (_, i) => {
      const lock = BigInt(draw(1_000, 9_000)) * 10n ** 12n;
      // Some above the lock (claimed at the lock), some free (nothing to claim).
      const cost = i % 7 === 3 ? lock + 5n : BigInt(draw(0, 9_000)) * 10n ** 12n;
      return { lock, cost };
    });
    const jobs = await rig.startJobs(plans);

    // The first start creates the store before any swap is assigned (a new store refuses to
    // start when swaps of ours already exist: it could not know whether it sent for them).
    let daemon = rig.spawn();
    await waitFor(
      () => existsSync(join(rig.dataDir, 'store', 'store.json')),
      60_000,
      'the first daemon to create its store',
    );
    say(`store created in ${rig.dataDir}`);

    // The scenario (swaps assigned, jobs ending and publishing) runs while the daemon is killed.
    const users: string[] = [];
    const steps = Math.max(options.swaps, options.jobs) + 4;
    const endsAt = jobs.map((_, i) => Math.floor((i * steps) / Math.max(1, options.jobs)));
    // Spread over the kills (about 3.5 s a kill: a start and some work).
    const stepMs = Math.max(400, Math.floor((options.kills * 3_500) / steps));
    let step = 0;
    const scenario = async (): Promise<void> => {
      for (; step < steps; step += 1) {
        if (step < options.swaps) {
          const user = Wallet.createRandom().address;
          users.push(user);
          await rig.assignSwap(user, BigInt(draw(1, 1_000)) * 10n ** 12n);
        }
        jobs.forEach((job, i) => {
          if (endsAt[i] === step) rig.report(job, 'ended');
          if (endsAt[i]! + 2 === step) rig.report(job, 'published');
        });
        await sleep(stepMs);
      }
      jobs.forEach((job, i) => {
        if (endsAt[i]! + 2 >= steps) rig.report(job, 'published');
      });
    };
    const scenarioDone = scenario();

    for (let kill = 1; kill <= options.kills; kill += 1) {
      // One kill in five at any instant of the start (restore, connect); the others while it
      // works: the daemon takes seconds to start, so a blind timer would mostly hit that.
      if (draw(1, 5) === 1) await sleep(draw(0, 3_000));
      else if (await Promise.race([daemon.started, sleep(60_000).then(() => false)])) await sleep(draw(0, 1_500));
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      if (kill % 10 === 0 || kill === options.kills)
        say(`kill -9 #${kill}/${options.kills} (scenario step ${step}/${steps})`);
      daemon = rig.spawn();
    }
    await scenarioDone;

    say('kills done; letting the daemon finish every obligation');
    const total = options.swaps + options.jobs;
    await waitFor(async () => (await archivedCount(rig.dataDir)) === total, 240_000, `all ${total} machines to finish`);
    // SIGTERM to a daemon still loading its modules would meet Node's default (death by the
    // signal, nothing started): what is checked here is the stop of a running daemon.
    if (!(await Promise.race([daemon.started, sleep(60_000).then(() => false)])))
      throw new Error('the last daemon never started');
    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    const violations: string[] = [];
    if (code !== 0) violations.push(`the daemon exited ${code} on SIGTERM, not 0`);
    const report = await verify(rig, users, jobs, violations);
    return { ...report, dir: rig.dir, kills: options.kills, restarts: options.kills + 1 };
  } finally {
    await rig.stop();
  }
}

/**
 * No payout without a verified deposit: the machine recorded `verified` at the required
 * confirmations for the swap's own source transaction, and the EVM chain holds that deposit.
 */
async function checkDeposit(rig: DaemonRig, id: string, c: SwapContext, violations: string[]): Promise<void> {
  const d = c.deposit;
  if (d === null || d.verdict !== 'verified' || d.txHash !== c.terms.sourceTxHash)
    return void violations.push(`${id}: paid with deposit record ${JSON.stringify(d)}`);
  if (d.confirmations < d.required || d.required < DEPOSIT_CONFIRMATIONS)
    violations.push(`${id}: paid on ${d.confirmations} of ${d.required} confirmations`);
  const tx = await rig.evm.provider.getTransaction(d.txHash);
  const receipt = await rig.evm.provider.getTransactionReceipt(d.txHash);
  if (
    tx === null ||
    receipt?.status !== 1 ||
    getAddress(tx.to ?? '0x') !== getAddress(MINER_DEPOSIT_ADDRESS) ||
    tx.value < DEPOSIT_WEI ||
    getAddress(tx.from) !== getAddress(rig.depositor.address)
  )
    violations.push(`${id}: paid, but the chain does not hold its deposit ${d.txHash}`);
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function archivedCount(dataDir: string): Promise<number> {
  try {
    const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
      create: false,
      readOnly: true,
      knownMachines: knownMachineVersions,
    });
    return store.archivedIds.size;
  } catch {
    return -1; // between a daemon's start and its store: ask again
  }
}

async function verify(
  rig: DaemonRig,
  users: readonly string[],
  jobs: readonly JobPlan[],
  violations: string[],
): Promise<Omit<TortureReport, 'dir' | 'kills' | 'restarts'>> {
  const { subtensor, evm, fixture } = rig;
  const transferFrom = rig.transferWallet.address;
  const store = await openLowdbSnapshotStore(join(rig.dataDir, 'store'), {
    create: false,
    readOnly: true,
    knownMachines: knownMachineVersions,
  });
  const finals = await finalMachines(store);
  const { entries } = await readRecoveryLog(join(rig.dataDir, 'recovery.jsonl'));
  const recoveryKeys = new Set(entries.map((e) => e.key));
  const count = (kind: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [id, m] of finals) if (id.startsWith(`${kind}:`)) out[m.state] = (out[m.state] ?? 0) + 1;
    return out;
  };

  // Every transaction the transfer wallet sent, from the node's blocks.
  const sent = new Map<string, TransactionResponse[]>();
  const head = await evm.provider.getBlockNumber();
  for (let n = 0; n <= head; n += 1) {
    const block = await evm.provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== transferFrom.toLowerCase() || tx.to === null) continue;
      const to = getAddress(tx.to);
      sent.set(to, [...(sent.get(to) ?? []), tx]);
    }
  }
  let transfers = 0;
  for (const [index, user] of users.entries()) {
    const id = swapMachineId(String(index));
    const machine = finals.get(id);
    const txs = sent.get(getAddress(user)) ?? [];
    transfers += txs.length;
    if (machine === undefined) {
      violations.push(`${id}: never finished`);
      continue;
    }
    const swap = subtensor.contract.swaps.get(BigInt(index));
    const marks = subtensor.contract.executedMarks.filter((m) => m.swapId === BigInt(index)).length;
    if (marks > 1) violations.push(`${id}: mark_fulfilled executed ${marks} times`);
    if (txs.length > 0) await checkDeposit(rig, id, machine.context as SwapContext, violations);
    if (machine.state === 'Fulfilled') {
      if (txs.length !== 1) violations.push(`${id}: Fulfilled with ${txs.length} transfers to the user`);
      else if (swap?.destTxHash !== txs[0]!.hash)
        violations.push(`${id}: marked with ${swap?.destTxHash}, but the transfer is ${txs[0]!.hash}`);
      const context = machine.context as SwapContext;
      if (txs.length === 1 && txs[0]!.value !== BigInt(context.terms.destAmount))
        violations.push(`${id}: sent ${txs[0]!.value}, owed ${context.terms.destAmount}`);
    } else if (machine.state === 'Recovery') {
      if (txs.length > 1) violations.push(`${id}: ${txs.length} transfers`);
      if (!recoveryKeys.has(id)) violations.push(`${id}: in Recovery without a recovery entry`);
    } else if (txs.length !== 0) {
      violations.push(`${id}: ended ${machine.state} but ${txs.length} transfer(s) reached the user`);
    }
  }

  // Claims: what the escrow says about each job, from its events.
  const escrowEvents = await (fixture.escrow as Contract).queryFilter(
    (fixture.escrow as Contract).filters.Claimed!(),
    fixture.deployBlock,
  );
  const claimedById = new Map<bigint, bigint[]>();
  for (const event of escrowEvents) {
    const args = (event as unknown as { args: { jobId: bigint; amount: bigint } }).args;
    claimedById.set(args.jobId, [...(claimedById.get(args.jobId) ?? []), args.amount]);
  }
  let claimed = 0n;
  for (const job of jobs) {
    const id = jobMachineId({ chain: EVM_CHAIN, jobId: jobIdHex(job.id) });
    const machine = finals.get(id);
    const claims = claimedById.get(job.id) ?? [];
    claimed += claims.reduce((a, b) => a + b, 0n);
    if (machine === undefined) {
      violations.push(`${id}: never finished`);
      continue;
    }
    // biome-ignore lint/complexity/useMathMinMax: amounts are bigint
    const owed = job.cost < job.lock ? job.cost : job.lock;
    if (owed === 0n) {
      if (claims.length !== 0) violations.push(`${id}: cost 0 but claimed ${claims.join(', ')}`);
      continue;
    }
    if (machine.state === 'Recovery') {
      if (!recoveryKeys.has(id)) violations.push(`${id}: in Recovery without a recovery entry`);
      continue;
    }
    if (claims.length !== 1 || claims[0] !== owed)
      violations.push(`${id}: ${machine.state}, claims [${claims.join(', ')}], owed ${owed}`);
    const context = machine.context as JobContext;
    if (context.terms.payee.toLowerCase() !== fixture.payee.address.toLowerCase())
      violations.push(`${id}: payee ${context.terms.payee}`);
  }
  for (const key of recoveryKeys) {
    if (finals.get(key)?.state !== 'Recovery')
      violations.push(`recovery entry ${key} for a machine that is ${finals.get(key)?.state ?? 'unknown'}`);
  }
  return {
    swapStates: count('swap'),
    jobStates: count('job'),
    transfers,
    claimed,
    recoveryEntries: entries.length,
    violations,
  };
}
