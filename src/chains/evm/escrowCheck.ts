/**
 * Where Ocean's Escrow is, and whether an address really is it.
 *
 * - The address book is the package's addresses/address.json (@oceanprotocol/contracts, the
 *   version pinned in package.json): a network name gives the chain id, the Escrow address and
 *   the network's start block (a lower bound for the escrow's events: the book has no
 *   deployment block of the Escrow itself).
 * - At start, the contract at the configured address must have code, carry every function the
 *   adapter calls (their selectors in its bytecode) and keep locks per payee: getLocks with a
 *   zero payee reverts "Invalid payee" on contracts 2.5.0 and later, and answers on older ones
 *   whose six-field locks this adapter would misread.
 */
import { createRequire } from 'node:module';
import { Interface, type JsonRpcProvider } from 'ethers';
import { ESCROW_ABI, OCEAN_CONTRACTS_VERSION } from './escrowAbi.ts';

const require = createRequire(import.meta.url);
const ADDRESS_BOOK = require('@oceanprotocol/contracts/addresses/address.json') as Record<
  string,
  { chainId?: number; Escrow?: string; startBlock?: number }
>;

export interface EscrowDeployment {
  readonly network: string;
  readonly chainId: number;
  readonly escrow: string;
  /** The network's start block in the book: the escrow was deployed at or after it. */
  readonly startBlock: number;
}

/** The escrow cannot be used: wrong network, no code, not the Escrow's interface. */
export class EscrowRefused extends Error {
  override readonly name = 'EscrowRefused';
}

/** The networks whose Escrow the book knows. */
export function escrowNetworks(): string[] {
  return Object.entries(ADDRESS_BOOK)
    .filter(([, entry]) => typeof entry.Escrow === 'string')
    .map(([name]) => name)
    .sort();
}

/** The Escrow of a network of the book, or why there is none. */
export function escrowDeployment(network: string): EscrowDeployment | string {
  const entry = Object.hasOwn(ADDRESS_BOOK, network) ? ADDRESS_BOOK[network] : undefined;
  const book = `@oceanprotocol/contracts ${OCEAN_CONTRACTS_VERSION} addresses/address.json`;
  if (entry === undefined)
    return `network '${network}' is not in ${book} (networks with an Escrow: ${escrowNetworks().join(', ')})`;
  if (typeof entry.Escrow !== 'string' || typeof entry.chainId !== 'number') {
    return `network '${network}' has no Escrow in ${book}; give escrow: and chainId: explicitly (networks with an Escrow: ${escrowNetworks().join(', ')})`;
  }
  return { network, chainId: entry.chainId, escrow: entry.Escrow, startBlock: entry.startBlock ?? 0 };
}

const usedFunctions = new Interface(ESCROW_ABI).fragments.filter((f) => f.type === 'function') as unknown as Array<{
  name: string;
  selector: string;
}>;
const getLocksData = new Interface(ESCROW_ABI).encodeFunctionData('getLocks', [
  `0x${'00'.repeat(20)}`,
  `0x${'00'.repeat(20)}`,
  `0x${'00'.repeat(20)}`,
]);

/**
 * The instruction a dispatcher compares the call's selector with: PUSH4 <selector> (0x63), or a
 * shorter PUSH when the selector starts with zero bytes (factoryRouter() is 0x00fac1cf: PUSH3).
 */
function pushOf(selector: string): string {
  const bytes = selector.slice(2).replace(/^(00)+/, '');
  return `${(0x5f + bytes.length / 2).toString(16)}${bytes}`;
}

/** Refuses (EscrowRefused) anything at `address` that is not Ocean's payee-bound Escrow. */
export async function verifyEscrow(provider: JsonRpcProvider, address: string, where: string): Promise<void> {
  const chainId = (await provider.getNetwork()).chainId;
  const code = (await provider.getCode(address)).toLowerCase();
  if (code === '0x')
    throw new EscrowRefused(`${where}: no contract at ${address} on chain ${chainId} (wrong network or address?)`);
  const missing = usedFunctions.filter((f) => !code.includes(pushOf(f.selector))).map((f) => f.name);
  if (missing.length > 0) {
    throw new EscrowRefused(
      `${where}: the contract at ${address} on chain ${chainId} is not Ocean's Escrow: it has no ${missing.join(', ')}`,
    );
  }
  let answered = false;
  try {
    await provider.call({ to: address, data: getLocksData });
    answered = true;
  } catch (error) {
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    if (!String(reason).includes('Invalid payee'))
      throw new EscrowRefused(`${where}: getLocks on ${address} failed unexpectedly: ${String(reason)}`);
  }
  if (answered) {
    throw new EscrowRefused(
      `${where}: the Escrow at ${address} on chain ${chainId} keeps locks without a payee (contracts before 2.5.0); this release reads the payee-bound Escrow of @oceanprotocol/contracts ${OCEAN_CONTRACTS_VERSION}`,
    );
  }
}
