/**
 * The allways swap manager on Solana, seen by one miner: its swaps, the cluster's clock, the
 * `mark_fulfilled` transaction, and the events that say how a closed swap ended.
 *
 * Every read is at one commitment (`confirmed`): a poll never mixes a confirmed swap list with
 * a processed clock. `mark_fulfilled` is sent with preflight on, so a refusal comes back as the
 * program's error without a fee; then its signature is followed at `confirmed` until it lands,
 * fails, or its blockhash expires unseen. What cannot be learned is said so (OutcomeUnknown),
 * never guessed: the machine reads the Swap account back before any retry.
 *
 * A crash anywhere here leaves nothing behind but, at most, a sent transaction: the machine's
 * Marking state is on disk, and the retry after a restart meets InvalidStatus (our mark landed)
 * or finds the swap still Active (it did not).
 */
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createTransactionMessage,
  getBase58Decoder,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Instruction,
  type KeyPairSigner,
  type Rpc,
  type Signature,
  type SolanaRpcApi,
} from '@solana/kit';
import type { Logger } from '../../../host/ports.ts';
import { BorshDecodeError } from './borsh.ts';
import { swapEventsInLogs, type SwapEventRecord } from './events.ts';
import {
  decodeMinerStateAccount,
  decodeSwapAccount,
  encodeMarkFulfilledData,
  MAX_TX_LEN,
  SWAP_DISCRIMINATOR,
  SWAP_MINER_OFFSET,
  type MinerStateAccount,
  type SwapAccount,
} from './layout.ts';
import { nameOfTransactionError, preflightRefusal } from './markErrors.ts';
import { minerStateAddress, swapAddress, swapKeyFromHex, swapKeyHex, swapKeyOf } from './pdas.ts';

export const COMMITMENT = 'confirmed' as const;
const CLOCK_SYSVAR = 'SysvarC1ock11111111111111111111111111111111';
const base58 = getBase58Decoder();

export interface SwapManagerClientOptions {
  readonly rpc: Rpc<SolanaRpcApi>;
  readonly programId: string;
  /** The miner's keypair: the swaps' `miner`, the signer and fee payer of mark_fulfilled. */
  readonly signer: KeyPairSigner;
  readonly log: Logger;
  /** How long to follow a sent mark before calling its outcome unknown. */
  readonly markTimeoutMs?: number;
  readonly pollMs?: number;
  /** The daemon is stopping: stop following (the machine, still in Marking, reads back). */
  readonly stopping?: () => boolean;
  /** Signatures of a closed swap's history read to find how it ended (newest first). */
  readonly historyLimit?: number;
}

/** A Swap account of ours, with its key (derived from from_tx_hash) and its address. */
export interface ListedSwap {
  readonly address: string;
  readonly key: string;
  readonly account: SwapAccount;
  /** Why the account cannot be a swap this program would let us mark (it is not at its PDA). */
  readonly problem: string | null;
}

export type MarkOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** How a swap whose account is gone ended, from its events; null when no event says. */
export interface ClosedSwap {
  readonly status: 'Completed' | 'TimedOut' | 'Cancelled';
  readonly miner: string;
  /** From its SwapFulfilled event; '' when none was found. */
  readonly toTxHash: string;
}

export class SwapManagerClient {
  readonly miner: string;

  constructor(private readonly options: SwapManagerClientOptions) {
    this.miner = options.signer.address;
  }

  async genesisHash(): Promise<string> {
    return String(await this.options.rpc.getGenesisHash().send());
  }

  /** The cluster's clock (the Clock sysvar's unix_timestamp): what the program's deadlines mean. */
  async clusterTime(): Promise<number> {
    const { value } = await this.options.rpc
      .getAccountInfo(address(CLOCK_SYSVAR), { encoding: 'base64', commitment: COMMITMENT })
      .send();
    if (value === null) throw new Error('the Clock sysvar is missing');
    const data = Buffer.from(value.data[0], 'base64');
    if (data.length < 40) throw new Error(`the Clock sysvar holds ${data.length} bytes, not 40`);
    return Number(data.readBigInt64LE(32));
  }

