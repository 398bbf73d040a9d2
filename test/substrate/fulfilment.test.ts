/**
 * End to end over WebSocket JSON-RPC: the real host, the real store on disk, the allways
 * contract adapter and the TAO sender, against the fake Subtensor served on 127.0.0.1. A swap
 * is fulfilled (one transfer, one mark with that transfer's hash and block), survives a host
 * that is dropped mid-way and restored from disk, and swaps with bad chain data are rejected
 * with a logged reason and no transfer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyringPair } from '@polkadot/keyring/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { knownMachineVersions, type SwapContext } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { NonceAllocator } from '../../src/chains/nonceAllocator.ts';
import { AllwaysAbi } from '../../src/chains/substrate/allwaysAbi.ts';
import { AllwaysSwapContract } from '../../src/chains/substrate/allwaysSwapContract.ts';
import { ExtrinsicSearch } from '../../src/chains/substrate/extrinsicSearch.ts';
import { SubstrateChain } from '../../src/chains/substrate/substrateChain.ts';
import { TaoTransferSender } from '../../src/chains/substrate/taoTransferSender.ts';
import { openHost, type Host } from '../../src/host/host.ts';
import type { Logger } from '../../src/host/ports.ts';
import { openLowdbSnapshotStore, type LowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryLog } from '../../src/store/recoveryLog.ts';
import { registry } from '../support/fakeSubtensor/runtime.ts';
import { FakeSubtensor } from '../support/fakeSubtensor/fakeSubtensor.ts';
import { devAccounts } from '../support/devAccounts.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { swapMachineId } from '../../machines/index.ts';

let alice: KeyringPair; // the miner's hotkey: marks
let bob: KeyringPair; // the miner's TAO wallet: transfers
let charlie: KeyringPair; // the user
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  ({ alice, bob, charlie } = await devAccounts());
});

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

async function startNode(): Promise<FakeSubtensor> {
  const node = await FakeSubtensor.start({ blockTimeMs: 25, finalityLag: 1 });
  opened.push({ close: () => node.stop() });
  node.endow(alice.address, 10n ** 12n);
  node.endow(bob.address, 10n ** 18n);
  return node;
}

interface Daemon {
  readonly host: Host;
  readonly store: LowdbSnapshotStore;
  readonly recoveryLog: RecoveryLog;
  readonly chain: SubstrateChain;
}

/** What `settle daemon` wires for the swap path; a fresh process each call. */
async function openDaemon(node: FakeSubtensor, dir: string, log: Logger, create: boolean): Promise<Daemon> {
  const chain = await SubstrateChain.connect(node.url, { log });
  opened.push({ close: () => chain.disconnect() });
  const search = new ExtrinsicSearch(chain);
  const nonces = new NonceAllocator();
  const contract = new AllwaysSwapContract({
    chain,
    search,
    abi: AllwaysAbi.load(),
    address: node.contractAddress,
    hotkey: alice,
    log,
    pollMs: 10,
    markTimeoutBlocks: 20,
  });
  const tao = new TaoTransferSender({ chain, search, signer: bob, nonces, log });
  const store = await openLowdbSnapshotStore(join(dir, 'store'), { create, knownMachines: knownMachineVersions });
  const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  const host = await openHost({
    store,
    recoveryLog,
    swapContract: contract,
    senders: new Map([['tao', tao]]),
    escrows: new Map(),
    clock: null,
    jobSource: null,
    log,
    cushion: 3,
  });
  return { host, store, recoveryLog, chain };
}

