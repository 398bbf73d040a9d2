/**
 * Stores written by releases before the log (layout 1) kept one file per live machine in
 * live/. Opening one for writing converts it, crash-safely:
 *   1. read and validate every live/ file, exactly as layout 1 did (nothing is written if any
 *      is in doubt);
 *   2. write them as the log's first segment, then the layout-2 manifest (`writeLayout2`);
 *   3. remove live/.
 * A crash before the manifest leaves a layout-1 store (converted again at the next start); a
 * crash after it leaves live/ behind, whose records are already in the log: it is removed.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChecksummedJsonFile } from './checksummedJsonFile.ts';
import { fsyncDirectory, TEMP_SUFFIX } from './durableFile.ts';
import { type KnownMachines, validateRecord } from './recordValidation.ts';
import { idOfFileName, type MachineRecord } from './snapshotStore.ts';
import { StoreError } from '../errors.ts';

const RECORD_FORMAT = 'settle/machine-record';

export async function migrateFromLayout1(
  dir: string,
  knownMachines: KnownMachines,
  writeLayout2: (records: readonly MachineRecord[]) => Promise<void>,
): Promise<void> {
  const liveDir = join(dir, 'live');
  const names = await readdir(liveDir).catch((error: Error) => {
    throw new StoreError(liveDir, `missing: the layout-1 store is incomplete; refusing to start (${error.message})`);
  });
  const archived = new Set(
    (await readdir(join(dir, 'archive')).catch(() => [] as string[]))
      .filter((n) => n.endsWith('.json'))
      .map(idOfFileName),
  );
  const records: MachineRecord[] = [];
  for (const name of names.sort()) {
    if (name.endsWith(TEMP_SUFFIX)) continue;
    const path = join(liveDir, name);
    if (!name.endsWith('.json')) throw new StoreError(path, 'unexpected file in the live directory');
    const record = await new ChecksummedJsonFile(path, RECORD_FORMAT, (file, data) =>
      validateRecord(file, data, knownMachines),
    ).read();
    if (record === null) throw new StoreError(path, 'vanished while the store was being converted');
    if (record.id !== idOfFileName(name))
      throw new StoreError(
        path,
        `holds the record of '${record.id}', not of '${idOfFileName(name)}' (moved or copied by hand?)`,
      );
    if (archived.has(record.id))
      throw new StoreError(path, `'${record.id}' is both live and archived; refusing to guess which is true`);
    records.push(record);
  }
  await writeLayout2(records);
  await removeLayout1Leftovers(dir);
}

/** live/ of a converted store: every record in it is in the log already. */
export async function removeLayout1Leftovers(dir: string): Promise<void> {
  await rm(join(dir, 'live'), { recursive: true, force: true });
  await fsyncDirectory(dir);
}
