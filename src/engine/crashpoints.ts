/**
 * Points where the host can die, named so tests and the simulator can kill it at each one.
 * A crash hook throws SimulatedCrash; the host never catches it, so the host object and its
 * actors are abandoned mid-flight exactly as a SIGKILL would abandon them.
 */
export type CrashPoint =
  | 'before-persist' // a transition happened in memory, not on disk
  | 'after-persist' // on disk, the effect it asks for not started
  | 'after-effect' // the effect happened, its result not yet fed back
  | 'after-record' // recovery entry written, machine not yet archived
  | 'after-archive'; // archived, nothing after

export type CrashHook = (point: CrashPoint, machineId: string) => void;

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(
    readonly point: CrashPoint,
    readonly machineId: string,
  ) {
    super(`simulated crash at ${point} of ${machineId}`);
  }
}

export function isSimulatedCrash(error: unknown): error is SimulatedCrash {
  return error instanceof SimulatedCrash;
}

/** Crashes at the n-th crash point reached (0-based); counts them all the same. */
export class CrashAtNth {
  reached = 0;
  constructor(private readonly n: number) {}
  readonly hook: CrashHook = (point, machineId) => {
    const index = this.reached;
    this.reached += 1;
    if (index === this.n) throw new SimulatedCrash(point, machineId);
  };
}