async function tickUntil(daemon: Daemon, done: () => boolean, maxTicks = 400): Promise<void> {
  for (let i = 0; i < maxTicks && !done(); i += 1) {
    await daemon.host.tick();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(done()).toBe(true);
}

/** The balances transfers in the chain's blocks, decoded. */
function transfersOnChain(node: FakeSubtensor): { hash: string; block: number; to: string; amount: bigint }[] {
  const found: { hash: string; block: number; to: string; amount: bigint }[] = [];
  for (const block of node.blocks) {
    for (const hex of block.extrinsics) {
      const extrinsic = registry.createType('Extrinsic', hex);
      if (extrinsic.method.section !== 'balances') continue;
      found.push({
        hash: extrinsic.hash.toHex(),
        block: block.number,
        to: extrinsic.method.args[0]!.toString(),
        amount: BigInt(extrinsic.method.args[1]!.toString()),
      });
    }
  }
  return found;
}

describe('swap fulfilment over @polkadot/api against a JSON-RPC node on 127.0.0.1', () => {
  it('sends once, marks with that transfer, and survives a host dropped after the send', async () => {
    const node = await startNode();
    const dir = mkdtempSync(join(tmpdir(), 'settle-fulfil-'));
    const lines: LogLine[] = [];
    const amount = 123_456_789_012_345_678n; // beyond 2^53: bigint all the way
    const before = node.balanceOf(charlie.address);
    node.contract.createSwap(
      { miner: alice.address, destChain: 'tao', userDestAddress: charlie.address, destAmount: amount },
      node.best.number,
      200,
    );

    const first = await openDaemon(node, dir, collectingLogger(lines), true);
    // Run until the transfer is signed and handed to the node, then drop this "process".
    await tickUntil(first, () => node.pool.length > 0 || transfersOnChain(node).length > 0);
    await first.chain.disconnect();

    const second = await openDaemon(node, dir, collectingLogger(lines), false);
    await tickUntil(second, () => second.store.archivedIds.size === 1);

    const finals = await finalMachines(second.store);
    const swap = finals.get('swap:0')!;
    expect(`${swap.state}: ${(swap.context as SwapContext).reason}`).toBe('Fulfilled: null');
    const transfers = transfersOnChain(node);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ to: charlie.address, amount });
    expect(node.balanceOf(charlie.address) - before).toBe(amount);
    expect(node.contract.executedMarks).toEqual([
      { swapId: 0n, destTxHash: transfers[0]!.hash, destTxBlock: transfers[0]!.block, destAmount: amount },
    ]);
    expect(node.contract.swaps.get(0n)!.status).toBe('Fulfilled');
    expect((swap.context as SwapContext).transfer!.hash).toBe(transfers[0]!.hash);
    expect(second.recoveryLog.entries()).toHaveLength(0);
    // Secrets never reach a log line.
    expect(JSON.stringify(lines)).not.toContain('//Alice');
  });

  it('rejects bad chain data with a logged reason and sends nothing', async () => {
    const node = await startNode();
    const dir = mkdtempSync(join(tmpdir(), 'settle-reject-'));
    const lines: LogLine[] = [];
    const now = node.best.number;
    const base = { miner: alice.address, destChain: 'tao', userDestAddress: charlie.address, destAmount: 5_000n };
    node.contract.createSwap({ ...base, destAmount: 0n }, now, 100); // 0: zero amount
    node.contract.createSwap({ ...base, destChain: 'doge' }, now, 100); // 1: unknown chain
    node.contract.createSwap({ ...base, userDestAddress: '5NotAnAddress' }, now, 100); // 2: unparsable address
    node.contract.createSwap({ ...base, userDestAddress: `0x${'ab'.repeat(32)}` }, now, 100); // 3: not SS58
    node.contract.createSwap(base, Math.max(0, now - 50), 1); // 4: timeout block already past
    while (node.best.number < now + 2) await new Promise((resolve) => setTimeout(resolve, 10));

    const daemon = await openDaemon(node, dir, collectingLogger(lines), true);
    await tickUntil(daemon, () => daemon.store.archivedIds.size === 5);

    const finals = await finalMachines(daemon.store);
    const reasons = [0, 1, 2, 3, 4].map((id) => {
      const machine = finals.get(swapMachineId(String(id)))!;
      expect(machine.state).toBe('Rejected');
      return (machine.context as SwapContext).reason;
    });
    expect(reasons[0]).toMatch(/payout for dest_amount 0 is 0: nothing to pay/);
    expect(reasons[1]).toMatch(/no transfer sender is configured for destination chain 'doge'/);
    expect(reasons[2]).toMatch(/'5NotAnAddress' is not an SS58 address for tao/);
    expect(reasons[3]).toMatch(/is not an SS58 address for tao/);
    expect(reasons[4]).toMatch(/the deadline \d+ is already past \(now \d+\)/);
    const rejections = lines.filter((l) => l.message === 'swap rejected: nothing will be sent');
    expect(rejections.map((l) => l.fields['machine']).sort()).toEqual([
      'swap:0',
      'swap:1',
      'swap:2',
      'swap:3',
      'swap:4',
    ]);
    expect(node.requests.filter((r) => r.method === 'author_submitExtrinsic')).toHaveLength(0);
    expect(transfersOnChain(node)).toHaveLength(0);
    expect(daemon.recoveryLog.entries()).toHaveLength(0);
  });
});
