/** Every diagram format of a machine, from its model. */
import type { AnyStateMachine } from 'xstate';
import type { CoverageFile } from './coverage.ts';
import { toHtml } from './html.ts';
import { machineModel } from './machineModel.ts';
import { toMermaid } from './mermaid.ts';
import { toSvg } from './svg.ts';

export const DIAGRAM_FORMATS = ['mermaid', 'svg', 'json', 'html'] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];
export const EXTENSIONS: Readonly<Record<DiagramFormat, string>> = {
  mermaid: 'mmd',
  svg: 'svg',
  json: 'json',
  html: 'html',
};

export async function renderDiagram(
  machine: AnyStateMachine,
  format: DiagramFormat,
  coverage?: CoverageFile,
): Promise<string> {
  const model = machineModel(machine);
  const counts = coverage?.machines[model.name];
  switch (format) {
    case 'mermaid':
      return toMermaid(model, counts);
    case 'svg':
      return toSvg(model, counts);
    case 'json':
      return `${JSON.stringify(counts === undefined ? model : { ...model, coverage: { source: coverage!.source, counts } }, null, 2)}\n`;
    case 'html':
      return toHtml(model, await toSvg(model, counts), counts, coverage?.source);
  }
}
