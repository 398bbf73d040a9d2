/**
 * The kill -9 torture, Solana setup: `settle daemon` configured for the allways swap manager on
 * Solana (contract: solana, a SOL destination paid by the miner's keypair) as a real child
 * process against the cluster served on 127.0.0.1 by this process (FakeCluster +
 * SwapManagerModel, a slot every 50 ms), killed with SIGKILL at random instants while swaps are
 * initiated. Then it runs to the end, and the cluster is checked:
 * - never pays twice: at most one payout to each user, exactly one for a Fulfilled swap;
 * - never pays short: each payout at least to_amount - floor(to_amount / 100);
 * - never pays from elsewhere: each payout fee-paid by the swap's pinned miner_to_addr;
 * - marks every swap it paid, once, with that payout's signature; never marks one it did not pay;
 * - the validators' own check of each Fulfilled swap's payout passes;
 * - every machine in Recovery has its recovery-log entry.
 * With `plantSecondPayout`: once the run is checked, the miner's own SOL sender pays one
 * Fulfilled swap again (what a daemon that paid twice leaves on the cluster), and the same
 * checks run again: `plantedCaught` lists what they say (they must say "paid 2 times").
 */
import { createWriteStream, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSolanaRpc, type Address } from '@solana/kit';
import prand from 'pure-rand';
import { knownMachineVersions } from '../../machines/index.ts';
import { finalMachines } from '../../sim/simHost.ts';
import { solanaSigner } from '../../src/chains/keys.ts';
import { SolanaTransferSender } from '../../src/chains/solana/solanaTransferSender.ts';
import { openLowdbSnapshotStore } from '../../src/store/lowdbSnapshotStore.ts';
import { readRecoveryLog } from '../../src/store/recoveryLog.ts';
import { spawnSettleDaemon } from '../support/daemonRig.ts';
import { FakeCluster } from '../support/solana/fakeCluster.ts';
import { newKeypair } from '../support/solana/keys.ts';
import { SwapManagerModel } from '../support/solana/swapManagerProgram.ts';

const MAINNET = '5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d';

export interface SolanaTortureOptions {
  readonly kills: number;
  readonly seed: number;
  readonly swaps: number;
  readonly progress?: (line: string) => void;
  /** After the checks, pay one Fulfilled swap a second time and check again (the checks must catch it). */
  readonly plantSecondPayout?: boolean;
}

export interface SolanaTortureReport {
  readonly dir: string;
  readonly kills: number;
  readonly swapStates: Record<string, number>;
  readonly payouts: number;
  readonly marks: number;
  readonly recoveryEntries: number;
  readonly violations: string[];
  /** With plantSecondPayout: what the checks say after the planted second payout. */
  readonly plantedCaught: string[];
}

interface Planned {
  readonly key: string;
  readonly user: string;
  readonly toAmount: bigint;
}

