/**
 * `npm run mutate`: are the proofs strong enough to notice a broken implementation?
 *
 * Each mutant changes the code in one place: a guard of a machine weakened to "always true",
 * or one persist/effect pair put in the wrong order (the effect before the write that should
 * precede it). The tests that concern it run against the mutant in a scratch copy of the
 * repository; the mutant is killed when some test fails. Prints each mutant and the totals.
 * A mutation that no longer applies (the code moved) fails the script: it never goes quiet.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Mutant {
  readonly name: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly tests: readonly string[];
}

const MACHINE_TESTS = [
  'test/machines',
  'test/proofs/graphCoverage.test.ts',
  'test/proofs/modelBased.test.ts',
  'test/sim/simulate.test.ts',
];
const HOST_TESTS = [
  'test/host',
  'test/proofs/modelBased.test.ts',
  'test/proofs/crashExploration.test.ts',
  'test/sim/simulate.test.ts',
];

/** Every guard of a machine file, weakened to `() => true`. */
function guardMutants(file: string): Mutant[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const guards = text.slice(text.indexOf('guards: {'), text.indexOf('actions: {'));
  return [...guards.matchAll(/^ {4}(\w+): \((\{[^}]*\})?\) =>/gm)].map((m) => ({
    name: `${file}: guard ${m[1]} always true`,
    file,
    from: m[0],
    to: `    ${m[1]}: () => true,\n    _weakened_${m[1]}: (${m[2] ?? ''}) =>`,
    tests: MACHINE_TESTS,
  }));
}

const REORDERS: Mutant[] = [
  {
    name: 'engine: the snapshot asking for an effect is not awaited on disk before the effect',
    file: 'src/engine/machineTable.ts',
    from: '    await this.persistAll([change]);\n    return true;',
    to: '    void this.persistAll([change]).catch(() => undefined);\n    return true;',
    tests: HOST_TESTS,
  },
  {
    name: 'sendTransfer: broadcast before the signed bytes are persisted',
    file: 'src/obligations/swapFulfillment/effects.ts',
    from: "      return { type: 'TRANSFER_SIGNED', raw: signed.raw, hash: signed.hash };",
    to: "      await sender.broadcast(signed.raw).catch(() => undefined);\n      return { type: 'TRANSFER_SIGNED', raw: signed.raw, hash: signed.hash };",
    tests: HOST_TESTS,
  },
  {
    name: 'engine: archive a stuck obligation before its recovery entry is written',
    file: 'src/engine/engine.ts',
    from: '      if (effect !== undefined) {\n        const handler = machine.obligation.handlers[effect]!;',
    to: "      if (effect === 'recordRecovery' && step === 0) {\n        await this.options.store.archive(machine.id);\n        this.table.evict(machine.id);\n      }\n      if (effect !== undefined) {\n        const handler = machine.obligation.handlers[effect]!;",
    tests: HOST_TESTS,
  },
  {
    name: 'batch claimer: claim before reading what the chain already settled',
    file: 'src/host/batchClaimer.ts',
    from: '  let due = await reconcile(escrow, tasks, decidedForClaim, failed, events);',
    to: '  let due = [...tasks];',
    tests: [...HOST_TESTS, 'test/evm/escrow.test.ts'],
  },
  {
    name: 'EVM sender: broadcast before the signed transaction is journaled',
    file: 'src/chains/evm/evmTxSender.ts',
    from: '    await journal.addAttempt(nonce, purpose, { hash, raw, maxFeePerGas: maxFeePerGas.toString(), maxPriorityFeePerGas: maxPriorityFeePerGas.toString(), sentAtBlock });\n    await this.broadcast(raw);',
    to: '    await this.broadcast(raw);\n    await journal.addAttempt(nonce, purpose, { hash, raw, maxFeePerGas: maxFeePerGas.toString(), maxPriorityFeePerGas: maxPriorityFeePerGas.toString(), sentAtBlock });',
    tests: ['test/evm/escrow.test.ts'],
  },
];

/** A copy of the working tree in <tmp>/main (it needs nothing beside it). */
function scratchCopy(): string {
  const base = mkdtempSync(join(tmpdir(), 'settle-mutants-'));
  const dir = join(base, 'main');
  const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .stdout.split('\n')
    .filter(Boolean);
  for (const file of files)
    if (existsSync(join(ROOT, file))) cpSync(join(ROOT, file), join(dir, file), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function main(): number {
  const mutants = [
    ...guardMutants('machines/swapFulfillment.ts'),
    ...guardMutants('machines/jobSettlement.ts'),
    ...REORDERS,
  ];
  const copy = scratchCopy();
  let killed = 0;
  const survivors: string[] = [];
  try {
    for (const [i, mutant] of mutants.entries()) {
      const path = join(copy, mutant.file);
      const original = readFileSync(path, 'utf8');
      if (!original.includes(mutant.from)) {
        process.stderr.write(`mutate: '${mutant.name}' no longer applies to ${mutant.file}: update the mutant\n`);
        return 2;
      }
      writeFileSync(path, original.replace(mutant.from, mutant.to));
      const run = spawnSync('npx', ['vitest', 'run', '--bail', '1', ...mutant.tests], {
        cwd: copy,
        encoding: 'utf8',
        env: { ...process.env, SETTLE_PROVE_CRASHES: '1', SETTLE_PROVE_FAULTS: '0' },
      });
      writeFileSync(path, original);
      const dead = run.status !== 0;
      if (dead) killed += 1;
      else survivors.push(mutant.name);
      process.stdout.write(`[${i + 1}/${mutants.length}] ${dead ? 'killed  ' : 'SURVIVED'} ${mutant.name}\n`);
    }
  } finally {
    rmSync(dirname(copy), { recursive: true, force: true });
  }
  process.stdout.write(`\nmutants: ${mutants.length}, killed: ${killed}, survived: ${mutants.length - killed}\n`);
  for (const s of survivors) process.stdout.write(`  survived: ${s}\n`);
  return survivors.length === 0 ? 0 : 1;
}

process.exit(main());
