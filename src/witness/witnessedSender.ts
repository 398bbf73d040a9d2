/**
 * A TransferSender with the witness around it (a decorator: the host and the machines do not
 * change). Before every signature it asks the chain what the paying account has done and
 * refuses to sign while anything is unknown (SigningHeld: the host logs it and tries again at
 * its next tick, so the swap waits with nothing signed; marking and claiming go on). Before
 * the first broadcast of a transfer it journals it with the store's position. A broadcast the
 * chain refuses because the nonce was used, followed by a lookup that does not find our
 * transfer, is a transaction this store does not know: written down, and signing holds.
 *
 * Why before every signature, not only the first: a second host running a copy of the store
 * passes its start check while the first has not yet sent anything; it must stop as soon as
 * the chain shows the first's transfers, before it signs again what the first paid. One chain
 * call per signature (the account's next nonce).
 *
 * Why one unconfirmed transfer per account at a time: two hosts that sign at the same moment
 * take the same nonce, and at most one of the two transfers lands. The other host must not
 * sign past that nonce until it knows which: its node may still hold its own transfer in the
 * pool while the chain mines the other's, and a next signature would take the nonce after,
 * which lands. So a new signature waits until every transfer this process broadcast is seen
 * included (with the sender's confirmations) or found dead (then the hold begins). The cost:
 * an account pays one swap per inclusion time (EVM: a few blocks; Subtensor: finality). Only
 * on chains with account nonces: elsewhere (UTXO chains) there is no nonce to race for.
 *
 * An adopted transfer (`settle reconcile adopt`) is handed to its swap as the signature: the
 * host persists it, broadcasts it again (harmless: included already) and marks the swap.
 */
import type { SignedTransfer } from '../../machines/index.ts';
import {
  EffectWaits,
  NeverLands,
  type ActivityQuery,
  type ChainActivity,
  type SignedBytes,
  type SignedIdentity,
  type TransferRequest,
  type TransferSender,
  type TransferStatus,
  type WitnessReport,
} from '../host/ports.ts';
import { ANY_ACCOUNT } from './witnessCheck.ts';
import { SigningHeld, isHeld, type Witnessed, type WitnessGate } from './witnessGate.ts';

/** An adopted transfer whose bytes are not what the decision names. */
export class AdoptionMismatch extends Error {
  override readonly name = 'AdoptionMismatch';
}

/** A transfer of this account broadcast earlier is not yet seen included: the next one waits. */
export class AwaitingConfirmation extends EffectWaits {
  override readonly name = 'AwaitingConfirmation';
}

export class WitnessedSender implements TransferSender, Witnessed {
  /** Bytes signed or restored and not yet settled: raw -> who signed them and what they pay. */
  private readonly inFlight = new Map<string, { identity: SignedIdentity; ref: string | null }>();
  /** Transfers whose broadcast said "nonce used": told to the gate if the lookup then does not find them. */
  private readonly nonceUsed = new Map<string, SignedIdentity>();
  /** Ids signed or broadcast by this process and not yet seen included or failed. */
  private readonly unconfirmed = new Set<string>();
  /**
   * Transfers an earlier life signed (told at restore) not yet seen included or failed: as
   * unconfirmed as this life's own, so a restart changes nothing of what waits for what.
   * Looked up before the next signature (a restored swap may be past Sending, never looked up again).
   */
  private readonly restored = new Map<string, SignedTransfer>();

  constructor(
    readonly inner: TransferSender,
    private readonly gate: WitnessGate,
  ) {}

  get chain(): string {
    return this.inner.chain;
  }

  addressProblem(address: string): string | null {
    return this.inner.addressProblem(address);
  }

  controls(address: string): boolean {
    return this.inner.controls(address);
  }

  adopt(transfer: SignedTransfer): void {
    const identity = this.identityOf(transfer.raw, transfer.hash);
    this.gate.storeHolds(this.chain, identity);
    this.inFlight.set(transfer.raw, { identity, ref: null });
    if (identity.nonce !== null) this.restored.set(transfer.hash, transfer);
    this.inner.adopt?.(transfer);
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    // One reading of the decisions answers both questions below. Read twice, an adoption
    // appended in between (`settle reconcile adopt` while this runs) was missed by the first
    // and lifted the hold in the second: the swap was paid again (restoreBackup.test.ts, under load).
    const decisions = await this.gate.decisions();
    const adoption = this.gate.adoption(decisions, this.chain, request.swapId);
    if (adoption !== null) {
      const adopted = this.adopted(adoption.raw!, adoption.id!, request);
      // The decision may have lifted the hold: the verdict (health, status, the log) is brought up to date.
      await this.gate.check(this, decisions).catch(() => undefined);
      return adopted;
    }
    await this.settleRestored();
    if (this.unconfirmed.size > 0 || this.restored.size > 0) {
      const waiting = [...this.unconfirmed, ...this.restored.keys()];
      throw new AwaitingConfirmation(
        `swap ${request.swapId} waits on ${this.chain}: ${waiting.join(', ')} not yet seen included`,
      );
    }
    const verdict = await this.gate.check(this, decisions);
    if (isHeld(verdict)) throw new SigningHeld(verdict);
    const signed = await this.inner.sign(request);
    this.inFlight.set(signed.raw, {
      identity: this.identityOf(signed.raw, signed.hash),
      ref: `swap:${request.swapId}`,
    });
    if (this.inFlight.get(signed.raw)!.identity.nonce !== null) this.unconfirmed.add(signed.hash);
    return signed;
  }

