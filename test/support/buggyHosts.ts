/**
 * Hosts with the classic bugs planted, one each: the simulator must catch every one of them.
 * A simulator that never fails proves nothing.
 */
import type { JobEvent, SwapContext, SwapEvent } from '../../machines/index.ts';
import { Host, isFatalToHost, type Change, type LiveMachine } from '../../src/host/host.ts';
import type { ClaimTask } from '../../src/host/batchClaimer.ts';
import type { AssignedSwap, Escrow, SwapContract } from '../../src/host/ports.ts';
import type { MachineRecord } from '../../src/store/snapshotStore.ts';

type Effect = Promise<SwapEvent | JobEvent | null>;

/** Bug: broadcasts the transfer the moment it is signed, before the signed bytes are on disk. */
export class SendsBeforePersisting extends Host {
  protected override async perform(machine: LiveMachine, effect: string, height: number | null): Effect {
    const context = machine.snapshot.context as SwapContext;
    if (effect === 'sendTransfer' && context.transfer === null) {
      const sender = this.options.senders.get(context.terms.destChain)!;
      const signed = await sender.sign({
        swapId: context.terms.swapId,
        chain: context.terms.destChain,
        to: context.terms.userDestAddress,
        amount: BigInt(context.terms.destAmount),
      });
      await sender.broadcast(signed.raw).catch((error: unknown) => {
        if (isFatalToHost(error)) throw error;
      });
      return { type: 'TRANSFER_SIGNED', raw: signed.raw, hash: signed.hash };
    }
    return super.perform(machine, effect, height);
  }
}

/** Bug: after a restart, forgets the signed transfer of a swap still sending, and signs anew. */
export class ResignsAfterRestart extends Host {
  protected override revive(record: MachineRecord): Change | null {
    const snapshot = record.snapshot as { value: string; context: SwapContext };
    if (snapshot.value !== 'Sending') return super.revive(record);
    return super.revive({ ...record, snapshot: { ...snapshot, context: { ...snapshot.context, transfer: null } } });
  }
}

/** Bug (allways #353): a poll that fails is read as "the swaps are gone" and unmarked sends are dropped. */
export class DropsUnmarkedSendOnMissedPoll extends Host {
  protected override async listSwaps(contract: SwapContract): Promise<AssignedSwap[] | null> {
    const listed = await super.listSwaps(contract);
    if (listed === null) {
      for (const machine of this.sortedLive()) {
        const state = machine.snapshot.value;
        if (machine.kind === 'swap' && (state === 'Sending' || state === 'Sent')) {
          await this.options.store.archive(machine.id);
          this.live.delete(machine.id);
        }
      }
    }
    return listed;
  }
}

/** Bug: a claim transaction that succeeded is taken as payment, without looking for a Claimed event. */
export class ClaimTxIsPayment extends Host {
  protected override async runBatch(
    effect: string,
    run: Parameters<Host['runBatch']>[1],
    escrow: Escrow,
    tasks: readonly ClaimTask[],
  ) {
    if (effect !== 'claimLock') return super.runBatch(effect, run, escrow, tasks);
    const events = new Map<string, JobEvent>();
    try {
      const receipt = await escrow.claimLocks(tasks.map((t) => ({ terms: t.terms, amount: t.amount })));
      // The fee is read right where there is a Claimed event; the bug is taking success for payment.
      const feeOf = (task: ClaimTask): string =>
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
  }
}

/** Bug: no timeout margin: sends while fewer than `margin` blocks remain. */
export class SendsTooLate extends Host {
  protected override marginBlocks(): number {
    return 0;
  }
}
