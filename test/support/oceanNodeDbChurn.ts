/**
 * A child process that keeps rewriting an ocean-node-shaped database, as ocean-node does while
 * settle reads it: `tsx oceanNodeDbChurn.ts <path> <rollback|wal> <rows>`. Every transaction
 * sets every row's status and body to the same generation k and, in WAL mode, checkpoints
 * every few pages (so the WAL restarts under the reader). A consistent read sees one k in
 * every row. Prints "ready" once the first generation is committed; runs until killed or until
 * its stdin closes (the test that started it is gone: never outlive it).
 */
import { OceanNodeDbWriter } from './oceanNodeDbWriter.ts';

const [path, mode, rowsText] = process.argv.slice(2);
const rows = Number(rowsText);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
const writer = new OceanNodeDbWriter(path!, mode === 'wal' ? 'wal' : 'rollback');
if (mode === 'wal') writer.autocheckpoint(8);
const padding = 'x'.repeat(1_500); // bodies over a page: a generation spans many pages
for (let k = 1; ; k += 1) {
  writer.transaction(() => {
    for (let i = 0; i < rows; i += 1) {
      writer.upsert({
        jobId: `job-${i}`,
        owner: `0x${'11'.repeat(20)}`,
        status: k,
        environment: 'env',
        maxJobDuration: 60,
        body: { k, padding },
      });
    }
  });
  if (k === 1) process.stdout.write('ready\n');
  // A commit every few milliseconds: far busier than ocean-node, yet with gaps a read can fit in.
  await new Promise((r) => setTimeout(r, 3));
}
