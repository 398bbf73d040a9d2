/**
 * `settle status` and `settle recovery list|show|resolve` on a data directory built by hand:
 * a real store holding real machine snapshots, a real recovery log. They read beside a running
 * daemon, so they must never write the store or the recovery log.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import {
  JOB_MACHINE_VERSION,
  jobSettlement,
  knownMachineVersions,
  SWAP_MACHINE_VERSION,
  swapFulfillment,
  type JobTerms,
  type SwapTerms,
} from '../../machines/index.ts';
import { main } from '../../src/cli/main.ts';
import { dataDirOf, recoveryResolve, statusCommand } from '../../src/cli/operatorCommands.ts';
import { ConfigError, DataDirUnknown } from '../../src/errors.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { openRecoveryLog, type RecoveryEntry } from '../../src/store/recoveryLog.ts';
import { FileWitnessJournal } from '../../src/witness/witnessJournal.ts';
import { Collector } from '../support/collector.ts';
import { jobMachineId } from '../../machines/index.ts';
import { treeFingerprint } from '../support/treeFingerprint.ts';

const JOB_ID = `0x${'0a'.repeat(32)}`;

const swapTerms = (swapId: string, destChain: string, destAmount: string): SwapTerms => ({
  contract: 'ink',
  swapId,
  miner: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
  sourceChain: 'btc',
  destChain,
  sourceAmount: '100000',
  destAmount,
  collateralAmount: '2500000000',
  hub: 'tao',
  userDestAddress: '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty',
  senderPin: '',
  sourceTxHash: 'btc-tx',
  userSourceAddress: 'bc1quser',
  minerSourceAddress: 'bc1qminer',
  sourceTxBlock: 7,
  initiatedAt: 100,
  timeoutAt: 130,
  maxExtendAt: null,
});

const jobTerms: JobTerms = {
  jobId: JOB_ID,
  chain: 'base',
  escrow: '0x1111111111111111111111111111111111111111',
  token: '0x2222222222222222222222222222222222222222',
  payer: '0x3333333333333333333333333333333333333333',
  payee: '0x4444444444444444444444444444444444444444',
  lock: { amount: '1000000000000000000', expiry: 1_700_000_000 },
};

const entry = (key: string, kind: RecoveryEntry['kind'], reason: string): RecoveryEntry => ({
  key,
  obligation: key.startsWith('swap:') ? 'swap' : 'job',
  kind,
  reason,
  state: key.startsWith('swap:') ? 'Recovery' : 'ClaimLost',
  chains: { source: 'btc', dest: 'tao' },
  amounts: { dest: '2500000000' },
  txHashes: { destTransfer: '0xabc' },
  block: 120,
  time: null,
});

let root: string;
let dataDir: string;

/** Persisted snapshots as the host writes them: from real actors of the catalogued machines. */
async function buildDataDir(): Promise<void> {
  const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
    create: true,
    knownMachines: knownMachineVersions,
  });
  const sending = createActor(swapFulfillment, {
    input: { terms: swapTerms('1', 'tao', '2500000000'), now: 100 },
  }).start();
  sending.send({ type: 'CLOCK', now: 101 });
  sending.send({
    type: 'DEPOSIT_VERIFIED',
    deposit: {
      verdict: 'verified',
      reason: null,
      txHash: 'btc-tx',
      block: 7,
      amountSeen: '100000',
      senderSeen: 'bc1quser',
      confirmations: 2,
      required: 2,
    },
  });
  expect(sending.getSnapshot().value).toBe('Sending');
  const pending = createActor(swapFulfillment, {
    input: { terms: swapTerms('2', 'eth', '3000000000000000000'), now: 100 },
  }).start();
  const running = createActor(jobSettlement, { input: { terms: jobTerms, now: 1_699_999_000 } }).start();
  const plain = (snapshot: unknown): unknown => JSON.parse(JSON.stringify(snapshot));
  await store.put({
    id: 'swap:1',
    machine: { name: 'swapFulfillment', version: SWAP_MACHINE_VERSION },
    seq: 1,
    snapshot: plain(sending.getPersistedSnapshot()),
  });
  await store.put({
    id: 'swap:2',
    machine: { name: 'swapFulfillment', version: SWAP_MACHINE_VERSION },
    seq: 1,
    snapshot: plain(pending.getPersistedSnapshot()),
  });
  await store.put({
    id: jobMachineId({ chain: 'base', jobId: JOB_ID }),
    machine: { name: 'jobSettlement', version: JOB_MACHINE_VERSION },
    seq: 1,
    snapshot: plain(running.getPersistedSnapshot()),
  });
  await store.put({
    id: 'swap:3',
    machine: { name: 'swapFulfillment', version: SWAP_MACHINE_VERSION },
    seq: 1,
    snapshot: plain(pending.getPersistedSnapshot()),
  });
  await store.archive('swap:3');
  await store.close();
  const { log } = await openRecoveryLog(join(dataDir, 'recovery.jsonl'));
  expect(
    await log.record(entry('swap:1', 'stuck-funds', 'funds sent but the swap left the contract while unmarked')),
  ).toBe('recorded');
  expect(await log.record(entry('swap:5', 'lost-revenue', 'mark_fulfilled refused after the transfer landed'))).toBe(
    'recorded',
  );
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'settle-operator-'));
  dataDir = join(root, 'data');
  mkdirSync(dataDir);
  await buildDataDir();
});

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

