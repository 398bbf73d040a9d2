/**
 * How `npm test` runs: three files at once on two cores, modules shared between the files a
 * worker runs, and the files that wait longest on child processes started first.
 *
 * Why each setting (measured on the two cores this project is built on, 2026-12-02):
 * - `maxWorkers: 3`: the daemon, torture and EVM tests spend about half their time waiting on
 *   child processes (hardhat, the daemon they kill); with one file per core the run used 99% of
 *   one core.
 * - `isolate: false`: with a fresh module registry per file, each of the 86 files loaded XState,
 *   ethers, polkadot-js and our sources again: 80 s of import time, 538 s of CPU in all. Shared,
 *   import time is 19 s and the run takes 352 s of CPU. A file that replaces a module with
 *   `vi.mock` cannot share (the module may already be loaded), so it runs in its own project.
 * - The sequencer: vitest orders files it has no timings for (every clean clone) by size, which
 *   started the 28-line torture last and made it the tail of the run.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/** Test files that replace a module with `vi.mock`: they need a module registry of their own. */
const MOCKS_MODULES = ['test/daemon/lockFile.test.ts'];

/** The longest files (most of it waiting on child processes), longest first. */
const LONGEST_FIRST = [
  'test/torture/torture.test.ts',
  'test/daemon/restoreBackup.test.ts',
  'test/daemon/daemonProcess.test.ts',
  'test/torture/oceanNodeTorture.test.ts',
  'test/bench/smoke.test.ts',
  'test/cli/paths.test.ts',
  'test/evm/escrow.test.ts',
  'test/cli/start.test.ts',
  'test/proofs/crashExploration.test.ts',
  'test/host/crashPoints.test.ts',
  'test/torture/solanaTorture.test.ts',
];

/** Vitest's own order (timings of the last run if it has them), the known-long files first. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const at = LONGEST_FIRST.findIndex((path) => file.moduleId.endsWith(`/${path}`));
      return at < 0 ? LONGEST_FIRST.length : at;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKS_MODULES, isolate: false },
      },
      { extends: true, test: { name: 'isolated', include: MOCKS_MODULES, isolate: true } },
    ],
  },
});
