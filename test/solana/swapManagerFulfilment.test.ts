/**
 * End to end on the Solana swap manager: the real host and durable store, the Solana adapter
 * and the SOL sender (durable nonces), against the cluster served on 127.0.0.1 (FakeCluster + SwapManagerModel).
 * A swap is paid once, 99% of its pinned to_amount, from the pinned miner_to_addr, marked with
 * that very payout (at confirmed, with its slot), across a host dropped after the send; the
 * validators' own check of the payout then passes and they confirm it. Bad chain data never
 * sends: each case is Rejected with its reason logged.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSolanaRpc } from '@solana/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { knownMachineVersions, type SwapContext } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { SolanaTransferSender } from '../../src/chains/solana/solanaTransferSender.ts';
import { SolanaSwapContract } from '../../src/chains/solana/swapManager/solanaSwapContract.ts';
import { SwapManagerClient } from '../../src/chains/solana/swapManager/swapManagerClient.ts';
import { openHost, type Host } from '../../src/host/host.ts';
import type { Logger } from '../../src/host/ports.ts';
import { openLowdbSnapshotStore, type LowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../../src/store/recoveryLog.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { FakeCluster } from '../support/solana/fakeCluster.ts';
import { newKeypair, type TestKeypair } from '../support/solana/keys.ts';
import { REF, swapAccountBytes } from '../support/solana/swapManagerBytes.ts';
import { SwapManagerModel } from '../support/solana/swapManagerProgram.ts';

const MAINNET = '5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d';
const clusters: FakeCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
});

interface Rig {
  /** Durable nonce accounts of the miner's key: the SOL sender signs payouts against them. */
  readonly nonceAccounts: readonly string[];
  readonly cluster: FakeCluster;
  readonly program: SwapManagerModel;
  readonly miner: TestKeypair;
  readonly url: string;
}

async function rig(): Promise<Rig> {
  const cluster = new FakeCluster(MAINNET, 1_780_000_000);
  clusters.push(cluster);
  const program = new SwapManagerModel(cluster);
  const miner = newKeypair();
  cluster.fund(miner.address, 50_000_000_000n);
  program.createMinerState(miner.address);
  const nonceAccounts = [newKeypair().address, newKeypair().address];
  for (const account of nonceAccounts) cluster.createNonceAccount(account, miner.address);
  const url = await cluster.listen();
  cluster.autoAdvance(5);
  return { cluster, program, miner, url, nonceAccounts };
}

function swap(r: Rig, n: number, over: Record<string, unknown> = {}) {
  return {
    user: newKeypair().address,
    miner: r.miner.address,
    fromChain: 'btc',
    toChain: 'sol',
    userFromAddr: 'bc1quser',
    userToAddr: newKeypair().address,
    minerFromAddr: 'bc1qminer',
    minerToAddr: r.miner.address,
    rate: 10n ** 18n,
    collateralChain: 'sol',
    collateralAmount: 1_000_000_000n,
    fromAmount: 100_000n,
    toAmount: 2_000_000_199n,
    fromTxHash: `btc-deposit-${n}`,
    fromTxBlock: 840_000 + n,
    toTxHash: '',
    toTxBlock: 0,
    fulfilledAt: 0,
    bump: 254,
    hotkey: '00'.repeat(32),
    ...over,
  };
}

/** What `settle daemon` wires for a Solana swap manager; a fresh process each call. */
async function openDaemon(
  r: Rig,
  dir: string,
  log: Logger,
  create: boolean,
): Promise<{ host: Host; store: LowdbSnapshotStore }> {
  const rpc = createSolanaRpc(r.url);
  const signer = await r.miner.signer();
  const client = new SwapManagerClient({
    rpc,
    programId: REF.programId,
    signer,
    log,
    pollMs: 5,
    markTimeoutMs: 20_000,
  });
  const store = await openLowdbSnapshotStore(join(dir, 'store'), { create, knownMachines: knownMachineVersions });
  const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  const sol = new SolanaTransferSender({
    chain: 'sol',
    rpc,
    signer,
    asset: { kind: 'sol' },
    nonceAccounts: r.nonceAccounts as never,
    log,
  });
  const host = await openHost({
    store,
    recoveryLog,
    swapContract: new SolanaSwapContract(client),
    senders: new Map([['sol', sol]]),
    escrows: new Map(),
    clock: null,
    jobSource: null,
    log,
  });
  return { host, store };
}

