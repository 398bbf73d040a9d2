/**
 * What can go wrong, in two kinds that must never be confused:
 *
 * - A `SettleError` is an operational failure an operator must read and can act on: a bad
 *   configuration, a store that refuses to open, a path that is not usable, a lock held by
 *   another daemon. One subclass per case, matched with `instanceof`; each says below when it
 *   is thrown. Its message is complete on its own (what, where, what to do) and holds no
 *   secret: the CLI prints it as one plain line and exits 2.
 * - An `AssertionFailed` is a bug: an invariant of our own code is broken (`assert`). The CLI
 *   prints it as "bug: ..." with its stack and exits 70 (EX_SOFTWARE), as it does for any
 *   error that is not a SettleError (a library's surprise is a bug of ours too).
 *
 * `errorField` is the one way an error becomes a log field.
 *
 * Errors of the chain protocols (SubmitRefused, NonceTaken, NeverLands, BatchReverted, ...)
 * are not here: the host and the adapters classify and handle them, no operator reads them as
 * such. Nothing here is persisted, so a crash leaves nothing of this module behind.
 */

/** An operational failure for an operator to read; never a bug. See the subclasses. */
export abstract class SettleError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // The subclass's own name, so a log line or a stack says which case it is.
    this.name = new.target.name;
  }
}

/**
 * The daemon's configuration is wrong: thrown by `loadConfig` (unreadable, not YAML, schema
 * problems), by `loadKeys` (a key source that gives no usable key) and by the daemon's path
 * checks (dataDir, jobs.feed, the contract metadata). Every problem is listed at once, each
 * with its dotted path in the file, and nothing has started.
 */
export class ConfigError extends SettleError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      problems.length === 1
        ? `${file}: ${problems[0]}`
        : `${file}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/**
 * A path a command was given is not a usable directory or file: missing, missing parent, a
 * file where a directory is expected (or the reverse), not readable or not writable, or a
 * directory that cannot be created there. Thrown before anything is written.
 */
export class UnusablePath extends SettleError {
  constructor(
    /** Which argument or setting gave the path, e.g. "--dir" or "dataDir". */
    readonly what: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${what} ${path}: ${problem}`);
  }
}

