/**
 * The allways swap manager, modelled for a FakeCluster from the reference (sections 1, 4, 5, 6
 * and 11): `mark_fulfilled` with Anchor's account checks and the handler's checks in the
 * program's order, the grace after a mark, and what validators do (initiate, extend, confirm,
 * time out, cancel), each closing transaction logging its event as the program does. The
 * validators' check of a payout (recipient, amount at least, sender equal to the pin, freshness,
 * confirmations) is `verifyPayout`. Accounts are written with the hand-built layouts of
 * swapManagerBytes.ts, never with src/.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { getBase58Decoder } from '@solana/kit';
import { type FakeCluster, InstructionFailure, type Account, type InstructionContext } from './fakeCluster.ts';
import { findPda } from './pda.ts';
import {
  eventBytes,
  minerStateBytes,
  pubkeyBytes,
  readSwapFields,
  REF,
  swapAccountBytes,
  type MinerStateFields,
  type SwapFields,
} from './swapManagerBytes.ts';

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Test-only instruction the "validators" send through the cluster, so closings are transactions with logs. */
const VALIDATOR_ACTION = 0xee;
const ACTIONS = ['confirm', 'timeout', 'cancel', 'extend'] as const;
type Action = (typeof ACTIONS)[number];

export const anchorError = (code: number, name: string) =>
  new InstructionFailure({ Custom: code }, [
    `Program log: AnchorError occurred. Error Code: ${name}. Error Number: ${code}.`,
  ]);

export class SwapManagerModel {
  readonly validator = getBase58Decoder().decode(new Uint8Array(32).fill(0x5a));

  constructor(
    readonly cluster: FakeCluster,
    readonly programId: string = REF.programId,
  ) {
    cluster.programs.set(programId, (ctx) => this.dispatch(ctx));
  }

  swapKey(fromTxHash: string): string {
    return hex(keccak_256(utf8(fromTxHash)));
  }

  swapPda(keyHex: string): string {
    return findPda([utf8('swap'), Buffer.from(keyHex, 'hex')], this.programId);
  }

  minerPda(miner: string): string {
    return findPda([utf8('miner'), pubkeyBytes(miner)], this.programId);
  }

  private programAccount(data: Uint8Array): Account {
    return { lamports: 10_000_000n, owner: this.programId, data, executable: false };
  }

  createMinerState(miner: string, over: Partial<MinerStateFields> = {}): void {
    const fields: MinerStateFields = {
      miner,
      collateral: 10_000_000_000n,
      active: true,
      activeBackings: 0x03,
      hasActiveSwap: false,
      activeSwapBackings: 0,
      busyUntil: Array(8).fill(0),
      settlingUntil: Array(8).fill(0),
      reservedCollateral: Array(8).fill(0n),
      deactivationAt: 0,
      successfulSwaps: 0,
      failedSwaps: 0,
      bump: 255,
      ...over,
    };
    this.cluster.accounts.set(this.minerPda(miner), this.programAccount(minerStateBytes(fields)));
  }

  minerState(miner: string): MinerStateFields | null {
    const account = this.cluster.account(this.minerPda(miner));
    return account === null ? null : readMinerState(account.data);
  }

  private writeMinerState(fields: MinerStateFields): void {
    this.cluster.accounts.get(this.minerPda(fields.miner))!.data = minerStateBytes(fields);
  }

  /** submit_swap_claim + vote_initiate at quorum: an Active swap at its PDA, the hub busy. */
  initiate(
    fields: Omit<SwapFields, 'status' | 'initiatedAt' | 'timeoutAt' | 'maxExtendAt'> & {
      timeoutSecs?: number;
      maxExtensionSecs?: number;
    },
  ): string {
    const now = this.cluster.clockSecs;
    const timeoutAt = now + (fields.timeoutSecs ?? 600);
    const swap: SwapFields = {
      ...fields,
      status: 0,
      initiatedAt: now,
      timeoutAt,
      maxExtendAt: timeoutAt + (fields.maxExtensionSecs ?? 8_400),
    };
    const key = this.swapKey(swap.fromTxHash);
    this.cluster.accounts.set(this.swapPda(key), this.programAccount(swapAccountBytes(swap)));
    const state = this.minerState(swap.miner);
    if (state !== null) {
      const slot = REF.hubSlots[swap.collateralChain];
      if (slot !== undefined) {
        state.activeSwapBackings |= REF.hubBits[swap.collateralChain]!;
        state.hasActiveSwap = true;
        state.busyUntil[slot] = Math.max(state.busyUntil[slot]!, timeoutAt);
      }
      this.writeMinerState(state);
    }
    return key;
  }