export async function runSolanaTorture(options: SolanaTortureOptions): Promise<SolanaTortureReport> {
  const say = options.progress ?? (() => undefined);
  let rng = prand.xoroshiro128plus(options.seed);
  const draw = (min: number, max: number): number => {
    const [value, next] = prand.uniformIntDistribution(min, max, rng);
    rng = next;
    return value;
  };
  const dir = mkdtempSync(join(tmpdir(), 'settle-soltorture-'));
  const cluster = new FakeCluster(MAINNET, 1_780_000_000);
  const program = new SwapManagerModel(cluster);
  const miner = newKeypair();
  cluster.fund(miner.address, 10n ** 15n);
  program.createMinerState(miner.address);
  // The SOL sender signs each payout against a durable nonce account of the miner's key.
  const nonceAccounts = [newKeypair().address, newKeypair().address, newKeypair().address];
  for (const account of nonceAccounts) cluster.createNonceAccount(account, miner.address);
  const url = await cluster.listen();
  cluster.autoAdvance(50);
  writeFileSync(join(dir, 'miner.json'), miner.json, { mode: 0o600 });
  const configPath = join(dir, 'settle.yaml');
  writeFileSync(
    configPath,
    `dataDir: ./data
log: { level: info }
maxBackoffMs: 1000
swaps:
  contract: solana
  solana: { rpcUrl: "${url}", cluster: mainnet, keypair: { file: ./miner.json }, markTimeoutSecs: 20 }
  pollIntervalMs: 200
  destinations:
    sol: { type: solana, rpcUrl: "${url}", key: { file: ./miner.json }, asset: sol, network: devnet, nonceAccounts: [${nonceAccounts.map((a) => `"${a}"`).join(', ')}] }
`,
  );
  const dataDir = join(dir, 'data');
  const log = createWriteStream(join(dir, 'daemon.log'), { flags: 'a' });
  const children: ChildProcess[] = [];
  const spawn = () => spawnSettleDaemon(configPath, dataDir, log, children);
  try {
    let daemon = spawn();
    await waitFor(
      () => existsSync(join(dataDir, 'store', 'store.json')),
      60_000,
      'the first daemon to create its store',
    );
    const planned: Planned[] = [];
    const stepMs = Math.max(400, Math.floor((options.kills * 3_000) / Math.max(1, options.swaps)));
    const scenario = (async () => {
      for (let i = 0; i < options.swaps; i += 1) {
        // One live swap per hub: wait for the hub to be free (the validators confirm or time out).
        while (planned.some((p) => program.swap(p.key) !== null)) await sleep(100);
        const user = newKeypair().address;
        const toAmount = BigInt(draw(100, 5_000)) * 1_000_000n + BigInt(draw(0, 199));
        const key = program.initiate({
          user: newKeypair().address,
          miner: miner.address,
          fromChain: 'btc',
          toChain: 'sol',
          userFromAddr: 'bc1quser',
          userToAddr: user,
          minerFromAddr: 'bc1qminer',
          minerToAddr: miner.address,
          rate: 10n ** 18n,
          collateralChain: 'sol',
          collateralAmount: 10n ** 9n,
          fromAmount: 100_000n,
          toAmount,
          fromTxHash: `btc-${options.seed}-${i}`,
          fromTxBlock: 840_000 + i,
          toTxHash: '',
          toTxBlock: 0,
          fulfilledAt: 0,
          bump: 254,
          hotkey: '00'.repeat(32),
          timeoutSecs: 3_600,
        });
        planned.push({ key, user, toAmount });
        await sleep(stepMs);
      }
    })();
    // The validators: confirm a Fulfilled swap once its payout checks out with 32 confirmations.
    const validators = setInterval(() => {
      for (const p of planned)
        if (program.swap(p.key)?.status === 1 && program.verifyPayout(p.key) === 'ok') program.confirm(p.key);
    }, 100);
    for (let kill = 1; kill <= options.kills; kill += 1) {
      if (draw(1, 5) === 1) await sleep(draw(0, 3_000));
      else if (await Promise.race([daemon.started, sleep(60_000).then(() => false)])) await sleep(draw(0, 1_500));
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      if (kill % 10 === 0 || kill === options.kills)
        say(`kill -9 #${kill}/${options.kills} (${planned.length}/${options.swaps} swaps initiated)`);
      daemon = spawn();
    }
    await scenario;
    say('kills done; letting the daemon finish every swap');
    await waitFor(
      async () => (await archivedCount(dataDir)) === options.swaps,
      240_000,
      `all ${options.swaps} swaps to finish`,
    );
    await waitFor(
      () => planned.every((p) => program.swap(p.key) === null),
      60_000,
      'the validators to close every swap',
    );
    clearInterval(validators);
    if (!(await Promise.race([daemon.started, sleep(60_000).then(() => false)])))
      throw new Error('the last daemon never started');
    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    const violations: string[] = code === 0 ? [] : [`the daemon exited ${code} on SIGTERM, not 0`];
    const checked = await verify(cluster, program, miner.address, dataDir, planned, violations);
    let plantedCaught: string[] = [];
    if (options.plantSecondPayout === true) {
      await payAgain(url, miner.json, nonceAccounts, cluster, planned, checked.swapStates);
      plantedCaught = (await verify(cluster, program, miner.address, dataDir, planned, [])).violations;
    }
    return { dir, kills: options.kills, ...checked, plantedCaught };
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    log.end();
    await cluster.close();
  }
}

