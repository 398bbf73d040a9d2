/**
 * Transition coverage: how often the simulator took each transition of each machine, recorded
 * from XState's own inspection events (so two guarded branches between the same states are
 * told apart), written to a file by `settle sim --coverage` and read by `settle diagram`.
 */
import { readFileSync } from 'node:fs';
import type { InspectionEvent } from 'xstate';
import { machineCatalog } from '../../machines/index.ts';
import { CoverageFileInvalid } from '../errors.ts';
import { transitionDefinitions, type TransitionCounts } from './machineModel.ts';

export const COVERAGE_FORMAT = 'settle/coverage';

export interface CoverageFile {
  readonly format: typeof COVERAGE_FORMAT;
  /** How the counts were made, e.g. the sim command line. */
  readonly source: string;
  readonly machines: Readonly<Record<string, TransitionCounts>>;
}

export class CoverageRecorder {
  private readonly keys = new Map<unknown, { machine: string; key: string }>();
  private readonly counts: Record<string, Record<string, number>> = {};

  constructor() {
    for (const { machine } of Object.values(machineCatalog)) {
      this.counts[machine.id] = {};
      for (const [definition, model] of transitionDefinitions(machine)) {
        this.keys.set(definition, { machine: machine.id, key: model.key });
        this.counts[machine.id]![model.key] = 0;
      }
    }
  }

  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep') return;
    for (const transition of event._transitions) {
      const found = this.keys.get(transition);
      if (found !== undefined) this.counts[found.machine]![found.key]! += 1;
    }
  };

  file(source: string): CoverageFile {
    return { format: COVERAGE_FORMAT, source, machines: this.counts };
  }
}

export function readCoverage(path: string): CoverageFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CoverageFileInvalid(path, `cannot be read as a coverage file (${(error as Error).message})`);
  }
  const file = parsed as Partial<CoverageFile> | null;
  if (file?.format !== COVERAGE_FORMAT || typeof file.machines !== 'object' || file.machines === null) {
    throw new CoverageFileInvalid(
      path,
      `not a settle coverage file (expected format "${COVERAGE_FORMAT}"; write one with settle sim --coverage FILE)`,
    );
  }
  for (const [machine, counts] of Object.entries(file.machines)) {
    for (const [key, n] of Object.entries(counts)) {
      if (!Number.isSafeInteger(n) || n < 0)
        throw new CoverageFileInvalid(path, `${machine} '${key}' has count ${String(n)}, not a non-negative integer`);
    }
  }
  return file as CoverageFile;
}
