/**
 * RPC calls per swap lifecycle on the real adapters: the host with the allways contract over
 * @polkadot/api (against the fake Subtensor, which counts every request) and the EVM transfer
 * sender over ethers (against a local hardhat node, requests counted at the provider). Swaps
 * are assigned at once and the host ticks every 100 ms until all are Fulfilled; the calls of
 * an idle tick (the poll alone) are measured separately so the figure can be read for other
 * poll intervals. The transfer sender runs inside the witness (WitnessedSender), as in the
 * daemon: its own calls, at a start and before each first send, are counted apart too.
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
import { TaoTransferSender } from '../src/chains/substrate/taoTransferSender.ts';
import { NonceAllocator } from '../src/chains/nonceAllocator.ts';
import { openHost } from '../src/host/host.ts';
import { MemoryDecisions } from '../src/witness/reconcileDecisions.ts';
import { WitnessGate } from '../src/witness/witnessGate.ts';
import { MemoryWitnessJournal } from '../src/witness/witnessJournal.ts';
import { WitnessedSender } from '../src/witness/witnessedSender.ts';
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
  /** The witness's calls at a start, per paying account: EVM, and TAO on Subtensor. */
  readonly witnessStartEvm: number;
  readonly witnessStartSubtensor: number;
  /** The witness's EVM calls before each first send (a signature), and how many signatures. */
  readonly witnessPerFirstSendEvm: number;
  readonly signatures: number;
}

export async function adapterRpcPerSwap(swaps: number): Promise<AdapterRpc> {
  const log = pino({ level: 'silent' });
  const { alice, bob } = await devAccounts();
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
    const inner = new EvmTransferSender({
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
    const gate = new WitnessGate({
      journal: new MemoryWitnessJournal(),
      decisions: new MemoryDecisions(),
      store,
      opened: store.openedHistory,
      log,
      now: () => '',
    });
    // The witness's own calls: counted around each of its questions (effects run one at a time).
    const witness = { calls: 0, asks: 0 };
    const ask = inner.witness.bind(inner);
    inner.witness = async () => {
      const before = provider.calls;
      try {
        return await ask();
      } finally {
        witness.calls += provider.calls - before;
        witness.asks += 1;
      }
    };
    const sender = new WitnessedSender(inner, gate);
    await gate.baseline('eth', await ask()); // a new store's baseline, as --init records it
    const startBefore = provider.calls;
    await gate.start([sender]);
    const witnessStartEvm = provider.calls - startBefore;
    const tao = new WitnessedSender(
      new TaoTransferSender({ chain, search, signer: bob, nonces: new NonceAllocator(), log }),
      gate,
    );
    const taoBefore = subtensor.requests.length;
    await gate.start([tao]);
    const witnessStartSubtensor = subtensor.requests.length - taoBefore;
    const startAsks = witness.asks;
    const startCalls = witness.calls;
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
    const signatures = witness.asks - startAsks;
    return {
      swaps,
      subtensorPerLifecycle: (subtensor.requests.length - before) / swaps,
      evmPerLifecycle: (provider.calls - evmBefore) / swaps,
      ticks,
      idleTickSubtensor,
      witnessStartEvm,
      witnessStartSubtensor,
      witnessPerFirstSendEvm: signatures === 0 ? 0 : (witness.calls - startCalls) / signatures,
      signatures,
    };
  } finally {
    await chain.disconnect();
    await subtensor.stop();
    await evm.stop();
  }
}