/** The planted bug: the miner's own SOL sender pays the first swap of the run again, and it lands. */
async function payAgain(
  url: string,
  keypairJson: string,
  nonceAccounts: readonly string[],
  cluster: FakeCluster,
  planned: readonly Planned[],
  states: Record<string, number>,
): Promise<void> {
  if ((states['Fulfilled'] ?? 0) === 0) throw new Error('no Fulfilled swap to pay a second time');
  const paidOnce = cluster.systemTransfers().map((t) => t.to);
  const victim = planned.find((p) => paidOnce.includes(p.user))!;
  const sender = new SolanaTransferSender({
    chain: 'sol',
    rpc: createSolanaRpc(url),
    signer: await solanaSigner(keypairJson),
    asset: { kind: 'sol' },
    nonceAccounts: nonceAccounts as Address[],
    commitment: 'confirmed',
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const signed = await sender.sign({ swapId: victim.key, chain: 'sol', to: victim.user, amount: victim.toAmount });
  await sender.broadcast(signed.raw);
  await waitFor(
    () => cluster.systemTransfers().filter((t) => t.to === victim.user).length === 2,
    30_000,
    'the planted second payout to land',
  );
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function archivedCount(dataDir: string): Promise<number> {
  try {
    const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
      create: false,
      readOnly: true,
      knownMachines: knownMachineVersions,
    });
    return store.archivedIds.size;
  } catch {
    return -1; // between a daemon's start and its store: ask again
  }
}

async function verify(
  cluster: FakeCluster,
  program: SwapManagerModel,
  pin: string,
  dataDir: string,
  planned: readonly Planned[],
  violations: string[],
) {
  const store = await openLowdbSnapshotStore(join(dataDir, 'store'), {
    create: false,
    readOnly: true,
    knownMachines: knownMachineVersions,
  });
  const finals = await finalMachines(store);
  const { entries } = await readRecoveryLog(join(dataDir, 'recovery.jsonl'));
  const recoveryKeys = new Set(entries.map((e) => e.key));
  const transfers = cluster.systemTransfers();
  const marks = program.appliedMarks();
  const swapStates: Record<string, number> = {};
  for (const p of planned) {
    const id = `swap:${p.key}`;
    const machine = finals.get(id);
    if (machine === undefined) {
      violations.push(`${id}: never finished`);
      continue;
    }
    swapStates[machine.state] = (swapStates[machine.state] ?? 0) + 1;
    const paid = transfers.filter((t) => t.to === p.user);
    const owed = p.toAmount - p.toAmount / 100n;
    const marked = marks.filter((m) => m.key === p.key);
    if (paid.length > 1) violations.push(`${id}: paid ${paid.length} times`);
    for (const t of paid) {
      if (t.received < owed) violations.push(`${id}: paid ${t.received}, short of ${owed}`);
      if (t.feePayer !== pin || t.from !== pin)
        violations.push(`${id}: paid from ${t.from} (fee payer ${t.feePayer}), not the pin ${pin}`);
    }
    if (marked.length > 1) violations.push(`${id}: marked ${marked.length} times`);
    if (marked.length === 1 && (paid.length !== 1 || marked[0]!.toTxHash !== paid[0]!.signature))
      violations.push(`${id}: marked with ${marked[0]!.toTxHash}, not a payout of ours`);
    if (paid.length === 1 && marked.length !== 1) violations.push(`${id}: paid but never marked`);
    if (machine.state === 'Fulfilled' && paid.length !== 1)
      violations.push(`${id}: Fulfilled with ${paid.length} payouts`);
    if (machine.state === 'Recovery' && !recoveryKeys.has(id))
      violations.push(`${id}: in Recovery without a recovery entry`);
    if (machine.state !== 'Fulfilled' && machine.state !== 'Recovery' && paid.length !== 0)
      violations.push(`${id}: ended ${machine.state} but paid`);
  }
  return { swapStates, payouts: transfers.length, marks: marks.length, recoveryEntries: entries.length, violations };
}
