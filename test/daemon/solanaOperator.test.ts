/**
 * `settle status` and `settle recovery` on a Solana swap manager's data: a swap is named by its
 * swap key (keccak256 of the source tx hash, what validators and explorers show), status shows
 * the payout the contract requires (99% of to_amount) and the pinned sender, and a recovery
 * entry is found by the bare swap key as well as by its machine id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { knownMachineVersions, SWAP_MACHINE_VERSION, swapFulfillment, type SwapTerms } from '../../machines/index.ts';
import { SAMPLE_DEPOSIT_VERIFIED } from '../support/sampleTerms.ts';
import { recoveryResolve, recoveryShow, statusCommand } from '../../src/cli/operatorCommands.ts';
import { RecoveryEntryUnknown } from '../../src/errors.ts';
import { swapRecoveryEntry } from '../../src/obligations/swapFulfillment/recovery.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog } from '../../src/store/recoveryLog.ts';
import { Collector } from '../support/collector.ts';

/** Any 64 hex digits stand for a swap key here (the store and the log do not recompute it). */
const KEY = 'c0ffee'.padEnd(64, '7');
const OTHER = 'beef'.padEnd(64, '1');

const terms = (swapId: string): SwapTerms => ({
  contract: 'solana',
  swapId,
  miner: 'MinerPubkey1111111111111111111111111111111',
  sourceChain: 'btc',
  destChain: 'sol',
  sourceAmount: '100000',
  destAmount: '199',
  collateralAmount: '5000000000',
  hub: 'sol',
  userDestAddress: 'UserPubkey11111111111111111111111111111111',
  senderPin: 'PinPubkey111111111111111111111111111111111',
  sourceTxHash: 'btc-source-tx',
  userSourceAddress: 'bc1quser',
  minerSourceAddress: 'bc1qminer',
  sourceTxBlock: 7,
  initiatedAt: 1_000,
  timeoutAt: 1_600,
  maxExtendAt: 9_400,
});

let dataDir: string;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'settle-solana-operator-'));
  const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
    create: true,
    knownMachines: knownMachineVersions,
  });
  const sending = createActor(swapFulfillment, { input: { terms: terms(KEY), now: 1_001 } }).start();
  sending.send({ type: 'CLOCK', now: 1_002 });
  sending.send(SAMPLE_DEPOSIT_VERIFIED);
  expect(sending.getSnapshot().value).toBe('Sending');
  await store.put({
    id: `swap:${KEY}`,
    machine: { name: 'swapFulfillment', version: SWAP_MACHINE_VERSION },
    seq: 1,
    snapshot: JSON.parse(JSON.stringify(sending.getPersistedSnapshot())),
  });
  await store.close();
  // A swap that ended in Recovery: its entry as the host writes it, from the machine's context.
  const stuck = createActor(swapFulfillment, { input: { terms: terms(OTHER), now: 1_001 } }).start();
  const { log } = await openRecoveryLog(join(dataDir, 'recovery.jsonl'));
  const context = { ...stuck.getSnapshot().context, reason: 'the transfer never landed after the mark' };
  expect(await log.record(swapRecoveryEntry(`swap:${OTHER}`, 'Recovery', 'stuck-funds', context))).toBe('recorded');
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the operator commands on Solana swaps', () => {
  it('status names each swap by its swap key and shows the payout the contract requires, from the pin', async () => {
    const out = new Collector();
    expect(await statusCommand({ dataDir }, out, new Collector())).toBe(0);
    expect(out.text).toContain(`swap:${KEY}`);
    // to_amount 199: 199 - floor(199 / 100) = 198 paid, from the pinned address.
    expect(out.text).toContain('pays 198 (to_amount 199) on sol from PinPubkey111111111111111111111111111111111');
    expect(out.text).toContain(`swap:${OTHER} [stuck-funds] the transfer never landed after the mark`);
  });

  it('recovery show and resolve find an entry by the bare swap key, and record it under its machine id', async () => {
    const shown = new Collector();
    expect(await recoveryShow({ dataDir, key: OTHER }, shown, new Collector())).toBe(0);
    const entry = JSON.parse(shown.text);
    expect(entry.key).toBe(`swap:${OTHER}`);
    expect(entry.chains).toMatchObject({ dest: 'sol', hub: 'sol', contract: 'solana' });
    expect(entry.amounts).toMatchObject({ dest: '199', payout: '198' });
    expect(entry.time).toBe(1_001);
    expect(entry.block).toBeNull();
    const done = new Collector();
    await recoveryResolve({ dataDir, key: OTHER, by: 'ops', reason: 'checked on the explorer' }, done, new Collector());
    const again = new Collector();
    await recoveryShow({ dataDir, key: `swap:${OTHER}` }, again, new Collector());
    expect(JSON.parse(again.text).resolution).toMatchObject({ key: `swap:${OTHER}`, by: 'ops' });
    await expect(recoveryShow({ dataDir, key: 'ab'.repeat(32) }, new Collector(), new Collector())).rejects.toThrow(
      RecoveryEntryUnknown,
    );
  });
});
