/**
 * The side effects a swap machine asks for, performed through the ports. Each returns the
 * event that reports its outcome, or null when there is nothing to report yet (the effect is
 * tried again on the next tick). None of them decides anything the machine should decide.
 */
import { errorField } from '../../errors.ts';
import type { SwapContext, SwapEvent } from '../../../machines/index.ts';
import { isSimulatedCrash } from '../../engine/crashpoints.ts';
import {
  EffectWaits,
  NeverLands,
  TransferRefused,
  type Logger,
  type SignedBytes,
  type SwapContract,
  type TransferSender,
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

/**
 * Sending: sign once (the signed bytes are persisted by the caller before anything else),
 * then look the hash up and re-broadcast the very same bytes until the chain includes them.
 */
export async function sendTransfer(ports: SwapEffectPorts, id: string, c: SwapContext): Promise<SwapEvent | null> {
  const sender = senderFor(ports, c.terms.destChain);
  try {
    if (c.transfer === null) {
      // The margin was judged at the tick's height; other machines' effects (marks awaiting
      // finality) may have taken blocks since. Judge it again just before the first signature.
      const height = await ports.contract.currentBlock();
      if (height + c.marginBlocks > c.terms.timeoutBlock) return { type: 'BLOCK', height };
      let signed: SignedBytes;
      try {
        signed = await sender.sign({
          swapId: c.terms.swapId,
          chain: c.terms.destChain,
          to: c.terms.userDestAddress,
          amount: BigInt(c.terms.destAmount),
        });
      } catch (error) {
        if (!(error instanceof TransferRefused)) throw error;
        // The issuer or the chain refuses this destination (validators cancel such a swap without fault).
        ports.log.warn({ machine: id, reason: error.reason }, 'swap rejected by its destination: nothing will be sent');
        return { type: 'REJECT', reason: error.reason };
      }
      return { type: 'TRANSFER_SIGNED', raw: signed.raw, hash: signed.hash };
    }
    const status = await sender.lookup(c.transfer);
    if (status.kind === 'included') return { type: 'TRANSFER_INCLUDED', block: status.block };
    if (status.kind === 'failed') return { type: 'TRANSFER_INVALID', reason: status.reason };
    try {
      await sender.broadcast(c.transfer.raw);
    } catch (error) {
      if (!(error instanceof NeverLands)) throw error;
      // "Nonce already used" also happens when our own transfer just landed: look again.
      const again = await sender.lookup(c.transfer);
      if (again.kind === 'included') return { type: 'TRANSFER_INCLUDED', block: again.block };
      if (again.kind === 'failed') return { type: 'TRANSFER_INVALID', reason: again.reason };
      return { type: 'TRANSFER_INVALID', reason: error.message };
    }
    return null;
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

export async function markFulfilled(
  ports: SwapEffectPorts,
  id: string,
  c: SwapContext,
  height: number,
): Promise<SwapEvent> {
  if (c.transfer === null || c.transferBlock === null) throw new Error(`${id}: Marking without an included transfer`);
  try {
    const result = await ports.contract.markFulfilled({
      swapId: c.terms.swapId,
      destTxHash: c.transfer.hash,
      destTxBlock: c.transferBlock,
      destAmount: BigInt(c.terms.destAmount),
    });
    return result.ok ? { type: 'MARK_OK' } : { type: 'MARK_FAILED', error: result.error, height };
  } catch (error) {
    rethrowCrash(error);
    ports.log.warn({ machine: id, effect: 'markFulfilled', err: errorField(error) }, 'mark_fulfilled outcome unknown');
    return { type: 'MARK_FAILED', error: 'OutcomeUnknown', height };
  }
}

export async function readSwap(ports: SwapEffectPorts, _id: string, c: SwapContext): Promise<SwapEvent> {
  try {
    return { type: 'SWAP_READ', view: await ports.contract.getSwap(c.terms.swapId) };
  } catch (error) {
    rethrowCrash(error);
    return { type: 'READ_FAILED', error: String(error) };
  }
}
