/**
 * What a diagram shows, read from the machine definition itself (never written by hand):
 * states with their meta (effect requested, what is durable first, recovery records), and
 * every transition with its event, guard, target and actions, named as XState names them.
 */
import type { AnyStateMachine } from 'xstate';
import type { StateMeta } from '../../machines/index.ts';

export interface StateModel {
  readonly name: string;
  readonly summary: string;
  readonly effect: string | null;
  readonly durableBefore: string | null;
  readonly record: string | null;
  readonly final: boolean;
  readonly initial: boolean;
}

export interface TransitionModel {
  /** Stable key: "From --EVENT#i--> To", i the branch's index among the event's transitions. */
  readonly key: string;
  readonly from: string;
  /** "always" for eventless transitions. */
  readonly event: string;
  readonly guard: string | null;
  /** Null for a transition that stays (actions only). */
  readonly to: string | null;
  readonly actions: readonly string[];
}

export interface MachineModel {
  readonly name: string;
  readonly states: readonly StateModel[];
  readonly transitions: readonly TransitionModel[];
}

interface TransitionDefinition {
  readonly source: { readonly key: string };
  readonly target?: ReadonlyArray<{ readonly key: string }> | undefined;
  readonly guard?: unknown;
  readonly actions?: readonly unknown[];
}

interface StateNodeLike {
  readonly key: string;
  readonly type: string;
  readonly meta?: unknown;
  readonly transitions: Map<string, TransitionDefinition[]>;
  readonly always?: TransitionDefinition[];
}

const nameOf = (x: unknown): string | null =>
  x === undefined || x === null
    ? null
    : typeof x === 'string'
      ? x
      : typeof (x as { type?: unknown }).type === 'string'
        ? (x as { type: string }).type
        : 'inline';

/** Every transition definition of a flat machine, with its stable key. */
export function transitionDefinitions(machine: AnyStateMachine): Map<unknown, TransitionModel> {
  const out = new Map<unknown, TransitionModel>();
  for (const node of Object.values(machine.root.states) as StateNodeLike[]) {
    const add = (event: string, list: readonly TransitionDefinition[]): void => {
      list.forEach((t, i) => {
        const to = t.target?.map((n) => n.key).join(',') ?? null;
        out.set(t, {
          key: `${node.key} --${event}#${i}--> ${to ?? '(stay)'}`,
          from: node.key,
          event,
          guard: nameOf(t.guard),
          to,
          actions: (t.actions ?? []).map((a) => nameOf(a) ?? 'inline'),
        });
      });
    };
    for (const [event, list] of node.transitions) add(event, list);
    add('always', node.always ?? []);
  }
  return out;
}

export function machineModel(machine: AnyStateMachine): MachineModel {
  const initial = String(
    (machine.root as unknown as { initial?: { target?: Array<{ key: string }> } }).initial?.target?.[0]?.key ?? '',
  );
  const states = (Object.values(machine.root.states) as StateNodeLike[]).map((node): StateModel => {
    const meta = (node.meta ?? {}) as Partial<StateMeta>;
    return {
      name: node.key,
      summary: meta.summary ?? '',
      effect: meta.effect ?? null,
      durableBefore: meta.durableBefore ?? null,
      record: meta.record ?? null,
      final: node.type === 'final',
      initial: node.key === initial,
    };
  });
  return { name: machine.id, states, transitions: [...transitionDefinitions(machine).values()] };
}

/** How often each transition (by key) was taken; absent means not measured. */
export type TransitionCounts = Readonly<Record<string, number>>;
