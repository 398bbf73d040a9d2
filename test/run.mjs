#!/usr/bin/env node
// `npm test` after Biome: the type check and vitest at the same time, each one's verdict said
// at the end. Why at once: vitest keeps both cores busy only once its long files run; tsc alone
// took 18 s of a run's wall time on one and a half cores (2026-12-02). tsc's own output is held
// and printed after vitest's, so the two never interleave. Exit 0 only if both passed.
// Arguments go to vitest (`npm test -- test/cli` runs that folder, still type-checked whole).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** A package's command, by its package.json (vitest's exports do not list its bin). */
const bin = (pkg, path) => join(dirname(require.resolve(`${pkg}/package.json`)), path);

/** Runs `node <script> <args>`; resolves its exit code (1 if it died of a signal) and what it printed, if held. */
function run(script, args, hold) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: hold ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    if (hold) {
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
    }
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const startedMs = Date.now();
const types = run(bin('typescript', 'bin/tsc'), ['--noEmit'], true);
const tests = await run(bin('vitest', 'vitest.mjs'), ['run', ...process.argv.slice(2)], false);
const checked = await types;
process.stdout.write(checked.output);
process.stdout.write(
  `type check (tsc --noEmit): ${checked.code === 0 ? 'passed' : `FAILED (exit ${checked.code})`}; ` +
    `vitest: ${tests.code === 0 ? 'passed' : `FAILED (exit ${tests.code})`}; ` +
    `${Math.round((Date.now() - startedMs) / 1000)} s\n`,
);
process.exitCode = checked.code === 0 && tests.code === 0 ? 0 : 1;