/** `settle <args>` in process, with stdout and stderr captured. */
async function settle(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const capture = (append: (text: string) => void) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture((t) => (stdout += t)));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture((t) => (stderr += t)));
  try {
    const code = await main(['node', 'settle', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** `run` with `dir` as the current directory (the commands look for their data there). */
async function inDirectory<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return await run();
  } finally {
    process.chdir(cwd);
  }
}

function inDirectorySync<T>(dir: string, run: () => T): T {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return run();
  } finally {
    process.chdir(cwd);
  }
}

describe('settle status', () => {
  it('lists the live machines with their states, the finished count and the open entries', async () => {
    const before = treeFingerprint(dataDir);
    const { code, stdout, stderr } = await settle('status', '--data-dir', dataDir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`data: ${dataDir}`);
    expect(lines[1]).toBe('daemon: not running');
    expect(lines[2]).toMatch(/^store: [0-9a-f]{32}, position \d+$/);
    expect(lines[3]).toBe('machines: 3 live, 1 finished');
    expect(lines[4]).toMatch(new RegExp(`^  job:base:${JOB_ID}\\s+Running\\s+escrow on base$`));
    expect(lines[5]).toMatch(/^ {2}swap:1\s+Sending\s+2500000000 on tao$/);
    expect(lines[6]).toMatch(/^ {2}swap:2\s+Pending\s+3000000000000000000 on eth$/);
    expect(stdout).toContain('recovery log: 2 entries, 2 open\n');
    expect(stdout).toContain('  swap:1 [stuck-funds] funds sent but the swap left the contract while unmarked\n');
    expect(stdout).toContain('  swap:5 [lost-revenue] mark_fulfilled refused after the transfer landed\n');
    expect(stdout).not.toContain('swap:3');
    expect(treeFingerprint(dataDir)).toEqual(before);
  });

  it('says when the store is older than its witness journal (only the store put back), touching nothing', async () => {
    const { stdout: first } = await settle('status', '--data-dir', dataDir);
    const [, storeId, position] = first.match(/store: ([0-9a-f]{32}), position (\d+)/)!;
    const journal = await FileWitnessJournal.open(join(dataDir, 'witness.jsonl'));
    await journal.append({
      kind: 'broadcast',
      chain: 'eth',
      account: '0x00000000000000000000000000000000000000e1',
      storeId: storeId!,
      at: 't',
      id: '0xfeed',
      nonce: 4,
      ref: 'swap:9',
      position: Number(position) + 5,
    });
    const before = treeFingerprint(dataDir);
    const { code, stdout } = await settle('status', '--data-dir', dataDir);
    expect(code).toBe(0);
    expect(stdout).toContain(
      `STORE BEHIND its witness journal: 1 transfer(s) broadcast at positions up to ${Number(position) + 5}, the store is at ${position} `,
    );
    expect(stdout).toContain('SIGNING HELD on eth (0x00000000000000000000000000000000000000e1): 1 transaction(s)');
    expect(treeFingerprint(dataDir)).toEqual(before);
  });

  it('refuses a shortened log as a daemon would, touching nothing', async () => {
    const log = join(dataDir, 'store', 'log');
    const segment = join(
      log,
      readdirSync(log)
        .filter((n) => n.endsWith('.jsonl'))
        .sort()
        .at(-1)!,
    );
    truncateSync(segment, 0);
    const before = treeFingerprint(dataDir);
    const { code, stdout, stderr } = await settle('status', '--data-dir', dataDir);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /The store is behind what it once held .*a daemon would refuse to start on it; nothing touched/,
    );
    expect(treeFingerprint(dataDir)).toEqual(before);
  });

  it('prints one JSON object with --json', async () => {
    const { code, stdout } = await settle('status', '--data-dir', dataDir, '--json');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    const status = JSON.parse(stdout) as {
      dataDir: string;
      daemonPid: number | null;
      live: { id: string; state: string; seq: number }[];
      archived: number;
      recovery: unknown;
    };
    expect(status.dataDir).toBe(dataDir);
    expect(status.daemonPid).toBeNull();
    expect([...status.live].sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: jobMachineId({ chain: 'base', jobId: JOB_ID }), state: 'Running', seq: 1 },
      { id: 'swap:1', state: 'Sending', seq: 1 },
      { id: 'swap:2', state: 'Pending', seq: 1 },
    ]);
    expect(status.archived).toBe(1);
    expect(status.recovery).toEqual({ entries: 2, open: 2 });
  });

  it('names the daemon while the lock file holds a live pid', async () => {
    writeFileSync(join(dataDir, 'daemon.lock'), `${process.pid}\n`);
    const { stdout } = await settle('status', '--data-dir', dataDir);
    expect(stdout).toContain(`daemon: running (pid ${process.pid})\n`);
  });

  it('takes dataDir from --config, relative to the file, without needing its key files', async () => {
    mkdirSync(join(root, 'etc'));
    const config = join(root, 'etc', 'settle.yaml');
    writeFileSync(
      config,
      [
        'dataDir: ../data',
        'swaps:',
        '  hotkey: { file: keys/does-not-exist }',
        'jobs:',
        '  chains:',
        '    base: { key: { env: SETTLE_SURELY_UNSET_VARIABLE } }',
        '',
      ].join('\n'),
    );
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      const relativeConfig = relative(process.cwd(), config);
      expect(relativeConfig.startsWith('/')).toBe(false);
      expect(dataDirOf({ config: relativeConfig })).toBe(dataDir);
      const { code, stdout, stderr } = await settle('status', '--config', relativeConfig);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain(`data: ${dataDir}\n`);
      expect(stdout).toContain('machines: 3 live, 1 finished');
    } finally {
      process.chdir(cwd);
    }
  });

  it('asks where the data is when given neither flag and this directory holds neither default', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const { code, stdout, stderr } = await inDirectory(empty, () => settle('status'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `settle: say where the data is: --data-dir <dir> or --config <file> (neither ./.settle, where settle start keeps its data, nor ./settle.yaml, a daemon's configuration, is in ${empty})\n`,
    );
    expect(() => inDirectorySync(empty, () => dataDirOf({}))).toThrow(DataDirUnknown);
  });

  it('names a config file without a dataDir, or that cannot be read', async () => {
    const config = join(root, 'nodata.yaml');
    writeFileSync(config, 'swaps: {}\n');
    const missing = await settle('status', '--config', config);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`settle: ${config}: dataDir: a directory path is required\n`);
    expect(() => dataDirOf({ config })).toThrow(ConfigError);
    const absent = await settle('recovery', 'list', '--config', join(root, 'nowhere.yaml'));
    expect(absent.code).toBe(2);
    expect(absent.stderr).toBe(`settle: --config ${join(root, 'nowhere.yaml')}: does not exist\n`);
    writeFileSync(config, '{ dataDir: [unclosed\n');
    const unparsable = await settle('status', '--config', config);
    expect(unparsable.code).toBe(2);
    expect(unparsable.stderr).toMatch(new RegExp(`^settle: ${config}: cannot be read as YAML or JSON: `));
  });

  it('leaves a torn last recovery line alone and says an append is in progress', async () => {
    const log = join(dataDir, 'recovery.jsonl');
    appendFileSync(
      log,
      JSON.stringify({ ...entry('swap:9', 'stuck-funds', 'being written'), check: '0123456789abcdef' }).slice(0, 60),
    );
    const before = treeFingerprint(dataDir);
    const bytes = readFileSync(log);
    const status = await settle('status', '--data-dir', dataDir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('recovery log: 2 entries, 2 open (an append is in progress)\n');
    const list = await settle('recovery', 'list', '--data-dir', dataDir);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('swap:9');
    const json = await settle('status', '--data-dir', dataDir, '--json');
    expect(JSON.parse(json.stdout).recovery).toEqual({ entries: 2, open: 2 });
    expect(readFileSync(log).equals(bytes)).toBe(true);
    expect(existsSync(`${log}.torn-1`)).toBe(false);
    expect(treeFingerprint(dataDir)).toEqual(before);
  });

  it('treats a store holding only an empty log and archive/ (an interrupted creation) as no store', async () => {
    const store = join(dataDir, 'store');
    rmSync(store, { recursive: true });
    mkdirSync(join(store, 'log'), { recursive: true });
    writeFileSync(join(store, 'log', '0000000001.jsonl'), '');
    mkdirSync(join(store, 'archive'));
    const { code, stdout, stderr } = await settle('status', '--data-dir', dataDir);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/no settle store here/);
    expect(readdirSync(store).sort()).toEqual(['archive', 'log']);
    // Creating it now succeeds, and status then sees an empty store.
    const created = await openLowdbSnapshotStore(store, { create: true, knownMachines: knownMachineVersions });
    expect(created.liveCount).toBe(0);
    expect(existsSync(join(store, 'store.json'))).toBe(true);
    const after = await settle('status', '--data-dir', dataDir);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('machines: 0 live, 0 finished');
  });

  it('refuses a store that holds records but lost its manifest', async () => {
    const store = join(dataDir, 'store');
    rmSync(join(store, 'store.json'));
    const { code, stderr } = await settle('status', '--data-dir', dataDir);
    expect(code).toBe(2);
    expect(stderr).toContain(`${join(store, 'store.json')}`);
    expect(stderr).toMatch(/not a settle store, or damaged/);
  });

  it('writes to the stream it is given', async () => {
    const out = new Collector();
    expect(await statusCommand({ dataDir }, out)).toBe(0);
    expect(out.text).toContain('machines: 3 live, 1 finished');
  });
});

