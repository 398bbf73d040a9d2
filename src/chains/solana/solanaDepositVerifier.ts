/**
 * The deposit check on Solana (allways/assets/sol.py and spl_token.py as the reference miner runs
 * them), through @solana/kit's getTransaction at `confirmed`:
 * - the transaction's `meta.err` must be null;
 * - SOL: the credit is the recipient's lamport delta (post - pre); the sender is account key 0
 *   (the fee payer);
 * - SPL (legacy Token program, one pinned mint): the credit is the delta of the recipient's
 *   associated token account in pre/postTokenBalances; the sender is the owner of the single
 *   debited token account of that mint ('' when none or several: an unprovable sender);
 * - confirmations are `tip_slot - slot + 1` (tip at `confirmed`).
 *
 * Invariant: an RPC that fails, or a transaction without its balance lists, is a wait, never a
 * pass. Holds no state: a crash leaves nothing behind. Also the funds gate's view of a Solana
 * wallet: its lamports, or its associated token account's amount of the pinned mint.
 */
import { isAddress, isSignature, type Address, type Rpc, type Signature, type SolanaRpcApi } from '@solana/kit';
import { fetchMaybeToken, findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import type { DepositClaim, DepositVerdict, SourceVerifier } from '../../host/sourceVerifier.ts';
import { exactAddress, readAndJudge, type Sighting } from '../depositRules.ts';

export type SolanaDepositAsset = { readonly kind: 'sol' } | { readonly kind: 'spl'; readonly mint: Address };

interface TokenBalance {
  readonly accountIndex: number;
  readonly mint: string;
  readonly owner?: string;
  readonly programId?: string;
  readonly uiTokenAmount: { readonly amount: string };
}

interface TxMeta {
  readonly err: unknown;
  readonly preBalances: readonly bigint[];
  readonly postBalances: readonly bigint[];
  readonly preTokenBalances?: readonly TokenBalance[] | null;
  readonly postTokenBalances?: readonly TokenBalance[] | null;
  readonly loadedAddresses?: { readonly writable: readonly string[]; readonly readonly: readonly string[] };
}

export class SolanaDepositVerifier implements SourceVerifier {
  readonly chains: readonly string[];

  constructor(
    private readonly rpc: Rpc<SolanaRpcApi>,
    chain: string,
    private readonly asset: SolanaDepositAsset,
    private readonly required: number,
  ) {
    this.chains = [chain];
  }

  verify(claim: DepositClaim): Promise<DepositVerdict> {
    return readAndJudge(claim, this.required, () => this.sighting(claim), exactAddress);
  }

  private async sighting(claim: DepositClaim): Promise<Sighting | null> {
    if (!isSignature(claim.txHash)) return null; // no such transaction can exist
    const tx = await this.rpc
      .getTransaction(claim.txHash as Signature, {
        commitment: 'confirmed',
        encoding: 'json',
        maxSupportedTransactionVersion: 0,
      })
      .send();
    if (tx === null) return null;
    const meta = tx.meta as TxMeta | null;
    if (meta === null) throw new Error(`getTransaction ${claim.txHash} answered no meta`);
    const loaded = meta.loadedAddresses ?? { writable: [], readonly: [] };
    const keys = [...tx.transaction.message.accountKeys.map(String), ...loaded.writable, ...loaded.readonly];
    const credit =
      this.asset.kind === 'sol'
        ? lamportCredit(keys, meta, claim.recipient)
        : await tokenCredit(keys, meta, this.asset.mint, claim.recipient);
    const tip = await this.rpc.getSlot({ commitment: 'confirmed' }).send();
    const slot = Number(tx.slot);
    return {
      ...credit,
      block: slot,
      failed: meta.err === null ? null : describe(meta.err),
      confirmations: Math.max(0, Number(tip) - slot + 1),
    };
  }
}

function lamportCredit(keys: readonly string[], meta: TxMeta, recipient: string) {
  const index = keys.indexOf(recipient);
  const pre = meta.preBalances[index];
  const post = meta.postBalances[index];
  const credited = index < 0 || pre === undefined || post === undefined ? null : BigInt(post) - BigInt(pre);
  return { credited, sender: keys[0] ?? '' };
}

async function tokenCredit(keys: readonly string[], meta: TxMeta, mint: Address, recipient: string) {
  if (meta.preTokenBalances == null || meta.postTokenBalances == null)
    throw new Error('getTransaction answered no token balances'); // unreadable, not a mismatch
  const ofMint = (list: readonly TokenBalance[]) =>
    list.filter((b) => b.mint === mint && (b.programId === undefined || b.programId === TOKEN_PROGRAM_ADDRESS));
  const pre = ofMint(meta.preTokenBalances);
  const post = ofMint(meta.postTokenBalances);
  const amountAt = (list: readonly TokenBalance[], index: number) =>
    BigInt(list.find((b) => b.accountIndex === index)?.uiTokenAmount.amount ?? '0');
  let credited: bigint | null = null;
  if (isAddress(recipient)) {
    const [ata] = await findAssociatedTokenPda({ owner: recipient, mint, tokenProgram: TOKEN_PROGRAM_ADDRESS });
    const index = keys.indexOf(ata);
    const listed = [...pre, ...post].some((b) => b.accountIndex === index);
    if (index >= 0 && listed) credited = amountAt(post, index) - amountAt(pre, index);
  }
  const debitedOwners = new Set(
    pre.filter((b) => amountAt(post, b.accountIndex) < BigInt(b.uiTokenAmount.amount)).map((b) => b.owner ?? ''),
  );
  const sender = debitedOwners.size === 1 ? [...debitedOwners][0]! : '';
  return { credited, sender };
}

function describe(err: unknown): string {
  return JSON.stringify(err, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The funds gate's view of a Solana wallet: lamports, or the amount in its associated token account. */
export async function solanaBalance(rpc: Rpc<SolanaRpcApi>, asset: SolanaDepositAsset, owner: string): Promise<bigint> {
  if (!isAddress(owner)) throw new Error(`'${owner}' is not a Solana address`);
  if (asset.kind === 'sol') return (await rpc.getBalance(owner, { commitment: 'confirmed' }).send()).value;
  const [ata] = await findAssociatedTokenPda({ owner, mint: asset.mint, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const account = await fetchMaybeToken(rpc, ata, { commitment: 'confirmed' });
  if (!account.exists) return 0n;
  if (account.data.mint !== asset.mint) throw new Error(`${ata} holds mint ${account.data.mint}, not ${asset.mint}`);
  return account.data.amount;
}
