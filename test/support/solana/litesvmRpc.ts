/**
 * A Solana JSON-RPC endpoint on 127.0.0.1 over the LiteSVM ledger (litesvmChain.ts): the
 * methods @solana/kit's rpc calls for paying SOL and SPL tokens, with their commitment levels,
 * their `{ context, value }` envelopes and their errors (a failed preflight is -32002 with the
 * transaction error and logs, as a node answers). Blocks are produced by the test
 * (`chain.produceBlocks`), never by a timer, so nothing here depends on time.
 *
 * Only base64 account encoding is served (what kit's account fetchers ask for); getTransaction
 * answers in `json` encoding, with the lamport and token balances around the transaction (no
 * instructions, logs or block time: nothing here reads them), or in `base64`, the same with the
 * transaction as sent; getSignaturesForAddress from `confirmed` up.
 */
import type { Address, EncodedAccount } from '@solana/kit';
import { getMintDecoder, getTokenDecoder, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { JsonRpcError, serveJsonRpc, type JsonRpcServer, type RpcMethod } from './jsonRpcServer.ts';
import { LitesvmChain, type Commitment, type IncludedTx, type LitesvmChainOptions } from './litesvmChain.ts';
import { describeRpcError } from './litesvmErrors.ts';

export interface SolanaTestNode {
  readonly url: string;
  readonly chain: LitesvmChain;
  readonly server: JsonRpcServer;
  close(): Promise<void>;
}

export const GENESIS_HASH = 'LiteSVMTestGenesis1111111111111111111111111';
/** sendTransaction's preflight failed: the node's code. */
const PREFLIGHT_FAILURE = -32002;
const INVALID_PARAMS = -32602;

export async function startSolanaTestNode(options: LitesvmChainOptions = {}): Promise<SolanaTestNode> {
  const chain = new LitesvmChain(options);
  const server = await serveJsonRpc(solanaMethods(chain));
  return { url: server.url, chain, server, close: () => server.close() };
}

interface Config {
  readonly commitment?: Commitment;
  readonly encoding?: string;
  readonly skipPreflight?: boolean;
  readonly preflightCommitment?: Commitment;
  readonly searchTransactionHistory?: boolean;
  readonly dataSlice?: { readonly offset: number; readonly length: number };
}

const configOf = (value: unknown): Config => (value !== null && typeof value === 'object' ? (value as Config) : {});
const commitmentOf = (value: unknown): Commitment => {
  const commitment = configOf(value).commitment ?? 'finalized';
  if (commitment !== 'processed' && commitment !== 'confirmed' && commitment !== 'finalized')
    throw new JsonRpcError(INVALID_PARAMS, `unknown commitment ${String(commitment)}`);
  return commitment;
};
const text = (value: unknown, what: string): string => {
  if (typeof value !== 'string') throw new JsonRpcError(INVALID_PARAMS, `Invalid params: ${what} must be a string`);
  return value;
};

export function solanaMethods(chain: LitesvmChain): Record<string, RpcMethod> {
  const envelope = (commitment: Commitment, value: unknown) => ({
    context: { apiVersion: '2.2.0', slot: chain.slotAt(commitment) },
    value,
  });
  const accountAt = ([address, config]: readonly unknown[]) => {
    if ((configOf(config).encoding ?? 'base64') !== 'base64')
      throw new JsonRpcError(INVALID_PARAMS, 'only base64 account encoding is served');
    const account = chain.account(text(address, 'address') as Address, commitmentOf(config));
    const slice = configOf(config).dataSlice;
    return account === null || slice === undefined
      ? account
      : { ...account, data: account.data.slice(slice.offset, slice.offset + slice.length) };
  };
  return {
    getGenesisHash: () => GENESIS_HASH,
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': '2.2.0-litesvm', 'feature-set': 0 }),
    getSlot: ([config]) => chain.slotAt(commitmentOf(config)),
    getBlockHeight: ([config]) => chain.slotAt(commitmentOf(config)),
    getLatestBlockhash: ([config]) => envelope(commitmentOf(config), chain.latestBlockhash(commitmentOf(config))),
    isBlockhashValid: ([blockhash, config]) =>
      envelope(commitmentOf(config), chain.isBlockhashValid(text(blockhash, 'blockhash'), commitmentOf(config))),
    getMinimumBalanceForRentExemption: ([size]) => chain.svm.minimumBalanceForRentExemption(BigInt(size as number)),
    getBalance: ([address, config]) =>
      envelope(
        commitmentOf(config),
        chain.account(text(address, 'address') as Address, commitmentOf(config))?.lamports ?? 0n,
      ),
    getAccountInfo: (params) => envelope(commitmentOf(params[1]), encodeAccount(accountAt(params))),
    getMultipleAccounts: ([addresses, config]) => {
      if (!Array.isArray(addresses) || addresses.length > 100)
        throw new JsonRpcError(INVALID_PARAMS, 'addresses: an array of at most 100');
      return envelope(
        commitmentOf(config),
        addresses.map((address) => encodeAccount(accountAt([address, config]))),
      );
    },
    getTokenAccountBalance: ([address, config]) =>
      envelope(commitmentOf(config), tokenBalance(chain, text(address, 'address') as Address, commitmentOf(config))),
    getSignatureStatuses: ([signatures]) => {
      if (!Array.isArray(signatures) || signatures.length > 256)
        throw new JsonRpcError(INVALID_PARAMS, 'signatures: an array of at most 256');
      return envelope(
        'processed',
        signatures.map((signature) => signatureStatus(chain, text(signature, 'signature'))),
      );
    },
    getSignaturesForAddress: ([address, config]) => {
      const limit = (configOf(config) as { limit?: number }).limit ?? 1000;
      const commitment = commitmentOf(config);
      if (commitment === 'processed')
        throw new JsonRpcError(INVALID_PARAMS, 'Method does not support commitment below `confirmed`');
      return chain.signaturesFor(text(address, 'address'), commitment, limit).map(({ signature, status }) => ({
        signature,
        slot: status.slot,
        err: status.err,
        memo: null,
        blockTime: null,
        confirmationStatus: chain.status(signature, 'finalized') !== null ? 'finalized' : 'confirmed',
      }));
    },
    sendTransaction: ([wire, config]) => sendTransaction(chain, text(wire, 'transaction'), configOf(config)),
    getTransaction: ([signature, config]) => {
      const { encoding } = configOf(config);
      if (encoding !== 'json' && encoding !== 'base64')
        throw new JsonRpcError(INVALID_PARAMS, 'only json and base64 encodings are served');
      const tx = chain.transaction(text(signature, 'signature'), commitmentOf(config));
      if (tx === null) return null;
      const answer = transactionJson(chain, text(signature, 'signature'), tx);
      // base64: the same answer with the transaction as sent (what the witness decodes).
      return encoding === 'json'
        ? answer
        : { ...answer, transaction: [Buffer.from(tx.wire).toString('base64'), 'base64'] };
    },
  };
}

/** getTransaction's `json` answer: the keys, lamports and token balances around the transaction. */
function transactionJson(chain: LitesvmChain, signature: string, tx: IncludedTx): object {
  return {
    slot: tx.slot,
    blockTime: null,
    version: 'legacy',
    meta: {
      err: tx.err,
      status: tx.err === null ? { Ok: null } : { Err: tx.err },
      fee: 5_000n * BigInt(tx.numSigners),
      preBalances: tx.pre.map((a) => a?.lamports ?? 0n),
      postBalances: tx.post.map((a) => a?.lamports ?? 0n),
      preTokenBalances: tokenBalances(chain, tx.pre),
      postTokenBalances: tokenBalances(chain, tx.post),
      innerInstructions: [],
      logMessages: [],
      loadedAddresses: { writable: [], readonly: [] },
      rewards: [],
    },
    transaction: {
      signatures: [signature],
      message: {
        accountKeys: tx.accountKeys,
        header: { numRequiredSignatures: tx.numSigners, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 0 },
        instructions: [],
        recentBlockhash: '11111111111111111111111111111111',
      },
    },
  };
}

/** The token accounts among `accounts`, as a node lists them in pre/postTokenBalances. */
function tokenBalances(chain: LitesvmChain, accounts: readonly (EncodedAccount | null)[]): object[] {
  const out: object[] = [];
  accounts.forEach((account, accountIndex) => {
    if (account === null || account.programAddress !== TOKEN_PROGRAM_ADDRESS || account.data.length !== 165) return;
    const token = getTokenDecoder().decode(account.data);
    const mint = chain.account(token.mint, 'processed');
    const decimals = mint === null ? 0 : getMintDecoder().decode(mint.data).decimals;
    const ui = Number(token.amount) / 10 ** decimals;
    out.push({
      accountIndex,
      mint: token.mint,
      owner: token.owner,
      programId: TOKEN_PROGRAM_ADDRESS,
      uiTokenAmount: { amount: token.amount.toString(), decimals, uiAmount: ui, uiAmountString: ui.toString() },
    });
  });
  return out;
}

function encodeAccount(account: EncodedAccount | null): object | null {
  if (account === null) return null;
  return {
    data: [Buffer.from(account.data).toString('base64'), 'base64'],
    executable: account.executable,
    lamports: account.lamports,
    owner: account.programAddress,
    rentEpoch: 18_446_744_073_709_551_615n,
    space: account.space,
  };
}

function tokenBalance(chain: LitesvmChain, address: Address, commitment: Commitment): object {
  const account = chain.account(address, commitment);
  if (account === null || account.programAddress !== TOKEN_PROGRAM_ADDRESS)
    throw new JsonRpcError(INVALID_PARAMS, 'Invalid param: not a Token account');
  const token = getTokenDecoder().decode(account.data);
  const mintAccount = chain.account(token.mint, commitment);
  if (mintAccount === null) throw new JsonRpcError(INVALID_PARAMS, 'Invalid param: mint could not be unpacked');
  const { decimals } = getMintDecoder().decode(mintAccount.data);
  const ui = Number(token.amount) / 10 ** decimals;
  return { amount: token.amount.toString(), decimals, uiAmount: ui, uiAmountString: ui.toString() };
}

function signatureStatus(chain: LitesvmChain, signature: string): object | null {
  const status = chain.status(signature, 'processed');
  if (status === null) return null;
  const finalized = chain.status(signature, 'finalized') !== null;
  const confirmed = chain.status(signature, 'confirmed') !== null;
  return {
    slot: status.slot,
    confirmations: finalized ? null : chain.slotAt('processed') - status.slot,
    err: status.err,
    status: status.err === null ? { Ok: null } : { Err: status.err },
    confirmationStatus: finalized ? 'finalized' : confirmed ? 'confirmed' : 'processed',
  };
}

function sendTransaction(chain: LitesvmChain, wire: string, config: Config): string {
  if ((config.encoding ?? 'base58') !== 'base64')
    throw new JsonRpcError(INVALID_PARAMS, 'only base64-encoded transactions are served');
  let decoded: ReturnType<LitesvmChain['submitWire']>;
  try {
    decoded = chain.submitWire(Buffer.from(wire, 'base64'));
  } catch (error) {
    throw new JsonRpcError(INVALID_PARAMS, `failed to deserialize transaction: ${(error as Error).message}`);
  }
  // Without preflight a node forwards whatever parses; what cannot land is dropped at the block.
  const refusal = config.skipPreflight === true ? null : chain.simulate(decoded.tx);
  if (refusal !== null) {
    throw new JsonRpcError(PREFLIGHT_FAILURE, `Transaction simulation failed: ${describeRpcError(refusal.err)}`, {
      err: refusal.err,
      logs: refusal.logs,
      accounts: null,
      unitsConsumed: 0,
      returnData: null,
    });
  }
  return chain.submit(decoded.tx);
}
