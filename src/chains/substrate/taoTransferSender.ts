/**
 * Sends TAO on Subtensor: a `balances.transferKeepAlive` extrinsic, signed once with an
 * explicit nonce, whose bytes and hash the swap machine persists before the first submission.
 * After a restart the same bytes are submitted again and the extrinsic is found by hash in the
 * finalized blocks from the height at which the machine decided to send.
 *
 * The extrinsic is immortal: the design is "sign once, submit the same bytes until included",
 * and a mortal era could end before a long outage does, leaving a nonce gap that would hold
 * every later transfer of the account. Immortal bytes stay valid until their nonce is used or
 * the runtime is upgraded (the signature covers the spec version): a "bad signature" refusal
 * is therefore "never lands" (the swap goes to Recovery with nothing sent), and the nonce is
 * given back to the chain's count. (The replay risk of immortal extrinsics needs the account
 * reaped and its nonce reset; transferKeepAlive never reaps the sender.)
 *
 * "Never lands" is only said when the finalized chain proves these bytes cannot be included
 * any more: the account's nonce moved past ours. That is also true of a transfer that landed
 * (once the pool forgets it, its bytes are "outdated"), so NeverLands means "look it up": the
 * host does, and a lookup that found it included makes later broadcasts return quietly. A
 * pool that merely calls the extrinsic stale may be looking at an unfinalized block that
 * holds it: that is waited out, not reported.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aEq } from '@polkadot/util';
import { checkAddress, decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import type { SignedTransfer } from '../../../machines/index.ts';
import {
  NeverLands,
  type ActivityQuery,
  type ChainActivity,
  type Logger,
  type SignedBytes,
  type SignedIdentity,
  type TransferRequest,
  type TransferSender,
  type TransferStatus,
  type WitnessReport,
} from '../../host/ports.ts';
import { substrateActivity } from './substrateActivity.ts';
import type { NonceAllocator } from '../nonceAllocator.ts';
import type { ExtrinsicSearch } from './extrinsicSearch.ts';
import { SUBTENSOR_SS58_FORMAT } from '../keys.ts';
import { SubmitRefused, type SubstrateChain } from './substrateChain.ts';
import { assert } from '../../errors.ts';

export interface TaoTransferSenderOptions {
  readonly chain: SubstrateChain;
  readonly search: ExtrinsicSearch;
  readonly signer: KeyringPair;
  readonly nonces: NonceAllocator;
  readonly log: Logger;
  /** The destination chain's name in swaps (`dest_chain`). */
  readonly chainName?: string;
}

export class TaoTransferSender implements TransferSender {
  readonly chain: string;
  private readonly from: string;
  /** Hashes this process found included: broadcasting them again is a no-op. */
  private readonly landed = new Set<string>();

  constructor(private readonly options: TaoTransferSenderOptions) {
    this.chain = options.chainName ?? 'tao';
    this.from = encodeAddress(options.signer.publicKey, SUBTENSOR_SS58_FORMAT);
  }

  addressProblem(address: string): string | null {
    return ss58Problem(address, this.chain);
  }

  /** The same public key, whatever SS58 prefix the pin is written with. */
  controls(address: string): boolean {
    try {
      return u8aEq(decodeAddress(address), this.options.signer.publicKey);
    } catch {
      return false;
    }
  }

  adopt(transfer: SignedTransfer): void {
    const extrinsic = this.options.chain.api.createType('Extrinsic', transfer.raw);
    if (extrinsic.signer.toString() === this.from) this.options.nonces.reserve(this.from, extrinsic.nonce.toNumber());
  }

