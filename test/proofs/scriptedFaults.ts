/**
 * Faults placed by a test instead of drawn from a seed: "the n-th time the simulator asks
 * about a crash (or an RPC failure...), say yes". Every other question is answered no.
 */
import type { FaultKind, FaultSource } from '../../sim/faults.ts';

export class ScriptedFaults implements FaultSource {
  private readonly armed: Array<{ kind: FaultKind; skip: number }> = [];
  readonly injected: FaultKind[] = [];

  /** The fault happens at the (skip + 1)-th question about its kind from now on. */
  arm(kind: FaultKind, skip = 0): void {
    this.armed.push({ kind, skip });
  }

  disarm(): void {
    this.armed.length = 0;
  }

  decide(kind: FaultKind): boolean {
    const index = this.armed.findIndex((a) => a.kind === kind);
    if (index < 0) return false;
    const armed = this.armed[index]!;
    if (armed.skip > 0) {
      armed.skip -= 1;
      return false;
    }
    this.armed.splice(index, 1);
    this.injected.push(kind);
    return true;
  }

  pick(): number {
    return 0;
  }
}
