/**
 * The witness in the simulator, as the daemon has it: each host life wraps every transfer
 * sender in a WitnessedSender over that life's store and the data directory's witness journal
 * and decisions (src/witness/). A simulated data directory is the store's disk, the journal
 * and the decisions, copied whole for a backup or a second host.
 *
 * The operator: a person reads `settle reconcile list` and decides; here, after every poll the
 * witness held, each unknown transaction is adopted for the one open swap it matches (same
 * recipient and amount), or dismissed when it matches none. Several matches are left
 * undecided (a person would look closer; the swaps wait). The operator reads the swaps the
 * contract holds from the world, as a person would from the contract: the witness guards the
 * swap obligation's transfer senders, so this is the one place the simulator names swaps.
 */
import { SWAP_MACHINE_NAME } from '../machines/index.ts';
import type { AssignedSwap, ChainActivity, Logger, TransferSender, WitnessReport } from '../src/host/ports.ts';
import type { RecoveryLog } from '../src/store/recoveryLog.ts';
import type { SnapshotStore } from '../src/store/snapshotStore.ts';
import { findingsOf, openSwaps, type LiveSwap } from '../src/witness/reconcile.ts';
import { MemoryDecisions, type Decision } from '../src/witness/reconcileDecisions.ts';
import { WitnessGate } from '../src/witness/witnessGate.ts';
import { MemoryWitnessJournal } from '../src/witness/witnessJournal.ts';
import { WitnessedSender } from '../src/witness/witnessedSender.ts';
import { btcWitness } from '../src/chains/bitcoin/btcActivity.ts';
import { SimEsplora } from './chains/simEsplora.ts';
import { SimSolanaSender } from './chains/simSolana.ts';
import { SimTransferSender } from './chains/simTransferSender.ts';
import { MemoryDisk } from './memoryStore.ts';
import { minerAddressOn, type World } from './world.ts';

/** Blocks the simulated operator's search reads back (the whole run, in practice). */
const OPERATOR_SCAN_BLOCKS = 5_000;

export class SimDataDir {
  /**
   * True for the directory a run begins with, until its first host has recorded what the
   * chains show as before it. A copy is never new: put back, it must not take what the chains
   * show then as what it knows (the daemon records baselines only at --init).
   */
  isNew = false;

  constructor(
    readonly disk: MemoryDisk = new MemoryDisk(),
    readonly journal: MemoryWitnessJournal = new MemoryWitnessJournal(),
    readonly decisions: MemoryDecisions = new MemoryDecisions(),
  ) {}

  static created(): SimDataDir {
    const dir = new SimDataDir();
    dir.isNew = true;
    return dir;
  }

  /** A copy of the whole directory (a backup, a VM snapshot, a second host's copy). */
  copy(): SimDataDir {
    const decisions = new MemoryDecisions();
    decisions.all.push(...this.decisions.all);
    return new SimDataDir(this.disk.copy(), this.journal.copy(), decisions);
  }

  /** What decides this directory's future beyond the disk, for the crash-point explorer's fingerprint (not when things were written). */
  image(): string {
    const timeless = (entry: object): object => ({ ...entry, at: '' });
    return JSON.stringify([this.journal.entries().map(timeless), this.decisions.all.map(timeless)]);
  }
}

export interface LifeWitness {
  readonly gate: WitnessGate;
  readonly senders: WitnessedSender[];
  wrapSender(sender: TransferSender): TransferSender;
}

/** What a life's witness holds in memory (the crash-point explorer's fingerprint). */
export function lifeImage(life: LifeWitness): string {
  return JSON.stringify([
    life.senders.map((s) => s.memoryImage()),
    life.gate.held().map((v) => [v.chain, v.unknown.length]),
  ]);
}

/** The witness of one host life over `dir`, its store as just opened. */
export function lifeWitness(
  world: World,
  dir: SimDataDir,
  store: SnapshotStore,
  log: Logger,
  recoveryLog?: RecoveryLog,
): LifeWitness {
  const opened = store.history?.() ?? null;
  const gate = new WitnessGate({
    journal: dir.journal,
    decisions: dir.decisions,
    store,
    opened,
    log,
    now: () => `block ${world.height}`,
    ...(recoveryLog === undefined ? {} : { recoveryLog }),
  });
  const senders: WitnessedSender[] = [];
  return {
    gate,
    senders,
    wrapSender(sender) {
      const wrapped = new WitnessedSender(sender, gate);
      senders.push(wrapped);
      return wrapped;
    },
  };
}