  async broadcast(raw: string): Promise<void> {
    const known = this.inFlight.get(raw);
    const identity = known?.identity ?? this.identityOf(raw, null);
    await this.gate.beforeBroadcast(this.chain, identity, known?.ref ?? null);
    if (identity.nonce !== null) this.unconfirmed.add(identity.id);
    try {
      await this.inner.broadcast(raw);
    } catch (error) {
      if (error instanceof NeverLands) this.nonceUsed.set(identity.id, identity);
      throw error;
    }
  }

  async lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    const adoptedAt = await this.gate.adoptedBlock(this.chain, transfer.hash);
    // An adopted transfer may have been included before the block a searching sender starts from.
    const from = transfer.anchorBlock ?? transfer.decidedAt;
    const asked = adoptedAt === null || adoptedAt >= from ? transfer : { ...transfer, anchorBlock: adoptedAt };
    const status = await this.inner.lookup(asked);
    if (status.kind === 'included' || status.kind === 'failed') {
      this.inFlight.delete(transfer.raw);
      this.unconfirmed.delete(transfer.hash);
      this.restored.delete(transfer.hash);
    }
    const used = this.nonceUsed.get(transfer.hash);
    if (used !== undefined && status.kind !== 'pending') {
      this.nonceUsed.delete(transfer.hash);
      // Its nonce went to another transaction: it will never be confirmed; the hold takes over.
      this.unconfirmed.delete(transfer.hash);
      this.restored.delete(transfer.hash);
      if (status.kind === 'unknown' && used.nonce !== null) {
        await this.gate.found(this.chain, used.account, {
          id: null,
          nonce: used.nonce,
          evidence: `nonce ${used.nonce} of ${used.account} was used by a transaction this store does not know: transfer ${transfer.hash} can never land`,
        });
      }
    }
    return status;
  }

  /** What this sender holds in memory that decides what it does next (the crash-point explorer compares hosts by it). */
  memoryImage(): string {
    return JSON.stringify([
      [...this.unconfirmed].sort(),
      [...this.restored.keys()].sort(),
      [...this.nonceUsed.keys()].sort(),
    ]);
  }

  report(): Promise<WitnessReport | null> {
    return this.inner.witness?.() ?? Promise.resolve(null);
  }

  witness(): Promise<WitnessReport> {
    if (this.inner.witness === undefined) return Promise.reject(new Error(`the ${this.chain} sender has no witness`));
    return this.inner.witness();
  }

  identify(raw: string): SignedIdentity {
    return this.identityOf(raw, null);
  }

  activity(query: ActivityQuery): Promise<ChainActivity[]> {
    if (this.inner.activity === undefined)
      return Promise.reject(new Error(`the ${this.chain} sender cannot list its account's transactions`));
    return this.inner.activity(query);
  }

  /** Looks up each restored transfer not yet seen settled (one call each, until they are). */
  private async settleRestored(): Promise<void> {
    for (const [hash, transfer] of [...this.restored]) {
      const status = await this.lookup(transfer);
      if (status.kind === 'included' || status.kind === 'failed') this.restored.delete(hash);
    }
  }

  private async adopted(raw: string, id: string, request: TransferRequest): Promise<SignedBytes> {
    const identity = this.identityOf(raw, id);
    if (identity.id !== id)
      throw new AdoptionMismatch(
        `the transfer adopted for swap ${request.swapId} on ${this.chain} is ${identity.id}, not ${id} as recorded`,
      );
    this.inFlight.set(raw, { identity, ref: `swap:${request.swapId}` });
    return { raw, hash: id };
  }

  private identityOf(raw: string, hash: string | null): SignedIdentity {
    if (this.inner.identify !== undefined) return this.inner.identify(raw);
    const id = hash ?? this.inFlight.get(raw)?.identity.id;
    if (id === undefined)
      throw new Error(`${this.chain}: bytes to broadcast that were neither signed nor restored here`);
    return { account: ANY_ACCOUNT, nonce: null, id };
  }
}
