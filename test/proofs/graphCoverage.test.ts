/**
 * PROPERTY: every state and every transition of both machines is reachable, and is reached by
 * a path that xstate/graph generates from the machine definition itself.
 *
 * How: getAdjacencyMap walks each machine with a set of sample events (one per guard outcome),
 * from a sound swap and an unsound one, and from a job; for every edge of that graph, the
 * path is getShortestPaths' path to the edge's source state followed by the edge's event. Every
 * path is replayed on a fresh actor while the transitions it takes are recorded. The figure
 * printed is transitions (and states) taken over those the definition declares; below 100% fails.
 */
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateMachine } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import {
  type DepositRecord,
  jobSettlement,
  swapFulfillment,
  type JobEvent,
  type JobInput,
  type SwapContext,
  type SwapEvent,
  type SwapInput,
} from '../../machines/index.ts';
import { TransitionRecorder, transitionLabels } from '../support/transitionCoverage.ts';

const SWAP: SwapInput = {
  now: 100,
  terms: {
    contract: 'ink',
    swapId: '1',
    miner: 'miner',
    sourceChain: 'btc',
    destChain: 'tao',
    sourceAmount: '10',
    destAmount: '10',
    collateralAmount: '10',
    hub: 'tao',
    userDestAddress: '5user',
    senderPin: '',
    sourceTxHash: 'src',
    userSourceAddress: 'bc1quser',
    minerSourceAddress: 'bc1qminer',
    sourceTxBlock: 7,
    initiatedAt: 100,
    timeoutAt: 130,
    maxExtendAt: null,
  },
};

/** The Solana swap manager's flavour: seconds, a pin, marked at broadcast (BTC) or on landing (SOL). */
const SOLANA_BTC: SwapInput = {
  now: 1_000,
  terms: {
    ...SWAP.terms,
    contract: 'solana',
    swapId: 'ab'.repeat(32),
    destChain: 'btc',
    hub: 'sol',
    senderPin: 'bc1qpin',
    initiatedAt: 1_000,
    timeoutAt: 1_600,
    maxExtendAt: 9_000,
  },
};
const SOLANA_SOL: SwapInput = {
  ...SOLANA_BTC,
  terms: { ...SOLANA_BTC.terms, destChain: 'sol', senderPin: 'MinerKey' },
};

const DEPOSIT: DepositRecord = {
  verdict: 'verified',
  reason: null,
  txHash: 'src',
  block: 7,
  amountSeen: '10',
  senderSeen: 'bc1quser',
  confirmations: 2,
  required: 2,
};

function swapEvents(snapshot: { context: SwapContext }): SwapEvent[] {
  const c = snapshot.context;
  const ours = c.transfer?.hash ?? '0xh';
  const miner = c.terms.miner;
  return [
    { type: 'CLOCK', now: c.terms.initiatedAt + 1 },
    { type: 'CLOCK', now: c.deadline },
    { type: 'CLOCK', now: Math.max(c.nextMarkAt, c.now) },
    { type: 'DEADLINE', at: c.deadline + 10 },
    { type: 'REJECT', reason: 'bad address' },
    { type: 'SWAP_GONE' },
    { type: 'DEPOSIT_VERIFIED', deposit: DEPOSIT },
    { type: 'DEPOSIT_WRONG', deposit: { ...DEPOSIT, verdict: 'wrong', reason: 'amount 9 < 10', amountSeen: '9' } },
    { type: 'TRANSFER_SIGNED', raw: '0xraw', hash: '0xh' },
    { type: 'TRANSFER_BROADCAST' },
    { type: 'TRANSFER_LANDED', block: 6 },
    { type: 'TRANSFER_INCLUDED', block: 7 },
    { type: 'TRANSFER_INVALID', reason: 'nonce used' },
    { type: 'MARK_OK' },
    { type: 'MARK_FAILED', error: 'RpcFailure', now: c.now },
    { type: 'MARK_FAILED', error: 'OutcomeUnknown', now: c.now },
    { type: 'MARK_FAILED', error: 'InvalidStatus', now: c.now },
    { type: 'MARK_FAILED', error: 'ConstraintHasOne', now: c.now },
    { type: 'SWAP_READ', view: null },
    { type: 'SWAP_READ', view: { status: 'Fulfilled', miner, destTxHash: ours, deadline: null } },
    { type: 'SWAP_READ', view: { status: 'Active', miner, destTxHash: '', deadline: null } },
    { type: 'READ_FAILED', error: 'rpc down' },
  ];
}

const JOB: JobInput = {
  now: 1_000,
  terms: {
    jobId: '0x01',
    chain: 'c',
    escrow: '0xe',
    token: '0xt',
    payer: '0xp',
    payee: '0xq',
    lock: { amount: '100', expiry: 5_000 },
  },
};

