/**
 * What a state asks of the outside world, declared on the state itself so the host, the
 * simulator and the diagrams all read the same fact from the machine definition.
 *
 * A state with an `effect` is a durable intent: the host persists the snapshot that entered
 * the state, and only then performs the effect. `durableBefore` names what that persisted
 * snapshot holds, for auditors. `record` marks final states whose obligation must be written to
 * the recovery log (exactly once) before the machine is archived.
 */
export interface StateMeta<Effect extends string = string> {
  /** One of the machine's declared effects (its `*_EFFECTS` list): a handler exists for each. */
  readonly effect?: Effect;
  readonly durableBefore?: string;
  readonly record?: 'stuck-funds' | 'lost-revenue' | 'unsettled-claim';
  readonly summary: string;
}

/**
 * The meta helper a machine declares its states with: `stateMetaOf<SwapEffect>()` accepts only
 * the machine's own effects, so a state cannot ask for an effect no handler table lists.
 */
export function stateMetaOf<Effect extends string>(): (meta: StateMeta<Effect>) => StateMeta<Effect> {
  return (meta) => meta;
}

/** Integer amounts travel as decimal strings so every snapshot survives a JSON round trip. */
export const DECIMAL_INTEGER = /^(0|[1-9][0-9]*)$/;

export function isPositiveAmount(value: string): boolean {
  return DECIMAL_INTEGER.test(value) && value !== '0';
}

export function minAmount(a: string, b: string): string {
  return BigInt(a) <= BigInt(b) ? a : b;
}
