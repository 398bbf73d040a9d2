/**
 * Faults of the data directory itself, which crash consistency does not cover because a crash
 * never loses an acknowledged write and an operator does (issue 18):
 *   - `rollback`: an older copy is put back (a backup restored, a VM snapshot rolled back):
 *     the store, and half the time the witness journal and the decisions with it, go back to
 *     a copy taken some polls earlier, while the chains keep what they hold; the host restarts;
 *   - `twin`: a second host is started on a copy of the data directory (a standby started by
 *     mistake, a directory copied to a new host while the old one ran on) and polls beside the
 *     first for a while, on the same chains, until it is stopped for good.
 * Each decision is keyed by the poll, as every fault is; a run has at most one twin.
 */
import type { Logger } from '../src/host/ports.ts';
import { isFatalToHost } from '../src/engine/live.ts';
import type { MemoryDisk } from './memoryStore.ts';
import { SimDataDir } from './simWitness.ts';
import type { HostOnDir, SimulatedSystem } from './system.ts';

/** Polls a second host runs before it is stopped. */
export const TWIN_POLLS = 12;

/** Machine ids `newer` holds at a later step than `older` does (or that `older` lacks). */
function forgottenBy(newer: MemoryDisk, older: MemoryDisk): string[] {
  const seqOf = (disk: MemoryDisk, id: string): number => disk.live.get(id)?.seq ?? disk.archived.get(id)?.seq ?? 0;
  return [...newer.live.keys(), ...newer.archived.keys()].filter(
    (id) => seqOf(older, id) < seqOf(newer, id) || (newer.archived.has(id) && !older.archived.has(id)),
  );
}

export class DataDirFaults {
  /** Copies of the data directory, oldest first, one per poll (at most `keep`). */
  private readonly backups: SimDataDir[] = [];
  private restart = false;
  private twin: { readonly dir: SimDataDir; readonly host: HostOnDir; pollsLeft: number } | null = null;
  /** Whether a second host ran in this run. */
  twinStarted = false;
  /**
   * Machines a put-back directory forgot: it holds them at an older step than the directory it
   * replaced, or not at all. What they did meanwhile is on the chains only (see RunOutcome).
   */
  readonly forgotten = new Set<string>();

  constructor(
    private readonly system: SimulatedSystem,
    private readonly keep: number,
    private readonly trace: (line: string) => void,
  ) {}

  /** The machines forgotten so far, those only a second host still running knows included. */
  forgottenSoFar(): ReadonlySet<string> {
    if (this.twin === null) return this.forgotten;
    return new Set([...this.forgotten, ...forgottenBy(this.twin.dir.disk, this.system.dir.disk)]);
  }

  /** Whether an older copy was put back since last asked: the host must restart on it. */
  takeRestart(): boolean {
    const restart = this.restart;
    this.restart = false;
    return restart;
  }

  /**
   * Between two polls: the second host's poll, perhaps an older copy put back (undoing at least
   * the poll just made), a copy of the directory as it now is, perhaps a second host.
   */
  async betweenPolls(tick: number): Promise<void> {
    await this.pollTwin();
    this.rollback(`tick:${tick}`);
    if (this.keep > 0) this.backup();
    await this.startTwin(`tick:${tick}`);
  }

  /** A host opened on the directory: the first copy is taken then, before it polls at all. */
  opened(): void {
    if (this.keep > 0 && this.backups.length === 0) this.backup();
  }

  /** What the kept copies hold (the crash-point explorer's fingerprint). */
  image(): string {
    return JSON.stringify(
      this.backups.map((b) => [[...b.disk.live], [...b.disk.archived.keys()], b.disk.position, b.image()]),
    );
  }

  /** Keeps a copy of the directory as it is now. */
  backup(): void {
    this.backups.push(this.system.dir.copy());
    if (this.backups.length > this.keep) this.backups.shift();
  }

  /**
   * Puts an older copy back if the fault decides so at `key`: one taken before the last poll,
   * or up to n polls earlier. Returns whether it did; the host is then gone.
   */
  rollback(key: string): boolean {
    const faults = this.system.faults;
    if (this.backups.length === 0 || !faults.decide('rollback', key)) return false;
    const back = faults.pick(`rollback-depth:${key}`, this.backups.length);
    const copy = this.backups[this.backups.length - 1 - back]!.copy();
    const whole = faults.pick(`rollback-what:${key}`, 2) === 0;
    const now = this.system.dir;
    for (const id of forgottenBy(now.disk, copy.disk)) this.forgotten.add(id);
    this.system.dir = whole ? copy : new SimDataDir(copy.disk, now.journal, now.decisions);
    // The copies after it hold what the put-back directory forgot: a later rollback goes further back only.
    this.backups.splice(this.backups.length - 1 - back);
    this.system.current = null;
    this.restart = true;
    this.trace(
      `rollback: ${whole ? 'the whole data directory' : 'the store alone'} put back as it was ${back} poll(s) ago`,
    );
    return true;
  }

  private async startTwin(key: string): Promise<void> {
    if (this.twinStarted || this.system.current === null || !this.system.faults.decide('twin', key)) return;
    this.twinStarted = true;
    const dir = this.system.dir.copy();
    try {
      this.twin = { dir, host: await this.system.openHostOn(dir, this.twinLog()), pollsLeft: TWIN_POLLS };
      this.trace('twin: a second host starts on a copy of the data directory');
    } catch (error) {
      if (!isFatalToHost(error)) throw error;
    }
  }

  /** The second host's log lines, marked as its own, in the run's trace. */
  private twinLog(): Logger {
    const line = (fields: object, message?: string): void => {
      const f = fields as { machine?: string; from?: string | null; to?: string; event?: string; err?: unknown };
      const what =
        message === 'transition'
          ? `${f.machine}: ${f.from ?? '(new)'} -> ${f.to} on ${f.event}`
          : `${message ?? ''}${f.machine === undefined ? '' : ` ${f.machine}`}${f.err === undefined ? '' : `: ${String(f.err)}`}`;
      this.trace(`twin: ${what}`);
    };
    return { info: line, warn: line, error: line };
  }

  private async pollTwin(): Promise<void> {
    const twin = this.twin;
    if (twin === null) return;
    try {
      await twin.host.host.tick();
      twin.pollsLeft -= 1;
    } catch (error) {
      if (!isFatalToHost(error)) throw error;
      twin.pollsLeft = 0; // it died: nobody starts it again
    }
    if (twin.pollsLeft > 0) return;
    // What only the second host knew goes with it: its directory is thrown away.
    for (const id of forgottenBy(twin.dir.disk, this.system.dir.disk)) this.forgotten.add(id);
    this.twin = null;
    this.trace('twin: the second host is stopped for good');
  }
}
