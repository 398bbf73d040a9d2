/**
 * The miner's durable nonce accounts, handed out one signed transfer at a time.
 *
 * A transfer signed against a durable nonce stays valid until that nonce account advances: the
 * persisted bytes can be re-broadcast after any outage, and nothing is ever re-signed because a
 * blockhash expired. The price is that two transfers signed against the same nonce value
 * exclude each other (whichever lands first advances the nonce and the other can never land),
 * so an account is "held" from the moment a transfer is signed against its value until that
 * value is no longer the account's value at `finalized` (the transfer landed, or can never
 * land). A held value is never handed out again.
 *
 * An account is handed out only when its value at `processed` equals its value at `finalized`
 * (no advance is in flight), and no transfer this process knows of (signed now, or adopted from
 * an earlier life on restore) holds that value. Nonce values never repeat, so a held value
 * that differs from the finalized one is dead for good and is forgotten.
 *
 * Held values live in memory only; after a restart they come back from the store through
 * `adopt` before anything new is signed. A crash leaves nothing here to clean up.
 */
import { createHash } from 'node:crypto';
import type { Address, Rpc, SolanaRpcApi } from '@solana/kit';
import { getNonceDecoder, getNonceSize, NonceState, SYSTEM_PROGRAM_ADDRESS } from '@solana-program/system';

/** A nonce account of the configuration is missing, not a nonce account, or not ours. */
export class NonceAccountProblem extends Error {
  override readonly name = 'NonceAccountProblem';
}

/** Every nonce account holds a transfer that may still land: wait for one to settle. */
export class NoFreeNonceAccount extends Error {
  override readonly name = 'NoFreeNonceAccount';
}

export interface NonceClaim {
  readonly account: Address;
  /** The nonce value (a blockhash) the transfer is signed against. */
  readonly nonce: string;
}

/** getMultipleAccounts takes at most 100 addresses. */
export const MAX_NONCE_ACCOUNTS = 100;

/** The index of the one nonce account a swap's transfer is signed against: sha256 of its id, modulo the count. */
export function nonceAccountIndexFor(swapId: string, accounts: number): number {
  return createHash('sha256').update(swapId).digest().readUInt32BE(0) % accounts;
}

export class DurableNonces {
  /** Nonce values held by transfers that may still land, per nonce account. */
  private readonly held = new Map<string, Set<string>>();

  constructor(
    private readonly rpc: Rpc<SolanaRpcApi>,
    readonly accounts: readonly Address[],
    /** The nonce authority: the miner's paying key. */
    private readonly authority: Address,
  ) {
    if (accounts.length === 0 || accounts.length > MAX_NONCE_ACCOUNTS)
      throw new RangeError(`1 to ${MAX_NONCE_ACCOUNTS} nonce accounts, not ${accounts.length}`);
    if (new Set(accounts).size !== accounts.length) throw new RangeError('a nonce account is listed twice');
  }

  /** Marks a value as taken by a signed transfer (signed now, or adopted on restore). */
  hold(account: Address, nonce: string): void {
    const values = this.held.get(account) ?? new Set<string>();
    values.add(nonce);
    this.held.set(account, values);
  }

  /** Values currently held, for tests and status. */
  heldCount(): number {
    let n = 0;
    for (const values of this.held.values()) n += values.size;
    return n;
  }

  /**
   * A nonce account and value no known transfer holds, with no advance in flight: for a swap,
   * only its own account (nonceAccountIndexFor). Throws NoFreeNonceAccount when that account
   * (or, without a swap, every account) is busy, NonceAccountProblem when one is unusable.
   *
   * Why a swap has one account: a data directory put back from an older copy may have
   * forgotten a transfer still in the cluster's pool, which no RPC lists (the witness sees it
   * only once confirmed). Signed against the same account, the forgotten transfer and the new
   * one carry the same nonce value while the forgotten one is pending, so at most one lands;
   * against another account, both could. The cost: a swap whose account is busy waits even
   * when another is free.
   */
  async claim(swapId?: string): Promise<NonceClaim> {
    const [finalized, processed] = await Promise.all([this.values('finalized'), this.values('processed')]);
    const only = swapId === undefined ? null : nonceAccountIndexFor(swapId, this.accounts.length);
    for (let i = 0; i < this.accounts.length; i++) {
      if (only !== null && i !== only) continue;
      const account = this.accounts[i]!;
      const value = finalized[i]!;
      this.forgetDeadValues(account, value);
      if (this.held.get(account)?.has(value) === true) continue;
      if (processed[i] !== value) continue; // an advance not yet final: its transfer may still land
      return { account, nonce: value };
    }
    throw new NoFreeNonceAccount(
      only === null
        ? `all ${this.accounts.length} nonce account(s) hold a transfer that may still land; the next transfer waits (add nonce accounts to pay more swaps at once)`
        : `nonce account ${this.accounts[only]} of swap ${swapId} holds a transfer that may still land; the swap waits (add nonce accounts to pay more swaps at once)`,
    );
  }

  /** Throws NonceAccountProblem when a configured account is missing, not a nonce account, or not ours. */
  async check(): Promise<void> {
    await this.values('finalized');
  }

  /** The finalized value of one nonce account (null when it is gone or no longer a nonce account). */
  async finalizedValue(account: Address): Promise<string | null> {
    const { value } = await this.rpc.getAccountInfo(account, { commitment: 'finalized', encoding: 'base64' }).send();
    if (value === null) return null;
    try {
      return this.decode(account, value).nonce;
    } catch (error) {
      if (error instanceof NonceAccountProblem) return null;
      throw error;
    }
  }

  private forgetDeadValues(account: Address, current: string): void {
    const values = this.held.get(account);
    if (values === undefined) return;
    for (const value of values) if (value !== current) values.delete(value);
    if (values.size === 0) this.held.delete(account);
  }

  /** Each account's stored nonce at a commitment, checked to be a nonce account we control. */
  private async values(commitment: 'finalized' | 'processed'): Promise<string[]> {
    const { value } = await this.rpc.getMultipleAccounts([...this.accounts], { commitment, encoding: 'base64' }).send();
    return value.map((account, i) => {
      const address = this.accounts[i]!;
      if (account === null) throw new NonceAccountProblem(`nonce account ${address} does not exist (at ${commitment})`);
      return this.decode(address, account).nonce;
    });
  }

  private decode(
    address: Address,
    account: { owner: Address; data: readonly [string, string] | unknown },
  ): { nonce: string } {
    if (account.owner !== SYSTEM_PROGRAM_ADDRESS)
      throw new NonceAccountProblem(`nonce account ${address} is owned by ${account.owner}, not the System program`);
    const [base64] = account.data as readonly [string, string];
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length !== getNonceSize())
      throw new NonceAccountProblem(
        `account ${address} holds ${bytes.length} bytes: not a nonce account (${getNonceSize()})`,
      );
    const nonce = getNonceDecoder().decode(bytes);
    if (nonce.state !== NonceState.Initialized)
      throw new NonceAccountProblem(`nonce account ${address} is not initialized`);
    if (nonce.authority !== this.authority) {
      throw new NonceAccountProblem(
        `nonce account ${address} has authority ${nonce.authority}, not the paying key ${this.authority}: it cannot sign for it`,
      );
    }
    return { nonce: nonce.blockhash };
  }
}
