/**
 * The contracts of test/evm/contracts/TransferProbes.sol (a coin receiver that can be made to
 * revert, a token that moves nothing), compiled with solc-js once per source content and
 * cached beside compileContracts' output.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Contract, ContractFactory, type Wallet } from 'ethers';
import type { Compiled } from './compileContracts.ts';

const SOURCE = fileURLToPath(new URL('../evm/contracts/TransferProbes.sol', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/settle-solc/', import.meta.url));

type ProbeName = 'ClosableReceiver' | 'SilentToken';

function compileProbes(): Record<ProbeName, Compiled> {
  const content = readFileSync(SOURCE, 'utf8');
  const solc = createRequire(import.meta.url)('solc') as { version(): string; compile(input: string): string };
  const key = createHash('sha256').update(solc.version()).update(content).digest('hex').slice(0, 16);
  const cached = join(CACHE_DIR, `probes-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as Record<ProbeName, Compiled>;
  const input = {
    language: 'Solidity',
    sources: { 'TransferProbes.sol': { content } },
    settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const pick = (name: ProbeName): Compiled => {
    const c = output.contracts['TransferProbes.sol']![name]!;
    return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  };
  const result = { ClosableReceiver: pick('ClosableReceiver'), SilentToken: pick('SilentToken') };
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(cached, JSON.stringify(result));
  return result;
}

export async function deployProbe(name: ProbeName, deployer: Wallet): Promise<Contract> {
  const { abi, bytecode } = compileProbes()[name];
  return (await (await new ContractFactory(abi as never, bytecode, deployer).deploy()).waitForDeployment()) as Contract;
}
