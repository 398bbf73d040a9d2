/**
 * The BTC deposit check (allways/assets/btc.py as the reference miner runs it): Esplora's
 * GET /tx/{txid}; one output paying the recipient address at least the claim; the sender is the
 * first input's prevout address; confirmed when `tip - height + 1 >= required` and the block is
 * in the best chain (GET /block/{hash}/status). The rules and their order are depositRules.ts.
 *
 * Invariant: an Esplora that cannot be read, or a block it cannot place in the best chain, is a
 * wait, never a pass. Holds no state: a crash leaves nothing behind.
 *
 * Also the funds gate's view of a BTC wallet: the sum of its confirmed unspent outputs.
 */
import type { DepositClaim, DepositVerdict, SourceVerifier } from '../../host/sourceVerifier.ts';
import { readAndJudge, type Sighting } from '../depositRules.ts';
import type { EsploraTx, Utxo } from './esplora.ts';

/** What the check reads from Esplora (the class Esplora implements it). */
export interface EsploraDepositReader {
  tipHeight(): Promise<number>;
  tx(txid: string): Promise<EsploraTx | null>;
  blockInBestChain(hash: string): Promise<boolean | null>;
}

/** bech32 addresses compare case-insensitively; base58 ones (1..., 3..., m/n/2...) exactly. */
export function normaliseBtcAddress(address: string): string {
  return /^(bc|tb|bcrt)1/i.test(address) ? address.toLowerCase() : address;
}

export class BtcDepositVerifier implements SourceVerifier {
  readonly chains: readonly string[];

  constructor(
    private readonly esplora: EsploraDepositReader,
    private readonly required: number,
    chain = 'btc',
  ) {
    this.chains = [chain];
  }

  verify(claim: DepositClaim): Promise<DepositVerdict> {
    return readAndJudge(claim, this.required, () => this.sighting(claim), normaliseBtcAddress);
  }

  private async sighting(claim: DepositClaim): Promise<Sighting | null> {
    const txid = claim.txHash.toLowerCase().replace(/^0x/, '');
    if (!/^[0-9a-f]{64}$/.test(txid)) return null; // no such transaction can exist: not found
    const tx = await this.esplora.tx(txid);
    if (tx === null) return null;
    const recipient = normaliseBtcAddress(claim.recipient);
    const paying = tx.outputs.filter((o) => o.address !== null && normaliseBtcAddress(o.address) === recipient);
    // One output must pay at least the claim: the largest is the one that may (Math.max takes no bigint).
    let credited: bigint | null = null;
    for (const o of paying) if (credited === null || o.value > credited) credited = o.value;
    const sender = tx.inputs[0]?.prevoutAddress ?? '';
    const base = { failed: null, credited, sender };
    const { height, blockHash } = tx.status;
    if (!tx.status.confirmed || height === null || blockHash === null)
      return { ...base, block: null, confirmations: 0, shortBecause: 'deposit not yet in a block' };
    const [tip, best] = await Promise.all([this.esplora.tipHeight(), this.esplora.blockInBestChain(blockHash)]);
    if (best !== true)
      return {
        ...base,
        block: height,
        confirmations: 0,
        shortBecause: `deposit block ${blockHash} is not in the best chain (reorganised away)`,
      };
    return { ...base, block: height, confirmations: Math.max(0, tip - height + 1) };
  }
}

/** What the BTC balance reader reads (the class Esplora implements it). */
export interface EsploraUtxoReader {
  utxos(address: string): Promise<Utxo[]>;
}

/** The confirmed unspent outputs of an address, summed; rejects when Esplora cannot be read. */
export async function btcConfirmedBalance(esplora: EsploraUtxoReader, address: string): Promise<bigint> {
  const utxos = await esplora.utxos(address);
  return utxos.reduce((sum, u) => (u.height === null ? sum : sum + u.value), 0n);
}