/** Another live daemon holds `dataDir/daemon.lock`: thrown by `acquireLock`, naming its pid. */
export class LockHeld extends SettleError {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another settle daemon (pid ${pid}) is running on this store: ${path} is held; stop it first`);
  }
}

/**
 * `acquireLock` lost the race for a stale lock to other starting processes every time it
 * tried (50 attempts): something keeps starting daemons on this directory.
 */
export class LockContended extends SettleError {
  constructor(readonly path: string) {
    super(`could not take the lock ${path}: other processes keep racing for it`);
  }
}

/**
 * The store, the recovery log or a file beside them cannot be trusted, and the command
 * refuses to go on, touching nothing: a damaged or unreadable file, a manifest of another
 * layout or release, an unexpected file, a simulated chain file that does not belong. Names
 * the file and what is wrong. The subclasses are the cases an operator meets at start.
 */
export class StoreError extends SettleError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/**
 * There is no store where one is expected, and the command never starts from an empty store
 * by accident (it could send twice): opening without `create`, `settle status` on a directory
 * without a store, `settle start` on a run whose store is gone.
 */
export class StoreMissing extends StoreError {}

/**
 * The store's log is shorter than what it, its manifest or its archive say it held: restored
 * from an older copy, or its newest writes were lost (src/store/storeHistory.ts). Thrown by a
 * writer's open and by a reader's (status, reconcile), touching nothing; `evidence` says what
 * was compared, with the counts.
 */
export class StoreBehind extends StoreError {
  constructor(
    file: string,
    readonly evidence: string,
    readOnly = false,
  ) {
    super(
      file,
      `${evidence}. The store is behind what it once held (restored from an older copy, or its newest writes were lost); ` +
        `${readOnly ? 'a daemon would refuse to start on it; nothing touched' : 'refusing to start, nothing touched'}. ` +
        'Put back the newest copy of the store directory, or see README "Restoring a backup"',
    );
  }
}

/**
 * `settle start` found the simulated chains showing transfers its store does not know (its
 * store, or its whole directory, was put back from an older copy): it refuses rather than
 * hold (there is no operator in the embedded run to reconcile). `evidence` names each
 * account, what its chain shows and what is known here.
 */
export class StoreBehindChains extends StoreError {
  constructor(
    dir: string,
    readonly evidence: string,
  ) {
    super(
      dir,
      `${evidence}. The store is behind the chains (put back from an older copy?): paying now could pay twice; nothing was signed. ` +
        `Put back the newest copy of ${dir}, or delete it for a new run`,
    );
  }
}

/** `settle daemon --init` on a directory that already holds a store. */
export class StoreExists extends StoreError {}

/**
 * `settle daemon --init` refused to create a store because the contract already holds swaps
 * assigned to this miner: a new store cannot know whether funds were sent for them.
 */
export class StoreInitRefused extends StoreError {}

/**
 * The ink! metadata of the allways contract cannot be read, or does not describe the contract
 * this client was written for (selectors, arguments, events, the error enum): thrown by
 * `AllwaysAbi.load` at start, before any chain is asked anything.
 */
export class AbiMismatch extends SettleError {}

/**
 * A key source gives no usable key: the file is missing, not 0600, empty, or the variable is
 * unset, or the value is not a key of the expected kind. The message names the file or the
 * variable, never the value. `loadKeys` gathers these into one ConfigError.
 */
export class KeyUnusable extends SettleError {}

/** The daemon's status endpoint cannot listen on 127.0.0.1 at the configured `http.port` (taken?). */
export class ListenFailed extends SettleError {
  constructor(
    readonly port: number,
    readonly code: string,
  ) {
    super(
      `http.port ${port}: cannot listen on 127.0.0.1 (${code}${code === 'EADDRINUSE' ? ': another process holds the port' : ''})`,
    );
  }
}

/** A configured endpoint serves another chain than the configuration says (checked at start). */
export class ChainMismatch extends SettleError {
  constructor(
    /** The configuration path of the chain, e.g. "jobs.chains.base". */
    readonly where: string,
    readonly reported: bigint,
    readonly expected: number,
  ) {
    super(`${where}: the endpoint serves chain id ${reported}, the configuration says ${expected}`);
  }
}

/** A Solana endpoint serves another cluster than the configuration names (its genesis hash, checked at start). */
export class ClusterMismatch extends SettleError {
  constructor(
    readonly where: string,
    readonly reportedGenesis: string,
    readonly cluster: string,
    readonly expectedGenesis: string,
  ) {
    super(
      `${where}: the endpoint serves the cluster with genesis hash ${reportedGenesis}, not ${cluster} (${expectedGenesis})`,
    );
  }
}

/**
 * The store holds a live swap of the other allways deployment (`swaps.contract: ink` and a swap
 * of the Solana swap manager, or the reverse): thrown while the host restores, before any effect.
 * The two are separate deployments; a store is served under the contract that wrote it.
 */
export class ContractMismatch extends SettleError {
  constructor(
    readonly machineId: string,
    readonly stored: string,
    readonly configured: string,
  ) {
    super(
      `${machineId} is a live swap of the ${stored} contract, but swaps.contract is ${configured}: ` +
        `run this store with contract: ${stored} until its swaps are done, and a new dataDir (--init) for ${configured}`,
    );
  }
}

/**
 * A destination's own accounts on its chain cannot be used as configured (checked at start,
 * before any swap is touched): a Solana durable nonce account that is missing, not a nonce
 * account, or whose authority is not the destination's key.
 */
export class DestinationUnusable extends SettleError {
  constructor(
    /** The configuration path, e.g. "swaps.destinations.sol.nonceAccounts". */
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
  }
}

/**
 * A command's arguments cannot be used together or name something unknown (diagram's
 * --machine and --format, too many diagrams for stdout, a blank --by or --reason). Options
 * commander itself rejects never get here.
 */
export class UsageError extends SettleError {}

/**
 * `settle status` or `settle recovery` was not told where the data is and found no single
 * obvious place: none, or several (listed, with where each came from).
 */
export class DataDirUnknown extends SettleError {
  constructor(
    message: string,
    readonly candidates: readonly string[],
  ) {
    super(message);
  }
}

/** `settle recovery show|resolve` with a key the recovery log does not hold. */
export class RecoveryEntryUnknown extends SettleError {
  constructor(
    readonly key: string,
    readonly file: string,
  ) {
    super(`no recovery entry '${key}' in ${file}`);
  }
}

/**
 * `settle reconcile adopt|dismiss` refused a decision the chain or the store does not bear
 * out: a transaction that is not among the unknown ones, bytes the chain did not give back, a
 * swap it does not pay (recipient, amount, nothing signed yet), a swap that adopted one
 * already, a chain without a witness. Nothing is recorded.
 */
export class ReconcileRefused extends SettleError {}

/** `settle recovery resolve` on an entry a person already resolved (never resolved twice). */
export class AlreadyResolved extends SettleError {}

/** `settle diagram --coverage FILE` where FILE is not what `settle sim --coverage` writes. */
export class CoverageFileInvalid extends SettleError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A broken invariant of our own code: a bug, never an operational failure. */
export class AssertionFailed extends Error {
  override readonly name = 'AssertionFailed';
}

/** Throws AssertionFailed when `condition` is false: for what can only be false by a bug. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}

/** Longest message a log field carries: an ethers error can quote a whole request. */
const LOG_FIELD_CHARS = 1_000;

/**
 * An error as a log field (`log.warn({ err: errorField(error) }, ...)`): "<class>: <message>"
 * on one line, at most LOG_FIELD_CHARS, every URL cut to its scheme and host (provider URLs
 * carry API keys in their path, query or userinfo). Keys never reach an error message (they
 * stay in `Secret`), so no other redaction is needed. A string, not an object: pino's error
 * serializer would otherwise rebuild it with the stack of every transient RPC failure.
 */
export function errorField(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${messageOf(error)}` : `thrown: ${String(error)}`;
  const oneLine = hideUrlSecrets(text).replace(/\s*\n\s*/g, ' | ');
  return oneLine.length <= LOG_FIELD_CHARS
    ? oneLine
    : `${oneLine.slice(0, LOG_FIELD_CHARS)}… (${oneLine.length} chars)`;
}

/** ethers' errors repeat the whole request in `message`; their `shortMessage` and `reason` say it. */
function messageOf(error: Error): string {
  const { shortMessage, reason } = error as { shortMessage?: unknown; reason?: unknown };
  const message = typeof shortMessage === 'string' && shortMessage !== '' ? shortMessage : error.message;
  return typeof reason === 'string' && reason !== '' && !message.includes(reason)
    ? `${message} (reason: ${reason})`
    : message;
}

/** Every URL in `text` reduced to scheme://host[:port], with "/…" where something was cut. */
export function hideUrlSecrets(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'(),]+)([^\s"'(),]*)/gi,
    (_url, scheme: string, authority: string, rest: string) => {
      const host = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
      const cut = rest.replace(/\/+$/, '') !== '' || host !== authority;
      return `${scheme}${host}${cut ? '/…' : ''}`;
    },
  );
}
