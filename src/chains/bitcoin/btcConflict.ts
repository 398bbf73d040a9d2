/**
 * Whether a signed payout can still land, asked of Esplora's spent-output index: a Bitcoin
 * transaction can never be included once another transaction spending one of its inputs is
 * confirmed (deep enough that a reorganisation is not expected to undo it). That is the only
 * proof of "never lands" this project accepts for BTC: an unknown txid, an eviction from the
 * mempool or a conflict still in the mempool all leave the same bytes able to land.
 */
import { Transaction } from '@scure/btc-signer';
import { assert } from '../../errors.ts';
import { bytesToHex, hexToBytes } from './btcTx.ts';
import type { EsploraApi } from './esplora.ts';

export type ConflictProof =
  /** An input is spent by this very transaction: it is pooled or mined. */
  | { readonly kind: 'ours' }
  /** An input is spent by another transaction confirmed `depth` blocks deep. */
  | { readonly kind: 'conflict'; readonly txid: string; readonly input: string; readonly depth: number }
  /** The same payout with its signatures re-encoded (another txid) is confirmed: the user was paid. */
  | { readonly kind: 'copy'; readonly txid: string; readonly depth: number }
  /** An input is spent by another transaction, not (yet) confirmed deep enough to prove anything. */
  | { readonly kind: 'pending'; readonly txid: string; readonly input: string }
  /** No input is spent (or their funding transactions are unknown). */
  | { readonly kind: 'unspent' };

/** More inputs than this in one of our payouts is a bug: signing stops far below it. */
const MAX_INPUTS_CHECKED = 256;

export async function proveConflict(
  esplora: EsploraApi,
  tx: Transaction,
  confirmations: number,
): Promise<ConflictProof> {
  assert(tx.inputsLength <= MAX_INPUTS_CHECKED, `a payout with ${tx.inputsLength} inputs`);
  let pending: ConflictProof | null = null;
  let tip: number | null = null;
  for (let i = 0; i < tx.inputsLength; i++) {
    const input = tx.getInput(i);
    const prevTxid = bytesToHex(input.txid!);
    const outspend = await esplora.outspend(prevTxid, input.index!);
    if (!outspend.spent) continue;
    if (outspend.txid === tx.id) return { kind: 'ours' };
    const name = `${prevTxid}:${input.index!}`;
    if (!outspend.status.confirmed || outspend.status.height === null) {
      pending ??= { kind: 'pending', txid: outspend.txid, input: name };
      continue;
    }
    tip ??= await esplora.tipHeight();
    const depth = tip - outspend.status.height + 1;
    if (depth < confirmations) {
      pending ??= { kind: 'pending', txid: outspend.txid, input: name };
      continue;
    }
    return (await isCopy(esplora, tx, outspend.txid))
      ? { kind: 'copy', txid: outspend.txid, depth }
      : { kind: 'conflict', txid: outspend.txid, input: name, depth };
  }
  return pending ?? { kind: 'unspent' };
}

/** Same inputs, outputs, version and locktime: only scriptSig or witness differ (a P2PKH signature re-encoded). */
async function isCopy(esplora: EsploraApi, ours: Transaction, otherTxid: string): Promise<boolean> {
  const raw = await esplora.txHex(otherTxid);
  if (raw === null) return false;
  const other = Transaction.fromRaw(hexToBytes(raw), {
    allowUnknownOutputs: true,
    allowUnknownInputs: true,
    disableScriptCheck: true,
  });
  return bytesToHex(other.toBytes(false, false)) === bytesToHex(ours.toBytes(false, false));
}