async function tickUntil(host: Host, done: () => boolean | Promise<boolean>, maxTicks = 600): Promise<void> {
  for (let i = 0; i < maxTicks && !(await done()); i += 1) {
    await host.tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(await done()).toBe(true);
}

/** Every System transfer the cluster included: signature, slot, fee payer, to, lamports received. */
function payouts(cluster: FakeCluster) {
  return cluster
    .systemTransfers()
    .map((t) => ({ signature: t.signature, slot: t.slot, from: t.feePayer, to: t.to, lamports: t.received }));
}

describe('Solana swap manager, end to end', () => {
  it('pays 99% once from the pin, marks with that payout, across a dropped host; the validators confirm it', async () => {
    const r = await rig();
    const dir = mkdtempSync(join(tmpdir(), 'settle-solswap-'));
    const lines: LogLine[] = [];
    const fields = swap(r, 1);
    const key = r.program.initiate(fields);

    const first = await openDaemon(r, dir, collectingLogger(lines), true);
    // Run until the payout is signed and handed to the cluster, then drop this "process".
    await tickUntil(first.host, () => r.cluster.mempool.length > 0 || payouts(r.cluster).length > 0);
    const second = await openDaemon(r, dir, collectingLogger(lines), false);
    await tickUntil(second.host, () => second.store.archivedIds.size === 1);

    const machine = (await finalMachines(second.store)).get(`swap:${key}`)!;
    const context = machine.context as SwapContext;
    expect(`${machine.state}: ${context.reason}`).toBe('Fulfilled: null');
    const paid = payouts(r.cluster);
    expect(paid).toHaveLength(1);
    expect(paid[0]).toMatchObject({
      from: r.miner.address,
      to: fields.userToAddr,
      lamports: 2_000_000_199n - 20_000_001n,
    });
    expect(context.transfer!.hash).toBe(paid[0]!.signature);
    expect(r.program.appliedMarks()).toEqual([expect.objectContaining({ key, toTxHash: paid[0]!.signature })]);
    expect(r.program.swap(key)).toMatchObject({ status: 1, toTxHash: paid[0]!.signature, toTxBlock: paid[0]!.slot });
    // What the validators check before they vote confirm, once the payout has 32 confirmations.
    while (r.cluster.slot - paid[0]!.slot + 1 < 32) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(r.program.verifyPayout(key)).toBe('ok');
    expect(r.program.confirm(key)).toBeNull();
    expect(r.program.minerState(r.miner.address)?.successfulSwaps).toBe(1);
    expect(JSON.stringify(lines)).not.toContain(r.miner.json.slice(1, 40));
  });

  it('never sends for bad chain data: each swap Rejected with its reason logged', async () => {
    const r = await rig();
    const dir = mkdtempSync(join(tmpdir(), 'settle-solswap-bad-'));
    const lines: LogLine[] = [];
    const keys = {
      payoutZero: r.program.initiate({ ...swap(r, 1), toAmount: 0n }),
      unknownChain: r.program.initiate({ ...swap(r, 2), toChain: 'doge', collateralChain: 'tao' }),
      notOurPin: r.program.initiate({ ...swap(r, 3), minerToAddr: newKeypair().address, collateralChain: 'tao' }),
    };
    // A deadline already past, on a swap of its own hub... (both hubs used: this one is checked before the hub rule)
    const late = r.program.initiate({ ...swap(r, 4), timeoutSecs: 1 });
    r.cluster.warp(5);
    // An account of ours that does not decode: logged and skipped, the others still served.
    const broken = swapAccountBytes({
      ...swap(r, 5),
      status: 9,
      initiatedAt: 1,
      timeoutAt: 2,
      maxExtendAt: 3,
    } as never);
    r.program.plantAccount(newKeypair().address, broken);

    const daemon = await openDaemon(r, dir, collectingLogger(lines), true);
    await tickUntil(daemon.host, () => daemon.store.archivedIds.size === 4);
    const finals = await finalMachines(daemon.store);
    const reason = (k: string) =>
      `${finals.get(`swap:${k}`)!.state}: ${(finals.get(`swap:${k}`)!.context as SwapContext).reason}`;
    expect(reason(keys.payoutZero)).toMatch(/^Rejected: the contract's payout for dest_amount 0 is 0/);
    expect(reason(keys.unknownChain)).toMatch(
      /^Rejected: destination chain 'doge' is not one the swap manager's validators verify/,
    );
    expect(reason(keys.notOurPin)).toMatch(
      /^Rejected: the pinned sender \w+ is not an address this daemon holds the key for on 'sol'/,
    );
    expect(reason(late)).toMatch(/^Rejected: the deadline \d+ is already past/);
    expect(payouts(r.cluster)).toEqual([]);
    expect(r.program.appliedMarks()).toEqual([]);
    expect(lines.filter((l) => l.message === 'swap rejected: nothing will be sent')).toHaveLength(4);
    expect(lines.some((l) => l.message?.includes('does not decode'))).toBe(true);
  });

  it('refuses a second live swap on one hub (the program allows one per hub): the newer is Rejected', async () => {
    const r = await rig();
    const dir = mkdtempSync(join(tmpdir(), 'settle-solswap-hub-'));
    const older = r.program.initiate(swap(r, 1));
    r.cluster.warp(3);
    const newer = r.program.initiate(swap(r, 2));
    const other = r.program.initiate({ ...swap(r, 3), collateralChain: 'tao' });
    const daemon = await openDaemon(r, dir, collectingLogger([]), true);
    await daemon.host.tick();
    const states = Object.fromEntries(daemon.host.machines().map((m) => [m.id, m.state]));
    expect(states[`swap:${older}`]).not.toBe('Rejected');
    expect(states[`swap:${other}`]).not.toBe('Rejected');
    expect(daemon.store.placeOf(`swap:${newer}`)).toBe('archived');
    const finals = await finalMachines(daemon.store);
    expect((finals.get(`swap:${newer}`)!.context as SwapContext).reason).toMatch(
      new RegExp(`hub 'sol' already holds swap ${older}`),
    );
  });
});
