import { afterAll, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { jobSettlement, metaOfState, type JobEvent, type JobTerms } from '../../machines/index.ts';
import { restoreActor } from '../support/restoreActor.ts';
import { TransitionRecorder } from '../support/transitionCoverage.ts';
import { SAMPLE_JOB_TERMS } from '../support/sampleTerms.ts';

const recorder = new TransitionRecorder();

const TERMS: JobTerms = SAMPLE_JOB_TERMS;

function drive(terms: Partial<JobTerms>, ...events: JobEvent[]) {
  const actor = createActor(jobSettlement, {
    input: { terms: { ...TERMS, ...terms }, now: 1_000 },
    inspect: recorder.inspect,
  }).start();
  for (const event of events) actor.send(event);
  return actor;
}

const state = (actor: ReturnType<typeof drive>) => actor.getSnapshot().value;
const toSettle: JobEvent[] = [{ type: 'RUN_ENDED', cost: '400' }, { type: 'RESULTS_PUBLISHED' }];
const toClaiming: JobEvent[] = [...toSettle, { type: 'SETTLE_DUE', now: 2_000 }];
const toCancelling: JobEvent[] = [...toSettle, { type: 'SETTLE_DUE', now: 5_001 }];

describe('jobSettlement: running and publishing', () => {
  it('records the cost when the run ends', () => {
    const actor = drive({}, { type: 'RUN_ENDED', cost: '400' });
    expect(state(actor)).toBe('PublishingResults');
    expect(actor.getSnapshot().context).toMatchObject({ cost: '400', claimAmount: '400' });
  });

  it('caps the amount to claim at the locked amount', () => {
    const actor = drive({}, { type: 'RUN_ENDED', cost: '1000000' });
    expect(actor.getSnapshot().context).toMatchObject({ cost: '1000000', claimAmount: '1000' });
  });

  it('waits in JobSettle for the claimer once results are published', () => {
    const actor = drive({}, ...toSettle);
    expect(state(actor)).toBe('JobSettle');
    expect(metaOfState(actor.getSnapshot()).effect).toBeUndefined();
  });

  it.each([
    ['no lock', { lock: null }, '400'],
    ['nothing to charge', {}, '0'],
  ])('goes straight to Finished for a free job (%s)', (_, terms, cost) => {
    const actor = drive(terms, { type: 'RUN_ENDED', cost }, { type: 'RESULTS_PUBLISHED' });
    expect(state(actor)).toBe('Finished');
    expect(actor.getSnapshot().context.claimTx).toBeNull();
  });
});

describe('jobSettlement: settling', () => {
  it('claims a live lock when the claimer runs', () => {
    const actor = drive({}, ...toClaiming);
    expect(state(actor)).toBe('Claiming');
    expect(actor.getSnapshot().context.now).toBe(2_000);
    expect(metaOfState(actor.getSnapshot()).effect).toBe('claimLock');
  });

  it('treats a lock as live up to its expiry second, expired after it', () => {
    expect(state(drive({}, ...toSettle, { type: 'SETTLE_DUE', now: 5_000 }))).toBe('Claiming');
    expect(state(drive({}, ...toCancelling))).toBe('Cancelling');
  });

  it('is Finished only with a Claimed event, recording the claim', () => {
    const actor = drive({}, ...toClaiming, { type: 'CLAIMED', txHash: '0xclaim', amount: '400', fee: '4' });
    expect(state(actor)).toBe('Finished');
    expect(actor.getSnapshot().context).toMatchObject({
      claimTx: '0xclaim',
      claimedGross: '400',
      claimFee: '4',
      claimedNet: '396',
    });
  });

  it('is Cancelled, and recorded as lost revenue, when the claim landed after expiry', () => {
    const actor = drive({}, ...toClaiming, { type: 'CLAIM_CANCELED', txHash: '0xlate' });
    expect(state(actor)).toBe('Cancelled');
    expect(actor.getSnapshot().context.cancelTx).toBe('0xlate');
    expect(metaOfState(actor.getSnapshot())).toMatchObject({ effect: 'recordRecovery', record: 'lost-revenue' });
  });

  it('returns to JobSettle after a failed claim, counting attempts', () => {
    const actor = drive({}, ...toClaiming, { type: 'CLAIM_FAILED', error: 'execution reverted' });
    expect(state(actor)).toBe('JobSettle');
    expect(actor.getSnapshot().context).toMatchObject({ attempts: 1, lastError: 'execution reverted' });
  });

  it('goes to Recovery when the lock is gone without a Claimed event', () => {
    const actor = drive({}, ...toClaiming, { type: 'LOCK_GONE', reason: 'no lock, no events' });
    expect(state(actor)).toBe('Recovery');
    expect(actor.getSnapshot().context.reason).toBe('lock gone without a Claimed event: no lock, no events');
    expect(metaOfState(actor.getSnapshot())).toMatchObject({ effect: 'recordRecovery', record: 'unsettled-claim' });
  });
});

describe('jobSettlement: cancelling an expired lock', () => {
  it('asks to cancel the lock', () => {
    expect(metaOfState(drive({}, ...toCancelling).getSnapshot()).effect).toBe('cancelExpiredLock');
  });

  it('is Cancelled once the lock is cancelled (by us or by the payer)', () => {
    const actor = drive({}, ...toCancelling, { type: 'LOCK_CANCELED', txHash: null });
    expect(state(actor)).toBe('Cancelled');
    expect(actor.getSnapshot().context.reason).toBe('the lock expired before it was claimed');
  });

  it('retries from JobSettle when the cancel fails', () => {
    expect(state(drive({}, ...toCancelling, { type: 'CANCEL_FAILED', error: 'rpc down' }))).toBe('JobSettle');
  });

  it('is Finished if a claim is found on chain after all', () => {
    expect(state(drive({}, ...toCancelling, { type: 'CLAIMED', txHash: '0xc', amount: '400', fee: null }))).toBe(
      'Finished',
    );
  });

  it('goes to Recovery if the lock vanished without events', () => {
    expect(state(drive({}, ...toCancelling, { type: 'LOCK_GONE', reason: 'x' }))).toBe('Recovery');
  });
});

describe('jobSettlement: snapshots', () => {
  it('every persisted snapshot survives a JSON round trip', () => {
    for (const events of [[], toSettle, toClaiming, toCancelling]) {
      const actor = drive({}, ...events);
      const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      const restored = restoreActor(jobSettlement, persisted);
      expect(restored.getSnapshot().value).toBe(actor.getSnapshot().value);
      expect(JSON.stringify(restored.getPersistedSnapshot())).toBe(JSON.stringify(actor.getPersistedSnapshot()));
    }
  });
});

afterAll(() => {
  expect(recorder.missing(jobSettlement)).toEqual([]);
});
