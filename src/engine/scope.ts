/**
 * What the engine lends an obligation's observer (ObligationScope): its own live machines,
 * whether the store knows an id, and the engine's only ways to change a machine: create (then
 * commit), dispatch. Nothing here performs an effect.
 */
import type { Logger } from '../host/ports.ts';
import type { SnapshotStore } from '../store/snapshotStore.ts';
import type { CreateCall } from './interceptors.ts';
import type { Change, LiveMachine } from './live.ts';
import type { MachineTable } from './machineTable.ts';
import type { AnyObligation, EventLike, ObligationScope } from './obligation.ts';

export type AmendFn = (machine: LiveMachine) => EventLike | null;

export interface ScopeDeps {
  readonly log: Logger;
  readonly store: SnapshotStore;
  /** Creation through the interceptors' chain. */
  readonly create: (call: CreateCall & { amend?: AmendFn }) => Change;
}

export function scopeFor(table: MachineTable, obligation: AnyObligation, deps: ScopeDeps): ObligationScope {
  return {
    log: deps.log,
    get: (id) => table.get(id),
    onDisk: (id) => deps.store.placeOf(id) !== null,
    create: (id, input, amend) =>
      deps.create({ kind: obligation.kind, id, input, ...(amend === undefined ? {} : { amend }) }),
    commit: (changes) => table.persistAll(changes),
    live: () => table.sorted().filter((m) => m.obligation === obligation),
    isLive: (machine) => table.isLive(machine),
    dispatchAll: (events) => table.dispatchAll(events),
  };
}
