/**
 * The swap manager client against the served cluster (FakeCluster + SwapManagerModel): listing
 * at one commitment with undecodable accounts skipped, the cluster's clock, mark_fulfilled's
 * refusals case by case as the program returns them, lost answers, expiry, and how a closed
 * swap ended according to its events.
 */
import { createSolanaRpc } from '@solana/kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwapManagerClient } from '../../src/chains/solana/swapManager/swapManagerClient.ts';
import { collectingLogger, type LogLine } from '../support/collectingLogger.ts';
import { FakeCluster } from '../support/solana/fakeCluster.ts';
import { newKeypair, type TestKeypair } from '../support/solana/keys.ts';
import { REF, swapAccountBytes } from '../support/solana/swapManagerBytes.ts';
import { SwapManagerModel } from '../support/solana/swapManagerProgram.ts';

const DEVNET = 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG';
const T0 = 1_780_000_000;

let cluster: FakeCluster;
let program: SwapManagerModel;
let miner: TestKeypair;
let client: SwapManagerClient;
let lines: LogLine[];
let url: string;

function swapFields(n: number, over: Record<string, unknown> = {}) {
  return {
    user: newKeypair().address,
    miner: miner.address,
    fromChain: 'btc',
    toChain: 'sol',
    userFromAddr: 'bc1quser',
    userToAddr: newKeypair().address,
    minerFromAddr: 'bc1qminer',
    minerToAddr: miner.address,
    rate: 10n ** 18n,
    collateralChain: 'sol',
    collateralAmount: 1_000_000_000n,
    fromAmount: 100_000n,
    toAmount: 2_000_000_199n,
    fromTxHash: `btc-deposit-${n}`,
    fromTxBlock: 840_000 + n,
    toTxHash: '',
    toTxBlock: 0,
    fulfilledAt: 0,
    bump: 254,
    hotkey: '00'.repeat(32),
    ...over,
  };
}

let newClient: (ms: number) => SwapManagerClient;

beforeEach(async () => {
  cluster = new FakeCluster(DEVNET, T0);
  program = new SwapManagerModel(cluster);
  miner = newKeypair();
  cluster.fund(miner.address, 1_000_000_000n);
  program.createMinerState(miner.address);
  url = await cluster.listen();
  lines = [];
  const signer = await miner.signer();
  newClient = (markTimeoutMs) =>
    new SwapManagerClient({
      rpc: createSolanaRpc(url),
      programId: REF.programId,
      signer,
      log: collectingLogger(lines),
      pollMs: 5,
      markTimeoutMs,
    });
  client = newClient(5_000);
});

afterEach(async () => {
  await cluster.close();
});

describe('reads', () => {
  it('reads the genesis hash and the Clock sysvar, not the host clock', async () => {
    expect(await client.genesisHash()).toBe(DEVNET);
    cluster.warp(12.7);
    expect(await client.clusterTime()).toBe(T0 + 12);
  });

  it('lists our swaps only, keyed by keccak256(from_tx_hash), with one filtered getProgramAccounts', async () => {
    const ours = program.initiate(swapFields(1));
    program.initiate({ ...swapFields(2), miner: newKeypair().address });
    const listed = await client.listOurs();
    expect(listed.map((s) => s.key)).toEqual([ours]);
    expect(listed[0]!.account).toMatchObject({
      status: 'Active',
      toAmount: 2_000_000_199n,
      minerToAddr: miner.address,
      timeoutAt: T0 + 600,
    });
    expect(listed[0]!.problem).toBeNull();
    expect(cluster.calls.filter((m) => m === 'getProgramAccounts')).toHaveLength(1);
  });

  it('logs and skips an account of ours that does not decode; the others are still served', async () => {
    const good = program.initiate(swapFields(1));
    const broken = swapAccountBytes({
      ...swapFields(3),
      status: 7,
      initiatedAt: T0,
      timeoutAt: T0 + 600,
      maxExtendAt: T0 + 9_000,
    } as never);
    program.plantAccount(newKeypair().address, broken);
    const listed = await client.listOurs();
    expect(listed.map((s) => s.key)).toEqual([good]);
    expect(
      lines.some(
        (l) =>
          l.level === 'error' &&
          /does not decode/.test(l.message ?? '') &&
          /unknown SwapStatus tag 7/.test(String(l.fields['err'])),
      ),
    ).toBe(true);
  });

  it('flags a decodable swap that is not at its PDA (mark_fulfilled could never pass its seeds)', async () => {
    const fields = { ...swapFields(4), status: 0, initiatedAt: T0, timeoutAt: T0 + 600, maxExtendAt: T0 + 9_000 };
    const elsewhere = newKeypair().address;
    program.plantAccount(elsewhere, swapAccountBytes(fields as never));
    const [listed] = await client.listOurs();
    expect(listed!.problem).toMatch(/is not at its PDA/);
  });

  it('reads a swap back by key, and null for a key with no account', async () => {
    const key = program.initiate(swapFields(1));
    expect((await client.readSwap(key))?.status).toBe('Active');
    expect(await client.readSwap('00'.repeat(32))).toBeNull();
  });
});

