/**
 * What the chain shows of the BTC pinned paying address, for the witness (src/witness/) and
 * `settle reconcile`. Bitcoin has no account nonce: what the address has done is the set of
 * transactions spending its outputs. Esplora lists an address's history newest first (the
 * mempool, then the 25 newest confirmed) in one call; the witness takes from it the
 * transactions with an input from the pinned address (receipts are not the miner's doing and
 * are left out). Every such transaction must be one this data directory knows (journaled
 * before its broadcast, held by the store, in the baseline taken when the store began, or
 * decided by the operator).
 *
 * Bound: only what that one page shows is judged. A store put back behind more than 25
 * confirmed spends of the address (and nothing newer in the mempool) is recognised through the
 * witness journal only; README, "Restoring a backup". Reads only; nothing here signs.
 */
import { Transaction } from '@scure/btc-signer';
import type { ActivityQuery, ChainActivity, WitnessReport } from '../../host/ports.ts';
import { btcNetwork, hexToBytes, type BitcoinNetworkName } from './btcTx.ts';
import type { EsploraApi } from './esplora.ts';

/** Transactions looked up one by one for `settle reconcile` at most (each is two calls). */
export const MAX_ACTIVITY_LOOKUPS = 200;

/** The witness: the txids spending from `address` in its most recent history (one call). */
export async function btcWitness(esplora: EsploraApi, address: string): Promise<WitnessReport> {
  const txs = await esplora.addressTxs(address);
  const ids = txs.filter((tx) => tx.inputs.includes(address)).map((tx) => tx.txid);
  return { kind: 'ids', account: address, ids };
}

/**
 * The transactions asked for by id, as the chain shows them: the first output not paying the
 * address back is the recipient and amount (a payout of ours: output 0). Nonces mean nothing here.
 */
export async function btcActivity(
  esplora: EsploraApi,
  address: string,
  networkName: BitcoinNetworkName,
  query: ActivityQuery,
): Promise<ChainActivity[]> {
  const found: ChainActivity[] = [];
  for (const id of (query.ids ?? []).slice(0, MAX_ACTIVITY_LOOKUPS)) {
    const raw = await esplora.txHex(id);
    const status = await esplora.txStatus(id);
    if (raw === null || status === null) continue;
    found.push(describe(id, raw, status.height, address, networkName));
  }
  return found;
}

function describe(
  id: string,
  raw: string,
  height: number | null,
  address: string,
  networkName: BitcoinNetworkName,
): ChainActivity {
  const where = height === null ? 'in the mempool' : `block ${height}`;
  const base = { id, nonce: null, block: height, raw };
  let tx: Transaction;
  try {
    tx = Transaction.fromRaw(hexToBytes(raw), { allowUnknownOutputs: true });
  } catch {
    return {
      ...base,
      raw: null,
      to: null,
      amount: null,
      note: `a transaction Esplora's bytes do not parse (${where})`,
    };
  }
  const network = btcNetwork(networkName);
  for (let i = 0; i < tx.outputsLength; i += 1) {
    const to = tx.getOutputAddress(i, network);
    const amount = tx.getOutput(i).amount;
    if (to === undefined || to === address || amount === undefined) continue;
    return { ...base, to, amount, note: `a payment from ${address}, output ${i} (${where})` };
  }
  return { ...base, to: null, amount: null, note: `a spend from ${address} paying only itself (${where})` };
}
