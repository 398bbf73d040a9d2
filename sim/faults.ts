/**
 * The faults the simulator injects, and how it decides to inject one.
 *
 * A decision is a pure function of (run seed, fault kind, site key): the key names the
 * operation, its target and the block, never a call count. So a call repeated after a restart
 * meets the same fault as the first one did, and a run with crashes sees exactly the faults
 * of the same run without them: that is what lets "restart is invisible" be checked at all.
 */
export const FAULT_KINDS = [
  'rpc-before',
  'rpc-after',
  'slow',
  'crash',
  'torn-write',
  'failed-write',
  'insufficient-balance',
  'nonce-conflict',
  'reorg',
  'slow-blocks',
  'skipped-blocks',
  'swap-reassigned',
  'validator-timeout',
  'payer-cancel',
  'batch-revert',
  'rollback',
  'twin',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_DESCRIPTIONS: Readonly<Record<FaultKind, string>> = {
  'rpc-before': 'an RPC fails before it reaches the chain',
  'rpc-after': 'an RPC takes effect, then its answer is lost',
  slow: 'an RPC answers after the deadline; its effect lands a block later',
  crash: 'the process dies at a host step or right after a chain call',
  'torn-write': 'the process dies in the middle of a store write',
  'failed-write': 'a store write fails (disk error); the host stops and restarts',
  'insufficient-balance': "the miner's funds are frozen for a while; mark_fulfilled lacks fees",
  'nonce-conflict': "another transaction from the miner's account takes our nonce",
  reorg: 'the newest block of a destination chain is dropped with its transfers',
  'slow-blocks': 'no new block between two polls',
  'skipped-blocks': 'several blocks between two polls (missed polls)',
  'swap-reassigned': 'an Active swap moves to another miner',
  'validator-timeout': 'swaps created close to their timeout: validators time them out while we send',
  'payer-cancel': 'short locks, and payers who cancel expired locks themselves',
  'batch-revert': 'a claim transaction reverts',
  rollback:
    'an older copy of the data directory is put back (store alone, or with its witness journal); the chains keep theirs',
  twin: 'a second host runs for a while on a copy of the data directory, on the same chains',
};

/** Per decision site. Sites are many (every call, every block), so rates are small. */
export const FAULT_RATES: Readonly<Record<FaultKind, number>> = {
  'rpc-before': 0.04,
  'rpc-after': 0.03,
  slow: 0.02,
  crash: 0.01,
  'torn-write': 0.003,
  'failed-write': 0.003,
  'insufficient-balance': 0.03,
  'nonce-conflict': 0.03,
  reorg: 0.08,
  'slow-blocks': 0.1,
  'skipped-blocks': 0.1,
  'swap-reassigned': 0.01,
  'validator-timeout': 0.2,
  'payer-cancel': 0.25,
  'batch-revert': 0.05,
  rollback: 0.02,
  twin: 0.02,
};

/**
 * The kinds that end a host's life: a run with them is compared with the same run without.
 * A rollback and a twin too: once the operator has reconciled, the chains must hold what they
 * would have held without them.
 */
export const RESTART_KINDS: ReadonlySet<FaultKind> = new Set([
  'crash',
  'torn-write',
  'failed-write',
  'rollback',
  'twin',
]);

export function parseFaults(spec: string): ReadonlySet<FaultKind> {
  const text = spec.trim();
  if (text === 'all') return new Set(FAULT_KINDS);
  if (text === 'none' || text === '') return new Set();
  const kinds = text.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new Error(
      `unknown fault kind${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${FAULT_KINDS.join(', ')}, or all, or none`,
    );
  }
  return new Set(kinds as FaultKind[]);
}

export function formatFaults(kinds: ReadonlySet<FaultKind>): string {
  if (kinds.size === FAULT_KINDS.length) return 'all';
  if (kinds.size === 0) return 'none';
  return FAULT_KINDS.filter((k) => kinds.has(k)).join(',');
}

const FNV_OFFSET = 0x811c9dc5;

/** 32-bit FNV-1a, mixed: fast, stable across machines and Node versions. */
export function hash32(text: string): number {
  return mix32(fnv1a(FNV_OFFSET, text));
}

/**
 * FNV-1a over `text`, from the state `h`. The hash is streamed, so the state after a prefix,
 * continued over the rest, is the state after the whole text.
 */
function fnv1a(h: number, text: string): number {
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * The error an injected fault throws, made without capturing a stack. Its stack would show
 * only the simulator, nothing reads it (the host logs String(error)), and capturing one
 * through the host's chain of awaits cost about a tenth of a run with all faults.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export type TraceSink = (line: string) => void;

/** Where the simulator asks whether a fault happens at a site: seeded rates, or a script. */
export interface FaultSource {
  decide(kind: FaultKind, key: string): boolean;
  /** A deterministic choice in [0, n) for a site, for faults that need one. */
  pick(key: string, n: number): number;
}

export class FaultInjector implements FaultSource {
  readonly injected: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<
    FaultKind,
    number
  >;
  /**
   * The hash state after `${seed}|${kind}|`, for each kind and for picks. A hostile run makes
   * over a hundred decisions per swap; each hashes only its key, not the prefix again.
   */
  private readonly prefixes: ReadonlyMap<FaultKind | 'pick', number>;

  constructor(
    seed: number,
    readonly enabled: ReadonlySet<FaultKind>,
    private readonly trace: TraceSink,
  ) {
    this.prefixes = new Map(
      [...FAULT_KINDS, 'pick' as const].map((kind) => [kind, fnv1a(FNV_OFFSET, `${seed}|${kind}|`)]),
    );
  }

  /** hash32(`${seed}|${kind}|${key}`). */
  private siteHash(kind: FaultKind | 'pick', key: string): number {
    return mix32(fnv1a(this.prefixes.get(kind)!, key));
  }

  /** Whether to inject `kind` at the site `key`; counted and traced when it does. */
  decide(kind: FaultKind, key: string): boolean {
    if (!this.enabled.has(kind)) return false;
    const hit = this.siteHash(kind, key) / 0x1_0000_0000 < FAULT_RATES[kind];
    if (hit) {
      this.injected[kind] += 1;
      this.trace(`fault ${kind} at ${key}`);
    }
    return hit;
  }

  /** A deterministic choice in [0, n) for a site, for faults that need one. */
  pick(key: string, n: number): number {
    return this.siteHash('pick', key) % n;
  }
}
