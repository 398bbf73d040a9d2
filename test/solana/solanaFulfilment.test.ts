/**
 * End to end, SOL and USDC-on-Solana payouts through the real host and the real store on disk:
 * the allways contract adapter against the fake Subtensor, the Solana sender against LiteSVM's
 * real programs, both served on 127.0.0.1. A payout whose process dies after the broadcast is
 * adopted by the next life and paid once, marked with its signature and slot; a frozen
 * destination token account is Rejected with nothing signed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyringPair } from '@polkadot/keyring/types';
import { createSolanaRpc, generateKeyPairSigner, type Address, type KeyPairSigner } from '@solana/kit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { knownMachineVersions, swapMachineId, type SwapContext } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { AllwaysAbi } from '../../src/chains/substrate/allwaysAbi.ts';
import { AllwaysSwapContract } from '../../src/chains/substrate/allwaysSwapContract.ts';
import { ExtrinsicSearch } from '../../src/chains/substrate/extrinsicSearch.ts';
import { SubstrateChain } from '../../src/chains/substrate/substrateChain.ts';
import { SolanaTransferSender } from '../../src/chains/solana/solanaTransferSender.ts';
import type { SolanaAsset } from '../../src/chains/solana/solanaAssets.ts';
import { openHost, type Host } from '../../src/host/host.ts';
import type { Logger, TransferSender } from '../../src/host/ports.ts';
import { openLowdbSnapshotStore, type LowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryLog } from '../../src/store/recoveryLog.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { devAccounts } from '../support/devAccounts.ts';
import { FakeSubtensor } from '../support/fakeSubtensor/fakeSubtensor.ts';
import { startSolanaTestNode, type SolanaTestNode } from '../support/solana/litesvmRpc.ts';
import { SolanaFixture } from '../support/solana/solanaFixture.ts';

const SOL = 1_000_000_000n;
let alice: KeyringPair; // the miner's hotkey: marks
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  ({ alice } = await devAccounts());
});

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

interface World {
  readonly subtensor: FakeSubtensor;
  readonly solana: SolanaTestNode;
  readonly fx: SolanaFixture;
  readonly payer: KeyPairSigner;
  readonly nonceAccounts: Address[];
}

async function world(): Promise<World> {
  const subtensor = await FakeSubtensor.start({ blockTimeMs: 25, finalityLag: 1 });
  opened.push({ close: () => subtensor.stop() });
  subtensor.endow(alice.address, 10n ** 12n);
  const solana = await startSolanaTestNode();
  opened.push(solana);
  const fx = new SolanaFixture(solana);
  const payer = await fx.fundedKey(10n * SOL);
  return { subtensor, solana, fx, payer, nonceAccounts: await fx.nonceAccounts(payer, 1) };
}

interface Daemon {
  readonly host: Host;
  readonly store: LowdbSnapshotStore;
  readonly recoveryLog: RecoveryLog;
}

/** What `settle daemon` wires for Solana destinations; a fresh process each call (nothing kept in memory). */
async function openDaemon(
  w: World,
  dir: string,
  log: Logger,
  create: boolean,
  assets: Record<string, SolanaAsset>,
): Promise<Daemon> {
  const chain = await SubstrateChain.connect(w.subtensor.url, { log });
  opened.push({ close: () => chain.disconnect() });
  const contract = new AllwaysSwapContract({
    chain,
    search: new ExtrinsicSearch(chain),
    abi: AllwaysAbi.load(),
    address: w.subtensor.contractAddress,
    hotkey: alice,
    log,
    pollMs: 10,
    markTimeoutBlocks: 20,
  });
  const senders = new Map<string, TransferSender>(
    Object.entries(assets).map(([name, asset]) => [
      name,
      new SolanaTransferSender({
        chain: name,
        rpc: createSolanaRpc(w.solana.url),
        signer: w.payer,
        asset,
        nonceAccounts: w.nonceAccounts,
        log,
      }),
    ]),
  );
  const store = await openLowdbSnapshotStore(join(dir, 'store'), { create, knownMachines: knownMachineVersions });
  const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
  const host = await openHost({
    store,
    recoveryLog,
    swapContract: contract,
    senders,
    escrows: new Map(),
    clock: null,
    jobSource: null,
    log,
    cushion: 3,
  });
  return { host, store, recoveryLog };
}

