/**
 * Swap fulfillment in the simulator: the allways contract on a simulated Subtensor, the
 * destination ledgers, validators, the script creating swaps, the chains' own faults (reorgs,
 * frozen funds, reassigned swaps) and the swap invariants. State: `miner`, `subtensor`,
 * `ledgers`, `observations` of the world.
 *
 * `swapModule` is the product's (TAO and an EVM chain); `swapModuleWith` adds a Solana
 * destination whose transactions expire (sim/chains/simSolana.ts), a BTC destination on a UTXO
 * chain paid by the real BTC sender (sim/chains/simUtxoChain.ts, simBtcSender.ts), and lets a
 * test replace a chain's sender or the BTC journal (planted bugs).
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { SWAP_KIND, SWAP_MACHINE_NAME, swapFulfillment, swapMachineId } from '../../machines/index.ts';
import { swapFulfillmentObligation } from '../../src/obligations/swapFulfillment/index.ts';
import { advanceSwapChains, swapScript } from '../advance.ts';
import { SimSwapContract } from '../chains/simSwapContract.ts';
import { SimTransferSender } from '../chains/simTransferSender.ts';
import { faultySwapPorts, type SimSwapPorts } from '../faultyPorts.ts';
import { recordStatesOf, type SimModule } from '../simModule.ts';
import {
  DEST_CHAINS,
  dictionary,
  MINER_HOTKEY,
  minerAddressOn,
  type Ledger,
  type World,
  type WorldState,
} from '../world.ts';
import { SimSolanaSender, solanaLedgerState, type SolanaLifetimeKind } from '../chains/simSolana.ts';
import type { Logger, TransferSender } from '../../src/host/ports.ts';
import { simBtcSender, type JournalFactory } from '../chains/simBtcSender.ts';
import { newUtxoLedger } from '../chains/simUtxoChain.ts';
import { applySwapChainFaults } from '../worldFaults.ts';
import { swapInvariants, swapOutcome } from './productInvariants.ts';
import { newSourcesState } from '../chains/simSource.ts';
import {
  advanceSources,
  applySourceFaults,
  auditedSenders,
  SOURCE_INVARIANTS,
  simSourcePorts,
  sourceInvariants,
  type SwapBook,
} from './sourceInvariants.ts';

/** The ink! contract's swaps as the source checks read them (deadlines in blocks). */
export const INK_BOOK: SwapBook = {
  swaps: (world) => Object.values(world.state.subtensor.swaps),
  terms: (world, swapId) => world.state.subtensor.history[swapId],
  clock: (world) => world.height,
  cushion: (world) => world.state.plan.marginBlocks,
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface SwapModuleOptions {
  /** Destination chains, in the order the script picks from: 'tao', 'eth', 'sol' and 'btc'. */
  readonly destChains?: readonly string[];
  /** How the Solana chain's sender signs: durable nonces (the product's) or recent blockhashes. */
  readonly solanaLifetime?: SolanaLifetimeKind;
  /** The miner's durable nonce accounts on the Solana chain. */
  readonly solanaNonceAccounts?: number;
  /** Blocks a recent blockhash stays valid on the Solana chain. */
  readonly blockhashValidBlocks?: number;
  /** A sender of a test's own for a chain (a planted bug); undefined keeps the module's. */
  readonly senderFor?: (world: World, chain: string) => TransferSender | undefined;
  /** The BTC payout journal of each host life (a test plants one that forgets). */
  readonly btcJournal?: JournalFactory;
  /**
   * Senders without the life's witness around them: a planted sender bug judged by its own
   * rule alone (the witness would hold on the transfers the bug makes, and the run would wait
   * on its operator until the block limit instead of showing the double send).
   */
  readonly withoutWitness?: boolean;
}

/** Coins the simulated miner holds on the BTC chain at genesis, 1 BTC each: more than a run's payouts in flight. */
const BTC_COINS = 12;

export function swapModuleWith(options: SwapModuleOptions = {}): SimModule {
  const destChains = options.destChains ?? DEST_CHAINS;
  const senderOf = (world: World, chain: string, log: Logger): TransferSender => {
    const ledger = world.state.ledgers[chain]!;
    if (ledger.utxo !== undefined)
      return options.senderFor?.(world, chain) ?? simBtcSender(world, chain, log, options.btcJournal);
    return (
      options.senderFor?.(world, chain) ??
      (ledger.solana === undefined
        ? new SimTransferSender(world, chain)
        : new SimSolanaSender(world, chain, options.solanaLifetime))
    );
  };
  return {
    ...swapModule,
    init(world) {
      swapModule.init(world);
      const ledgers = world.state.ledgers as Record<string, Ledger>;
      for (const chain of Object.keys(ledgers)) if (!destChains.includes(chain)) delete ledgers[chain];
      for (const chain of destChains) {
        if (ledgers[chain] !== undefined) continue;
        if (chain === 'btc') {
          ledgers[chain] = newUtxoLedger(chain, minerAddressOn(chain), BTC_COINS, 100_000_000n);
          continue;
        }
        if (chain !== 'sol') throw new Error(`no simulated destination chain '${chain}' (tao, eth, sol, btc)`);
        ledgers[chain] = {
          ...emptyLedger(chain),
          solana: solanaLedgerState(chain, options.solanaNonceAccounts ?? 2, options.blockhashValidBlocks ?? 4),
        };
      }
    },
    connect(world, net) {
      const contract = new SimSwapContract(world);
      return {
        obligation: (log, life) => {
          // Senders are made anew for each life of the host: what a sender keeps in memory
          // (the Solana sender's held nonce values) dies with the process, as a real one's
          // does, and comes back only through `adopt`.
          const own = new Map(Object.keys(world.state.ledgers).map((chain) => [chain, senderOf(world, chain, log)]));
          const ports: SimSwapPorts = { contract, senders: auditedSenders(world, INK_BOOK, own) };
          const faulty = net === null ? ports : faultySwapPorts(ports, net, world);
          // The life's witness around every sender, as the daemon has it (sim/simWitness.ts).
          const wrap = options.withoutWitness === true ? undefined : life?.wrapSender;
          const senders =
            wrap === undefined ? faulty.senders : new Map([...faulty.senders].map(([chain, s]) => [chain, wrap(s)]));
          return swapFulfillmentObligation({
            contract: faulty.contract,
            senders,
            log,
            cushion: world.state.plan.marginBlocks,
            sources: simSourcePorts(world, net),
          });
        },
      };
    },
  };
}

function emptyLedger(chain: string): Ledger {
  return {
    chain,
    height: 1,
    confirmations: 2,
    balances: { [minerAddressOn(chain)]: (10n ** 30n).toString() },
    nonces: {},
    frozenUntil: {},
    transfers: {},
  };
}

export const swapModule: SimModule = {
  kind: SWAP_KIND,
  machineName: SWAP_MACHINE_NAME,
  recordStates: recordStatesOf(swapFulfillment),
  init(world) {
    const state = world.state as Mutable<WorldState>;
    state.miner = MINER_HOTKEY;
    state.subtensor = { height: world.height, nextSwapId: 1, swaps: {}, events: [], history: {} };
    state.ledgers = Object.fromEntries(DEST_CHAINS.map((chain) => [chain, emptyLedger(chain)]));
    state.observations = { signatures: dictionary(), reorgedOut: [], hostile: { tightWindows: 0, shortLocks: 0 } };
    (state as { sources: WorldState['sources'] }).sources = newSourcesState();
  },
  advance(world) {
    advanceSwapChains(world);
    advanceSources(world);
  },
  script: (world) => swapScript(world, world.planned(SWAP_KIND)),
  scriptDone: (world) => world.state.subtensor.nextSwapId - 1 >= world.planned(SWAP_KIND),
  applyFaults(world, faults) {
    applySwapChainFaults(world, faults);
    applySourceFaults(world, faults, INK_BOOK);
  },
  connect(world, net) {
    const ports: SimSwapPorts = {
      contract: new SimSwapContract(world),
      senders: auditedSenders(
        world,
        INK_BOOK,
        new Map(Object.keys(world.state.ledgers).map((chain) => [chain, new SimTransferSender(world, chain)])),
      ),
    };
    const { contract, senders } = net === null ? ports : faultySwapPorts(ports, net, world);
    return {
      obligation: (log, life) => {
        const wrap = life?.wrapSender;
        const lifeSenders =
          wrap === undefined ? senders : new Map([...senders].map(([chain, sender]) => [chain, wrap(sender)]));
        return swapFulfillmentObligation({
          contract,
          senders: lifeSenders,
          log,
          cushion: world.state.plan.marginBlocks,
          sources: simSourcePorts(world, net),
        });
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
    ...SOURCE_INVARIANTS,
  ],
  invariants: (world, outcome) => [...swapInvariants(world.state, outcome), ...sourceInvariants(world)],
  outcome: (world) => swapOutcome(world.state),
  deadlineBound(world) {
    const out = new Set<string>();
    for (const e of world.state.subtensor.events) if (e.kind === 'TimedOut') out.add(swapMachineId(e.swapId));
    return out;
  },
  allSeen: (world: World, placeOf) =>
    Object.values(world.state.subtensor.swaps).every(
      (swap) =>
        swap.status !== 'Active' ||
        swap.miner !== world.state.miner ||
        placeOf(swapMachineId(swap.terms.swapId)) !== null,
    ),
  injected: (world) => ({ 'validator-timeout': world.state.observations.hostile.tightWindows }),
  stuckReport: (world) =>
    Object.values(world.state.ledgers).map((ledger) => {
      const pending = Object.values(ledger.transfers).filter((t) => t.includedBlock === null);
      return `${ledger.chain}: nonces ${JSON.stringify(ledger.nonces)}, pending ${pending.map((t) => `swap ${t.swapId} nonce ${t.nonce}`).join('; ') || 'none'}`;
    }),
};
