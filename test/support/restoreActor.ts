import { createActor, type Actor, type AnyStateMachine } from 'xstate';

/** Restores an actor from a persisted snapshot (JSON), as the host does after a restart. */
export function restoreActor<M extends AnyStateMachine>(machine: M, persisted: unknown): Actor<M> {
  return createActor(machine as AnyStateMachine, { snapshot: persisted as never }).start() as Actor<M>;
}
