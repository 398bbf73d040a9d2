/** `settle diagram`: the machines drawn from their definitions, for auditors. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineCatalog } from '../../machines/index.ts';
import { readCoverage } from '../diagram/coverage.ts';
import { DIAGRAM_FORMATS, EXTENSIONS, renderDiagram, type DiagramFormat } from '../diagram/render.ts';
import { UsageError } from '../errors.ts';
import { prepareDirectory, requireReadableFile } from '../usablePaths.ts';

export interface DiagramOptions {
  readonly machine: string;
  readonly format: string;
  readonly out?: string;
  readonly coverage?: string;
}

export async function diagramCommand(options: DiagramOptions, stdout: NodeJS.WritableStream): Promise<number> {
  const names = options.machine === 'all' ? Object.keys(machineCatalog) : [options.machine];
  for (const name of names) {
    if (!Object.hasOwn(machineCatalog, name))
      throw new UsageError(
        `--machine: unknown machine '${name}' (known: ${Object.keys(machineCatalog).join(', ')}, or all)`,
      );
  }
  const formats = (
    options.format === 'all' ? [...DIAGRAM_FORMATS] : options.format.split(',').map((f) => f.trim())
  ) as DiagramFormat[];
  for (const format of formats) {
    if (!(DIAGRAM_FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format: unknown format '${format}' (known: ${DIAGRAM_FORMATS.join(', ')}, or all)`);
  }
  if (options.out === undefined && names.length * formats.length > 1) {
    throw new UsageError(
      `${names.length * formats.length} diagrams asked for: give --out DIR, or one --machine and one --format for stdout`,
    );
  }
  const coverage =
    options.coverage === undefined ? undefined : readCoverage(requireReadableFile(options.coverage, '--coverage'));
  // Reports are for others to read: the umask decides, as for any file a user writes.
  if (options.out !== undefined) prepareDirectory(options.out, '--out', 0o777);
  for (const name of names) {
    const machine = machineCatalog[name as keyof typeof machineCatalog].machine;
    for (const format of formats) {
      const text = await renderDiagram(machine, format, coverage);
      if (options.out === undefined) stdout.write(text);
      else {
        const path = join(options.out, `${name}.${EXTENSIONS[format]}`);
        writeFileSync(path, text);
        process.stderr.write(`settle diagram: wrote ${path}\n`);
      }
    }
  }
  return 0;
}
