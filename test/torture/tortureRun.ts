/**
 * The daemon's kill -9 torture: `settle daemon` as a real child process against a local EVM
 * node (hardhat: swap transfers in its coin, jobs paid through the project's Escrow) and the
 * fake Subtensor (the allways contract), killed with SIGKILL at random instants and restarted
 * each time, while swaps are assigned and jobs end and publish. Between kills it also copies the
 * data directory aside (a VM snapshot, a backup) and, some kills later, puts the older copy
 * back: the daemon then holds signing on the chains that show what the copy does not know,
 * and an operator (here, `settle reconcile` driven by the run) adopts each unknown transfer
 * for the open swap it matches and dismisses the rest. Then it runs to the end,
 * stops on SIGTERM, and the chains are checked:
 * - exactly one transfer to the user of every Fulfilled swap, marked with that transfer's
 *   hash; none for a swap that ended without sending; at most one (and a recovery entry) for
 *   one in Recovery; no mark_fulfilled executed twice; a swap a put-back copy never knew
 *   (fulfilled by the life it forgot) has one transfer, the one the contract is marked with;
 *   no transfer to a user whose deposit the machine did not record verified at the required
 *   confirmations, or that the EVM chain does not hold (issue 16);
 * - every job that ended with a cost is claimed: min(cost, lock) reached the payee, once;
 * - every machine in Recovery has its recovery-log entry, and the log has no other.
 * Used by test/torture/torture.test.ts (CI) and `npm run torture -- --kills N`.
 */

import { cpSync, existsSync, rmSync } from 'node:fs';
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
  runSettle,
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
  /** Every this many kills, a copy of the data directory is taken; 0: never. */
  readonly backupEvery?: number;
  /** Kills between a copy and putting it back. */
  readonly restoreAfter?: number;
}

export interface TortureReport {
  readonly dir: string;
  readonly kills: number;
  readonly restarts: number;
  /** Older copies of the data directory put back between kills. */
  readonly restores: number;
  /** Unknown transfers the operator adopted and dismissed after those restores. */
  readonly adopted: number;
  readonly dismissed: number;
  /** Swaps fulfilled by a life a put-back copy forgot (unknown to the final store). */
  readonly fulfilledForgotten: number;
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

    const backupEvery = options.backupEvery ?? 10;
    const restoreAfter = options.restoreAfter ?? 4;
    const backup = join(rig.dir, 'backup');
    let backupAt: number | null = null;
    const restored = { restores: 0, adopted: 0, dismissed: 0 };
    for (let kill = 1; kill <= options.kills; kill += 1) {
      // One kill in five at any instant of the start (restore, connect); the others while it
      // works: the daemon takes seconds to start, so a blind timer would mostly hit that.
      if (draw(1, 5) === 1) await sleep(draw(0, 3_000));
      else if (await Promise.race([daemon.started, sleep(60_000).then(() => false)])) await sleep(draw(0, 1_500));
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      if (kill % 10 === 0 || kill === options.kills)
        say(`kill -9 #${kill}/${options.kills} (scenario step ${step}/${steps})`);
      // The daemon is dead: a copy now is what a VM snapshot or a backup of a crashed host holds.
      if (backupEvery > 0 && kill % backupEvery === 1 && existsSync(join(rig.dataDir, 'store', 'store.json'))) {
        rmSync(backup, { recursive: true, force: true });
        cpSync(rig.dataDir, backup, { recursive: true });
        backupAt = kill;
      } else if (backupAt !== null && kill === backupAt + restoreAfter) {
        rmSync(rig.dataDir, { recursive: true, force: true });
        cpSync(backup, rig.dataDir, { recursive: true });
        const decided = await operatorReconciles(rig);
        restored.restores += 1;
        restored.adopted += decided.adopted;
        restored.dismissed += decided.dismissed;
        say(
          `kill -9 #${kill}: put back the copy taken at kill #${backupAt}; the operator adopted ${decided.adopted} and dismissed ${decided.dismissed} unknown transfer(s)`,
        );
        backupAt = null;
      }
      daemon = rig.spawn();
    }
    await scenarioDone;

