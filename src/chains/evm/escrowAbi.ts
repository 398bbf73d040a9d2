/**
 * The Escrow ABI the adapter uses, taken from the artifact Ocean Protocol publishes
 * (npm @oceanprotocol/contracts, artifacts/contracts/escrow/Escrow.sol/Escrow.json; the
 * version is pinned in package.json). Only the fragments named in ESCROW_FRAGMENTS_USED are
 * taken, and each must read exactly as written there: the adapter's decoding relies on those
 * field names and orders (getLocks' five-field lock without a payee, Claimed's gross amount).
 * A mismatch (another package version) stops the module from loading, and a test compares
 * every fragment against the artifact as well.
 */
import { createRequire } from 'node:module';
import { Interface, type InterfaceAbi } from 'ethers';

const require = createRequire(import.meta.url);

interface HardhatArtifact {
  readonly contractName: string;
  readonly abi: InterfaceAbi;
  readonly bytecode: string;
  readonly deployedBytecode: string;
}

/** The published Escrow artifact: its ABI for the adapter, its bytecode for the tests. */
export const ESCROW_ARTIFACT =
  require('@oceanprotocol/contracts/artifacts/contracts/escrow/Escrow.sol/Escrow.json') as HardhatArtifact;
/** The package version the artifact and the address book come from. */
export const OCEAN_CONTRACTS_VERSION = (require('@oceanprotocol/contracts/package.json') as { version: string })
  .version;

/**
 * Every Escrow fragment the adapter encodes or decodes, as the artifact of 2.6.0 (Escrow.sol
 * unchanged through 2.8.0) states it.
 */
export const ESCROW_FRAGMENTS_USED = [
  'function getLocks(address token, address payer, address payee) view returns ((uint256 jobId, address payer, uint256 amount, uint256 expiry, address token)[])',
  'function claimLocks(uint256[] jobId, address[] token, address[] payer, uint256[] amount, bytes[] proof)',
  'function claimLocksAndWithdraw(uint256[] jobId, address[] token, address[] payer, uint256[] amount, bytes[] proof)',
  'function claimLockAndWithdraw(uint256 jobId, address token, address payer, uint256 amount, bytes proof)',
  'function cancelExpiredLocks(uint256[] jobId, address[] token, address[] payer, address[] payee)',
  'function getUserTokens(address user) view returns (address[])',
  'function factoryRouter() view returns (address)',
  'event Claimed(address indexed payee, uint256 jobId, address token, address indexed payer, uint256 amount, bytes proof)',
  'event Canceled(address indexed payee, uint256 jobId, address token, address indexed payer, uint256 amount)',
  'event Withdraw(address indexed payer, address token, uint256 amount)',
  'event Lock(address payer, address payee, uint256 jobId, uint256 amount, uint256 expiry, address token)',
] as const;

const artifactInterface = new Interface(ESCROW_ARTIFACT.abi);

/** The name of a human-readable fragment ('function getLocks(...' -> getLocks). */
export function fragmentName(fragment: string): string {
  const match = /^(?:function|event)\s+([A-Za-z0-9_]+)\(/.exec(fragment);
  if (match === null) throw new Error(`not a function or event fragment: ${fragment}`);
  return match[1]!;
}

/** The artifact's own fragment of that name, in ethers' full format. */
export function artifactFragment(name: string): string | null {
  const fragment = artifactInterface.fragments.find((f) => (f as { name?: string }).name === name);
  return fragment === undefined ? null : fragment.format('full');
}

function takeFromArtifact(): string[] {
  return ESCROW_FRAGMENTS_USED.map((expected) => {
    const found = artifactFragment(fragmentName(expected));
    const wanted = new Interface([expected]).fragments[0]!.format('full');
    if (found !== wanted) {
      throw new Error(
        `@oceanprotocol/contracts ${OCEAN_CONTRACTS_VERSION}: Escrow fragment '${fragmentName(expected)}' is ${found ?? 'missing'}; this adapter reads ${wanted}`,
      );
    }
    return found;
  });
}

/** The fragments the adapter uses, as the artifact states them. */
export const ESCROW_ABI: readonly string[] = takeFromArtifact();

/** ERC-20: decimals for log lines, Transfer to read the OPC fee a claim paid. */
export const ERC20_ABI = [
  'function decimals() view returns (uint8)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
] as const;
/** Kept for callers that only read decimals. */
export const ERC20_DECIMALS_ABI = [ERC20_ABI[0]] as const;
