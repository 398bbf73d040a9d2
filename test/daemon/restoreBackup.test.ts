/**
 * A backup put back never pays twice: `settle daemon` against a local EVM node and the fake
 * Subtensor. A swap waits in Sending (the wallet is short of funds) when the data directory is
 * copied aside; the daemon then runs on, pays and marks it. Put back, first the store alone
 * (the witness journal is newer), then the whole directory (only the chain can tell): each
 * time the daemon holds signing on that chain, says so, and pays nothing; the swap waits. The
 * operator lists the unknown transaction, sees it matches the swap, adopts it, and the swap is
 * marked with it: one transfer to the user in all.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getAddress, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownMachineVersions } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { EVM_CHAIN, runSettle, startDaemonRig, type DaemonChild, type DaemonRig } from '../support/daemonRig.ts';

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the daemons said:\n${daemonLogTail()}`);
    await sleep(200);
  }
}

/** The last lines the daemons wrote: what a timeout here needs explained. */
function daemonLogTail(lines = 60): string {
  return readFileSync(join(rig.dir, 'daemon.log'), 'utf8').split('\n').slice(-lines).join('\n');
}

let rig: DaemonRig;
beforeAll(async () => {
  rig = await startDaemonRig();
}, 120_000);
afterAll(async () => {
  await rig?.stop();
});

async function machine(id: string): Promise<{ live: string | null; final: string | null }> {
  try {
    const store = await openLowdbSnapshotStore(join(rig.dataDir, 'store'), {
      create: false,
      readOnly: true,
      knownMachines: knownMachineVersions,
    });
    const live = (await store.loadLive()).find((r) => r.id === id);
    const final = (await finalMachines(store)).get(id)?.state ?? null;
    return { live: live === undefined ? null : String((live.snapshot as { value: unknown }).value), final };
  } catch {
    return { live: null, final: null };
  }
}

/** Every transaction from the transfer wallet to `user`, from the node's blocks. */
async function transfersTo(user: string): Promise<string[]> {
  const hashes: string[] = [];
  const head = await rig.evm.provider.getBlockNumber();
  for (let n = 0; n <= head; n += 1) {
    for (const tx of (await rig.evm.provider.getBlock(n, true))?.prefetchedTransactions ?? []) {
      if (tx.from === rig.transferWallet.address && tx.to !== null && getAddress(tx.to) === getAddress(user))
        hashes.push(tx.hash);
    }
  }
  return hashes;
}

async function stop(daemon: DaemonChild): Promise<void> {
  daemon.child.kill('SIGTERM');
  expect((await daemon.exited).code).toBe(0);
}

/** Starts a daemon on a restored directory and waits until it has said signing is held and ticked a while. */
async function startHeld(): Promise<DaemonChild> {
  const daemon = rig.spawn();
  expect(await daemon.started).toBe(true);
  await until(() => daemon.output().includes('signing held'), 'the daemon to hold signing');
  await sleep(3_000); // ticks go by: the swap is asked to send again and again
  return daemon;
}