/** Ticks the host, one Solana block per tick (the Subtensor makes its own). */
async function tickUntil(w: World, daemon: Daemon, done: () => boolean, maxTicks = 400): Promise<void> {
  for (let i = 0; i < maxTicks; i += 1) {
    await daemon.host.tick();
    if (done()) return;
    w.solana.chain.produceBlocks(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(done()).toBe(true);
}

describe('Solana payouts through the host and the store', () => {
  it('SOL: a process that dies after the broadcast is followed by one that adopts the transfer; paid once, marked with its signature and slot', async () => {
    const w = await world();
    const dir = mkdtempSync(join(tmpdir(), 'settle-sol-'));
    const lines: LogLine[] = [];
    const user = (await generateKeyPairSigner()).address;
    w.subtensor.contract.createSwap(
      { miner: alice.address, destChain: 'sol', userDestAddress: user, destAmount: 2n * SOL },
      w.subtensor.best.number,
      400,
    );

    const first = await openDaemon(w, dir, collectingLogger(lines), true, { sol: { kind: 'sol' } });
    await tickUntil(w, first, () => w.solana.chain.poolSize > 0);
    // The first process dies here: its transfer is in the node's pool, not yet in a block.

    const second = await openDaemon(w, dir, collectingLogger(lines), false, { sol: { kind: 'sol' } });
    await tickUntil(w, second, () => second.store.archivedIds.size === 1);
    const swap = (await finalMachines(second.store)).get(swapMachineId('0'))!;
    const transfer = (swap.context as SwapContext).transfer!;
    expect(`${swap.state}: ${(swap.context as SwapContext).reason}`).toBe('Fulfilled: null');
    expect(w.fx.lamports(user, 'processed')).toBe(2n * SOL);
    const status = w.solana.chain.status(transfer.hash, 'finalized')!;
    expect(w.subtensor.contract.executedMarks).toEqual([
      { swapId: 0n, destTxHash: transfer.hash, destTxBlock: Number(status.slot), destAmount: 2n * SOL },
    ]);
    expect(second.recoveryLog.entries()).toHaveLength(0);
  });

  it('USDC: a frozen destination token account is Rejected with the reason, and nothing is signed', async () => {
    const w = await world();
    const dir = mkdtempSync(join(tmpdir(), 'settle-solusdc-'));
    const lines: LogLine[] = [];
    const issuer = await w.fx.fundedKey(SOL);
    const mint = await w.fx.mint(issuer, 6);
    await w.fx.mintTo(issuer, mint, w.payer.address, 10_000_000n, 6);
    const frozenUser = (await generateKeyPairSigner()).address;
    await w.fx.freeze(issuer, mint, await w.fx.mintTo(issuer, mint, frozenUser, 0n, 6));
    const user = (await generateKeyPairSigner()).address;
    const now = w.subtensor.best.number;
    w.subtensor.contract.createSwap(
      { miner: alice.address, destChain: 'solusdc', userDestAddress: frozenUser, destAmount: 1_000_000n },
      now,
      400,
    );
    w.subtensor.contract.createSwap(
      { miner: alice.address, destChain: 'solusdc', userDestAddress: user, destAmount: 2_500_000n },
      now,
      400,
    );

    const daemon = await openDaemon(w, dir, collectingLogger(lines), true, {
      solusdc: { kind: 'spl', mint, decimals: 6 },
    });
    await tickUntil(w, daemon, () => daemon.store.archivedIds.size === 2);
    const finals = await finalMachines(daemon.store);
    const refused = finals.get(swapMachineId('0'))!;
    expect(refused.state).toBe('Rejected');
    expect((refused.context as SwapContext).transfer).toBeNull();
    expect((refused.context as SwapContext).reason).toMatch(/frozen: it cannot receive/);
    expect(finals.get(swapMachineId('1'))!.state).toBe('Fulfilled');
    expect(w.fx.tokens(await w.fx.ata(user, mint), 'processed')).toBe(2_500_000n);
    expect(w.subtensor.contract.executedMarks.map((m) => m.swapId)).toEqual([1n]);
    expect(lines.some((l) => JSON.stringify(l).includes('frozen: it cannot receive'))).toBe(true);
  });
});
