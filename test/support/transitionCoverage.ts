/**
 * Records which transitions of a machine definition a test file actually takes, so the file
 * can assert that every one of them was exercised (by identity of the transition objects).
 */
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import { transitionDefinitions } from '../../src/diagram/machineModel.ts';

export function transitionLabels(machine: AnyStateMachine): Map<unknown, string> {
  return new Map([...transitionDefinitions(machine)].map(([definition, model]) => [definition, model.key]));
}

export class TransitionRecorder {
  readonly taken = new Set<unknown>();
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type === '@xstate.microstep') for (const t of event._transitions) this.taken.add(t);
  };

  missing(machine: AnyStateMachine): string[] {
    return [...transitionLabels(machine)].filter(([t]) => !this.taken.has(t)).map(([, label]) => label);
  }
}
