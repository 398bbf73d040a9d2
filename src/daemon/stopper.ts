/**
 * How the daemon stops: the first SIGTERM or SIGINT asks for a stop after the tick in
 * progress (which brings its effects to a durable state); the second exits at once (130),
 * still safe since every step is on disk before its effect. Holds no state of its own on disk.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../host/ports.ts';

/** SIGTERM/SIGINT: the first asks for a stop after the tick; the second exits at once. */
export class Stopper {
  requested = false;
  private wake: (() => void) | null = null;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.requested) {
      this.log.warn({ signal }, 'second signal: exiting now (safe: every step is on disk before its effect)');
      process.exit(130);
    }
    this.requested = true;
    this.log.info({ signal }, 'stopping: finishing the tick in progress (signal again to exit at once)');
    this.wake?.();
  };

  constructor(private readonly log: Logger) {
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
  }

  async sleep(ms: number): Promise<void> {
    if (this.requested) return;
    const controller = new AbortController();
    this.wake = () => controller.abort();
    await sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined);
    this.wake = null;
  }

  dispose(): void {
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
  }
}