/**
 * Asks every chain once after the restore; a chain that does not answer is asked again before a
 * signature. A store that never wrote anything begins now: what each ledger shows is recorded
 * as before it first, asked of the ledger itself, past the network's faults (as the daemon's
 * --init waits until every chain answers).
 */
export async function startLifeWitness(world: World, dir: SimDataDir, life: LifeWitness): Promise<void> {
  if (dir.isNew) {
    for (const sender of life.senders) {
      if (sender.inner.witness === undefined) continue;
      await life.gate.baseline(sender.chain, await ledgerWitness(world, sender.chain));
    }
    dir.isNew = false;
  }
  await life.gate.recordJournalAhead();
  for (const sender of life.senders) await life.gate.start([sender]).catch(() => undefined);
}

/** What a ledger shows of the miner's paying account, asked of the ledger itself (past the network's faults). */
function ledgerWitness(world: World, chain: string): Promise<WitnessReport> {
  const ledger = world.state.ledgers[chain]!;
  if (ledger.utxo !== undefined) return btcWitness(new SimEsplora(world, chain), minerAddressOn(chain));
  if (ledger.solana !== undefined) return new SimSolanaSender(world, chain).witness();
  return new SimTransferSender(world, chain).witness();
}

/** The operator decides every unknown transaction the life's witness holds on; returns how many. */
export async function operatorReconciles(
  world: World,
  dir: SimDataDir,
  life: LifeWitness,
  store: SnapshotStore,
): Promise<number> {
  const held = life.gate.held();
  if (held.length === 0) return 0;
  const live = (await store.loadLive())
    .filter((r) => r.machine.name === SWAP_MACHINE_NAME)
    .map((r) => r.snapshot as LiveSwap);
  const open = openSwaps(live, assignedOnContract(world), (id) => store.placeOf(id));
  let decided = 0;
  for (const verdict of held) {
    const sender = life.senders.find((s) => s.chain === verdict.chain);
    if (sender === undefined) continue;
    for (const { item, activity, matches } of await findingsOf(
      sender,
      verdict.chain,
      verdict.unknown,
      open,
      OPERATOR_SCAN_BLOCKS,
    )) {
      const base = {
        chain: verdict.chain,
        account: verdict.account,
        throughNonce: null,
        by: 'sim-operator',
        at: `block ${world.height}`,
      };
      const id = activity?.id ?? item.id;
      const nonce = activity?.nonce ?? item.nonce;
      let decision: Decision | null = null;
      if (matches.length === 1 && activity?.raw != null) {
        decision = {
          ...base,
          kind: 'adopt',
          id: activity.id,
          nonce,
          swapId: matches[0]!.swapId,
          raw: activity.raw,
          block: activity.block,
          reason: 'same recipient and amount as the one open swap',
        };
      } else if (matches.length === 0 && settled(world, verdict.chain, activity)) {
        decision = {
          ...base,
          kind: 'dismiss',
          id,
          nonce,
          swapId: null,
          raw: null,
          block: null,
          reason: 'pays no open swap',
        };
      }
      if (decision === null || (decision.id === null && decision.nonce === null)) continue;
      dir.decisions.all.push(decision);
      decided += 1;
    }
  }
  return decided;
}

/**
 * Whether a transaction can be dismissed yet: gone from the chain, or included deep enough that
 * no reorganisation drops it. One dismissed while still pending or shallow could vanish and
 * free its nonce under a later transfer signed after it (a gap no transfer of ours would fill).
 */
function settled(world: World, chain: string, activity: ChainActivity | null): boolean {
  if (activity === null) return true;
  const ledger = world.state.ledgers[chain];
  return activity.block !== null && ledger !== undefined && ledger.height - activity.block + 1 >= ledger.confirmations;
}

/** The swaps the contract shows assigned to our miner, as `listAssigned` would answer. */
function assignedOnContract(world: World): AssignedSwap[] {
  // The world has the ink! contract or the Solana swap manager (sim/modules/solanaSwapModule.ts).
  if (world.state.swapManager !== undefined)
    return Object.values(world.state.swapManager.swaps)
      .filter((swap) => swap.miner === world.state.miner)
      .map((swap) => ({ terms: { ...swap.terms, timeoutAt: swap.timeoutAt }, status: swap.status }));
  return Object.values(world.state.subtensor.swaps)
    .filter((swap) => swap.miner === world.state.miner)
    .map((swap) => ({ terms: swap.terms, status: swap.status }));
}
