/**
 * The compute engine's side of job settlement, as a file: the engine appends one JSON line
 * per observation of a job (running, ended with its cost, results published), and this feed
 * (the JobSource port) reads what was appended since the last poll. The latest observation of
 * each job is kept and handed to the host every poll; the host ignores jobs it has finished.
 *
 * A line that does not parse is reported once with its file and line number and skipped: the
 * file is the engine's, never rewritten here. A file that shrinks, or another file at the same
 * path, was rotated: read it again from the start.
 */
import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import type { JobObservation, JobSource, Logger } from '../host/ports.ts';

export interface FeedChain {
  /** The escrow this daemon claims from on that chain. */
  readonly escrow: string;
  /** Our address on that chain: the payee of every lock we claim. */
  readonly payee: string;
}

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 64-digit job id');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an EVM address');
const integer = z.string().regex(/^[0-9]+$/, 'an integer as a decimal string');

const line = z.strictObject({
  jobId: hex32,
  chain: z.string().min(1),
  token: address,
  payer: address,
  lock: z.strictObject({ amount: integer, expiry: z.number().int().nonnegative() }).nullable(),
  phase: z.enum(['running', 'ended', 'published']),
  cost: integer.nullable(),
});

/** At most this much of the file is read per poll. */
const MAX_READ_BYTES = 8 * 1024 * 1024;

export class FileJobFeed implements JobSource {
  private offset = 0;
  /** The file read so far; another one at the same path means it was rotated. */
  private inode: number | null = null;
  private lineNumber = 0;
  private partial = '';
  private readonly latest = new Map<string, JobObservation>();

  constructor(
    private readonly path: string,
    private readonly chains: ReadonlyMap<string, FeedChain>,
    private readonly log: Logger,
  ) {}

  async poll(): Promise<JobObservation[]> {
    await this.readAppended();
    return [...this.latest.values()];
  }

  private async readAppended(): Promise<void> {
    let size: number;
    let inode: number;
    try {
      ({ size, ino: inode } = await stat(this.path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // the engine has reported nothing yet
      throw error;
    }
    const replaced = this.inode !== null && inode !== this.inode;
    this.inode = inode;
    if (size < this.offset || replaced) {
      this.log.warn({ feed: this.path }, 'job feed replaced or shrank (rotated?); reading it again from the start');
      this.offset = 0;
      this.lineNumber = 0;
      this.partial = '';
    }
    if (size === this.offset) return;
    const handle = await open(this.path, 'r');
    try {
      // A long backlog is read a slice per poll: bounded memory, and jobs advance meanwhile.
      const buffer = Buffer.alloc(Math.min(size - this.offset, MAX_READ_BYTES));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const text = this.partial + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop()!; // an unfinished last line waits for its newline
      for (const raw of lines) {
        this.lineNumber += 1;
        if (raw.trim() !== '') this.accept(raw);
      }
    } finally {
      await handle.close();
    }
  }

  private accept(raw: string): void {
    const where = `${this.path}:${this.lineNumber}`;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      this.log.error({ feed: where }, 'job feed line is not JSON; skipped');
      return;
    }
    const parsed = line.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ');
      this.log.error({ feed: where, problems }, 'job feed line is not a job observation; skipped');
      return;
    }
    const o = parsed.data;
    const chain = this.chains.get(o.chain);
    if (chain === undefined) {
      this.log.error(
        { feed: where, chain: o.chain },
        'job feed line names a chain this daemon does not settle on; skipped',
      );
      return;
    }
    if (o.phase !== 'running' && o.cost === null) {
      this.log.error({ feed: where }, `job feed line: a job ${o.phase} without a cost; skipped`);
      return;
    }
    this.latest.set(`${o.chain}:${o.jobId.toLowerCase()}`, {
      terms: {
        jobId: o.jobId.toLowerCase(),
        chain: o.chain,
        escrow: chain.escrow,
        token: o.token,
        payer: o.payer,
        payee: chain.payee,
        lock: o.lock,
      },
      phase: o.phase,
      cost: o.cost,
    });
  }
}
