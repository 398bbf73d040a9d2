/**
 * Swap fulfillment against the allways swap manager on Solana, in the simulator: the program's
 * swaps in unix seconds of the cluster's clock, the grace after a mark, validators that extend
 * Active and Fulfilled swaps and close swaps on confirm, timeout or cancel (sim/solanaAdvance
 * .ts), destination ledgers for SOL, ETH (marked at broadcast) and TAO, and the swap invariants
 * with the cushion in seconds. A world has this module or the ink! one (both are the swap
 * obligation). State: `miner`, `swapManager`, `ledgers`, `observations` of the world.
 */
import { DEFAULT_CUSHION, SWAP_KIND, SWAP_MACHINE_NAME, swapFulfillment, swapMachineId } from '../../machines/index.ts';
import { INVARIANT } from '../../machines/invariants.ts';
import { swapFulfillmentObligation } from '../../src/obligations/swapFulfillment/index.ts';
import { SimSwapManager } from '../chains/simSwapManager.ts';
import { SimTransferSender } from '../chains/simTransferSender.ts';
import { faultySwapPorts, type SimSwapPorts } from '../faultyPorts.ts';
import { recordStatesOf, type SimModule } from '../simModule.ts';
import { advanceSwapManager, managerScript, SOLANA_DEST_CHAINS } from '../solanaAdvance.ts';
import { clusterTimeAt, dictionary, MINER_HOTKEY, minerAddressOn, type World, type WorldState } from '../world.ts';
import { reorgNewestBlock } from '../worldFaults.ts';
import { payoutInvariants } from './payoutInvariants.ts';
import { coreSwapInvariants, swapOutcome, type ContractRecord, type TooLate } from './productInvariants.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The cushion of the simulated miner: the default, 216 s of the cluster's clock. */
export const SIM_SOLANA_CUSHION_SECS = DEFAULT_CUSHION.solana;

const record = (world: WorldState): ContractRecord => world.swapManager;

/** A first send signed with fewer than the cushion's seconds left before the deadline of that moment. */
function tooLate(world: WorldState): TooLate {
  return (swapId, terms, signedHeight) => {
    const moved = world.swapManager.events.filter(
      (e) => e.swapId === swapId && e.kind === 'Extended' && e.block <= signedHeight && e.at !== undefined,
    );
    const deadline = moved.length === 0 ? terms.timeoutAt : Math.max(terms.timeoutAt, ...moved.map((e) => e.at!));
    const at = clusterTimeAt(signedHeight);
    return at + SIM_SOLANA_CUSHION_SECS > deadline
      ? `swap ${swapId}: signed at ${at}, cushion ${SIM_SOLANA_CUSHION_SECS} s, deadline ${deadline}`
      : null;
  };
}

export const solanaSwapModule: SimModule = {
  kind: SWAP_KIND,
  machineName: SWAP_MACHINE_NAME,
  recordStates: recordStatesOf(swapFulfillment),
  init(world) {
    const state = world.state as Mutable<WorldState>;
    state.miner = MINER_HOTKEY;
    state.swapManager = { nextIndex: 1, swaps: {}, events: [], history: {} };
    state.ledgers = Object.fromEntries(
      SOLANA_DEST_CHAINS.map((chain) => [
        chain,
        {
          chain,
          height: 1,
          confirmations: 2,
          balances: { [minerAddressOn(chain)]: (10n ** 30n).toString() },
          nonces: {},
          frozenUntil: {},
          transfers: {},
        },
      ]),
    );
    state.observations = { signatures: dictionary(), reorgedOut: [], hostile: { tightWindows: 0, shortLocks: 0 } };
  },
  advance: advanceSwapManager,
  script: (world) => managerScript(world, world.planned(SWAP_KIND)),
  scriptDone: (world) => world.state.swapManager.nextIndex - 1 >= world.planned(SWAP_KIND),
  applyFaults(world, faults) {
    // The program cannot reassign a swap: only the ledgers' own faults.
    for (const ledger of Object.values(world.state.ledgers)) {
      if (faults.decide('reorg', `${ledger.chain}:b${ledger.height}`)) reorgNewestBlock(world, ledger.chain);
      const miner = minerAddressOn(ledger.chain);
      if (faults.decide('insufficient-balance', `freeze:${ledger.chain}:b${ledger.height}`)) {
        ledger.frozenUntil[miner] = ledger.height + 1 + faults.pick(`freeze:${ledger.chain}:b${ledger.height}`, 6);
      }
    }
    world.commit();
  },
  connect(world, net) {
    const ports: SimSwapPorts = {
      contract: new SimSwapManager(world),
      senders: new Map(Object.keys(world.state.ledgers).map((chain) => [chain, new SimTransferSender(world, chain)])),
    };
    const { contract, senders } = net === null ? ports : faultySwapPorts(ports, net, world);
    return {
      obligation: (log, life) => {
        // The witness of this host life around each sender (sim/simWitness.ts), as in the ink! flavour.
        const wrap = life?.wrapSender;
        const lifeSenders =
          wrap === undefined ? senders : new Map([...senders].map(([chain, sender]) => [chain, wrap(sender)]));
        return swapFulfillmentObligation({ contract, senders: lifeSenders, log, cushion: SIM_SOLANA_CUSHION_SECS });
      },
    };
  },
  invariantNames: [
    INVARIANT.noDoubleSend,
    INVARIANT.noLostSend,
    INVARIANT.noSendTooLate,
    INVARIANT.neverPaidShort,
    INVARIANT.neverPaidFromElsewhere,
    INVARIANT.neverMarkedUnpaid,
  ],
  invariants: (world, outcome) => [
    ...coreSwapInvariants(world.state, outcome, record(world.state), tooLate(world.state)),
    ...payoutInvariants(world.state, outcome, record(world.state)),
  ],
  outcome: (world) => swapOutcome(world.state, record(world.state)),
  deadlineBound(world) {
    // Timed out or cancelled by the validators: when decided how that ends, not the host.
    const out = new Set<string>();
    for (const e of world.state.swapManager.events)
      if (e.kind === 'TimedOut' || e.kind === 'Cancelled') out.add(swapMachineId(e.swapId));
    return out;
  },
  allSeen: (world: World, placeOf) =>
    Object.values(world.state.swapManager.swaps).every(
      (swap) =>
        swap.status !== 'Active' ||
        swap.miner !== world.state.miner ||
        placeOf(swapMachineId(swap.terms.swapId)) !== null,
    ),
  injected: (world) => ({ 'validator-timeout': world.state.observations.hostile.tightWindows }),
  stuckReport: (world) =>
    Object.values(world.state.ledgers).map((ledger) => {
      const pending = Object.values(ledger.transfers).filter((t) => t.includedBlock === null);
      return `${ledger.chain}: nonces ${JSON.stringify(ledger.nonces)}, pending ${pending.map((t) => `swap ${t.swapId.slice(0, 8)} nonce ${t.nonce}`).join('; ') || 'none'}`;
    }),
};
