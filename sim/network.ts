/**
 * The network between the host and the simulated chains, where RPC faults happen: a call
 * that fails before it reaches the chain, one whose answer is lost after it took effect, one
 * that answers after the deadline while its effect lands a block later, and a process that
 * dies right after a chain call returned.
 */
import { SimulatedCrash } from '../src/engine/crashpoints.ts';
import { withoutStack, type FaultSource } from './faults.ts';
import type { World } from './world.ts';

export class SimNetwork {
  private deferred: Array<() => Promise<unknown>> = [];

  constructor(
    private readonly world: World,
    readonly faults: FaultSource,
    private readonly generation: () => number,
  ) {}

  private site(op: string, target: string): string {
    return `${op}:${target}:b${this.world.height}`;
  }

  /**
   * A read: it can only fail. Not an async function: one returning the call's own promise would
   * wrap it in another, settled microtasks later, at every read of every poll.
   */
  read<T>(op: string, target: string, call: () => Promise<T>): Promise<T> {
    if (this.faults.decide('rpc-before', this.site(op, target)))
      return Promise.reject(withoutStack(() => new Error(`RPC ${op} failed: connection refused`)));
    return call();
  }

  /** A call that changes a chain. */
  async write<T>(op: string, target: string, call: () => Promise<T>): Promise<T> {
    const site = this.site(op, target);
    if (this.faults.decide('rpc-before', site))
      throw withoutStack(() => new Error(`RPC ${op} failed: connection refused`));
    if (this.faults.decide('slow', site)) {
      this.deferred.push(call);
      throw withoutStack(() => new Error(`RPC ${op} timed out after the deadline; it may still land`));
    }
    const result = await call();
    if (this.faults.decide('crash', `after-call:${site}:g${this.generation()}`))
      throw withoutStack(() => new SimulatedCrash('after-effect', target));
    if (this.faults.decide('rpc-after', site))
      throw withoutStack(() => new Error(`RPC ${op}: connection reset after sending; outcome unknown`));
    return result;
  }

  /** Lands the slow calls, a block late. A chain that refuses one now (nonce taken...) drops it. */
  async landDeferred(): Promise<void> {
    const calls = this.deferred;
    this.deferred = [];
    for (const call of calls) await call().catch(() => undefined);
  }
}
