/**
 * What a Solana payout will do, decided from the chain at `confirmed` before anything is signed:
 * the instructions (after the nonce advance the sender puts first), or why not.
 *
 * - TransferRefused: the destination cannot take the payout and it is not the miner's doing
 *   (validators cancel such a swap without fault: a frozen token account, a program): the swap
 *   is Rejected and nothing is ever signed for it.
 * - InsufficientFunds: the paying account lacks the amount, the fee, the rent of a new token
 *   account, or would fall below its own rent-exempt minimum: nothing is signed; retried.
 * - MintProblem: the configured mint is not what the configuration says (not the legacy Token
 *   program's, other decimals): nothing is signed until the configuration is fixed.
 *
 * Reads only; nothing here changes the chain or holds state.
 */
import type { Address, Instruction, KeyPairSigner, Rpc, SolanaRpcApi } from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import {
  AccountState,
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getMintDecoder,
  getTokenDecoder,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import { TransferRefused, type TransferRequest } from '../../host/ports.ts';
import { LAMPORTS_PER_SIGNATURE, TOKEN_ACCOUNT_BYTES, type SolanaAsset } from './solanaAssets.ts';

/** The paying account cannot cover the transfer now. */
export class InsufficientFunds extends Error {
  override readonly name = 'InsufficientFunds';
}

/** The configured mint is not a legacy SPL Token mint with the configured decimals. */
export class MintProblem extends Error {
  override readonly name = 'MintProblem';
}

export interface PlanContext {
  readonly rpc: Rpc<SolanaRpcApi>;
  readonly payer: KeyPairSigner;
  readonly chain: string;
}

export interface TransferPlan {
  readonly instructions: readonly Instruction[];
  /** For log lines: 'SOL' or the mint. */
  readonly asset: string;
}

type RpcAccount = {
  readonly owner: Address;
  readonly lamports: bigint;
  readonly executable: boolean;
  readonly data: readonly [string, string];
};

const bytesOf = (account: RpcAccount): Uint8Array => Buffer.from(account.data[0], 'base64');

export async function solTransferPlan(
  { rpc, payer, chain }: PlanContext,
  request: TransferRequest,
): Promise<TransferPlan> {
  const to = request.to as Address;
  const [{ value: accounts }, rentExempt] = await Promise.all([
    rpc
      .getMultipleAccounts([to, payer.address], {
        commitment: 'confirmed',
        encoding: 'base64',
        dataSlice: { offset: 0, length: 0 },
      })
      .send(),
    rpc.getMinimumBalanceForRentExemption(0n).send(),
  ]);
  const [destination, paying] = accounts as readonly (RpcAccount | null)[];
  if (destination?.executable === true)
    throw new TransferRefused(`destination ${to} on chain '${chain}' is a program: it cannot receive lamports`);
  if (
    (destination === null || destination === undefined || destination.lamports === 0n) &&
    request.amount < rentExempt
  ) {
    throw new TransferRefused(
      `destination ${to} on chain '${chain}' holds no lamports and ${request.amount} is below the rent-exempt minimum ${rentExempt}: the transfer would fail`,
    );
  }
  const needed = request.amount + LAMPORTS_PER_SIGNATURE + rentExempt;
  const balance = paying?.lamports ?? 0n;
  if (balance < needed) {
    throw new InsufficientFunds(
      `${payer.address} holds ${balance} lamports on chain '${chain}', less than the ${request.amount} transferred, the ${LAMPORTS_PER_SIGNATURE} fee and its own rent-exempt ${rentExempt}`,
    );
  }
  return {
    instructions: [getTransferSolInstruction({ source: payer, destination: to, amount: request.amount })],
    asset: 'SOL',
  };
}

export async function splTransferPlan(
  { rpc, payer, chain }: PlanContext,
  request: TransferRequest,
  asset: Extract<SolanaAsset, { kind: 'spl' }>,
): Promise<TransferPlan> {
  const owner = request.to as Address;
  const { mint, decimals } = asset;
  const [[source], [destination]] = await Promise.all([
    findAssociatedTokenPda({ owner: payer.address, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint }),
    findAssociatedTokenPda({ owner, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint }),
  ]);
  const [{ value: accounts }, rentExempt, ataRent] = await Promise.all([
    rpc
      .getMultipleAccounts([mint, source, destination, payer.address], { commitment: 'confirmed', encoding: 'base64' })
      .send(),
    rpc.getMinimumBalanceForRentExemption(0n).send(),
    rpc.getMinimumBalanceForRentExemption(BigInt(TOKEN_ACCOUNT_BYTES)).send(),
  ]);
  const [mintAccount, sourceAccount, destinationAccount, paying] = accounts as readonly (RpcAccount | null)[];
  checkMint(mintAccount ?? null, mint, decimals, chain);
  checkSource(sourceAccount ?? null, source, request.amount, chain);
  const destinationExists = destinationTokenAccount(destinationAccount ?? null, destination, owner, mint, chain);
  const needed = LAMPORTS_PER_SIGNATURE + (destinationExists ? 0n : ataRent) + rentExempt;
  const balance = paying?.lamports ?? 0n;
  if (balance < needed) {
    throw new InsufficientFunds(
      `${payer.address} holds ${balance} lamports on chain '${chain}', less than the ${LAMPORTS_PER_SIGNATURE} fee` +
        `${destinationExists ? '' : `, the ${ataRent} rent of the destination's new token account`} and its own rent-exempt ${rentExempt}`,
    );
  }
  return {
    instructions: [
      // Idempotent: a token account created meanwhile (by the user, or by this very transfer landing) is no failure.
      getCreateAssociatedTokenIdempotentInstruction({ payer, ata: destination, owner, mint }),
      getTransferCheckedInstruction({ source, mint, destination, authority: payer, amount: request.amount, decimals }),
    ],
    asset: mint,
  };
}

function checkMint(account: RpcAccount | null, mint: Address, decimals: number, chain: string): void {
  if (account === null) throw new MintProblem(`mint ${mint} of chain '${chain}' does not exist`);
  if (account.owner !== TOKEN_PROGRAM_ADDRESS) {
    throw new MintProblem(
      `mint ${mint} of chain '${chain}' is owned by ${account.owner}, not the legacy Token program ${TOKEN_PROGRAM_ADDRESS} (Token-2022 is not paid)`,
    );
  }
  const decoded = getMintDecoder().decode(bytesOf(account));
  if (!decoded.isInitialized) throw new MintProblem(`mint ${mint} of chain '${chain}' is not initialized`);
  if (decoded.decimals !== decimals)
    throw new MintProblem(
      `mint ${mint} of chain '${chain}' has ${decoded.decimals} decimals, the configuration says ${decimals}`,
    );
}

function checkSource(account: RpcAccount | null, source: Address, amount: bigint, chain: string): void {
  if (account === null || account.owner !== TOKEN_PROGRAM_ADDRESS)
    throw new InsufficientFunds(`the paying token account ${source} on chain '${chain}' does not exist`);
  const token = getTokenDecoder().decode(bytesOf(account));
  if (token.state === AccountState.Frozen)
    throw new InsufficientFunds(
      `the paying token account ${source} on chain '${chain}' is frozen by the mint's freeze authority`,
    );
  if (token.amount < amount)
    throw new InsufficientFunds(
      `the paying token account ${source} on chain '${chain}' holds ${token.amount}, less than the ${amount} to transfer`,
    );
}

/** Whether the destination's token account exists; TransferRefused when it cannot receive. */
function destinationTokenAccount(
  account: RpcAccount | null,
  address: Address,
  owner: Address,
  mint: Address,
  chain: string,
): boolean {
  if (account === null || account.owner !== TOKEN_PROGRAM_ADDRESS) return false; // created (or completed) by CreateIdempotent
  const token = getTokenDecoder().decode(bytesOf(account));
  if (token.mint !== mint || token.owner !== owner) {
    throw new TransferRefused(
      `token account ${address} of ${owner} on chain '${chain}' is not the owner's account of mint ${mint}`,
    );
  }
  if (token.state === AccountState.Frozen)
    throw new TransferRefused(
      `the destination token account ${address} of ${owner} on chain '${chain}' is frozen: it cannot receive`,
    );
  return true;
}