describe('mark_fulfilled', () => {
  beforeEach(() => cluster.autoAdvance(2));

  it('lands at confirmed, with to_tx_hash and to_tx_block stored and no amount passed', async () => {
    const key = program.initiate(swapFields(1));
    expect(await client.markFulfilled(key, '5payoutsig', 1234)).toEqual({ ok: true });
    expect(program.swap(key)).toMatchObject({ status: 1, toTxHash: '5payoutsig', toTxBlock: 1234 });
    expect(program.appliedMarks()).toEqual([expect.objectContaining({ key, toTxHash: '5payoutsig' })]);
  });

  it('a mark close to the deadline extends it by the destination grace (sol: 120 s), never past max_extend_at', async () => {
    const key = program.initiate({ ...swapFields(1), timeoutSecs: 60 });
    expect(await client.markFulfilled(key, 'sig', 0)).toEqual({ ok: true });
    const swap = program.swap(key)!;
    expect(swap.timeoutAt).toBeGreaterThan(T0 + 60);
    expect(swap.timeoutAt).toBeLessThanOrEqual(swap.fulfilledAt + 120);
  });

  const refusals: Array<[string, () => Promise<string>]> = [
    [
      'InvalidStatus when the swap is already Fulfilled (our own earlier mark)',
      async () => {
        const key = program.initiate(swapFields(1));
        await client.markFulfilled(key, 'first', 0);
        return key;
      },
    ],
    [
      'AccountNotInitialized when the swap is closed',
      async () => {
        const key = program.initiate(swapFields(1));
        await client.markFulfilled(key, 'first', 0);
        program.confirm(key);
        return key;
      },
    ],
    [
      "ConstraintHasOne when the swap is another miner's",
      async () => program.initiate({ ...swapFields(1), miner: newKeypair().address }),
    ],
    [
      'BackingNotSupported when the grace applies and the backing is no hub',
      async () => program.initiate({ ...swapFields(1), collateralChain: 'btc', timeoutSecs: 60 }),
    ],
  ];
  it.each(refusals)('refuses with %s; the preflight spends no fee', async (name, setup) => {
    const key = await setup();
    const before = cluster.balance(miner.address);
    const outcome = await client.markFulfilled(key, 'second', 0);
    expect(outcome).toEqual({ ok: false, error: name.split(' ')[0] });
    expect(cluster.balance(miner.address)).toBe(before);
  });

  it('AccountNotInitialized when our MinerState does not exist', async () => {
    const key = program.initiate(swapFields(1));
    cluster.accounts.delete(program.minerPda(miner.address));
    expect(await client.markFulfilled(key, 'sig', 0)).toEqual({ ok: false, error: 'AccountNotInitialized' });
  });

  it('StringTooLong for a hash over 128 bytes, without sending', async () => {
    const key = program.initiate(swapFields(1));
    expect(await client.markFulfilled(key, 'x'.repeat(129), 0)).toEqual({ ok: false, error: 'StringTooLong' });
    expect(cluster.calls).not.toContain('sendTransaction');
  });

  it('InsufficientBalance when the miner cannot pay the fee', async () => {
    const key = program.initiate(swapFields(1));
    cluster.accounts.get(miner.address)!.lamports = 100n;
    expect(await client.markFulfilled(key, 'sig', 0)).toEqual({ ok: false, error: 'InsufficientBalance' });
  });

  it('follows a mark whose answer was lost to its confirmation', async () => {
    const key = program.initiate(swapFields(1));
    cluster.hook = (method) => (method === 'sendTransaction' ? 'fail-after' : undefined);
    expect(await client.markFulfilled(key, 'sig', 0)).toEqual({ ok: true });
    expect(program.swap(key)?.status).toBe(1);
  });

  it('says BlockhashExpired for a mark the leader dropped, once no block can include it', async () => {
    const key = program.initiate(swapFields(1));
    cluster.dropIncoming = true;
    expect(await client.markFulfilled(key, 'sig', 0)).toEqual({ ok: false, error: 'BlockhashExpired' });
    expect(program.swap(key)?.status).toBe(0);
  });

  it('says OutcomeUnknown when the cluster stops answering after the send', async () => {
    const key = program.initiate(swapFields(1));
    cluster.dropIncoming = true;
    cluster.hook = (method) =>
      method === 'sendTransaction' || method === 'getLatestBlockhash' ? undefined : 'fail-before';
    expect(await newClient(200).markFulfilled(key, 'sig', 0)).toEqual({ ok: false, error: 'OutcomeUnknown' });
  });

  it('names the program error of a mark that passed preflight and failed on chain (a race)', async () => {
    const key = program.initiate(swapFields(1));
    const [a, b] = await Promise.all([client.markFulfilled(key, 'one', 0), client.markFulfilled(key, 'two', 0)]);
    expect([a, b]).toContainEqual({ ok: true });
    expect([a, b]).toContainEqual({ ok: false, error: 'InvalidStatus' });
  });
});