  /** Writes raw bytes under the Swap discriminator at an address (bad chain data). */
  plantAccount(address: string, data: Uint8Array): void {
    this.cluster.accounts.set(address, this.programAccount(data));
  }

  swap(keyHex: string): SwapFields | null {
    const account = this.cluster.account(this.swapPda(keyHex));
    return account === null ? null : readSwapFields(account.data);
  }

  // --- mark_fulfilled -----------------------------------------------------------------------

  private dispatch(ctx: InstructionContext): void {
    const data = Buffer.from(ctx.data);
    if (data.length >= 2 && data[0] === VALIDATOR_ACTION) {
      this.validatorAction(ctx, ACTIONS[data[1]!]!, data.subarray(2));
      return;
    }
    if (data.length < 8) throw anchorError(100, 'InstructionMissing');
    if (!data.subarray(0, 8).equals(Buffer.from(REF.markFulfilledDiscriminator)))
      throw anchorError(101, 'InstructionFallbackNotFound');
    const args = decodeMarkArgs(data.subarray(8));
    if (args === null) throw anchorError(102, 'InstructionDidNotDeserialize');
    this.markFulfilled(ctx, args);
  }

  /** Anchor's Account<T> load: 3012 for a closed account, 3007, 3001/3002, 3003. */
  private load(
    ctx: InstructionContext,
    address: string,
    discriminator: readonly number[],
    read: (d: Uint8Array) => unknown,
  ): Account {
    const account = ctx.get(address);
    if (account === null || (account.owner === '11111111111111111111111111111111' && account.lamports === 0n))
      throw anchorError(3012, 'AccountNotInitialized');
    if (account.owner !== this.programId) throw anchorError(3007, 'AccountOwnedByWrongProgram');
    if (account.data.length < 8) throw anchorError(3001, 'AccountDiscriminatorNotFound');
    if (!Buffer.from(account.data.subarray(0, 8)).equals(Buffer.from(discriminator)))
      throw anchorError(3002, 'AccountDiscriminatorMismatch');
    try {
      read(account.data);
    } catch {
      throw anchorError(3003, 'AccountDidNotDeserialize');
    }
    return account;
  }

  private markFulfilled(ctx: InstructionContext, args: { key: Buffer; toTxHash: string; toTxBlock: number }): void {
    const [miner, minerStateMeta, swapMeta] = ctx.accounts;
    if (miner === undefined || minerStateMeta === undefined || swapMeta === undefined)
      throw anchorError(3005, 'AccountNotEnoughKeys');
    if (!miner.signer) throw anchorError(3010, 'AccountNotSigner');
    const minerStateAccount = this.load(ctx, minerStateMeta.address, REF.minerStateDiscriminator, readMinerState);
    const swapAccount = this.load(ctx, swapMeta.address, REF.swapDiscriminator, readSwapFields);
    if (minerStateMeta.address === swapMeta.address) throw anchorError(2040, 'ConstraintDuplicateMutableAccount');
    const state = readMinerState(minerStateAccount.data);
    if (minerStateMeta.address !== this.minerPda(miner.address)) throw anchorError(2006, 'ConstraintSeeds');
    if (!minerStateMeta.writable) throw anchorError(2000, 'ConstraintMut');
    if (state.miner !== miner.address) throw anchorError(2003, 'ConstraintRaw');
    const swap = readSwapFields(swapAccount.data);
    if (swapMeta.address !== this.swapPda(hex(args.key))) throw anchorError(2006, 'ConstraintSeeds');
    if (!swapMeta.writable) throw anchorError(2000, 'ConstraintMut');
    if (swap.miner !== miner.address) throw anchorError(2001, 'ConstraintHasOne');
    if (utf8(args.toTxHash).length > 128) throw anchorError(6024, 'StringTooLong');
    if (swap.status !== 0) throw anchorError(6028, 'InvalidStatus');

    const now = this.cluster.clockSecs;
    Object.assign(swap, { toTxHash: args.toTxHash, toTxBlock: args.toTxBlock, status: 1, fulfilledAt: now });
    const grace = REF.graceSecs[swap.toChain.toLowerCase()] ?? REF.otherGraceSecs;
    const target = Math.min(now + grace, swap.maxExtendAt);
    const key = hex(args.key);
    if (target > swap.timeoutAt) {
      swap.timeoutAt = target;
      const slot = REF.hubSlots[swap.collateralChain];
      if (slot === undefined) throw anchorError(6060, 'BackingNotSupported');
      state.busyUntil[slot] = Math.max(state.busyUntil[slot]!, target);
      ctx.emit(eventBytes('FulfillmentGraceApplied', (w) => w.hex(key).pubkey(swap.miner).i64(target)));
    }
    ctx.emit(eventBytes('SwapFulfilled', (w) => w.hex(key).pubkey(swap.miner).str(args.toTxHash).u128(swap.toAmount)));
    swapAccount.data = swapAccountBytes(swap);
    minerStateAccount.data = minerStateBytes(state);
  }

