/**
 * The served Solana test node itself (test/support/solana/): what the sender tests rely on it
 * to model, checked through @solana/kit's own rpc client: commitment levels of account state
 * and signature status, the blockhash window, the preflight's refusals, token balances from
 * the programs' accounts, and one-shot faults.
 */
import {
  createSolanaRpc,
  getBase64EncodedWireTransaction,
  isSolanaError,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  type Address,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSolanaTestNode, type SolanaTestNode } from '../support/solana/litesvmRpc.ts';
import { SolanaFixture } from '../support/solana/solanaFixture.ts';

let node: SolanaTestNode;
let fx: SolanaFixture;

beforeAll(async () => {
  node = await startSolanaTestNode({ confirmedDepth: 1, finalizedDepth: 3, blockhashValidBlocks: 5 });
  fx = new SolanaFixture(node);
});

afterAll(async () => {
  await node?.close();
});

const balance = async (address: Address, commitment: 'processed' | 'confirmed' | 'finalized') =>
  (await createSolanaRpc(node.url).getBalance(address, { commitment }).send()).value;

describe('the LiteSVM-backed Solana node', () => {
  it('shows a transfer at processed first, then confirmed, then finalized, in state and in status', async () => {
    const rpc = createSolanaRpc(node.url);
    const payer = await fx.fundedKey(2_000_000_000n);
    const to = (await fx.fundedKey(1_000_000_000n)).address;
    const tx = await fx.build(payer, [getTransferSolInstruction({ source: payer, destination: to, amount: 5n })]);
    const signature = await rpc.sendTransaction(getBase64EncodedWireTransaction(tx), { encoding: 'base64' }).send();
    expect((await rpc.getSignatureStatuses([signature]).send()).value).toEqual([null]);
    const seen: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      node.chain.produceBlocks(1);
      const [status] = (await rpc.getSignatureStatuses([signature]).send()).value;
      seen.push([
        status?.confirmationStatus,
        await balance(to, 'processed'),
        await balance(to, 'confirmed'),
        await balance(to, 'finalized'),
      ]);
    }
    expect(seen).toEqual([
      ['processed', 1_000_000_005n, 1_000_000_000n, 1_000_000_000n],
      ['confirmed', 1_000_000_005n, 1_000_000_005n, 1_000_000_000n],
      ['confirmed', 1_000_000_005n, 1_000_000_005n, 1_000_000_000n],
      ['finalized', 1_000_000_005n, 1_000_000_005n, 1_000_000_005n],
    ]);
  });

  it('takes a recent blockhash within its window only, and refuses in preflight what would fail, with the programs logs', async () => {
    const rpc = createSolanaRpc(node.url);
    const payer = await fx.fundedKey(1_000_000_000n);
    const to = (await fx.fundedKey(1_000_000_000n)).address;
    const old = await fx.build(payer, [getTransferSolInstruction({ source: payer, destination: to, amount: 1n })]);
    node.chain.produceBlocks(6);
    const error = await rpc
      .sendTransaction(getBase64EncodedWireTransaction(old), { encoding: 'base64' })
      .send()
      .catch((e: unknown) => e);
    expect(isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)).toBe(true);
    expect((error as Error).cause).toMatchObject({ message: expect.stringMatching(/blockhash/i) });

    const tooMuch = await fx.build(payer, [
      getTransferSolInstruction({ source: payer, destination: to, amount: 10_000_000_000n }),
    ]);
    const refused = await rpc
      .sendTransaction(getBase64EncodedWireTransaction(tooMuch), { encoding: 'base64' })
      .send()
      .catch((e: unknown) => e);
    expect((refused as { context: { logs: string[] } }).context.logs.join('\n')).toMatch(/insufficient lamports/);
    expect(node.chain.poolSize).toBe(0);
  });

  it('reads token balances with the mint decimals, and arms one-shot faults', async () => {
    const rpc = createSolanaRpc(node.url);
    const issuer = await fx.fundedKey(1_000_000_000n);
    const mint = await fx.mint(issuer, 6);
    const account = await fx.mintTo(issuer, mint, issuer.address, 1_500_000n, 6);
    expect((await rpc.getTokenAccountBalance(account).send()).value).toMatchObject({
      amount: '1500000',
      decimals: 6,
      uiAmountString: '1.5',
    });
    node.server.failNext('getSlot', 'before');
    await expect(rpc.getSlot().send()).rejects.toThrow(/503/);
    await expect(rpc.getSlot().send()).resolves.toBe(node.chain.slotAt('confirmed')); // kit's default commitment
  });
});
