/**
 * The host's, the daemon's and the commands' defaults, defined once. The daemon's
 * configuration schema, the CLI's options, the example configuration's test, the simulator's
 * command and the tests import them from here; say why next to each.
 */
export { DEFAULT_MARGIN_BLOCKS } from '../machines/defaults.ts';

/** Between two polls of a chain: one Subtensor block. */
export const DEFAULT_POLL_INTERVAL_MS = 12_000;
/** The longest wait between ticks while an endpoint is unreachable (it doubles up to this). */
export const DEFAULT_MAX_BACKOFF_MS = 60_000;
/** The batch claimer runs this often: one transaction per chain per hour amortises gas. */
export const DEFAULT_CLAIM_INTERVAL_SECS = 3_600;
/** The claimer's first run after start: soon, but after the first polls have filled the jobs. */
export const DEFAULT_FIRST_CLAIM_DELAY_SECS = 60;
/** Where `settle start` keeps the embedded default's store, recovery log and chains. */
export const DEFAULT_EMBEDDED_DIR = '.settle';
