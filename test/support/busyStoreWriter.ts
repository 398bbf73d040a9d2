/**
 * A child process that writes to a store without pause, as a busy daemon does: overlapping
 * commits, new machines, archives and frequent checkpoints. Used to race read-only readers
 * against it. Arguments: <store dir> <checkpoint bytes>. Prints "ready" once the store exists.
 */
import { writeSync } from 'node:fs';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import type { MachineRecord } from '../../src/store/snapshotStore.ts';
import { SWAP_MACHINE_VERSION, swapMachineId } from '../../machines/index.ts';

const [dir, checkpointBytes] = process.argv.slice(2);
const store = await openLowdbSnapshotStore(dir!, {
  create: true,
  // The current version: a reader (settle status) would migrate an older record, and these are not real snapshots.
  knownMachines: { swapFulfillment: SWAP_MACHINE_VERSION },
  checkpointBytes: Number(checkpointBytes),
});
const record = (id: string, seq: number): MachineRecord => ({
  id,
  machine: { name: 'swapFulfillment', version: SWAP_MACHINE_VERSION },
  seq,
  snapshot: { status: 'active', value: 'Pending', context: { n: seq, pad: 'y'.repeat(50 + ((seq * 37) % 200)) } },
});
const seqs = new Map<string, number>();
let next = 0;
// A fixed sequence of choices (no Math.random): the same run every time.
let choice = 0;
const pick = (n: number): number => {
  choice = (choice * 1103515245 + 12345) % 2 ** 31;
  return choice % n;
};
writeSync(1, 'ready\n');
for (;;) {
  const pending: Promise<unknown>[] = [];
  for (let k = 0; k < 4; k += 1) {
    if (seqs.size < 30 || pick(5) === 0) seqs.set(swapMachineId(`w${next++}`), 0);
    const ids = [...seqs.keys()];
    const chosen = [...new Set(Array.from({ length: 1 + pick(5) }, () => ids[pick(ids.length)]!))];
    const records = chosen.map((id) => record(id, seqs.get(id)! + 1));
    for (const r of records) seqs.set(r.id, r.seq);
    pending.push(store.putMany(records));
    if (pick(2) === 0) {
      seqs.delete(chosen[0]!);
      pending.push(store.archive(chosen[0]!));
    }
  }
  await Promise.all(pending);
}
