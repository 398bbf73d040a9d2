/**
 * Builds and signs one payout with @scure/btc-signer: version 2, locktime 0, every input from
 * the pinned address with sequence 0xffffffff (no BIP-125 signal, no relative locktime), output
 * 0 to the user, output 1 the change back to the pinned address (omitted when zero). Reads
 * Esplora only for the funding transactions of P2PKH inputs; writes nothing.
 */
import { Transaction } from '@scure/btc-signer';
import { bytesToHex, hexToBytes, type SourceScript } from './btcTx.ts';
import { EsploraUnreachable, type EsploraApi, type Utxo } from './esplora.ts';

/** No BIP-125 replaceability, no relative locktime. */
export const FINAL_SEQUENCE = 0xffffffff;

export interface Payer {
  readonly chain: string;
  readonly esplora: EsploraApi;
  readonly source: SourceScript;
  readonly privateKey: Uint8Array;
}

export async function buildPayout(
  payer: Payer,
  coins: readonly Utxo[],
  destination: Uint8Array,
  amount: bigint,
  change: bigint,
): Promise<Transaction> {
  const { source } = payer;
  const tx = new Transaction({ version: 2, lockTime: 0 });
  for (const coin of coins) {
    const base = { txid: coin.txid, index: coin.vout, sequence: FINAL_SEQUENCE };
    const witnessUtxo = { script: source.script, amount: coin.value };
    if (source.kind === 'p2wpkh') tx.addInput({ ...base, witnessUtxo });
    else if (source.kind === 'p2sh-p2wpkh') tx.addInput({ ...base, witnessUtxo, redeemScript: source.redeemScript! });
    else tx.addInput({ ...base, nonWitnessUtxo: await previousTx(payer, coin) });
  }
  tx.addOutput({ script: destination, amount });
  if (change > 0n) tx.addOutput({ script: source.script, amount: change });
  tx.sign(payer.privateKey);
  tx.finalize();
  return tx;
}

/**
 * The whole funding transaction of a P2PKH input: a legacy signature does not commit to the
 * amount, so the amount is read from bytes whose hash is the txid, not from Esplora's word (a
 * lie there would silently turn change into fee).
 */
async function previousTx(payer: Payer, coin: Utxo): Promise<Uint8Array> {
  const raw = await payer.esplora.txHex(coin.txid);
  if (raw === null) {
    throw new EsploraUnreachable(
      `chain '${payer.chain}': Esplora lists ${coin.txid}:${coin.vout} but does not know its transaction`,
    );
  }
  const previous = Transaction.fromRaw(hexToBytes(raw), { allowUnknownOutputs: true });
  const output =
    previous.id === coin.txid && coin.vout < previous.outputsLength ? previous.getOutput(coin.vout) : undefined;
  if (
    output?.amount !== coin.value ||
    output.script === undefined ||
    bytesToHex(output.script) !== bytesToHex(payer.source.script)
  ) {
    throw new Error(
      `chain '${payer.chain}': Esplora's ${coin.txid}:${coin.vout} (${coin.value} sat to ${payer.source.address}) is not what its transaction's bytes say`,
    );
  }
  return hexToBytes(raw);
}

export function parseSignedTx(raw: string, chain: string): Transaction {
  try {
    return Transaction.fromRaw(hexToBytes(raw), { allowUnknownOutputs: true });
  } catch {
    throw new Error(`not a signed Bitcoin transaction for chain '${chain}'`);
  }
}

/** "txid:vout" of each input, txids as Esplora writes them. */
export function inputsOf(tx: Transaction): string[] {
  const inputs: string[] = [];
  for (let i = 0; i < tx.inputsLength; i++) {
    const input = tx.getInput(i);
    inputs.push(`${bytesToHex(input.txid!)}:${input.index!}`);
  }
  return inputs;
}
