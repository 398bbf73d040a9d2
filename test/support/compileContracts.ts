/**
 * Compiles the test contracts with solc-js (no compiler download), once per source content:
 * the output is cached under node_modules/.cache/settle-solc.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export interface Compiled {
  readonly abi: readonly unknown[];
  readonly bytecode: string;
}

const CONTRACTS_DIR = fileURLToPath(new URL('../evm/contracts/', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/settle-solc/', import.meta.url));

/** Every contract of the given files of test/evm/contracts/, by contract name. */
export function compileSolidity(files: readonly string[]): Record<string, Compiled> {
  const sources = Object.fromEntries(files.map((f) => [f, { content: readFileSync(join(CONTRACTS_DIR, f), 'utf8') }]));
  const solc = createRequire(import.meta.url)('solc') as { version(): string; compile(input: string): string };
  const key = createHash('sha256').update(solc.version()).update(JSON.stringify(sources)).digest('hex').slice(0, 16);
  const cached = join(CACHE_DIR, `${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as Record<string, Compiled>;
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const result: Record<string, Compiled> = {};
  for (const contracts of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(contracts))
      result[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(cached, JSON.stringify(result));
  return result;
}

/** The tests' ERC-20. The Escrow is not compiled: the tests deploy Ocean's published bytecode. */
export function compileContracts(): Record<'TestToken', Compiled> {
  const compiled = compileSolidity(['TestToken.sol']);
  return { TestToken: compiled['TestToken']! };
}