    say('kills done; letting the daemon finish every obligation');
    const total = options.swaps + options.jobs;
    await waitFor(
      async () => (await finishedCount(rig, users.length)) === total,
      240_000,
      `all ${total} obligations to finish`,
    );
    // SIGTERM to a daemon still loading its modules would meet Node's default (death by the
    // signal, nothing started): what is checked here is the stop of a running daemon.
    if (!(await Promise.race([daemon.started, sleep(60_000).then(() => false)])))
      throw new Error('the last daemon never started');
    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    const violations: string[] = [];
    if (code !== 0) violations.push(`the daemon exited ${code} on SIGTERM, not 0`);
    // Every hold the put-back copies met was lifted by the operator's decisions.
    const status = await settle(['status', '--json', '--config', rig.configPath]);
    const held = (JSON.parse(status.stdout) as { signingHeld: unknown[] }).signingHeld;
    if (held.length > 0) violations.push(`signing still held at the end: ${JSON.stringify(held)}`);
    const report = await verify(rig, users, jobs, violations);
    return { ...report, ...restored, dir: rig.dir, kills: options.kills, restarts: options.kills + 1 };
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

/** Obligations finished: archived, or a swap the store never knew that the contract shows Fulfilled. */
async function finishedCount(rig: DaemonRig, swaps: number): Promise<number> {
  try {
    const store = await openLowdbSnapshotStore(join(rig.dataDir, 'store'), {
      create: false,
      readOnly: true,
      knownMachines: knownMachineVersions,
    });
    let forgotten = 0;
    for (let id = 0; id < swaps; id += 1) {
      if (store.placeOf(`swap:${id}`) === null && rig.subtensor.contract.swaps.get(BigInt(id))?.status === 'Fulfilled')
        forgotten += 1;
    }
    return store.archivedIds.size + forgotten;
  } catch {
    return -1; // between a daemon's start and its store: ask again
  }
}

/** An operator's command: it had no limit of its own here; ten minutes stands for none (the test allows 15). */
const settle = (args: readonly string[]) => runSettle(args, 600_000);

interface Survey {
  readonly verdict: { readonly chain: string };
  readonly findings: ReadonlyArray<{
    item: { id: string | null; nonce: number | null };
    activity: { id: string } | null;
    matches: ReadonlyArray<{ swapId: string }>;
  }>;
}

/**
 * What an operator does after putting a backup back: lists the transactions the chains show
 * that the copy does not know, adopts each for the one open swap it matches, and dismisses the
 * rest (transfers of swaps already marked, which the host will never create again).
 */
async function operatorReconciles(rig: DaemonRig): Promise<{ adopted: number; dismissed: number }> {
  const listed = await settle(['reconcile', 'list', '--json', '--config', rig.configPath]);
  if (listed.status !== 0) throw new Error(`settle reconcile list exited ${listed.status}: ${listed.stderr}`);
  let adopted = 0;
  let dismissed = 0;
  for (const { verdict, findings } of JSON.parse(listed.stdout) as Survey[]) {
    for (const { item, activity, matches } of findings) {
      const id = activity?.id ?? item.id;
      const args =
        matches.length === 1 && id !== null
          ? [
              'reconcile',
              'adopt',
              id,
              '--swap',
              matches[0]!.swapId,
              '--by',
              'torture',
              '--reason',
              'same recipient and amount as the open swap',
            ]
          : [
              'reconcile',
              'dismiss',
              ...(id === null ? ['--nonce', String(item.nonce)] : [id]),
              '--chain',
              verdict.chain,
              '--by',
              'torture',
              '--reason',
              'pays no open swap (one the forgotten life marked)',
            ];
      const done = await settle([...args, '--config', rig.configPath]);
      if (done.status !== 0)
        throw new Error(`settle ${args.slice(0, 2).join(' ')} exited ${done.status}: ${done.stderr}`);
      if (args[1] === 'adopt') adopted += 1;
      else dismissed += 1;
    }
  }
  return { adopted, dismissed };
}

type Verified = Omit<TortureReport, 'dir' | 'kills' | 'restarts' | 'restores' | 'adopted' | 'dismissed'>;

async function verify(
  rig: DaemonRig,
  users: readonly string[],
  jobs: readonly JobPlan[],
  violations: string[],
): Promise<Verified> {
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
  let fulfilledForgotten = 0;
  for (const [index, user] of users.entries()) {
    const id = swapMachineId(String(index));
    const machine = finals.get(id);
    const txs = sent.get(getAddress(user)) ?? [];
    transfers += txs.length;
    const swap = subtensor.contract.swaps.get(BigInt(index));
    if (machine === undefined && store.placeOf(id) === null && swap?.status === 'Fulfilled') {
      // Fulfilled by a life that a put-back copy forgot; the store never saw it again.
      fulfilledForgotten += 1;
      if (txs.length !== 1 || swap.destTxHash !== txs[0]!.hash)
        violations.push(
          `${id}: fulfilled by a forgotten life with ${txs.length} transfers (marked ${swap.destTxHash})`,
        );
      continue;
    }
    if (machine === undefined) {
      violations.push(`${id}: never finished`);
      continue;
    }
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
    fulfilledForgotten,
    violations,
  };
}
