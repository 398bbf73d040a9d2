/**
 * Swap fulfillment in the simulator: the allways contract on a simulated Subtensor, the
 * destination ledgers, validators, the script creating swaps, the chains' own faults (reorgs,
 * frozen funds, reassigned swaps) and the swap invariants. State: `miner`, `subtensor`,
 * `ledgers`, `observations` of the world.
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { SWAP_KIND, SWAP_MACHINE_NAME, swapFulfillment, swapMachineId } from '../../machines/index.ts';
import { swapFulfillmentObligation } from '../../src/obligations/swapFulfillment/index.ts';
import { advanceSwapChains, swapScript } from '../advance.ts';
import { SimSwapContract } from '../chains/simSwapContract.ts';
import { SimTransferSender } from '../chains/simTransferSender.ts';
import { faultySwapPorts, type SimSwapPorts } from '../faultyPorts.ts';
import { recordStatesOf, type SimModule } from '../simModule.ts';
import { DEST_CHAINS, dictionary, MINER_HOTKEY, minerAddressOn, type World, type WorldState } from '../world.ts';
import { applySwapChainFaults } from '../worldFaults.ts';
import { swapInvariants, swapOutcome } from './productInvariants.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const swapModule: SimModule = {
  kind: SWAP_KIND,
  machineName: SWAP_MACHINE_NAME,
  recordStates: recordStatesOf(swapFulfillment),
  init(world) {
    const state = world.state as Mutable<WorldState>;
    state.miner = MINER_HOTKEY;
    state.subtensor = { height: world.height, nextSwapId: 1, swaps: {}, events: [], history: {} };
    state.ledgers = Object.fromEntries(
      DEST_CHAINS.map((chain) => [
        chain,
        { chain, height: 1, confirmations: 2, balances: { [minerAddressOn(chain)]: (10n ** 30n).toString() }, nonces: {}, frozenUntil: {}, transfers: {} },
      ]),
    );
    state.observations = { signatures: dictionary(), reorgedOut: [], hostile: { tightWindows: 0, shortLocks: 0 } };
  },
  advance: advanceSwapChains,
  script: (world) => swapScript(world, world.planned(SWAP_KIND)),
  scriptDone: (world) => world.state.subtensor.nextSwapId - 1 >= world.planned(SWAP_KIND),
  applyFaults: applySwapChainFaults,
  connect(world, net) {
    const ports: SimSwapPorts = {
      contract: new SimSwapContract(world),
      senders: new Map(Object.keys(world.state.ledgers).map((chain) => [chain, new SimTransferSender(world, chain)])),
    };
    const { contract, senders } = net === null ? ports : faultySwapPorts(ports, net, world);
    return { obligation: (log) => swapFulfillmentObligation({ contract, senders, log, marginBlocks: world.state.plan.marginBlocks }) };
  },
  invariantNames: [INVARIANT.noDoubleSend, INVARIANT.noLostSend, INVARIANT.noSendTooLate],
  invariants: (world, outcome) => swapInvariants(world.state, outcome),
  outcome: (world) => swapOutcome(world.state),
  deadlineBound(world) {
    const out = new Set<string>();
    for (const e of world.state.subtensor.events) if (e.kind === 'TimedOut') out.add(swapMachineId(e.swapId));
    return out;
  },
  allSeen: (world: World, placeOf) =>
    Object.values(world.state.subtensor.swaps).every(
      (swap) => swap.status !== 'Active' || swap.miner !== world.state.miner || placeOf(swapMachineId(swap.terms.swapId)) !== null,
    ),
  injected: (world) => ({ 'validator-timeout': world.state.observations.hostile.tightWindows }),
  stuckReport: (world) =>
    Object.values(world.state.ledgers).map((ledger) => {
      const pending = Object.values(ledger.transfers).filter((t) => t.includedBlock === null);
      return `${ledger.chain}: nonces ${JSON.stringify(ledger.nonces)}, pending ${pending.map((t) => `swap ${t.swapId} nonce ${t.nonce}`).join('; ') || 'none'}`;
    }),
};
