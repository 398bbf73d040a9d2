/**
 * The issuer checks of an ERC-20 payout, read before anything is signed (allways-assets.md §3:
 * what validators read for a no-fault cancel): a token-wide stop (`paused()`), a refused
 * destination (`isBlacklisted(address)`, `isFrozen(address)`), a live transfer fee
 * (`getFeeFor(uint256)` above zero). A tripped check is the issuer's or the user's doing, not
 * the miner's: the payout is refused (TransferRefused, the swap Rejected, nothing sent). A check
 * that cannot be read (a view the contract lacks, a node error) signs nothing and is retried.
 *
 * Also the configured decimals against the token's own. Reads only, at `latest`.
 */
import { Interface, type JsonRpcProvider } from 'ethers';
import { TransferRefused } from '../../host/ports.ts';
import { shortError } from './evmTxSender.ts';

export interface IssuerChecks {
  readonly token: string;
  readonly refusalChecks: readonly string[];
  readonly feeCheck: string | null;
}

/** A check's view could not be read: nothing is decided, nothing is signed. */
export class IssuerCheckUnreadable extends Error {
  override readonly name = 'IssuerCheckUnreadable';
}

/** Throws TransferRefused when a check trips for a transfer of `amount` to `to`. */
export async function enforceIssuerChecks(
  provider: JsonRpcProvider,
  chain: string,
  checks: IssuerChecks,
  to: string,
  amount: bigint,
): Promise<void> {
  const { token } = checks;
  for (const check of checks.refusalChecks) {
    const name = check.slice(0, check.indexOf('('));
    const perAddress = check.endsWith('(address)');
    const tripped = (await view(
      provider,
      chain,
      token,
      `function ${check} view returns (bool)`,
      name,
      perAddress ? [to] : [],
    )) as boolean;
    if (!tripped) continue;
    throw new TransferRefused(
      perAddress
        ? `token ${token} on chain '${chain}' refuses destination ${to}: ${name}(${to}) is true`
        : `token ${token} on chain '${chain}' is stopped by its issuer: ${check} is true`,
    );
  }
  if (checks.feeCheck === null) return;
  const name = checks.feeCheck.slice(0, checks.feeCheck.indexOf('('));
  const fee = (await view(provider, chain, token, `function ${checks.feeCheck} view returns (uint256)`, name, [
    amount,
  ])) as bigint;
  if (fee > 0n)
    throw new TransferRefused(
      `token ${token} on chain '${chain}' takes a fee of ${fee} from a transfer of ${amount} (${name}(${amount})): the user would receive less`,
    );
}

/** Throws when the token's decimals() is not what the configuration says. */
export async function checkDecimals(
  provider: JsonRpcProvider,
  chain: string,
  token: string,
  expected: number,
): Promise<void> {
  const actual = Number(await view(provider, chain, token, 'function decimals() view returns (uint8)', 'decimals', []));
  if (actual !== expected)
    throw new Error(
      `token ${token} on chain '${chain}' has ${actual} decimals, the configuration says ${expected}: is it the right contract?`,
    );
}

async function view(
  provider: JsonRpcProvider,
  chain: string,
  token: string,
  signature: string,
  name: string,
  args: unknown[],
): Promise<unknown> {
  const abi = new Interface([signature]);
  try {
    const result = await provider.call({ to: token, data: abi.encodeFunctionData(name, args) });
    return abi.decodeFunctionResult(name, result)[0];
  } catch (error) {
    throw new IssuerCheckUnreadable(
      `${name} of token ${token} on chain '${chain}' could not be read: ${shortError(error)}`,
    );
  }
}
