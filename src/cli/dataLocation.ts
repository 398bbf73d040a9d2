/**
 * Where `settle status` and `settle recovery` find the data: given (--data-dir, or --config
 * whose dataDir is read), or else the one obvious place in the current directory:
 *
 * - `./.settle`, where `settle start` keeps its run by default (a directory);
 * - `./settle.yaml`, a daemon's configuration kept beside where the operator works: its dataDir.
 *
 * Exactly one place (both naming the same directory count as one): it is used, and said on
 * stderr. None, or several: refused, listing what was looked for or found. Nothing further
 * is searched (no parent directories, no /etc): an operator command must never read another
 * deployment's data by surprise. Reads only; writes nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_EMBEDDED_DIR } from '../defaults.ts';
import { ConfigError, DataDirUnknown } from '../errors.ts';
import { requireReadableDirectory, requireReadableFile } from '../usablePaths.ts';

/** `settle start`'s data directory when no --dir is given, relative to the current directory. */
export const EMBEDDED_DIR = DEFAULT_EMBEDDED_DIR;
/** A daemon configuration the operator commands read when given neither --config nor --data-dir. */
export const LOCAL_CONFIG = 'settle.yaml';

export interface Where {
  readonly config?: string;
  readonly dataDir?: string;
}

export interface Located {
  readonly dataDir: string;
  /** How it was found when no flag said it ("where settle start keeps its data"); null if given. */
  readonly foundAs: string | null;
}

/** The data directory, from --data-dir or the config's dataDir (keys are not needed to read). */
export function dataDirOf(where: Where): string {
  if (where.dataDir !== undefined) return requireReadableDirectory(where.dataDir, '--data-dir');
  if (where.config !== undefined) {
    const file = requireReadableFile(where.config, '--config');
    return requireReadableDirectory(configuredDataDir(file), `dataDir of ${file}`);
  }
  return locateData(where).dataDir;
}

/** The data directory as given, or the one obvious place in `cwd` (see the file's comment). */
export function locateData(where: Where, cwd: string = process.cwd()): Located {
  if (where.dataDir !== undefined || where.config !== undefined) return { dataDir: dataDirOf(where), foundAs: null };
  const candidates = candidatesIn(cwd);
  if (candidates.length === 1) {
    const [only] = candidates as [Candidate];
    return { dataDir: requireReadableDirectory(only.dataDir, 'the data directory'), foundAs: only.foundAs };
  }
  if (candidates.length === 0) {
    throw new DataDirUnknown(
      `say where the data is: --data-dir <dir> or --config <file> (neither ./${EMBEDDED_DIR}, where settle start keeps its data, ` +
        `nor ./${LOCAL_CONFIG}, a daemon's configuration, is in ${cwd})`,
      [],
    );
  }
  const listed = candidates.map((c) => `\n  ${c.dataDir}  (${c.foundAs})`).join('');
  throw new DataDirUnknown(
    `settle data is in more than one place here; say which with --data-dir <dir> or --config <file>:${listed}`,
    candidates.map((c) => c.dataDir),
  );
}

interface Candidate {
  readonly dataDir: string;
  readonly foundAs: string;
}

function candidatesIn(cwd: string): Candidate[] {
  const found: Candidate[] = [];
  const embedded = join(cwd, EMBEDDED_DIR);
  if (isA(embedded, 'directory'))
    found.push({ dataDir: embedded, foundAs: `./${EMBEDDED_DIR}, where settle start keeps its data` });
  const config = join(cwd, LOCAL_CONFIG);
  if (isA(config, 'file')) {
    const dataDir = configuredDataDir(config);
    const same = found.find((c) => c.dataDir === dataDir);
    const foundAs = `dataDir of ./${LOCAL_CONFIG}`;
    if (same === undefined) found.push({ dataDir, foundAs });
    else found[found.indexOf(same)] = { dataDir, foundAs: `${same.foundAs}, and ${foundAs}` };
  }
  return found;
}

function isA(path: string, kind: 'file' | 'directory'): boolean {
  try {
    const stats = statSync(path);
    return kind === 'file' ? stats.isFile() : stats.isDirectory();
  } catch {
    return false;
  }
}

/** A configuration's dataDir, relative to the file, read without validating the rest. */
function configuredDataDir(file: string): string {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, [`cannot be read as YAML or JSON: ${(error as Error).message.split('\n')[0]}`]);
  }
  const dataDir = (raw as { dataDir?: unknown } | null)?.dataDir;
  if (typeof dataDir !== 'string' || dataDir === '')
    throw new ConfigError(file, ['dataDir: a directory path is required']);
  return resolve(dirname(file), dataDir);
}