const JOB_EVENTS: JobEvent[] = [
  { type: 'RUN_ENDED', cost: '40' },
  { type: 'RUN_ENDED', cost: '0' },
  { type: 'RESULTS_PUBLISHED' },
  { type: 'SETTLE_DUE', now: 2_000 },
  { type: 'SETTLE_DUE', now: 9_000 },
  { type: 'CLAIMED', txHash: '0xc', amount: '40', fee: '0' },
  { type: 'CLAIM_CANCELED', txHash: '0xx' },
  { type: 'CLAIM_FAILED', error: 'reverted' },
  { type: 'LOCK_CANCELED', txHash: null },
  { type: 'CANCEL_FAILED', error: 'rpc' },
  { type: 'LOCK_GONE', reason: 'gone' },
];

/** Keeps the walk finite: counters and timestamps do not make a state new. */
function shape(snapshot: { value: unknown; context: Record<string, unknown> }): string {
  const c = snapshot.context;
  return JSON.stringify([
    snapshot.value,
    c['transfer'] !== null && c['transfer'] !== undefined,
    c['refusedWith'] ?? null,
    c['claimAmount'] ?? null,
    c['nextMarkAt'] === 0,
    c['transferIncluded'] ?? null,
  ]);
}

interface Coverage {
  transitions: { taken: number; total: number; missing: string[] };
  states: { taken: number; total: number; missing: string[] };
  paths: number;
}

function cover(
  machine: AnyStateMachine,
  runs: Array<{ input: unknown; events: (s: never) => readonly unknown[] }>,
): Coverage {
  const recorder = new TransitionRecorder();
  const statesSeen = new Set<string>();
  let paths = 0;
  for (const run of runs) {
    const options = { input: run.input, events: run.events as never, serializeState: shape as never };
    const shortest = new Map(getShortestPaths(machine, options).map((p) => [shape(p.state as never), p]));
    // The empty path: what the machine does on creation alone (eventless transitions).
    paths += 1;
    statesSeen.add(
      String(createActor(machine, { input: run.input, inspect: recorder.inspect }).start().getSnapshot().value),
    );
    for (const { state, transitions } of Object.values(getAdjacencyMap(machine, options))) {
      if ((state as { status: string }).status === 'done') continue; // final: no transitions out
      const prefix = shortest.get(shape(state as never));
      if (prefix === undefined) throw new Error(`no path to ${shape(state as never)}`);
      for (const edge of Object.values(transitions) as Array<{ event: unknown; state: { value: unknown } }>) {
        paths += 1;
        const actor = createActor(machine, { input: run.input, inspect: recorder.inspect }).start();
        statesSeen.add(String(actor.getSnapshot().value));
        for (const step of [...prefix.steps.map((s) => s.event), edge.event]) {
          actor.send(step);
          statesSeen.add(String(actor.getSnapshot().value));
        }
        expect(String(actor.getSnapshot().value)).toBe(String(edge.state.value));
      }
    }
  }
  const allStates = Object.keys(machine.root.states);
  const missingTransitions = recorder.missing(machine);
  const total = transitionLabels(machine).size;
  return {
    transitions: { taken: total - missingTransitions.length, total, missing: missingTransitions },
    states: {
      taken: allStates.filter((s) => statesSeen.has(s)).length,
      total: allStates.length,
      missing: allStates.filter((s) => !statesSeen.has(s)),
    },
    paths,
  };
}

function report(name: string, c: Coverage): void {
  const pct = (a: number, b: number) => ((100 * a) / b).toFixed(1);
  console.log(
    `${name}: ${c.paths} paths; transitions ${c.transitions.taken}/${c.transitions.total} (${pct(c.transitions.taken, c.transitions.total)}%), ` +
      `states ${c.states.taken}/${c.states.total} (${pct(c.states.taken, c.states.total)}%)`,
  );
}

describe('transition coverage from xstate/graph paths', () => {
  it('covers every state and transition of swapFulfillment, both contract flavours', () => {
    const unsound: SwapInput = { ...SWAP, terms: { ...SWAP.terms, destAmount: '0' } };
    const coverage = cover(swapFulfillment, [
      { input: SWAP, events: swapEvents as never },
      { input: unsound, events: swapEvents as never },
      { input: SOLANA_BTC, events: swapEvents as never },
      { input: SOLANA_SOL, events: swapEvents as never },
    ]);
    report('swapFulfillment', coverage);
    expect(coverage.transitions.missing).toEqual([]);
    expect(coverage.states.missing).toEqual([]);
  });

  it('covers every state and transition of jobSettlement', () => {
    const coverage = cover(jobSettlement, [{ input: JOB, events: (() => JOB_EVENTS) as never }]);
    report('jobSettlement', coverage);
    expect(coverage.transitions.missing).toEqual([]);
    expect(coverage.states.missing).toEqual([]);
  });
});
