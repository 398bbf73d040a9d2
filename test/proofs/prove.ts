/**
 * `npm run prove -- [--runs N] [--crashes N] [--faults N]`: the proof layer with a larger
 * budget than CI's (model-based runs 200, explorer 2 crashes and 1 RPC fault).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    crashes: { type: 'string', default: '2' },
    faults: { type: 'string', default: '2' },
  },
});
for (const [name, value] of Object.entries(values)) {
  if (!/^[0-9]+$/.test(value)) {
    process.stderr.write(`prove: --${name} must be a non-negative integer, got '${value}'\n`);
    process.exit(2);
  }
}
process.stdout.write(
  `prove: ${values.runs} model-based runs; crash points explored with up to ${values.crashes} crashes and ${values.faults} RPC faults\n`,
);
const result = spawnSync('npx', ['vitest', 'run', 'test/proofs', '--testTimeout', '0'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    SETTLE_PROVE_RUNS: values.runs,
    SETTLE_PROVE_CRASHES: values.crashes,
    SETTLE_PROVE_FAULTS: values.faults,
  },
});
process.exit(result.status ?? 1);
