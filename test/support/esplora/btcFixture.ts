/**
 * What the BTC sender tests share: keys and their addresses, a fake Esplora, and a sender over
 * a journal in a temporary directory that a "restart" opens again (a new sender, the same
 * journal, like a new process).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { Address, NETWORK, p2pkh, p2sh, p2tr, p2wpkh, Transaction } from '@scure/btc-signer';
import { pubECDSA, pubSchnorr } from '@scure/btc-signer/utils.js';
import type { SignedTransfer } from '../../../machines/index.ts';
import { BtcJournal } from '../../../src/chains/bitcoin/btcJournal.ts';
import { BtcTransferSender, type BtcTransferSenderOptions } from '../../../src/chains/bitcoin/btcTransferSender.ts';
import type { SourceKind } from '../../../src/chains/bitcoin/btcTx.ts';
import { Esplora } from '../../../src/chains/bitcoin/esplora.ts';
import type { SignedBytes } from '../../../src/host/ports.ts';
import { collectingLogger, type LogLine } from '../collectingLogger.ts';
import { tempDir } from '../simFixture.ts';
import { hash160, scripts } from './rawTx.ts';

export const CHAIN = 'btc';
/** The miner's key (a fixed test scalar) and a stranger's. */
export const MINER_KEY = Uint8Array.from(Buffer.from('11'.repeat(32), 'hex'));
export const USER_KEY = Uint8Array.from(Buffer.from('22'.repeat(32), 'hex'));

export const minerPub = pubECDSA(MINER_KEY, true);
const userPub = pubECDSA(USER_KEY, true);

/** The miner's paying address and its output script, by kind, with the script built by hand. */
export function minerSource(kind: SourceKind): { address: string; script: Uint8Array } {
  const keyHash = hash160(minerPub);
  if (kind === 'p2wpkh') return { address: p2wpkh(minerPub).address!, script: scripts.p2wpkh(keyHash) };
  if (kind === 'p2sh-p2wpkh')
    return { address: p2sh(p2wpkh(minerPub)).address!, script: scripts.p2sh(hash160(scripts.p2wpkh(keyHash))) };
  return { address: p2pkh(minerPub).address!, script: scripts.p2pkh(keyHash) };
}

/** A user destination of every accepted type, with its output script built by hand. */
export function userDestinations(): Record<
  'p2wpkh' | 'p2sh-p2wpkh' | 'p2pkh' | 'p2tr' | 'p2wsh',
  { address: string; script: Uint8Array }
> {
  const keyHash = hash160(userPub);
  const tr = p2tr(pubSchnorr(USER_KEY));
  const witnessScript = Uint8Array.of(0x21, ...userPub, 0xac); // <key> OP_CHECKSIG
  return {
    p2wpkh: { address: p2wpkh(userPub).address!, script: scripts.p2wpkh(keyHash) },
    'p2sh-p2wpkh': { address: p2sh(p2wpkh(userPub)).address!, script: scripts.p2sh(hash160(scripts.p2wpkh(keyHash))) },
    p2pkh: { address: p2pkh(userPub).address!, script: scripts.p2pkh(keyHash) },
    p2tr: { address: tr.address!, script: scripts.p2tr(tr.tweakedPubkey) },
    p2wsh: {
      address: Address(NETWORK).encode({ type: 'wsh', hash: sha256(witnessScript) }),
      script: scripts.p2wsh(sha256(witnessScript)),
    },
  };
}

export interface SenderRig {
  readonly sender: BtcTransferSender;
  readonly lines: LogLine[];
  readonly journal: BtcJournal;
}

/** A sender of the given kind over the journal in `dir` (the same dir after a "restart"). */
export async function openSender(
  dir: string,
  urls: readonly string[],
  kind: SourceKind,
  options: Partial<BtcTransferSenderOptions> = {},
): Promise<SenderRig> {
  const lines: LogLine[] = [];
  const address = minerSource(kind).address;
  const journal = await BtcJournal.open(dir, CHAIN, address, 'mainnet');
  const sender = new BtcTransferSender({
    chain: CHAIN,
    network: 'mainnet',
    esplora: new Esplora({ urls, timeoutMs: 5_000 }),
    privateKey: MINER_KEY,
    address,
    journal,
    log: collectingLogger(lines),
    ...options,
  });
  return { sender, lines, journal };
}

export const journalDir = (): string => tempDir('settle-btc-');

export const asTransfer = (signed: SignedBytes): SignedTransfer => ({
  raw: signed.raw,
  hash: signed.hash,
  decidedAt: 0,
  anchorBlock: null,
});

export const request = (swapId: string, to: string, amount: bigint) => ({ swapId, chain: CHAIN, to, amount });

/** A transaction of the miner's key spending `outpoint` to the user, signed outside the sender (another wallet of the same key). */
export function conflictingSpend(
  kind: SourceKind,
  outpoint: { txid: string; vout: number; value: bigint },
  toScript: Uint8Array,
): string {
  if (kind !== 'p2wpkh') throw new Error('conflicting spends are made from P2WPKH in these tests');
  const tx = new Transaction();
  tx.addInput({
    txid: outpoint.txid,
    index: outpoint.vout,
    witnessUtxo: { script: minerSource(kind).script, amount: outpoint.value },
  });
  tx.addOutput({ script: toScript, amount: outpoint.value - 5_000n });
  tx.sign(MINER_KEY);
  tx.finalize();
  return tx.hex;
}

export { NETWORK };
