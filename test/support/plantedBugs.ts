/**
 * The classic bugs, planted one each as an interceptor around the real engine: the simulator
 * and the proofs must catch every one of them. A simulator that never fails proves nothing.
 * Each is a list of interceptors to hand to the simulator (`interceptors`).
 */
import {
  JOB_KIND,
  requiredPayout,
  SWAP_KIND,
  type JobContext,
  type JobEvent,
  type SwapContext,
  type SwapEvent,
} from '../../machines/index.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import { isFatalToHost } from '../../src/engine/live.ts';
import type { JobSettlementObligation } from '../../src/obligations/jobSettlement/index.ts';
import type { SwapFulfillmentObligation } from '../../src/obligations/swapFulfillment/index.ts';
import { WitnessedSender } from '../../src/witness/witnessedSender.ts';

type Bug = readonly EngineInterceptor[];

/** Bug: broadcasts the transfer the moment it is signed, before the signed bytes are on disk. */
export const SendsBeforePersisting: Bug = [
  {
    async performEffect(call, next) {
      const context = call.context as SwapContext;
      if (call.kind !== SWAP_KIND || call.effect !== 'sendTransfer' || context.transfer !== null) return next(call);
      const sender = (call.obligation as SwapFulfillmentObligation).ports.senders.get(context.terms.destChain)!;
      const signed = await sender.sign({
        swapId: context.terms.swapId,
        chain: context.terms.destChain,
        to: context.terms.userDestAddress,
        amount: BigInt(context.terms.destAmount),
      });
      await sender.broadcast(signed.raw).catch((error: unknown) => {
        if (isFatalToHost(error)) throw error;
      });
      return { type: 'TRANSFER_SIGNED', raw: signed.raw, hash: signed.hash } satisfies SwapEvent;
    },
  },
];

/** Bug: after a restart, forgets the signed transfer of a swap still sending, and signs anew. */
export const ResignsAfterRestart: Bug = [
  {
    revive(record, next) {
      const snapshot = record.snapshot as { value: string; context: SwapContext };
      if (snapshot.value !== 'Sending') return next(record);
      return next({ ...record, snapshot: { ...snapshot, context: { ...snapshot.context, transfer: null } } });
    },
  },
];

/** Bug (allways #353): a poll that fails is read as "the swaps are gone" and unmarked sends are dropped. */
export const DropsUnmarkedSendOnMissedPoll: Bug = [
  {
    async observe(call, next) {
      const result = await next(call);
      if (call.kind !== SWAP_KIND || result.status !== 'partial') return result;
      for (const machine of call.engine.machinesOf(SWAP_KIND)) {
        const state = machine.snapshot.value;
        if (state === 'Sending' || state === 'Sent') {
          await call.engine.store.archive(machine.id);
          call.engine.evict(machine.id);
        }
      }
      return result;
    },
  },
];

/** Bug: a claim transaction that succeeded is taken as payment, without looking for a Claimed event. */
export const ClaimTxIsPayment: Bug = [
  {
    async runBatch(call, next) {
      if (call.kind !== JOB_KIND || call.effect !== 'claimLock') return next(call);
      const escrow = (call.obligation as JobSettlementObligation).ports.escrows.get(call.group)!;
      const tasks = call.items.map(({ id, context }) => ({
        id,
        terms: (context as JobContext).terms,
        amount: BigInt((context as JobContext).claimAmount ?? '0'),
      }));
      const events = new Map<string, JobEvent>();
      try {
        const receipt = await escrow.claimLocks(tasks.map((t) => ({ terms: t.terms, amount: t.amount })));
        // The fee is read right where there is a Claimed event; the bug is taking success for payment.
        const feeOf = (task: { terms: { jobId: string } }): string =>
          String(receipt.events.find((e) => e.kind === 'Claimed' && e.jobId === task.terms.jobId)?.fee ?? 0n);
        for (const task of tasks)
          events.set(task.id, {
            type: 'CLAIMED',
            txHash: receipt.txHash,
            amount: task.amount.toString(),
            fee: feeOf(task),
          });
      } catch (error) {
        if (isFatalToHost(error)) throw error;
        for (const task of tasks) events.set(task.id, { type: 'CLAIM_FAILED', error: String(error) });
      }
      return events;
    },
  },
];

/**
 * Bug: the witness check removed: the first signature of a swap goes straight to the sender
 * inside the witness, whatever the chain shows (the margin is still judged, as the host does).
 */
export const WitnessRemoved: Bug = [
  {
    async performEffect(call, next) {
      const context = call.context as SwapContext;
      if (call.kind !== SWAP_KIND || call.effect !== 'sendTransfer' || context.transfer !== null) return next(call);
      const ports = (call.obligation as SwapFulfillmentObligation).ports;
      const sender = ports.senders.get(context.terms.destChain)!;
      const bare = sender instanceof WitnessedSender ? sender.inner : sender;
      try {
        const now = await ports.contract!.now();
        if (now + context.cushion > context.deadline) return { type: 'CLOCK', now } satisfies SwapEvent;
        const signed = await bare.sign({
          swapId: context.terms.swapId,
          chain: context.terms.destChain,
          to: context.terms.userDestAddress,
          amount: requiredPayout(context.terms.contract, BigInt(context.terms.destAmount)),
          from: context.terms.senderPin === '' ? null : context.terms.senderPin,
        });
        return {
          type: 'TRANSFER_SIGNED',
          raw: signed.raw,
          hash: signed.hash,
          ...(signed.anchorBlock === undefined ? {} : { anchorBlock: signed.anchorBlock }),
        } satisfies SwapEvent;
      } catch (error) {
        if (isFatalToHost(error)) throw error;
        return null;
      }
    },
  },
];

/** Bug: no timeout margin: sends while fewer than `margin` blocks remain. */
export const SendsTooLate: Bug = [
  {
    create(call, next) {
      if (call.kind !== SWAP_KIND) return next(call);
      return next({ ...call, input: { ...(call.input as object), cushion: 0 } });
    },
  },
];

/** Bug: pays 98% of the pinned amount (the fee taken twice): short of the contract's payout. */
export const PaysShort: Bug = [
  {
    performEffect(call, next) {
      const context = call.context as SwapContext;
      if (call.kind !== SWAP_KIND || call.effect !== 'sendTransfer' || context.transfer !== null) return next(call);
      const amount = BigInt(context.terms.destAmount);
      const short = { ...context, terms: { ...context.terms, destAmount: (amount - amount / 50n).toString() } };
      return next({ ...call, context: short });
    },
  },
];

/** Bug: marks the swap with the source transaction's hash instead of the payout's. */
export const MarksWithSourceHash: Bug = [
  {
    performEffect(call, next) {
      const context = call.context as SwapContext;
      if (call.kind !== SWAP_KIND || call.effect !== 'markFulfilled' || context.transfer === null) return next(call);
      return next({
        ...call,
        context: { ...context, transfer: { ...context.transfer, hash: context.terms.sourceTxHash } },
      });
    },
  },
];
