/**
 * Esplora's answers over a simulated UTXO ledger (simUtxoChain.ts), for the real BTC sender:
 * the outputs of an address not spent in a block or the mempool, a transaction's status, what
 * spends an output, and a broadcast checked as a node checks what this model knows (inputs
 * exist and are unspent; a conflict with the mempool or a block is refused in bitcoind's
 * words). Scripts and signatures are not checked here: the tests' fake Esplora does that.
 *
 * An accepted payout is also listed in the ledger's transfers, with the swap it pays as the
 * simulator recorded it at signing, so the invariants count it.
 */
import { NETWORK, Transaction } from '@scure/btc-signer';
import { inputsOf } from '../../src/chains/bitcoin/btcBuild.ts';
import { hexToBytes } from '../../src/chains/bitcoin/btcTx.ts';
import type {
  AddressTx,
  BroadcastAnswer,
  EsploraApi,
  Outspend,
  TxStatus,
  Utxo,
} from '../../src/chains/bitcoin/esplora.ts';
import type { Ledger, World } from '../world.ts';
import { utxoOf, utxoView, type UtxoTx } from './simUtxoChain.ts';

export class SimEsplora implements EsploraApi {
  constructor(
    private readonly world: World,
    readonly chain: string,
  ) {}

  private get ledger(): Ledger {
    return this.world.state.ledgers[this.chain]!;
  }

  async tipHeight(): Promise<number> {
    return this.ledger.height;
  }

  async utxos(address: string): Promise<Utxo[]> {
    const view = utxoView(utxoOf(this.ledger));
    const out: Utxo[] = [];
    for (const [outpoint, o] of view.outputs) {
      if (o.address !== address || view.spentBy.has(outpoint)) continue;
      const [txid, vout] = outpoint.split(':') as [string, string];
      out.push({ txid, vout: Number(vout), value: o.value, height: o.height });
    }
    return out;
  }

  async txStatus(txid: string): Promise<TxStatus | null> {
    const tx = utxoOf(this.ledger).txs[txid];
    return tx === undefined ? null : statusOf(this.chain, tx);
  }

  async txHex(txid: string): Promise<string | null> {
    const raw = utxoOf(this.ledger).txs[txid]?.raw;
    return raw === undefined || raw === '' ? null : raw;
  }

  async outspend(txid: string, vout: number): Promise<Outspend> {
    const spender = utxoView(utxoOf(this.ledger)).spentBy.get(`${txid}:${vout}`);
    return spender === undefined
      ? { spent: false }
      : { spent: true, txid: spender.txid, status: statusOf(this.chain, spender) };
  }

  /** As Esplora pages it: up to 50 in the mempool, then the 25 newest confirmed, newest first. */
  async addressTxs(address: string): Promise<AddressTx[]> {
    const view = utxoView(utxoOf(this.ledger));
    const addressOf = (outpoint: string): string | null => view.outputs.get(outpoint)?.address ?? null;
    const touching = Object.values(utxoOf(this.ledger).txs).filter(
      (tx) => tx.outputs.some((o) => o.address === address) || tx.inputs.some((i) => addressOf(i) === address),
    );
    const newestFirst = (a: UtxoTx, b: UtxoTx): number =>
      (b.includedBlock ?? 0) - (a.includedBlock ?? 0) || (a.txid < b.txid ? 1 : -1);
    const pooled = touching
      .filter((tx) => tx.includedBlock === null)
      .sort(newestFirst)
      .slice(0, 50);
    const mined = touching
      .filter((tx) => tx.includedBlock !== null)
      .sort(newestFirst)
      .slice(0, 25);
    return [...pooled, ...mined].map((tx) => ({
      txid: tx.txid,
      status: statusOf(this.chain, tx),
      inputs: tx.inputs.map(addressOf),
      outputs: tx.outputs.map((o) => ({ address: o.address, value: BigInt(o.value) })),
    }));
  }

  async feeEstimates(): Promise<Readonly<Record<string, number>>> {
    return { '2': 3, '3': 2 };
  }

  /** A reorganisation deletes what its block held: every block still named is on the best chain. */
  async blockInBestChain(): Promise<boolean | null> {
    return true;
  }

  async broadcast(rawHex: string): Promise<BroadcastAnswer> {
    const ledger = this.ledger;
    const utxo = utxoOf(ledger);
    const tx = Transaction.fromRaw(hexToBytes(rawHex), { allowUnknownOutputs: true });
    const known = utxo.txs[tx.id];
    if (known !== undefined)
      return known.includedBlock === null ? { accepted: true } : refused(-27, 'Transaction already in block chain');
    const view = utxoView(utxo);
    const inputs = inputsOf(tx);
    for (const input of inputs) {
      const spender = view.spentBy.get(input);
      if (spender !== undefined && spender.includedBlock === null) return refused(-26, 'txn-mempool-conflict');
      if (spender !== undefined || !view.outputs.has(input)) return refused(-25, 'bad-txns-inputs-missingorspent');
    }
    const outputs = Array.from({ length: tx.outputsLength }, (_, i) => ({
      address: tx.getOutputAddress(i, NETWORK) ?? '',
      value: tx.getOutput(i).amount!.toString(),
    }));
    // Propagation delay drawn from the txid, as the account ledgers draw it from the hash.
    const includeFrom = ledger.height + 1 + (Number.parseInt(tx.id.slice(0, 2), 16) % 3);
    utxo.txs[tx.id] = { txid: tx.id, inputs, outputs, raw: rawHex, includeFrom, includedBlock: null };
    const signed = this.world.state.observations.signatures[tx.id];
    const from = view.outputs.get(inputs[0]!)!.address;
    ledger.transfers[tx.id] = {
      hash: tx.id,
      raw: rawHex,
      chain: this.chain,
      from,
      to: outputs[0]!.address,
      amount: outputs[0]!.value,
      nonce: 0,
      swapId: signed?.swapId ?? '',
      includeFrom,
      includedBlock: null,
    };
    this.world.commit();
    return { accepted: true };
  }
}

function statusOf(chain: string, tx: UtxoTx): TxStatus {
  if (tx.includedBlock === null) return { confirmed: false, height: null, blockHash: null };
  return { confirmed: true, height: tx.includedBlock, blockHash: `${chain}-${tx.includedBlock}` };
}

function refused(code: number, message: string): BroadcastAnswer {
  return {
    accepted: false,
    status: 400,
    message: `sendrawtransaction RPC error: ${JSON.stringify({ code, message })}`,
  };
}
