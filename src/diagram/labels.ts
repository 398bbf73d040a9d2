/** The words a diagram puts on a transition and a state: the same in every format. */
import type { MachineModel, StateModel, TransitionModel } from './machineModel.ts';

/** The effect a transition sets in motion: the one its target state requests on entry. */
export function effectOf(model: MachineModel, t: TransitionModel): string | null {
  if (t.to === null || t.to === t.from) return null;
  return model.states.find((s) => s.name === t.to)?.effect ?? null;
}

/** `EVENT [guard] / effect`. */
export function transitionLabel(model: MachineModel, t: TransitionModel): string {
  const effect = effectOf(model, t);
  return `${t.event}${t.guard === null ? '' : ` [${t.guard}]`}${effect === null ? '' : ` / ${effect}`}`;
}

export function countLabel(count: number | undefined): string {
  return count === undefined ? '' : count === 0 ? ' (never taken)' : ` (×${count})`;
}

export type StateKind = 'recovery' | 'final' | 'effect' | 'plain';

export function stateKind(s: StateModel): StateKind {
  if (s.name === 'Recovery' || s.record !== null) return 'recovery';
  if (s.final) return 'final';
  if (s.effect !== null) return 'effect';
  return 'plain';
}
