/**
 * The side effects a swap machine asks for, performed through the ports. Each returns the
 * event that reports its outcome, or null when there is nothing to report yet (the effect is
 * tried again on the next tick). None of them decides anything the machine should decide: the
 * mark point, the payout rule and the cushion are the machine's (machines/swapRules.ts).
 */
import { requiredPayout, type SignedTransfer, type SwapContext, type SwapEvent } from '../../../machines/index.ts';
import { errorField } from '../../errors.ts';
import { isSimulatedCrash } from '../../engine/crashpoints.ts';
import {
  EffectWaits,
  NeverLands,
  TransferRefused,
  type Logger,
  type SignedBytes,
  type SwapContract,
  type TransferSender,
  type TransferStatus,
} from '../../host/ports.ts';

export interface SwapEffectPorts {
  readonly contract: SwapContract;
  readonly senders: ReadonlyMap<string, TransferSender>;
  readonly log: Logger;
}

function senderFor(ports: SwapEffectPorts, chain: string): TransferSender {
  const sender = ports.senders.get(chain);
  // Machines for chains without a sender are rejected at creation; reaching here is a bug.
  if (sender === undefined) throw new Error(`no transfer sender for chain '${chain}'`);
  return sender;
}

function rethrowCrash(error: unknown): void {
  if (isSimulatedCrash(error)) throw error;
}

function eventOf(status: TransferStatus): SwapEvent | null {
  if (status.kind === 'included') return { type: 'TRANSFER_INCLUDED', block: status.block };
  if (status.kind === 'landed') return { type: 'TRANSFER_LANDED', block: status.block };
  if (status.kind === 'failed') return { type: 'TRANSFER_INVALID', reason: status.reason };
  return null;
}

/**
 * One step of a signed transfer's life: look its hash up; if the chain does not have it yet,
 * broadcast the very same bytes again (never new ones). Reports what the chain says, or that
 * the network took the bytes (TRANSFER_BROADCAST).
 */
async function advanceTransfer(sender: TransferSender, transfer: SignedTransfer): Promise<SwapEvent> {
  const seen = eventOf(await sender.lookup(transfer));
  if (seen !== null) return seen;
  try {
    await sender.broadcast(transfer.raw);
  } catch (error) {
    if (!(error instanceof NeverLands)) throw error;
    // "Nonce already used" also happens when our own transfer just landed: look again.
    return eventOf(await sender.lookup(transfer)) ?? { type: 'TRANSFER_INVALID', reason: error.message };
  }
  return { type: 'TRANSFER_BROADCAST' };
}

/**
 * Sending: sign once, the contract's payout from the pinned sender (the signed bytes are
 * persisted by the caller before anything else), then advance the transfer until the chain's
 * mark point.
 */
export async function sendTransfer(ports: SwapEffectPorts, id: string, c: SwapContext): Promise<SwapEvent | null> {
  const sender = senderFor(ports, c.terms.destChain);
  try {
    if (c.transfer !== null) return await advanceTransfer(sender, c.transfer);
    // The cushion was judged at the tick's clock; other machines' effects (marks awaiting
    // finality) may have taken time since. Judge it again just before the first signature.
    const now = await ports.contract.now();
    if (now + c.cushion > c.deadline) return { type: 'CLOCK', now };
    let signed: SignedBytes;
    try {
      signed = await sender.sign({
        swapId: c.terms.swapId,
        chain: c.terms.destChain,
        to: c.terms.userDestAddress,
        amount: requiredPayout(c.terms.contract, BigInt(c.terms.destAmount)),
        from: c.terms.senderPin === '' ? null : c.terms.senderPin,
      });
    } catch (error) {
      if (!(error instanceof TransferRefused)) throw error;
      // The issuer or the chain refuses this destination (validators cancel such a swap without fault).
      ports.log.warn({ machine: id, reason: error.reason }, 'swap rejected by its destination: nothing will be sent');
      return { type: 'REJECT', reason: error.reason };
    }
    return {
      type: 'TRANSFER_SIGNED',
      raw: signed.raw,
      hash: signed.hash,
      ...(signed.anchorBlock === undefined ? {} : { anchorBlock: signed.anchorBlock }),
    };
  } catch (error) {
    rethrowCrash(error);
    if (!(error instanceof EffectWaits)) {
      ports.log.warn(
        { machine: id, effect: 'sendTransfer', err: errorField(error) },
        'transfer step failed; retrying next tick',
      );
    }
    return null;
  }
}

/** Following: marked already; the same bytes are re-broadcast until included (or never can be). */
export async function followTransfer(ports: SwapEffectPorts, id: string, c: SwapContext): Promise<SwapEvent | null> {
  if (c.transfer === null) throw new Error(`${id}: Following without a signed transfer`);
  try {
    const event = await advanceTransfer(senderFor(ports, c.terms.destChain), c.transfer);
    return event.type === 'TRANSFER_INCLUDED' || event.type === 'TRANSFER_INVALID' ? event : null;
  } catch (error) {
    rethrowCrash(error);
    ports.log.warn(
      { machine: id, effect: 'followTransfer', err: errorField(error) },
      'following the transfer failed; retrying next tick',
    );
    return null;
  }
}

export async function markFulfilled(
  ports: SwapEffectPorts,
  id: string,
  c: SwapContext,
  now: number,
): Promise<SwapEvent> {
  if (c.transfer === null || c.transferBlock === null)
    throw new Error(`${id}: Marking without a transfer at its mark point`);
  try {
    const result = await ports.contract.markFulfilled({
      swapId: c.terms.swapId,
      destTxHash: c.transfer.hash,
      destTxBlock: c.transferBlock,
      destAmount: BigInt(c.terms.destAmount),
    });
    return result.ok ? { type: 'MARK_OK' } : { type: 'MARK_FAILED', error: result.error, now };
  } catch (error) {
    rethrowCrash(error);
    ports.log.warn({ machine: id, effect: 'markFulfilled', err: errorField(error) }, 'mark_fulfilled outcome unknown');
    return { type: 'MARK_FAILED', error: 'OutcomeUnknown', now };
  }
}

export async function readSwap(ports: SwapEffectPorts, id: string, c: SwapContext): Promise<SwapEvent> {
  try {
    return { type: 'SWAP_READ', view: await ports.contract.getSwap(c.terms.swapId) };
  } catch (error) {
    rethrowCrash(error);
    ports.log.warn(
      { machine: id, effect: 'readSwap', err: errorField(error) },
      'reading the swap back failed; retrying next tick',
    );
    return { type: 'READ_FAILED', error: String(error) };
  }
}