describe('a backup put back never pays twice (daemon, hardhat, fake Subtensor)', () => {
  it('holds signing on the chain, pays nothing, and marks the swap with the transfer the operator adopts', async () => {
    const user = Wallet.createRandom().address;
    const amount = 7n * 10n ** 15n;
    // Short of funds: the swap waits in Sending with nothing signed.
    await rig.evm.provider.send('hardhat_setBalance', [rig.transferWallet.address, '0x1000']);
    let daemon = rig.spawn();
    expect(await daemon.started).toBe(true);
    rig.assignSwap(user, amount);
    await until(async () => (await machine('swap:0')).live === 'Sending', 'swap:0 in Sending');
    await stop(daemon);
    const backup = join(rig.dir, 'backup');
    cpSync(rig.dataDir, backup, { recursive: true });

    // The daemon runs on: funded, it pays and marks the swap.
    await rig.evm.provider.send('hardhat_setBalance', [rig.transferWallet.address, '0x56BC75E2D63100000']);
    daemon = rig.spawn();
    await until(async () => (await machine('swap:0')).final === 'Fulfilled', 'swap:0 Fulfilled');
    await stop(daemon);
    const [paid] = await transfersTo(user);
    expect(await transfersTo(user)).toHaveLength(1);

    // Only the store put back: the witness journal is newer and says so.
    for (const name of ['store', 'recovery.jsonl']) {
      rmSync(join(rig.dataDir, name), { recursive: true, force: true });
      if (existsSync(join(backup, name))) cpSync(join(backup, name), join(rig.dataDir, name), { recursive: true });
    }
    daemon = await startHeld();
    expect(daemon.output()).toMatch(
      new RegExp(
        `"chain":"${EVM_CHAIN}","account":"${rig.transferWallet.address}".*"chainShows":"next nonce \\d+".*"storeKnows":".*opened at position \\d+"`,
      ),
    );
    expect(daemon.output()).toMatch(
      /broadcast at position \d+ of store [0-9a-f]{32}, but the store was opened at position \d+/,
    );
    expect(await transfersTo(user)).toHaveLength(1);
    expect((await machine('swap:0')).live).toBe('Sending');
    await stop(daemon);

    // The whole data directory put back: only the chain can tell.
    rmSync(rig.dataDir, { recursive: true, force: true });
    cpSync(backup, rig.dataDir, { recursive: true });
    daemon = await startHeld();
    expect(daemon.output()).toMatch(
      /the chain shows nonce \d+ of 0x[0-9a-fA-F]{40} used or pending; no transaction known here has it/,
    );
    expect(await transfersTo(user)).toHaveLength(1);
    // The payment the put-back store forgot is in the recovery log, naming the account.
    const recovery = readFileSync(join(rig.dataDir, 'recovery.jsonl'), 'utf8');
    expect(recovery).toMatch(new RegExp(`"key":"witness:${EVM_CHAIN}:${rig.transferWallet.address}#\\d+"`));
    expect(recovery).toContain(`account ${rig.transferWallet.address} made transaction (nonce`);
    const status = await runSettle(['status', '--config', rig.configPath]);
    expect(status.stdout).toMatch(
      new RegExp(`SIGNING HELD on ${EVM_CHAIN} \\(${rig.transferWallet.address}\\): 1 transaction`),
    );

    // The operator: list, adopt; the daemon marks the swap with that very transfer.
    const list = await runSettle(['reconcile', 'list', '--config', rig.configPath]);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`SIGNING HELD, 1 unknown transaction(s)`);
    expect(list.stdout).toContain(`${paid}: a coin transfer (block`);
    expect(list.stdout).toContain(
      `matches swap 0 (Sending, ${amount} to ${getAddress(user)}): settle reconcile adopt ${paid} --swap 0`,
    );
    const wrong = await runSettle([
      'reconcile',
      'adopt',
      paid!,
      '--swap',
      '5',
      '--by',
      'ops',
      '--reason',
      'x',
      '--config',
      rig.configPath,
    ]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/does not pay open swap 5/);
    const adopt = await runSettle([
      'reconcile',
      'adopt',
      paid!,
      '--swap',
      '0',
      '--by',
      'ops',
      '--reason',
      'the backup predates this transfer; same recipient and amount',
      '--config',
      rig.configPath,
    ]);
    expect(adopt.status).toBe(0);
    await until(
      async () => (await machine('swap:0')).final === 'Fulfilled',
      'swap:0 Fulfilled with the adopted transfer',
    );
    expect(daemon.output()).toContain('signing resumes');
    await stop(daemon);
    expect(await transfersTo(user)).toEqual([paid]);
    expect(rig.subtensor.contract.swaps.get(0n)?.destTxHash).toBe(paid);
    const decisions = readFileSync(join(rig.dataDir, 'reconcile.jsonl'), 'utf8');
    expect(decisions).toContain('"by":"ops"');
  }, 420_000);
});
