/**
 * An SVG drawing of a machine: laid out by elkjs (layered, labels placed by the layout so they
 * never overlap), drawn here with no browser. States that request an effect are amber, final
 * states green with a double border, Recovery (and any state that writes the recovery log) red
 * and thick. With coverage, each transition shows its count, and one never taken is red.
 */
import ElkConstructor from 'elkjs/lib/elk.bundled.js';
import type { MachineModel, TransitionCounts } from './machineModel.ts';
import { countLabel, stateKind, transitionLabel, type StateKind } from './labels.ts';

const FONT = 12;
const CHAR_WIDTH = 7.2; // generous for 12px sans-serif: a label measured short would overlap
const LINE = 16;
const INITIAL = '__initial__';

interface Point {
  x: number;
  y: number;
}

interface LaidOut {
  children?: Array<{ id: string; x?: number; y?: number; width?: number; height?: number }>;
  edges?: Array<{
    id: string;
    sections?: Array<{ startPoint: Point; endPoint: Point; bendPoints?: Point[] }>;
    labels?: Array<{ text?: string; x?: number; y?: number; width?: number; height?: number }>;
  }>;
  width?: number;
  height?: number;
}

const COLORS: Record<StateKind, { fill: string; stroke: string; width: number }> = {
  plain: { fill: '#ffffff', stroke: '#4a5568', width: 1.5 },
  effect: { fill: '#fff4d6', stroke: '#b7791f', width: 1.5 },
  final: { fill: '#e6f4ea', stroke: '#2f855a', width: 1.5 },
  recovery: { fill: '#fde8e8', stroke: '#c53030', width: 3 },
};

const escapeMarkup = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const textWidth = (text: string): number => Math.ceil(text.length * CHAR_WIDTH) + 8;

function stateLines(model: MachineModel, name: string): string[] {
  const s = model.states.find((x) => x.name === name)!;
  return s.effect === null ? [name] : [name, `⚡ ${s.effect}`];
}

export async function toSvg(model: MachineModel, counts?: TransitionCounts): Promise<string> {
  // elkjs is CommonJS; its default export is the constructor.
  const elk = new (ElkConstructor as unknown as new () => { layout(graph: unknown): Promise<unknown> })();
  const initial = model.states.find((s) => s.initial);
  const labelOf = (key: string): string => {
    const t = model.transitions.find((x) => x.key === key)!;
    return `${transitionLabel(model, t)}${countLabel(counts?.[t.key])}`;
  };
  const graph = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.nodeNode': '50',
      'elk.spacing.edgeLabel': '4',
      'elk.spacing.edgeEdge': '14',
      'elk.spacing.edgeNode': '20',
      'elk.layered.spacing.edgeNodeBetweenLayers': '20',
      'elk.layered.spacing.edgeEdgeBetweenLayers': '14',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.edgeLabels.inline': 'true',
      'elk.layered.edgeLabels.sideSelection': 'SMART_DOWN',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.padding': '[top=20,left=20,bottom=20,right=20]',
    },
    children: [
      ...(initial === undefined ? [] : [{ id: INITIAL, width: 16, height: 16 }]),
      ...model.states.map((s) => {
        const lines = stateLines(model, s.name);
        return { id: s.name, width: Math.max(...lines.map(textWidth)) + 24, height: lines.length * LINE + 20 };
      }),
    ],
    edges: [
      ...(initial === undefined ? [] : [{ id: '__start__', sources: [INITIAL], targets: [initial.name] }]),
      ...model.transitions.map((t) => {
        const text = labelOf(t.key);
        return {
          id: t.key,
          sources: [t.from],
          targets: [t.to ?? t.from],
          labels: [{ text, width: textWidth(text), height: LINE }],
        };
      }),
    ],
  };
  const laid = (await elk.layout(graph as never)) as unknown as LaidOut;
  const width = Math.ceil(laid.width ?? 0);
  const height = Math.ceil(laid.height ?? 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    `<title>${escapeMarkup(model.name)}: generated from machines/${escapeMarkup(model.name)}.ts by settle diagram</title>`,
    '<defs>',
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker>',
    '<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c53030"/></marker>',
    '</defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  for (const edge of laid.edges ?? []) {
    const never = counts !== undefined && counts[edge.id] === 0;
    const stroke = never ? '#c53030' : '#4a5568';
    for (const section of edge.sections ?? []) {
      const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]
        .map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`)
        .join(' ');
      out.push(
        `<polyline class="transition${never ? ' never-taken' : ''}" data-transition="${escapeMarkup(edge.id)}" points="${points}" fill="none" stroke="${stroke}" stroke-width="${never ? 2 : 1.3}"${never ? ' stroke-dasharray="5 3"' : ''} marker-end="url(#${never ? 'arrow-red' : 'arrow'})"/>`,
      );
    }
    for (const label of edge.labels ?? []) {
      const x = label.x ?? 0;
      const y = label.y ?? 0;
      out.push(
        `<rect class="label-box" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${label.width ?? 0}" height="${label.height ?? 0}" fill="#ffffff" fill-opacity="0.9"/>`,
      );
      out.push(
        `<text class="label" x="${(x + 4).toFixed(1)}" y="${(y + 12).toFixed(1)}" fill="${never ? '#c53030' : '#1a202c'}">${escapeMarkup(label.text ?? '')}</text>`,
      );
    }
  }
  for (const node of laid.children ?? []) {
    const x = node.x ?? 0;
    const y = node.y ?? 0;
    const w = node.width ?? 0;
    const h = node.height ?? 0;
    if (node.id === INITIAL) {
      out.push(`<circle cx="${x + w / 2}" cy="${y + h / 2}" r="${w / 2}" fill="#1a202c"/>`);
      continue;
    }
    const state = model.states.find((s) => s.name === node.id)!;
    const kind = stateKind(state);
    const color = COLORS[kind];
    out.push(`<g class="state state-${kind}" data-state="${escapeMarkup(state.name)}">`);
    out.push(
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8" fill="${color.fill}" stroke="${color.stroke}" stroke-width="${color.width}"/>`,
    );
    if (state.final)
      out.push(
        `<rect x="${x + 4}" y="${y + 4}" width="${w - 8}" height="${h - 8}" rx="6" fill="none" stroke="${color.stroke}" stroke-width="1"/>`,
      );
    stateLines(model, state.name).forEach((line, i) => {
      out.push(
        `<text x="${x + w / 2}" y="${y + 10 + LINE * (i + 1) - 3}" text-anchor="middle"${i === 0 ? ' font-weight="bold" font-size="13"' : ''} fill="#1a202c">${escapeMarkup(line)}</text>`,
      );
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
