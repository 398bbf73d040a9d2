/**
 * `settle daemon` as a real child process against a local EVM node and the fake Subtensor:
 * store creation only with --init, one daemon per store, the status endpoint and metrics,
 * backoff while endpoints are away and recovery when they return, graceful and immediate
 * stops, and no secret in anything it prints.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/freePort.ts';
import { runSettle as runSettleFor, startDaemonRig, type DaemonChild, type DaemonRig } from '../support/daemonRig.ts';

/** Each command here is a refusal: a minute is plenty. */
const runSettle = (args: readonly string[]) => runSettleFor(args, 60_000);

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

let rig: DaemonRig;
let port: number;
let daemon: DaemonChild;
const get = async (path: string): Promise<{ status: number; text: string }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
};
const balanceOf = (address: string) => rig.evm.provider.getBalance(address);

beforeAll(async () => {
  port = await freePort();
  rig = await startDaemonRig({ httpPort: port, maxBackoffMs: 1600 });
}, 120_000);

afterAll(async () => {
  await rig?.stop();
});

describe('settle daemon', () => {
  it('refuses to start without a store unless --init, and creates nothing', async () => {
    const result = await runSettle(['daemon', '--config', rig.configPath]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no settle store here.*--init/s);
    expect(existsSync(join(rig.dataDir, 'store', 'store.json'))).toBe(false);
  }, 90_000);

  it('starts with --init; a second daemon on the same store is refused, naming the first', async () => {
    daemon = rig.spawn(); // --init: no store yet
    expect(await daemon.started).toBe(true);
    expect(readFileSync(join(rig.dataDir, 'daemon.lock'), 'utf8').split('\n')[0]).toBe(String(daemon.child.pid));
    const second = await runSettle(['daemon', '--config', rig.configPath]);
    expect(second.status).toBe(2);
    expect(second.stderr).toContain(`another settle daemon (pid ${daemon.child.pid}) is running on this store`);
    const again = await runSettle(['daemon', '--config', rig.configPath, '--init']);
    expect(again.status).toBe(2);
  }, 120_000);

  it('fulfils a swap to the EVM chain and serves /health, /machines and /metrics on 127.0.0.1', async () => {
    const user = Wallet.createRandom().address;
    const amount = 123_456_789_000n;
    const id = await rig.assignSwap(user, amount);
    await until(() => rig.subtensor.contract.swaps.get(id)?.status === 'Fulfilled', 'the swap to be marked fulfilled');
    expect(await balanceOf(user)).toBe(amount);

    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', openRecoveryEntries: 0 });
    const machines = JSON.parse((await get('/machines')).text) as { id: string }[];
    expect(Array.isArray(machines)).toBe(true);
    // The mark landed; the machine records it when the adapter sees it finalized.
    await until(
      async () =>
        (await get('/metrics')).text.includes('settle_transitions_total{kind="swap",from="Marking",to="Fulfilled"} 1'),
      'the Fulfilled transition in the metrics',
    );
    const metrics = (await get('/metrics')).text;
    expect(metrics).toMatch(/settle_transitions_total\{kind="swap",from="Marking",to="Fulfilled"\} 1/);
    expect(metrics).toMatch(/settle_effects_total\{effect="sendTransfer",outcome="TRANSFER_INCLUDED"\} 1/);
    expect(metrics).toMatch(
      /settle_rpc_latency_seconds_count\{chain="subtensor",port="swapContract",method="markFulfilled",outcome="ok"\} 1/,
    );
    expect(metrics).toMatch(
      /settle_rpc_latency_seconds_count\{chain="eth",port="transferSender",method="sign",outcome="ok"\} 1/,
    );
    expect(metrics).toContain('settle_recovery_entries 0');
    expect((await get('/nothing')).status).toBe(404);
    // A request target that is no URL is answered 400; it does not bring the daemon down.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect((await get('/health')).status).toBe(200);
  }, 120_000);

  it('backs off while both endpoints are away, says so on /health, and catches up when they return', async () => {
    await rig.evmProxy.down();
    await rig.subtensor.goAway();
    const user = Wallet.createRandom().address;
    const id = await rig.assignSwap(user, 5_000n);
    const before = daemon.output().length;
    await until(
      () =>
        (
          daemon
            .output()
            .slice(before)
            .match(/backing off/g) ?? []
        ).length >= 3,
      'three backoff lines',
      90_000,
    );
    const waits = [
      ...daemon
        .output()
        .slice(before)
        .matchAll(/"nextTickInMs":(\d+)/g),
    ].map((m) => Number(m[1]));
    expect(waits.at(-1)).toBe(1_600); // doubled up to maxBackoffMs
    expect(waits.some((w) => w < 1_600)).toBe(true);
    expect((await get('/health')).status).toBe(503);

    await rig.subtensor.comeBack();
    await rig.evmProxy.up();
    await until(
      () => rig.subtensor.contract.swaps.get(id)?.status === 'Fulfilled',
      'the swap assigned while away to be fulfilled',
      90_000,
    );
    expect(await balanceOf(user)).toBe(5_000n);
    await until(async () => (await get('/health')).status === 200, 'health to recover');
  }, 240_000);

  it('stops on SIGTERM once the tick in progress is durable: exit 0, lock released', async () => {
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.output()).toContain('stopped: every effect in progress reached a durable state');
    expect(existsSync(join(rig.dataDir, 'daemon.lock'))).toBe(false);
  }, 60_000);

  it('exits at once on a second signal while a tick hangs on an unreachable node', async () => {
    daemon = rig.spawn();
    expect(await daemon.started).toBe(true);
    const headers = () => rig.subtensor.requests.filter((r) => r.method === 'chain_getHeader').length;
    const before = headers();
    rig.subtensor.stalled.add('chain_getHeader'); // the next tick waits for an answer that does not come
    await until(() => headers() > before, 'a stalled call');
    await sleep(300);
    daemon.child.kill('SIGTERM');
    await sleep(300);
    daemon.child.kill('SIGTERM');
    const exit = await Promise.race([daemon.exited, sleep(20_000).then(() => 'still running' as const)]);
    expect(exit).toEqual({ code: 130, signal: null });
    expect(daemon.output()).toContain('second signal: exiting now');
    rig.subtensor.stalled.clear();
  }, 90_000);

  it('never prints a key', () => {
    const everything = readFileSync(join(rig.dir, 'daemon.log'), 'utf8');
    for (const name of ['hotkey.key', 'transfer.key', 'payee.key']) {
      const secret = readFileSync(join(rig.dir, name), 'utf8').trim();
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.replace(/^0x/, ''));
    }
  });

  it('with --init, refuses a new store while the contract holds swaps of ours (a lost store may have sent for them)', async () => {
    const other = join(rig.dir, 'other.yaml');
    writeFileSync(other, readFileSync(rig.configPath, 'utf8').replace('dataDir: ./data', 'dataDir: ./data-new'));
    const result = await runSettle(['daemon', '--config', other, '--init']);
    expect({ status: result.status, out: result.status === 2 ? '' : result.stdout + result.stderr }).toEqual({
      status: 2,
      out: '',
    });
    expect(result.stderr).toMatch(
      /the contract already holds swaps assigned to this miner: 0 \(Fulfilled\), 1 \(Fulfilled\)/,
    );
    expect(existsSync(join(rig.dir, 'data-new', 'store', 'store.json'))).toBe(false);
  }, 90_000);
});