  /** Marks applied by included transactions (the cluster's history, read after the fact). */
  appliedMarks(): Array<{ key: string; toTxHash: string; signature: string }> {
    const out = [];
    for (const tx of this.cluster.transactions.values()) {
      if (tx.err !== null) continue;
      for (const line of tx.logs) {
        if (!line.startsWith('Program data: ')) continue;
        const bytes = Buffer.from(line.slice(14), 'base64');
        if (!bytes.subarray(0, 8).equals(Buffer.from(REF.events.SwapFulfilled, 'hex'))) continue;
        const key = bytes.subarray(8, 40).toString('hex');
        const len = bytes.readUInt32LE(72);
        out.push({ key, toTxHash: bytes.subarray(76, 76 + len).toString('utf8'), signature: tx.signature });
      }
    }
    return out;
  }

  // --- validators ---------------------------------------------------------------------------

  private act(action: Action, keyHex: string, extra: Uint8Array = new Uint8Array(0)) {
    const pda = this.swapPda(keyHex);
    const swap = this.swap(keyHex);
    const minerPda = swap === null ? pda : this.minerPda(swap.miner);
    const data = Buffer.concat([
      Buffer.from([VALIDATOR_ACTION, ACTIONS.indexOf(action)]),
      Buffer.from(keyHex, 'hex'),
      extra,
    ]);
    const record = this.cluster.runAsProgram(
      this.programId,
      [
        { address: this.validator, signer: true, writable: true },
        { address: pda, signer: false, writable: true },
        { address: minerPda, signer: false, writable: true },
      ],
      Uint8Array.from(data),
    );
    this.cluster.transactions.set(record.signature, record);
    for (const key of record.accountKeys)
      this.cluster.history.set(key, [...(this.cluster.history.get(key) ?? []), record.signature]);
    return record.err;
  }

  confirm(keyHex: string): unknown {
    return this.act('confirm', keyHex);
  }

  timeout(keyHex: string): unknown {
    return this.act('timeout', keyHex);
  }

  cancel(keyHex: string, reason = 255): unknown {
    return this.act('cancel', keyHex, Uint8Array.of(reason));
  }

  extend(keyHex: string, targetAt: number): unknown {
    const target = Buffer.alloc(8);
    target.writeBigInt64LE(BigInt(targetAt));
    return this.act('extend', keyHex, target);
  }

  private validatorAction(ctx: InstructionContext, action: Action, rest: Buffer): void {
    const key = rest.subarray(0, 32).toString('hex');
    const pda = this.swapPda(key);
    const account = ctx.get(pda);
    if (account === null) throw anchorError(3012, 'AccountNotInitialized');
    const swap = readSwapFields(account.data);
    const now = this.cluster.clockSecs;
    const liveOrMarked = swap.status === 0 || swap.status === 1;
    if (action === 'extend') {
      const target = Number(rest.readBigInt64LE(32));
      if (!liveOrMarked) throw anchorError(6028, 'InvalidStatus');
      if (target <= swap.timeoutAt) throw anchorError(6034, 'ExtensionNotLater');
      if (target > swap.maxExtendAt) throw anchorError(6035, 'ExtensionExceedsCeiling');
      swap.timeoutAt = target;
      account.data = swapAccountBytes(swap);
      ctx.emit(
        eventBytes('SwapTimeoutExtended', (w) => w.hex(key).pubkey(swap.miner).pubkey(this.validator).i64(target)),
      );
      return;
    }
    if (action === 'confirm' && swap.status !== 1) throw anchorError(6028, 'InvalidStatus');
    if (action !== 'confirm' && !liveOrMarked) throw anchorError(6028, 'InvalidStatus');
    if (action === 'timeout' && now < swap.timeoutAt) throw anchorError(6029, 'NotTimedOut');
    const stateAccount = ctx.get(this.minerPda(swap.miner));
    if (stateAccount !== null) {
      const state = readMinerState(stateAccount.data);
      state.activeSwapBackings &= ~(REF.hubBits[swap.collateralChain] ?? 0);
      state.hasActiveSwap = state.activeSwapBackings !== 0;
      if (action === 'confirm') state.successfulSwaps += 1;
      if (action === 'timeout') state.failedSwaps += 1;
      stateAccount.data = minerStateBytes(state);
    }
    ctx.set(pda, null); // closed: rent to the validator
    if (action === 'confirm') {
      ctx.emit(
        eventBytes('SwapCompleted', (w) =>
          w
            .hex(key)
            .pubkey(swap.miner)
            .u64(swap.collateralAmount)
            .u64(swap.collateralAmount / 100n || 1n)
            .str(swap.fromChain)
            .str(swap.toChain)
            .u128(swap.fromAmount)
            .u128(swap.toAmount)
            .u128(swap.rate)
            .str(swap.collateralChain),
        ),
      );
    } else if (action === 'timeout') {
      const slash = (swap.collateralAmount * 11n + 9n) / 10n;
      ctx.emit(
        eventBytes('SwapTimedOut', (w) =>
          w
            .hex(key)
            .pubkey(swap.miner)
            .u64(swap.collateralAmount)
            .u64(slash)
            .str(swap.collateralChain)
            .u64(slash)
            .u64(slash)
            .str(swap.userToAddr)
            .hex(swap.hotkey),
        ),
      );
    } else {
      ctx.emit(
        eventBytes('SwapCancelled', (w) =>
          w
            .hex(key)
            .pubkey(swap.miner)
            .str(swap.collateralChain)
            .u64(swap.collateralAmount)
            .u8(rest[32] ?? 255),
        ),
      );
    }
  }

