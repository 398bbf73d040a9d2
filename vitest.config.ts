import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Three test files at once on two cores: the daemon, torture and EVM tests spend about half
    // their time waiting on child processes (hardhat, the daemon they kill), so with one file per
    // core `npm test` used 99% of one core (455 s of CPU in 458 s of wall time, 2026-12-02).
    maxWorkers: 3,
  },
});
