/**
 * The package as a library: a program that embeds settle imports it by its name, through
 * package.json's `exports`, and gets the very modules the daemon and the simulator run (not
 * copies), enough to build an engine on a durable store and drive it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as engineModule from '../../src/engine/engine.ts';
import * as hostModule from '../../src/host/host.ts';
import * as scenarioModule from '../../sim/scenario.ts';
import { knownMachineVersions } from '../../machines/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("import 'settle'", () => {
  it('resolves the documented entry points to the modules the daemon and simulator use', async () => {
    const settle = await import('settle');
    const sim = await import('settle/sim');
    const machines = await import('settle/machines');
    expect(settle.Engine).toBe(engineModule.Engine);
    expect(settle.openHost).toBe(hostModule.openHost);
    expect(sim.runScenario).toBe(scenarioModule.runScenario);
    expect(machines.knownMachineVersions).toBe(knownMachineVersions);
    for (const name of [
      'openLowdbSnapshotStore',
      'openRecoveryLog',
      'swapFulfillmentObligation',
      'jobSettlementObligation',
      'SettleError',
      'assert',
      'errorField',
    ]) {
      expect(typeof (settle as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('embeds: the product host on a durable store, driven by ticks, reopened from disk', async () => {
    const { openHost, openLowdbSnapshotStore, openRecoveryLog } = await import('settle');
    const dir = mkdtempSync(join(tmpdir(), 'settle-lib-'));
    dirs.push(dir);
    const observations = [
      {
        terms: {
          jobId: `0x${'1'.repeat(64)}`,
          chain: 'base',
          token: `0x${'2'.repeat(40)}`,
          payer: `0x${'3'.repeat(40)}`,
          payee: `0x${'4'.repeat(40)}`,
          escrow: `0x${'5'.repeat(40)}`,
          lock: null,
        },
        phase: 'running' as const,
        cost: null,
      },
    ];
    const open = async (create: boolean) => {
      const store = await openLowdbSnapshotStore(join(dir, 'store'), { create, knownMachines: knownMachineVersions });
      const { log: recoveryLog } = await openRecoveryLog(join(dir, 'recovery.jsonl'));
      const log = { info() {}, warn() {}, error() {} };
      const host = await openHost({
        store,
        recoveryLog,
        swapContract: null,
        senders: new Map(),
        escrows: new Map(),
        clock: null,
        jobSource: { poll: async () => observations },
        log,
      });
      return { host, store };
    };
    const first = await open(true);
    await first.host.tick();
    expect(first.host.machines()).toEqual([{ id: `job:base:0x${'1'.repeat(64)}`, kind: 'job', state: 'Running' }]);
    await first.store.close();
    const second = await open(false);
    expect(second.host.machines().map((m) => m.state)).toEqual(['Running']);
    await second.store.close();
  });
});