  /**
   * What the reference validators check of a SOL payout before voting confirm (section 6):
   * the transaction landed without error, the recipient's lamports grew by at least
   * to_amount - floor(to_amount / 100), the fee payer is the pinned miner_to_addr, the sender is
   * not the recipient, it is not older than the swap, and it has 32 confirmations.
   * 'ok', or why not.
   */
  verifyPayout(keyHex: string): string {
    const swap = this.swap(keyHex);
    if (swap === null) return 'swap is closed';
    if (swap.status !== 1) return 'swap is not Fulfilled';
    const tx = this.cluster.transactions.get(swap.toTxHash);
    if (tx === undefined) return `payout ${swap.toTxHash} not found`;
    if (tx.err !== null) return 'payout failed on chain';
    const at = tx.accountKeys.indexOf(swap.userToAddr);
    const received = at < 0 ? 0n : tx.postBalances[at]! - tx.preBalances[at]!;
    const owed = swap.toAmount - swap.toAmount / 100n;
    if (received < owed) return `recipient received ${received}, less than ${owed}`;
    const sender = tx.accountKeys[0]!;
    if (swap.minerToAddr !== '' && sender !== swap.minerToAddr)
      return `sent from ${sender}, not the pinned ${swap.minerToAddr}`;
    if (sender === swap.userToAddr) return 'sender is the recipient';
    if (tx.blockTime < swap.initiatedAt) return 'payout is older than the swap';
    if (this.cluster.slot - tx.slot + 1 < 32) return 'not yet 32 confirmations';
    return 'ok';
  }
}

export function readMinerState(data: Uint8Array): MinerStateFields {
  const b = Buffer.from(data);
  if (b.length < 261) throw new Error('short MinerState');
  const slots = <T>(at: number, read: (o: number) => T): T[] => Array.from({ length: 8 }, (_, i) => read(at + 8 * i));
  return {
    miner: getBase58Decoder().decode(b.subarray(8, 40)),
    collateral: b.readBigUInt64LE(40),
    active: b[48] === 1,
    activeBackings: b[49]!,
    hasActiveSwap: b[50] === 1,
    activeSwapBackings: b[51]!,
    busyUntil: slots(52, (o) => Number(b.readBigInt64LE(o))),
    settlingUntil: slots(116, (o) => Number(b.readBigInt64LE(o))),
    reservedCollateral: slots(180, (o) => b.readBigUInt64LE(o)),
    deactivationAt: Number(b.readBigInt64LE(244)),
    successfulSwaps: b.readUInt32LE(252),
    failedSwaps: b.readUInt32LE(256),
    bump: b[260]!,
  };
}

function decodeMarkArgs(body: Buffer): { key: Buffer; toTxHash: string; toTxBlock: number } | null {
  if (body.length < 32 + 4) return null;
  const key = body.subarray(0, 32);
  const len = body.readUInt32LE(32);
  if (body.length !== 36 + len + 4) return null;
  return { key, toTxHash: body.subarray(36, 36 + len).toString('utf8'), toTxBlock: body.readUInt32LE(36 + len) };
}
