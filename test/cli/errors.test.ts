/**
 * How failures read: an operator's error is one plain line and exit 2, a bug is "bug:" with
 * its stack and exit 70; `assert` throws something that is not an operator's error; an error
 * becomes a log field without an endpoint's key in it.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_BUG, reportFailure } from '../../src/cli/main.ts';
import { createServer } from 'node:net';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { Secret } from '../../src/daemon/secrets.ts';
import { startStatusServer } from '../../src/daemon/statusServer.ts';
import * as errors from '../../src/errors.ts';
import {
  assert,
  AssertionFailed,
  errorField,
  LockHeld,
  SettleError,
  StoreError,
  StoreMissing,
  UnusablePath,
} from '../../src/errors.ts';
import { Collector } from '../support/collector.ts';

describe('reportFailure', () => {
  it('prints an operator error as one plain line, exit 2', () => {
    const err = new Collector();
    expect(reportFailure(new LockHeld('/data/daemon.lock', 4242), true, err)).toBe(2);
    expect(err.text).toBe(
      'settle: another settle daemon (pid 4242) is running on this store: /data/daemon.lock is held; stop it first\n',
    );
  });

  it('says a store refused a start, and only then', () => {
    const starting = new Collector();
    expect(reportFailure(new StoreMissing('/data/store', 'no settle store here'), true, starting)).toBe(2);
    expect(starting.text).toBe('settle: refusing to start: /data/store: no settle store here\n');
    const reading = new Collector();
    reportFailure(new StoreMissing('/data/store', 'no settle store here'), false, reading);
    expect(reading.text).toBe('settle: /data/store: no settle store here\n');
  });

  it('prints a failed assertion, or any error that is not an operator error, as a bug with its stack, exit 70', () => {
    for (const bug of [
      new AssertionFailed("put: 'swap:1' seq 3, expected 2"),
      new TypeError("Cannot read properties of undefined (reading 'terms')"),
    ]) {
      const err = new Collector();
      expect(reportFailure(bug, true, err)).toBe(EXIT_BUG);
      const [first, second, third] = err.text.split('\n');
      expect(first).toBe(`settle: bug: ${bug.message}`);
      expect(second).toBe(`${bug.name}: ${bug.message}`);
      expect(third).toMatch(/^ {4}at /);
    }
    expect(EXIT_BUG).toBe(70);
  });
});

describe('the error classes', () => {
  it('each operator case is a SettleError named after its class; an assertion is not one', () => {
    const classes = Object.entries(errors).filter(
      ([, value]) => typeof value === 'function' && value.prototype instanceof Error,
    );
    const operator = classes
      .filter(([, value]) => (value as { prototype: unknown }).prototype instanceof SettleError)
      .map(([name]) => name);
    expect(operator.length).toBeGreaterThanOrEqual(15);
    expect(operator).not.toContain('AssertionFailed');
    const samples = [
      new UnusablePath('--dir', '/x', 'does not exist'),
      new StoreMissing('/s', 'gone'),
      new errors.ConfigError('/c.yaml', ['a: b']),
    ];
    for (const sample of samples) {
      expect(sample).toBeInstanceOf(SettleError);
      expect(sample.name).toBe(sample.constructor.name);
    }
    expect(new StoreMissing('/s', 'gone')).toBeInstanceOf(StoreError);
    expect(new errors.ConfigError('/c.yaml', ['a: b', 'c: d']).message).toBe(
      '/c.yaml: 2 problems:\n  - a: b\n  - c: d',
    );
  });

  it('assert passes a true condition and throws AssertionFailed, not a SettleError, on a false one', () => {
    expect(() => assert(1 + 1 === 2, 'arithmetic')).not.toThrow();
    let thrown: unknown;
    try {
      assert(false, 'archive: swap:1 is not live');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AssertionFailed);
    expect(thrown).not.toBeInstanceOf(SettleError);
    expect((thrown as Error).message).toBe('archive: swap:1 is not live');
  });
});

describe("the daemon's status endpoint", () => {
  it('names the port another process holds', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const source = {
        health: () => ({ status: 'ok' as const, lastTickAt: null, live: 0, openRecoveryEntries: 0 }),
        machines: () => [],
      };
      const refused = startStatusServer(port, source, new DaemonMetrics());
      await expect(refused).rejects.toBeInstanceOf(errors.ListenFailed);
      await expect(refused).rejects.toThrow(
        `http.port ${port}: cannot listen on 127.0.0.1 (EADDRINUSE: another process holds the port)`,
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});

describe('errorField', () => {
  it('names the class and the message on one line', () => {
    expect(errorField(new StoreMissing('/s', 'gone'))).toBe('StoreMissing: /s: gone');
    expect(errorField(new Error('first\n  second'))).toBe('Error: first | second');
    expect(errorField('a string was thrown')).toBe('thrown: a string was thrown');
  });

  it('cuts every URL to its scheme and host: provider keys live in paths, queries and userinfo', () => {
    const field = errorField(
      new Error(
        'request to https://mainnet.infura.io/v3/0123456789abcdef failed; also wss://user:pa55@node.example:9944/ws?key=s3cret and http://127.0.0.1:8545',
      ),
    );
    expect(field).toBe(
      'Error: request to https://mainnet.infura.io/… failed; also wss://node.example:9944/… and http://127.0.0.1:8545',
    );
    for (const secret of ['0123456789abcdef', 'pa55', 's3cret', 'user']) expect(field).not.toContain(secret);
  });

  it("uses an ethers error's short message and reason, not the request it quotes", () => {
    const error = Object.assign(
      new Error(
        'execution reverted: "LockExpired" (action="estimateGas", data="0x08c379a0...", transaction={ "data": "0xdeadbeef" })',
      ),
      {
        shortMessage: 'execution reverted',
        reason: 'LockExpired',
      },
    );
    expect(errorField(error)).toBe('Error: execution reverted (reason: LockExpired)');
  });

  it('is bounded, and a Secret in a message prints as where it came from', () => {
    const long = errorField(new Error('x'.repeat(5_000)));
    expect(long.length).toBeLessThan(1_100);
    expect(long).toMatch(/… \(5007 chars\)$/);
    const secret = new Secret(
      '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
      'file /etc/settle/base.key',
    );
    expect(errorField(new Error(`cannot sign with ${secret}`))).toBe(
      'Error: cannot sign with [secret from file /etc/settle/base.key]',
    );
  });
});
