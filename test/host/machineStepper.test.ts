/**
 * The host steps snapshots with the machines' own transition function instead of running
 * actors. These check that, for our machines, that is exactly what an actor would do.
 */
import { createActor, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { jobSettlement, metaOfState, swapFulfillment } from '../../machines/index.ts';
import { MachineTable } from '../../src/engine/machineTable.ts';
import { swapFulfillmentObligation } from '../../src/obligations/swapFulfillment/index.ts';
import type { SnapshotStore } from '../../src/store/snapshotStore.ts';
import { MachineStepper } from '../../src/engine/machineStepper.ts';
import { SAMPLE_DEPOSIT_VERIFIED, SAMPLE_JOB_TERMS, SAMPLE_SWAP_TERMS } from '../support/sampleTerms.ts';

const SWAP_TERMS = SAMPLE_SWAP_TERMS;

const json = (value: unknown): string => JSON.stringify(value);

/** Each state of both machines, with one stepper per machine and a context of that machine. */
function* everyStateOfBothMachines(): Generator<{
  machine: AnyStateMachine;
  stepper: MachineStepper;
  context: Record<string, unknown>;
  value: string;
  final: boolean;
}> {
  for (const { machine, input } of [
    { machine: swapFulfillment as AnyStateMachine, input: { terms: SWAP_TERMS, now: 1 } },
    { machine: jobSettlement as AnyStateMachine, input: { terms: SAMPLE_JOB_TERMS, now: 1_000 } },
  ]) {
    const stepper = new MachineStepper(machine);
    const context = (stepper.initial(input) as { context: Record<string, unknown> }).context;
    for (const [value, node] of Object.entries(machine.root.states))
      yield { machine, stepper, context, value, final: node.type === 'final' };
  }
}

describe('machine stepper', () => {
  it('gives, event by event, the persisted snapshots an actor gives (swap and job, with their branches)', () => {
    const cases = [
      {
        machine: swapFulfillment,
        input: { terms: SWAP_TERMS, now: 1 },
        events: [
          { type: 'CLOCK', now: 2 },
          { type: 'CLOCK', now: 2 },
          SAMPLE_DEPOSIT_VERIFIED,
          { type: 'TRANSFER_SIGNED', raw: '0xraw', hash: '0xhash' },
          { type: 'TRANSFER_SIGNED', raw: '0xother', hash: '0xother' },
          { type: 'TRANSFER_INCLUDED', block: 3 },
          { type: 'MARK_FAILED', error: 'RpcFailure', now: 3 },
          { type: 'CLOCK', now: 30 },
          { type: 'MARK_OK' },
        ],
      },
      {
        machine: jobSettlement,
        input: { terms: SAMPLE_JOB_TERMS, now: 1_000 },
        events: [
          { type: 'RUN_ENDED', cost: '1500' },
          { type: 'RESULTS_PUBLISHED' },
          { type: 'SETTLE_DUE', now: 6_000 },
          { type: 'CANCEL_FAILED', error: 'reverted' },
          { type: 'SETTLE_DUE', now: 6_100 },
          { type: 'LOCK_CANCELED', txHash: '0xc' },
        ],
      },
    ];
    for (const { machine, input, events } of cases) {
      const actor = createActor(machine, { input } as never).start();
      const stepper = new MachineStepper(machine);
      let snapshot = stepper.initial(input);
      expect(json(stepper.persisted(snapshot))).toBe(json(actor.getPersistedSnapshot()));
      const states = [String(snapshot.value)];
      for (const event of events) {
        actor.send(event as never);
        snapshot = stepper.next(snapshot, event);
        expect(json(stepper.persisted(snapshot))).toBe(json(actor.getPersistedSnapshot()));
        states.push(String(snapshot.value));
        // What the host writes restores to what the actor would restore.
        const restored = stepper.restore(JSON.parse(json(stepper.persisted(snapshot))));
        expect(json(stepper.persisted(restored))).toBe(json(actor.getPersistedSnapshot()));
      }
      expect(new Set(states).size).toBeGreaterThan(3);
      expect(snapshot.status).toBe('done');
    }
  });

  it("restores, in every state of both machines, exactly what XState's resolveState gives", () => {
    for (const { machine, stepper, context, value, final } of everyStateOfBothMachines()) {
      // Every status a state can be read back with, each twice: the second restore of a
      // state takes the resolution made by the first.
      const statuses = final ? ['done'] : ['active', 'error', 'active'];
      for (const [n, status] of [...statuses, ...statuses].entries()) {
        const persisted = {
          status,
          value,
          historyValue: {},
          context: { ...context, n },
          children: {},
          ...(status === 'error' ? { error: 'boom' } : {}),
        };
        const restored = stepper.restore(JSON.parse(JSON.stringify(persisted)));
        const resolved = machine.resolveState(JSON.parse(JSON.stringify(persisted)) as never);
        expect(restored).toEqual(resolved);
        expect(Object.keys(restored)).toEqual(Object.keys(resolved));
        expect(restored.getMeta()).toEqual(resolved.getMeta());
        expect(json(stepper.persisted(restored))).toBe(json(machine.getPersistedSnapshot(resolved)));
      }
    }
  });

  it('gives, in every state of both machines, the meta metaOfState reads from the snapshot', () => {
    for (const { stepper, context, value, final } of everyStateOfBothMachines()) {
      const status = final ? 'done' : 'active';
      // Twice: the second lookup of a state takes the meta found by the first.
      for (let n = 0; n < 2; n += 1) {
        const snapshot = stepper.restore({ status, value, historyValue: {}, context: { ...context, n }, children: {} });
        expect(stepper.meta(snapshot)).toBe(metaOfState(snapshot));
      }
    }
  });

  it('refuses a snapshot with child actors at restore (the machines are flat)', () => {
    const stepper = new MachineStepper(swapFulfillment);
    const persisted = JSON.parse(json(stepper.persisted(stepper.initial({ terms: SWAP_TERMS, now: 1 })))) as Record<
      string,
      unknown
    >;
    expect(() => stepper.restore({ ...persisted, children: { x: { src: 'y' } } })).toThrow(/child actors/);
  });

  it('a machine whose first snapshot is an error is refused by the engine, named', () => {
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const table = new MachineTable({ store: {} as SnapshotStore, log });
    const swaps = swapFulfillmentObligation({ contract: null, senders: new Map(), log });
    // A guard that throws during the first eventless transitions: XState returns an error status.
    expect(() => table.create(swaps, 'swap:1', { terms: { ...SWAP_TERMS, userDestAddress: null }, now: 1 })).toThrow(
      /swap:1: machine failed to start/,
    );
    expect(table.size).toBe(0);
  });
});