  /**
   * Our Swap accounts: one getProgramAccounts filtered on the Swap discriminator and on `miner`
   * at its fixed offset. An account that does not decode is logged and skipped: a layout from an
   * older release (close_legacy_swap exists) must not stop the others from being served.
   */
  async listOurs(): Promise<ListedSwap[]> {
    const accounts = await this.options.rpc
      .getProgramAccounts(address(this.options.programId), {
        encoding: 'base64',
        commitment: COMMITMENT,
        filters: [
          { memcmp: { offset: 0n, bytes: base58.decode(SWAP_DISCRIMINATOR), encoding: 'base58' } },
          { memcmp: { offset: BigInt(SWAP_MINER_OFFSET), bytes: this.miner, encoding: 'base58' } },
        ] as never,
      })
      .send();
    const listed: ListedSwap[] = [];
    for (const { pubkey, account } of accounts as unknown as ReadonlyArray<{
      pubkey: string;
      account: { data: [string, string] };
    }>) {
      const swap = this.decodeOrLog(pubkey, Buffer.from(account.data[0], 'base64'));
      if (swap === null) continue;
      const key = swapKeyOf(swap.fromTxHash);
      const expected = await swapAddress(this.options.programId, key);
      const problem =
        expected === pubkey
          ? null
          : `swap account ${pubkey} is not at its PDA ${expected} (swap key ${swapKeyHex(key)}): mark_fulfilled would fail ConstraintSeeds`;
      listed.push({ address: pubkey, key: swapKeyHex(key), account: swap, problem });
    }
    return listed;
  }

  private decodeOrLog(pubkey: string, data: Uint8Array): SwapAccount | null {
    try {
      const swap = decodeSwapAccount(data);
      // The RPC filtered on miner already; a node that ignores filters must not make us serve others.
      return swap.miner === this.miner ? swap : null;
    } catch (error) {
      if (!(error instanceof BorshDecodeError)) throw error;
      this.options.log.error(
        { account: pubkey, err: error.message },
        'a Swap account of ours does not decode; skipped (nothing is sent for it)',
      );
      return null;
    }
  }

  /** The Swap account of this key, or null when it does not exist (closed, or never created). */
  async readSwap(keyHex: string): Promise<SwapAccount | null> {
    const pda = await swapAddress(this.options.programId, swapKeyFromHex(keyHex));
    const data = await this.accountData(pda);
    return data === null ? null : decodeSwapAccount(data);
  }

  async minerState(): Promise<MinerStateAccount | null> {
    const data = await this.accountData(await minerStateAddress(this.options.programId, this.miner));
    return data === null ? null : decodeMinerStateAccount(data);
  }

  private async accountData(pda: string): Promise<Uint8Array | null> {
    const { value } = await this.options.rpc
      .getAccountInfo(address(pda), { encoding: 'base64', commitment: COMMITMENT })
      .send();
    // A closed account is system-owned with no lamports; some nodes still return it.
    if (value === null || value.owner !== this.options.programId || Number(value.lamports) === 0) return null;
    return Buffer.from(value.data[0], 'base64');
  }

  /** The mark_fulfilled instruction: miner (signer), miner_state (writable), swap (writable). */
  async markInstruction(keyHex: string, toTxHash: string, toTxBlock: number): Promise<Instruction> {
    const key = swapKeyFromHex(keyHex);
    const [minerState, swap] = await Promise.all([
      minerStateAddress(this.options.programId, this.miner),
      swapAddress(this.options.programId, key),
    ]);
    return {
      programAddress: address(this.options.programId),
      accounts: [
        {
          address: this.options.signer.address,
          role: AccountRole.READONLY_SIGNER,
          signer: this.options.signer,
        } as never,
        { address: address(minerState), role: AccountRole.WRITABLE },
        { address: address(swap), role: AccountRole.WRITABLE },
      ],
      data: encodeMarkFulfilledData(key, toTxHash, toTxBlock),
    };
  }