describe('closed swaps, from events', () => {
  beforeEach(() => cluster.autoAdvance(2));

  it.each([
    ['Completed', (key: string) => program.confirm(key)],
    [
      'TimedOut',
      (key: string) => {
        cluster.warp(10_000);
        return program.timeout(key);
      },
    ],
    ['Cancelled', (key: string) => program.cancel(key, 1)],
  ] as const)('%s, with the dest tx of its SwapFulfilled', async (status, close) => {
    const key = program.initiate(swapFields(1));
    await client.markFulfilled(key, 'paid-sig', 7);
    expect(close(key)).toBeNull();
    expect(await client.readSwap(key)).toBeNull();
    expect(await client.closedSwap(key)).toEqual({ status, miner: miner.address, toTxHash: 'paid-sig' });
  });

  it('a swap closed without our mark has no dest tx; a swap never seen is unknown (null)', async () => {
    const key = program.initiate(swapFields(1));
    cluster.warp(700);
    program.timeout(key);
    expect(await client.closedSwap(key)).toEqual({ status: 'TimedOut', miner: miner.address, toTxHash: '' });
    expect(await client.closedSwap('ab'.repeat(32))).toBeNull();
  });

  it('ignores events of failed transactions', async () => {
    const key = program.initiate(swapFields(1));
    expect(program.confirm(key)).not.toBeNull(); // not Fulfilled: refused, logged nothing applied
    expect(await client.closedSwap(key)).toBeNull();
  });
});

describe('the served cluster', () => {
  it('refuses a transaction whose signature does not verify, and applies nothing', async () => {
    const key = program.initiate(swapFields(1));
    const {
      createTransactionMessage,
      pipe,
      setTransactionMessageFeePayerSigner,
      setTransactionMessageLifetimeUsingBlockhash,
      appendTransactionMessageInstruction,
      signTransactionMessageWithSigners,
      getBase64EncodedWireTransaction,
    } = await import('@solana/kit');
    const rpc = createSolanaRpc(url);
    const minerSigner = (client as unknown as { options: { signer: Awaited<ReturnType<TestKeypair['signer']>> } })
      .options.signer;
    const { value: lifetime } = await rpc.getLatestBlockhash().send();
    const instruction = await client.markInstruction(key, 'sig', 0);
    const tx = await signTransactionMessageWithSigners(
      pipe(
        createTransactionMessage({ version: 'legacy' }),
        (m) => setTransactionMessageFeePayerSigner(minerSigner, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
        (m) => appendTransactionMessageInstruction(instruction, m),
      ),
    );
    const wire = Buffer.from(getBase64EncodedWireTransaction(tx), 'base64');
    wire[10] = wire[10]! ^ 0xff; // inside the first signature
    await expect(rpc.sendTransaction(wire.toString('base64') as never, { encoding: 'base64' }).send()).rejects.toThrow(
      /signature verification/i,
    );
    expect(program.swap(key)?.status).toBe(0);
  });
});
