/**
 * RPC calls per swap lifecycle on the real adapters: the host with the allways contract over
 * @polkadot/api (against the fake Subtensor, which counts every request) and the EVM transfer
 * sender over ethers (against a local hardhat node, requests counted at the provider). Swaps
 * are assigned at once and the host ticks every 100 ms until all are Fulfilled; the calls of
 * an idle tick (the poll alone) are measured separately so the figure can be read for other
 * poll intervals.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JsonRpcProvider, Wallet, type JsonRpcPayload, type JsonRpcResult } from 'ethers';
import pino from 'pino';
import { knownMachineVersions } from '../machines/index.ts';
import { EvmTransferSender } from '../src/chains/evm/evmTransferSender.ts';
import { AllwaysAbi } from '../src/chains/substrate/allwaysAbi.ts';
import { AllwaysSwapContract } from '../src/chains/substrate/allwaysSwapContract.ts';
import { ExtrinsicSearch } from '../src/chains/substrate/extrinsicSearch.ts';
import { SubstrateChain } from '../src/chains/substrate/substrateChain.ts';
import { openHost } from '../src/host/host.ts';
import { openLowdbSnapshotStore } from '../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../src/store/recoveryLog.ts';
import { devAccounts } from '../test/support/devAccounts.ts';
import { startEvmNode } from '../test/support/evmNode.ts';
import { FakeSubtensor } from '../test/support/fakeSubtensor/fakeSubtensor.ts';

/** Counts every JSON-RPC request ethers sends (a batch counts each of its calls). */
class CountingProvider extends JsonRpcProvider {
  calls = 0;
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    this.calls += Array.isArray(payload) ? payload.length : 1;
    return super._send(payload);
  }
}

export interface AdapterRpc {
  readonly swaps: number;
  readonly subtensorPerLifecycle: number;
  readonly evmPerLifecycle: number;
  readonly ticks: number;
  /** Subtensor calls of one tick with nothing assigned: the poll's own cost. */
  readonly idleTickSubtensor: number;
}

export async function adapterRpcPerSwap(swaps: number): Promise<AdapterRpc> {
  const log = pino({ level: 'silent' });
  const { alice } = await devAccounts();
  const subtensor = await FakeSubtensor.start({ blockTimeMs: 100, finalityLag: 1 });
  const evm = await startEvmNode();
  const chain = await SubstrateChain.connect(subtensor.url, { log });
  try {
    subtensor.endow(alice.address, 10n ** 12n);
    const provider = new CountingProvider(evm.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const search = new ExtrinsicSearch(chain);
    const contract = new AllwaysSwapContract({
      chain,
      search,
      abi: AllwaysAbi.load(),
      address: subtensor.contractAddress,
      hotkey: alice,
      log,
      pollMs: 50,
    });
    const sender = new EvmTransferSender({
      chain: 'eth',
      provider,
      wallet: evm.wallet(4).connect(provider),
      chainId: 31337n,
      asset: { kind: 'native' },
      confirmations: 1,
      log,
    });
    const dir = mkdtempSync(join(tmpdir(), 'settle-bench-rpc-'));
    const store = await openLowdbSnapshotStore(join(dir, 'store'), {
      create: true,
      knownMachines: knownMachineVersions,
    });
    const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
    const host = await openHost({
      store,
      recoveryLog,
      swapContract: contract,
      senders: new Map([['eth', sender]]),
      escrows: new Map(),
      clock: null,
      jobSource: null,
      log,
    });

    await host.tick(); // warm: connection and first poll
    let before = subtensor.requests.length;
    await host.tick();
    const idleTickSubtensor = subtensor.requests.length - before;

    for (let i = 0; i < swaps; i += 1)
      subtensor.contract.createSwap(
        {
          miner: alice.address,
          destChain: 'eth',
          userDestAddress: Wallet.createRandom().address,
          destAmount: 1_000n + BigInt(i),
        },
        subtensor.best.number,
        600,
      );
    before = subtensor.requests.length;
    const evmBefore = provider.calls;
    let ticks = 0;
    while (store.archivedIds.size < swaps) {
      await host.tick();
      ticks += 1;
      if (ticks > 2_000) throw new Error(`swaps not fulfilled after ${ticks} ticks`);
      await sleep(100);
    }
    return {
      swaps,
      subtensorPerLifecycle: (subtensor.requests.length - before) / swaps,
      evmPerLifecycle: (provider.calls - evmBefore) / swaps,
      ticks,
      idleTickSubtensor,
    };
  } finally {
    await chain.disconnect();
    await subtensor.stop();
    await evm.stop();
  }
}