describe('settle recovery', () => {
  it('lists both open entries', async () => {
    const { code, stdout } = await settle('recovery', 'list', '--data-dir', dataDir);
    expect(code).toBe(0);
    expect(stdout).toBe(
      'swap:1  [stuck-funds] Recovery: funds sent but the swap left the contract while unmarked\n' +
        'swap:5  [lost-revenue] Recovery: mark_fulfilled refused after the transfer landed\n',
    );
  });

  it('records a resolution with who, why and when; list then shows only the open one, --all both', async () => {
    const before = treeFingerprint(dataDir);
    const resolved = await settle(
      'recovery',
      'resolve',
      'swap:1',
      '--data-dir',
      dataDir,
      '--by',
      'alice',
      '--reason',
      'refunded by hand',
    );
    expect(resolved.stderr).toBe('');
    expect(resolved.code).toBe(0);
    const resolutions = join(dataDir, 'recovery-resolutions.jsonl');
    expect(resolved.stdout).toBe(`resolved swap:1 (recorded in ${resolutions})\n`);
    // Only the resolutions file is new: the store and the recovery log are untouched.
    const after = treeFingerprint(dataDir);
    expect(Object.keys(after).filter((p) => after[p] !== before[p])).toEqual([resolutions]);
    const lines = readFileSync(resolutions, 'utf8').split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const line = JSON.parse(lines[0]!) as Record<string, string>;
    expect(line).toMatchObject({ key: 'swap:1', by: 'alice', reason: 'refunded by hand' });
    expect(new Date(line.at!).toISOString()).toBe(line.at);
    expect(line.check).toMatch(/^[0-9a-f]{16}$/);

    const open = await settle('recovery', 'list', '--data-dir', dataDir);
    expect(open.stdout).toBe('swap:5  [lost-revenue] Recovery: mark_fulfilled refused after the transfer landed\n');
    const all = await settle('recovery', 'list', '--all', '--data-dir', dataDir);
    expect(all.stdout.trimEnd().split('\n')).toEqual([
      `swap:1  [stuck-funds] Recovery: funds sent but the swap left the contract while unmarked  (resolved by alice at ${line.at})`,
      'swap:5  [lost-revenue] Recovery: mark_fulfilled refused after the transfer landed',
    ]);
    const json = await settle('recovery', 'list', '--all', '--json', '--data-dir', dataDir);
    expect(
      (JSON.parse(json.stdout) as { key: string; resolution: unknown }[]).map((e) => [e.key, e.resolution]),
    ).toEqual([
      ['swap:1', { key: 'swap:1', by: 'alice', reason: 'refunded by hand', at: line.at }],
      ['swap:5', null],
    ]);
    const status = await settle('status', '--data-dir', dataDir);
    expect(status.stdout).toContain('recovery log: 2 entries, 1 open\n');
    expect(status.stdout).not.toContain('  swap:1 [stuck-funds]');
  });

  it('refuses to resolve an entry twice, naming the earlier resolver', async () => {
    const first = await recoveryResolve(
      {
        dataDir,
        key: 'swap:1',
        by: 'alice',
        reason: 'refunded by hand',
        now: () => new Date('2030-01-02T03:04:05.000Z'),
      },
      new Collector(),
    );
    expect(first).toBe(0);
    const resolutions = join(dataDir, 'recovery-resolutions.jsonl');
    const bytes = readFileSync(resolutions);
    const again = await settle(
      'recovery',
      'resolve',
      'swap:1',
      '--data-dir',
      dataDir,
      '--by',
      'bob',
      '--reason',
      'also looked',
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(
      "settle: 'swap:1' was already resolved by alice at 2030-01-02T03:04:05.000Z: refunded by hand\n",
    );
    expect(readFileSync(resolutions).equals(bytes)).toBe(true);
  });

  it('refuses an unknown key, and an empty --reason or --by, writing nothing', async () => {
    const unknown = await settle(
      'recovery',
      'resolve',
      'swap:404',
      '--data-dir',
      dataDir,
      '--by',
      'alice',
      '--reason',
      'x',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(`settle: no recovery entry 'swap:404' in ${join(dataDir, 'recovery.jsonl')}\n`);
    const noReason = await settle(
      'recovery',
      'resolve',
      'swap:1',
      '--data-dir',
      dataDir,
      '--by',
      'alice',
      '--reason',
      '',
    );
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/^settle: --reason: say why/);
    const blankReason = await settle(
      'recovery',
      'resolve',
      'swap:1',
      '--data-dir',
      dataDir,
      '--by',
      'alice',
      '--reason',
      '   ',
    );
    expect(blankReason.code).toBe(2);
    const noBy = await settle(
      'recovery',
      'resolve',
      'swap:1',
      '--data-dir',
      dataDir,
      '--by',
      ' ',
      '--reason',
      'refunded',
    );
    expect(noBy.code).toBe(2);
    expect(noBy.stderr).toMatch(/^settle: --by: say who/);
    const missingOption = await settle('recovery', 'resolve', 'swap:1', '--data-dir', dataDir, '--by', 'alice');
    expect(missingOption.code).toBe(2);
    expect(missingOption.stderr).toMatch(/--reason/);
    expect(existsSync(join(dataDir, 'recovery-resolutions.jsonl'))).toBe(false);
  });

  it('shows one entry whole, with its resolution once resolved', async () => {
    const open = await settle('recovery', 'show', 'swap:1', '--data-dir', dataDir);
    expect(open.code).toBe(0);
    expect(JSON.parse(open.stdout)).toEqual({
      ...entry('swap:1', 'stuck-funds', 'funds sent but the swap left the contract while unmarked'),
      resolution: null,
    });
    await recoveryResolve(
      {
        dataDir,
        key: 'swap:1',
        by: 'alice',
        reason: 'refunded by hand',
        now: () => new Date('2030-01-02T03:04:05.000Z'),
      },
      new Collector(),
    );
    const shown = await settle('recovery', 'show', 'swap:1', '--data-dir', dataDir);
    expect(JSON.parse(shown.stdout)).toEqual({
      ...entry('swap:1', 'stuck-funds', 'funds sent but the swap left the contract while unmarked'),
      resolution: { key: 'swap:1', by: 'alice', reason: 'refunded by hand', at: '2030-01-02T03:04:05.000Z' },
    });
    const missing = await settle('recovery', 'show', 'swap:404', '--data-dir', dataDir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no recovery entry 'swap:404'");
  });

  it('says the log is empty or that nothing is open', async () => {
    for (const key of ['swap:1', 'swap:5']) {
      await recoveryResolve({ dataDir, key, by: 'alice', reason: 'done' }, new Collector());
    }
    expect((await settle('recovery', 'list', '--data-dir', dataDir)).stdout).toBe('recovery log: nothing open\n');
    rmSync(join(dataDir, 'recovery.jsonl'));
    expect((await settle('recovery', 'list', '--all', '--data-dir', dataDir)).stdout).toBe('recovery log: empty\n');
  });

  // A `settle recovery resolve` killed mid-append leaves a torn last line; the next resolution
  // must not be glued onto it (the merged line would not be JSON and every later command fail).
  it('a resolution after one torn by a crash is still readable, and the torn part is kept aside', async () => {
    await recoveryResolve({ dataDir, key: 'swap:5', by: 'bob', reason: 'checked on chain' }, new Collector());
    const resolutions = join(dataDir, 'recovery-resolutions.jsonl');
    appendFileSync(resolutions, '{"key":"swap:1","by":"ali'); // killed mid-append
    expect((await settle('recovery', 'list', '--data-dir', dataDir)).stdout).toContain('swap:1'); // the torn one is not counted
    const resolved = await settle(
      'recovery',
      'resolve',
      'swap:1',
      '--data-dir',
      dataDir,
      '--by',
      'alice',
      '--reason',
      'refunded by hand',
    );
    expect(resolved.code).toBe(0);
    const all = await settle('recovery', 'list', '--all', '--data-dir', dataDir);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/swap:1 .*resolved by alice/);
    expect(readFileSync(`${resolutions}.torn-1`, 'utf8')).toBe('{"key":"swap:1","by":"ali');
  });
});