  /** Sends mark_fulfilled and follows it to `confirmed`; see the file's header. */
  async markFulfilled(keyHex: string, toTxHash: string, toTxBlock: number): Promise<MarkOutcome> {
    const { rpc, log } = this.options;
    if (new TextEncoder().encode(toTxHash).length > MAX_TX_LEN) return { ok: false, error: 'StringTooLong' }; // the program's own refusal, without the fee
    const instruction = await this.markInstruction(keyHex, toTxHash, toTxBlock);
    const { value: lifetime } = await rpc.getLatestBlockhash({ commitment: COMMITMENT }).send();
    const message = pipe(
      createTransactionMessage({ version: 'legacy' }),
      (m) => setTransactionMessageFeePayerSigner(this.options.signer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
      (m) => appendTransactionMessageInstruction(instruction, m),
    );
    const transaction = await signTransactionMessageWithSigners(message);
    const signature = getSignatureFromTransaction(transaction);
    try {
      await rpc
        .sendTransaction(getBase64EncodedWireTransaction(transaction), {
          encoding: 'base64',
          preflightCommitment: COMMITMENT,
        })
        .send();
    } catch (error) {
      const refusal = preflightRefusal(error);
      if (refusal !== null) {
        log.warn({ swap: keyHex, refusal }, 'mark_fulfilled refused by the preflight; nothing sent');
        return { ok: false, error: refusal };
      }
      // It may have reached the cluster: its signature says what happened.
      log.warn(
        { swap: keyHex, signature, err: String((error as Error).message ?? error) },
        'mark_fulfilled send failed; following its signature',
      );
    }
    return this.follow(keyHex, signature, lifetime.lastValidBlockHeight);
  }

  /** Follows a sent signature until it is confirmed, fails, or can no longer land. */
  private async follow(keyHex: string, signature: Signature, lastValidBlockHeight: bigint): Promise<MarkOutcome> {
    const { rpc, log } = this.options;
    const deadline = Date.now() + (this.options.markTimeoutMs ?? 90_000);
    const pollMs = this.options.pollMs ?? 1_000;
    for (;;) {
      try {
        const status = await this.statusOf(signature);
        if (status !== null) return status;
        const height = await rpc.getBlockHeight({ commitment: COMMITMENT }).send();
        // Expired: no block above lastValidBlockHeight can include it. Ask once more, since it
        // could have landed in the very block that made the height pass.
        if (height > lastValidBlockHeight)
          return (await this.statusOf(signature)) ?? { ok: false, error: 'BlockhashExpired' };
      } catch (error) {
        log.warn(
          { swap: keyHex, signature, err: String((error as Error).message ?? error) },
          'following mark_fulfilled failed; trying again',
        );
      }
      if (Date.now() > deadline || this.options.stopping?.() === true) return { ok: false, error: 'OutcomeUnknown' };
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  private async statusOf(signature: Signature): Promise<MarkOutcome | null> {
    const { value } = await this.options.rpc.getSignatureStatuses([signature]).send();
    const status = value[0];
    if (status === null || status === undefined) return null;
    if (status.confirmationStatus !== 'confirmed' && status.confirmationStatus !== 'finalized') return null;
    return status.err === null ? { ok: true } : { ok: false, error: nameOfTransactionError(status.err) };
  }

  /**
   * How a closed swap ended: its account's transaction history, newest first, read for the
   * program's SwapCompleted / SwapTimedOut / SwapCancelled and its SwapFulfilled. Failed
   * transactions are skipped (their logs applied nothing). Null when no ending is found within
   * the history limit: the caller must not guess.
   */
  async closedSwap(keyHex: string): Promise<ClosedSwap | null> {
    const { rpc, programId } = this.options;
    const pda = await swapAddress(programId, swapKeyFromHex(keyHex));
    const signatures = await rpc
      .getSignaturesForAddress(address(pda), { limit: this.options.historyLimit ?? 100, commitment: COMMITMENT })
      .send();
    let ending: SwapEventRecord | null = null;
    let fulfilled: Extract<SwapEventRecord, { kind: 'SwapFulfilled' }> | null = null;
    for (const entry of signatures) {
      if (entry.err !== null) continue;
      for (const event of await this.eventsOf(entry.signature)) {
        if (event.swapKey !== keyHex) continue;
        if (event.kind === 'SwapFulfilled') fulfilled ??= event;
        if (event.kind === 'SwapCompleted' || event.kind === 'SwapTimedOut' || event.kind === 'SwapCancelled')
          ending ??= event;
      }
      if (ending !== null && fulfilled !== null) break;
    }
    if (ending === null) return null;
    const status =
      ending.kind === 'SwapCompleted' ? 'Completed' : ending.kind === 'SwapTimedOut' ? 'TimedOut' : 'Cancelled';
    return { status, miner: ending.miner, toTxHash: fulfilled?.toTxHash ?? '' };
  }

  private async eventsOf(signature: Signature): Promise<SwapEventRecord[]> {
    const tx = await this.options.rpc
      .getTransaction(signature, { encoding: 'json', commitment: COMMITMENT, maxSupportedTransactionVersion: 0 })
      .send();
    if (tx === null || tx.meta === null || tx.meta.err !== null) return [];
    return swapEventsInLogs(tx.meta.logMessages ?? [], this.options.programId);
  }
}
