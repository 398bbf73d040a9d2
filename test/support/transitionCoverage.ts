/**
 * Records which transitions of a machine definition a test file actually takes, so the file
 * can assert that every one of them was exercised (by identity of the transition objects).
 */
import type { AnyStateMachine, InspectionEvent } from 'xstate';

type TransitionDef = { source: { key: string }; eventType: string; target?: ReadonlyArray<{ key: string }> | undefined };

export function transitionLabels(machine: AnyStateMachine): Map<TransitionDef, string> {
  const labels = new Map<TransitionDef, string>();
  for (const node of Object.values(machine.root.states) as Array<{
    key: string;
    transitions: Map<string, TransitionDef[]>;
    always?: TransitionDef[];
  }>) {
    for (const [eventType, list] of node.transitions) {
      list.forEach((t, i) => labels.set(t, `${node.key} --${eventType}#${i}--> ${t.target?.map((n) => n.key).join(',') ?? '(stay)'}`));
    }
    (node.always ?? []).forEach((t, i) => labels.set(t, `${node.key} --always#${i}--> ${t.target?.map((n) => n.key).join(',') ?? '(stay)'}`));
  }
  return labels;
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