  async sign(request: TransferRequest): Promise<SignedBytes> {
    // The host routes by chain and rejects a zero amount before any sender sees it.
    assert(request.chain === this.chain, `a ${request.chain} transfer was handed to the ${this.chain} sender`);
    assert(request.amount > 0n, `transfer amount ${request.amount} is not positive`);
    const problem = this.addressProblem(request.to);
    if (problem !== null) throw new Error(problem);
    if (request.from != null && !this.controls(request.from))
      throw new Error(`the ${this.chain} sender signs for ${this.from}, not for the pinned ${request.from}`);
    const { chain, signer, nonces } = this.options;
    // A transfer that would fail for want of funds moves nothing yet sends the swap to
    // Recovery: refuse to sign instead (retried next tick, until the margin says too late).
    const free = await chain.freeBalance(this.from);
    const existentialDeposit = chain.api.consts.balances.existentialDeposit.toBigInt();
    if (free < request.amount + existentialDeposit) {
      throw new Error(
        `the ${this.chain} account ${this.from} holds ${free}, short of ${request.amount} + the existential deposit ${existentialDeposit}; not signing`,
      );
    }
    const nonce = nonces.next(this.from, await chain.nextNonce(this.from));
    const extrinsic = chain.api.tx.balances.transferKeepAlive(request.to, request.amount);
    // Where lookups start searching: nothing signed now can be in an earlier block.
    const anchorBlock = (await chain.best()).number;
    await extrinsic.signAsync(signer, { nonce, era: 0 });
    return { raw: extrinsic.toHex(), hash: extrinsic.hash.toHex(), anchorBlock };
  }

  async broadcast(raw: string): Promise<void> {
    if (this.landed.has(this.options.chain.api.createType('Extrinsic', raw).hash.toHex())) return;
    try {
      await this.options.chain.submit(raw);
    } catch (error) {
      if (!(error instanceof SubmitRefused)) throw error;
      if (error.kind === 'known') return;
      if (/bad signature|badproof/i.test(error.message)) {
        // Signed under another runtime (an upgrade changes the signed spec version) or never
        // valid: these bytes cannot land. Later nonces must not wait behind this one.
        this.options.nonces.forget(this.from);
        throw new NeverLands(
          `the signed ${this.chain} transfer is no longer valid (signed under another runtime?): ${error.message}`,
        );
      }
      if (error.kind === 'payment')
        throw new Error(`the ${this.chain} account ${this.from} cannot pay the transfer's fee; it is retried`);
      if (error.kind === 'stale' && (await this.provablyDead(raw))) {
        throw new NeverLands(`the signed ${this.chain} transfer can no longer be included: ${error.message}`);
      }
      // Stale to a pool that may be looking at an unfinalized block holding it: wait and see.
      this.options.log.warn(
        { chain: this.chain, refusal: error.kind },
        'transfer refused by the pool; waiting for finality to say whether it landed',
      );
    }
  }

  async lookup(transfer: SignedTransfer): Promise<TransferStatus> {
    const found = await this.options.search.find(transfer.hash, transfer.anchorBlock ?? transfer.decidedAt);
    if (found !== null) {
      if (found.failure !== null)
        return { kind: 'failed', reason: `transfer extrinsic failed in block ${found.block}: ${found.failure}` };
      this.landed.add(transfer.hash);
      return { kind: 'included', block: found.block };
    }
    const pool = await this.options.chain.api.rpc.author.pendingExtrinsics();
    return pool.some((e) => e.hash.toHex() === transfer.hash) ? { kind: 'pending' } : { kind: 'unknown' };
  }

  /** The witness: the account's next nonce, pool included (one call). */
  async witness(): Promise<WitnessReport> {
    return { kind: 'nonce', account: this.from, next: await this.options.chain.nextNonce(this.from) };
  }

  identify(raw: string): SignedIdentity {
    const extrinsic = this.options.chain.api.createType('Extrinsic', raw);
    return { account: extrinsic.signer.toString(), nonce: extrinsic.nonce.toNumber(), id: extrinsic.hash.toHex() };
  }

  activity(query: ActivityQuery): Promise<ChainActivity[]> {
    return substrateActivity(this.options.chain, this.from, query);
  }

  /** The finalized chain has moved the account's nonce past ours (used by ours, or another). */
  private async provablyDead(raw: string): Promise<boolean> {
    const { chain } = this.options;
    const nonce = chain.api.createType('Extrinsic', raw).nonce.toNumber();
    const finalized = await chain.finalized();
    const account = await chain.api.query.system.account.at(finalized.hash, this.from);
    return account.nonce.toNumber() > nonce;
  }
}

/** Why `address` is not an SS58 address of Subtensor's format, or null. */
export function ss58Problem(address: string, chain: string): string | null {
  const [ok, why] = checkAddress(address, SUBTENSOR_SS58_FORMAT);
  if (ok) {
    const key = decodeAddress(address);
    if (key.length !== 32) return `'${address}' is not a 32-byte ${chain} account`;
    return null;
  }
  return `'${address}' is not an SS58 address for ${chain} (format ${SUBTENSOR_SS58_FORMAT}): ${why ?? 'invalid'}`;
}
