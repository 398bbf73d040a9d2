/** Mermaid `stateDiagram-v2`, which GitHub renders: states, transitions, kinds, coverage counts. */
import type { MachineModel, TransitionCounts } from './machineModel.ts';
import { countLabel, stateKind, transitionLabel } from './labels.ts';

export function toMermaid(model: MachineModel, counts?: TransitionCounts): string {
  const lines = [
    'stateDiagram-v2',
    `  %% ${model.name}: generated from machines/${model.name}.ts by settle diagram; do not edit`,
  ];
  for (const s of model.states) {
    const effect = s.effect === null ? '' : `\\n⚡ ${s.effect}`;
    lines.push(`  state "${s.name}${effect}" as ${s.name}`);
  }
  const initial = model.states.find((s) => s.initial);
  if (initial !== undefined) lines.push(`  [*] --> ${initial.name}`);
  for (const t of model.transitions) {
    lines.push(
      `  ${t.from} --> ${t.to ?? t.from} : ${transitionLabel(model, t).replaceAll(':', ' ')}${countLabel(counts?.[t.key])}`,
    );
  }
  for (const s of model.states) if (s.final) lines.push(`  ${s.name} --> [*]`);
  lines.push('  classDef effect fill:#fff4d6,stroke:#b7791f,color:#1a202c');
  lines.push('  classDef final fill:#e6f4ea,stroke:#2f855a,stroke-width:2px,color:#1a202c');
  lines.push('  classDef recovery fill:#fde8e8,stroke:#c53030,stroke-width:3px,color:#1a202c');
  for (const kind of ['effect', 'final', 'recovery'] as const) {
    const names = model.states.filter((s) => stateKind(s) === kind).map((s) => s.name);
    if (names.length > 0) lines.push(`  class ${names.join(',')} ${kind}`);
  }
  return `${lines.join('\n')}\n`;
}
