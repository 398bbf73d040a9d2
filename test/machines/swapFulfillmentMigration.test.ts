/**
 * Version-1 snapshots, as today's release wrote them (test/fixtures/swapFulfillment-v1-
 * snapshots.json, produced by swapFulfillment version 1 at commit 008cc88), read by version 2:
 * the same state, every field carried over, and the machine resumes from there.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  migrateSwapSnapshot,
  swapFulfillment,
  SwapSnapshotMigrationError,
  type SwapContext,
  type SwapEvent,
} from '../../machines/index.ts';
import { restoreActor } from '../support/restoreActor.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/swapFulfillment-v1-snapshots.json', import.meta.url), 'utf8'),
) as {
  machine: { name: string; version: number };
  snapshots: Record<string, { value: string; context: Record<string, unknown> }>;
};

const migrated = (name: string) =>
  JSON.parse(JSON.stringify(migrateSwapSnapshot(fixture.snapshots[name], 1))) as {
    value: string;
    context: SwapContext;
  };

describe('swapFulfillment version 1 -> 2', () => {
  it('the fixture is version 1 of this machine', () => {
    expect(fixture.machine).toEqual({ name: 'swapFulfillment', version: 1 });
  });

  it.each(Object.keys(fixture.snapshots))('%s restores in the same state, with a version-2 context', (name) => {
    const v1 = fixture.snapshots[name]!;
    const v2 = migrated(name);
    const actor = restoreActor(swapFulfillment, v2);
    // Version 1 had no deposit check: a swap that decided to send but signed nothing is checked first.
    const unsigned = v1.value === 'Sending' && v1.context['transfer'] === null;
    expect(actor.getSnapshot().value).toBe(unsigned ? 'Verifying' : v1.value);
    const c = actor.getSnapshot().context;
    const t1 = v1.context['terms'] as Record<string, unknown>;
    expect(c.terms).toEqual({
      contract: 'ink',
      swapId: t1['swapId'],
      miner: t1['miner'],
      sourceChain: t1['sourceChain'],
      destChain: t1['destChain'],
      sourceAmount: t1['sourceAmount'],
      destAmount: t1['destAmount'],
      collateralAmount: t1['taoAmount'],
      hub: 'tao',
      userDestAddress: t1['userDestAddress'],
      senderPin: '',
      sourceTxHash: t1['sourceTxHash'],
      // Version 1 did not read the deposit's addresses or block: empty, filled from the listing.
      userSourceAddress: '',
      minerSourceAddress: '',
      sourceTxBlock: 0,
      initiatedAt: t1['initiatedBlock'],
      timeoutAt: t1['timeoutBlock'],
      maxExtendAt: null,
    });
    expect(c).toMatchObject({
      cushion: v1.context['marginBlocks'],
      now: v1.context['block'],
      deadline: t1['timeoutBlock'],
      transferBlock: v1.context['transferBlock'],
      transferIncluded: v1.context['transferBlock'] !== null,
      markAttempts: v1.context['markAttempts'],
      nextMarkAt: v1.context['nextMarkBlock'],
      refusedWith: v1.context['refusedWith'],
      lastError: v1.context['lastError'],
      reason: v1.context['reason'],
      deposit: null,
    });
    const transfer = v1.context['transfer'] as { raw: string; hash: string; decidedAtBlock: number } | null;
    expect(c.transfer).toEqual(
      transfer === null
        ? null
        : {
            raw: transfer.raw,
            hash: transfer.hash,
            decidedAt: transfer.decidedAtBlock,
            anchorBlock: transfer.decidedAtBlock,
          },
    );
    // A restored version-2 snapshot persists as itself: nothing is lost on the next write.
    expect(JSON.parse(JSON.stringify(actor.getPersistedSnapshot())).context).toEqual(v2.context);
  });

  const resumes: Array<[string, SwapEvent[], string]> = [
    ['Pending', [{ type: 'CLOCK', now: 101 }], 'Verifying'],
    ['Sending-unsigned', [{ type: 'CLOCK', now: 128 }], 'Expired'],
    [
      'Sending-unsigned',
      [
        { type: 'CLOCK', now: 101 },
        {
          type: 'DEPOSIT_VERIFIED',
          deposit: {
            verdict: 'verified',
            reason: null,
            txHash: 'btc',
            block: 3,
            amountSeen: '1',
            senderSeen: 'u',
            confirmations: 2,
            required: 2,
          },
        },
      ],
      'Sending',
    ],
    [
      'Sending-signed',
      [
        { type: 'CLOCK', now: 500 },
        { type: 'TRANSFER_INCLUDED', block: 9000 },
      ],
      'Marking',
    ],
    ['Sent-backoff', [{ type: 'CLOCK', now: 105 }], 'Marking'],
    ['Marking', [{ type: 'MARK_OK' }], 'Fulfilled'],
    [
      'Reconciling-unknown',
      [{ type: 'SWAP_READ', view: { status: 'Active', miner: '5Miner', destTxHash: '', deadline: null } }],
      'Marking',
    ],
    [
      'Reconciling-refused',
      [{ type: 'SWAP_READ', view: { status: 'Fulfilled', miner: '5Miner', destTxHash: '0xhash42', deadline: null } }],
      'Fulfilled',
    ],
  ];
  it.each(resumes)(
    '%s resumes under version 2 as version 1 would have, the deposit checked first',
    (name, events, end) => {
      const actor = restoreActor(swapFulfillment, migrated(name));
      for (const event of events) actor.send(event);
      expect(actor.getSnapshot().value).toBe(end);
    },
  );

  it('a signed version-1 transfer is never replaced: the same bytes after the migration', () => {
    const actor = restoreActor(swapFulfillment, migrated('Sending-signed'));
    actor.send({ type: 'TRANSFER_SIGNED', raw: '0xnew', hash: '0xnew' });
    expect(actor.getSnapshot().context.transfer).toMatchObject({ raw: '0xraw42', hash: '0xhash42' });
  });

  it.each([
    [
      'a version it does not know',
      () => migrateSwapSnapshot(fixture.snapshots['Pending'], 3),
      /no migration of swapFulfillment version 3/,
    ],
    [
      'a state version 1 never had',
      () => migrateSwapSnapshot({ ...fixture.snapshots['Pending'], value: 'Following' }, 1),
      /state "Following" is not a version 1 state/,
    ],
    [
      'a context without terms',
      () => migrateSwapSnapshot({ value: 'Pending', context: {} }, 1),
      /context.terms is missing/,
    ],
    [
      'terms missing a field',
      () => migrateSwapSnapshot(withTerms({ taoAmount: undefined }), 1),
      /terms.taoAmount is not a string/,
    ],
    [
      'a malformed transfer',
      () => migrateSwapSnapshot(withContext({ transfer: { raw: '0x' } }), 1),
      /transfer is malformed/,
    ],
  ])('refuses %s, saying what', (_name, run, message) => {
    expect(run).toThrow(SwapSnapshotMigrationError);
    expect(run).toThrow(message);
  });
});

function withContext(over: Record<string, unknown>) {
  const s = structuredClone(fixture.snapshots['Pending']!);
  Object.assign(s.context, over);
  return s;
}

function withTerms(over: Record<string, unknown>) {
  const s = structuredClone(fixture.snapshots['Pending']!);
  Object.assign(s.context['terms'] as object, over);
  return s;
}
