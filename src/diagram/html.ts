/**
 * One self-contained HTML report per machine, for auditors: the diagram, every transition
 * (from, event, guard, to, effect requested, what is persisted first, how often the simulator
 * took it), the invariants that concern the machine, and the failure classification.
 */
import { CLIENT_ERRORS, CONTRACT_ERRORS, MARK_ERROR_CLASSES } from '../../machines/index.ts';
import { effectOf } from './labels.ts';
import type { MachineModel, TransitionCounts } from './machineModel.ts';

const INVARIANTS: Readonly<Record<string, readonly string[]>> = {
  swapFulfillment: [
    'No double send: for every swap, at most one destination transfer is ever included on the destination chain, across any number of crashes, restarts, RPC faults, lost acknowledgements and reorgs.',
    'No lost send: every transfer that was broadcast ends in Fulfilled, or in Recovery with a recovery-log entry; none is forgotten.',
    'No send too late: no first send starts when fewer than `margin` blocks remain before the timeout; a send already made is still marked fulfilled, whatever the time.',
    'Restart is invisible: a run with crashes ends with the same transfers and marks as the same run without them, except where a deadline passed.',
    'Recovery entries: every swap that ends in Recovery has exactly one entry in the recovery log.',
  ],
  jobSettlement: [
    'No lost claim: every job that reached JobSettle with a valid lock and a cost above zero is claimed before its lock expires, or is cancelled and logged if it expired.',
    'No double claim: no lock is claimed twice, and the amount claimed never exceeds the lock.',
    'Restart is invisible: a run with crashes ends with the same claims and cancellations as the same run without them, except where a deadline passed.',
    'Recovery entries: every job that ends in Cancelled or Recovery has exactly one entry in the recovery log.',
  ],
};

const SETTLEMENT_READINGS: ReadonlyArray<readonly [string, string]> = [
  [
    'Claimed event for the job (in the receipt, or found when reading the chain)',
    'CLAIMED: Finished, with the claim transaction',
  ],
  [
    'Canceled event for the job (claim mined after expiry, or the payer cancelled)',
    'CLAIM_CANCELED / LOCK_CANCELED: Cancelled, logged as lost revenue',
  ],
  ['the lock still there, unexpired', 'claimed in the next claimLocks batch'],
  ['no lock, no Claimed, no Canceled', 'LOCK_GONE: Recovery, logged'],
  ['the batch would revert (dry run)', 'bad entries set aside by bisection, the rest claimed in one transaction'],
  [
    'RPC failure, revert when mined, receipt without an event for the job',
    'CLAIM_FAILED: back to JobSettle; the next run reads the chain before claiming',
  ],
];

const escapeMarkup = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function toHtml(model: MachineModel, svg: string, counts?: TransitionCounts, coverageSource?: string): string {
  const stateOf = (name: string | null) => model.states.find((s) => s.name === name);
  const rows = model.transitions
    .map((t) => {
      const effect = effectOf(model, t);
      const count = counts?.[t.key];
      const countCell =
        counts === undefined
          ? ''
          : `<td class="${count === 0 ? 'never' : ''}">${count === undefined ? '?' : count === 0 ? 'never' : count}</td>`;
      return `<tr><td>${t.from}</td><td><code>${t.event}</code></td><td>${t.guard === null ? '' : `<code>${t.guard}</code>`}</td><td>${t.to ?? '(stays)'}</td><td>${effect ?? ''}</td><td>${effect === null ? '' : escapeMarkup(stateOf(t.to)?.durableBefore ?? '')}</td><td>${t.actions.map((a) => `<code>${a}</code>`).join(' ')}</td>${countCell}</tr>`;
    })
    .join('\n');
  const states = model.states
    .map(
      (s) =>
        `<tr><td>${s.name}</td><td>${escapeMarkup(s.summary)}</td><td>${s.effect ?? ''}</td><td>${s.final ? 'final' : ''}${s.record === null ? '' : `, writes the recovery log (${s.record})`}</td></tr>`,
    )
    .join('\n');
  const classification =
    model.name === 'swapFulfillment'
      ? `<p>How each failure of <code>mark_fulfilled</code> is handled on the ink! contract (machines/markFulfilledErrors.ts; the Solana program's table is machines/solanaMarkFulfilledErrors.ts): refused calls are read back once with <code>get_swap</code>, then Recovery; terminal ones go to Recovery at once; transient ones are retried with backoff; an unknown outcome is read back before any retry.</p>
<table><tr><th>error</th><th>from</th><th>class</th></tr>
${[
  ...CONTRACT_ERRORS.map((e) => [e, 'contract error enum'] as const),
  ...CLIENT_ERRORS.map((e) => [e, 'chain client'] as const),
]
  .map(
    ([e, from]) =>
      `<tr><td><code>${e}</code></td><td>${from}</td><td class="${MARK_ERROR_CLASSES[e]}">${MARK_ERROR_CLASSES[e]}</td></tr>`,
  )
  .join('\n')}
</table>`
      : `<p>How the batch claimer reads the chain for each job (src/host/batchClaimer.ts): a transaction that succeeded is no proof of payment, only a Claimed event is.</p>
<table><tr><th>the chain says</th><th>the machine gets</th></tr>
${SETTLEMENT_READINGS.map(([what, then]) => `<tr><td>${escapeMarkup(what)}</td><td>${escapeMarkup(then)}</td></tr>`).join('\n')}
</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${model.name}: settle machine report</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem; color: #1a202c; max-width: 1400px; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 14px; }
th, td { border: 1px solid #cbd5e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #edf2f7; }
code { font-size: 13px; }
.never { color: #c53030; font-weight: bold; }
.terminal, .refused { color: #c53030; } .transient { color: #b7791f; } .unknown { color: #2b6cb0; }
figure { overflow-x: auto; border: 1px solid #e2e8f0; padding: 0.5rem; margin: 0; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 8px; border-radius: 4px; border: 1px solid; }
</style>
</head>
<body>
<h1>${model.name}</h1>
<p>Generated from <code>machines/${model.name}.ts</code> by <code>settle diagram</code>: what is drawn is what runs.${coverageSource === undefined ? '' : ` Transition counts from <code>${escapeMarkup(coverageSource)}</code>; transitions never taken are red and dashed.`}</p>
<p class="legend"><span style="background:#fff4d6;border-color:#b7791f">requests an effect (⚡)</span><span style="background:#e6f4ea;border-color:#2f855a">final</span><span style="background:#fde8e8;border-color:#c53030">writes the recovery log</span></p>
<figure>
${svg}</figure>
<h2>States</h2>
<table><tr><th>state</th><th>meaning</th><th>effect requested</th><th></th></tr>
${states}
</table>
<h2>Transitions</h2>
<p>Each effect runs only after the snapshot that requests it is on disk; "persisted first" says what that snapshot holds.</p>
<table><tr><th>from</th><th>event</th><th>guard</th><th>to</th><th>effect requested</th><th>persisted first</th><th>actions</th>${counts === undefined ? '' : '<th>taken</th>'}</tr>
${rows}
</table>
<h2>Invariants</h2>
<ul>
${(INVARIANTS[model.name] ?? []).map((i) => `<li>${escapeMarkup(i)}</li>`).join('\n')}
</ul>
<h2>Failure classification</h2>
${classification}
</body>
</html>
`;
}
