/**
 * The pure parts of a BTC payout: address types, sizes, the fee rate, dust and coin selection.
 * No I/O, no key: the sender (btcTransferSender.ts) feeds these with what Esplora says.
 *
 * Sizes are upper bounds in weight units, with the largest signature a low-S ECDSA signer
 * makes (71 bytes of DER plus the sighash byte): the fee is computed before signing, and the
 * sender asserts afterwards that the signed transaction is no larger than estimated, so the
 * fee rate paid is never below the rate chosen.
 */
import { Address, NETWORK, OutScript, p2pkh, p2sh, p2wpkh, TEST_NETWORK } from '@scure/btc-signer';

export type BitcoinNetworkName = 'mainnet' | 'testnet';
export type BtcNetwork = typeof NETWORK;

export function btcNetwork(name: BitcoinNetworkName): BtcNetwork {
  return name === 'mainnet' ? NETWORK : TEST_NETWORK;
}

/** What the pinned (paying) address may be: the three types the reference miner spends from. */
export type SourceKind = 'p2wpkh' | 'p2sh-p2wpkh' | 'p2pkh';

/**
 * What a destination may be. Validators read the paying output through Esplora and compare its
 * `scriptpubkey_address` with the swap's recipient, whatever its type, and their address check
 * (embit's `address_to_scriptpubkey`) accepts every standard type, Taproot included: each of
 * these is accepted by them. P2A (an anyone-can-spend anchor) and unknown witness versions are
 * not: funds there are not the user's.
 */
export const DESTINATION_TYPES = ['pkh', 'sh', 'wpkh', 'wsh', 'tr'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

export interface SourceScript {
  readonly kind: SourceKind;
  readonly address: string;
  readonly script: Uint8Array;
  /** P2SH-P2WPKH only: the P2WPKH program the P2SH commits to. */
  readonly redeemScript?: Uint8Array;
}

/** The three addresses a compressed public key pays from, by kind. */
export function sourceScripts(publicKey: Uint8Array, network: BtcNetwork): readonly SourceScript[] {
  const wpkh = p2wpkh(publicKey, network);
  const sh = p2sh(wpkh, network);
  const pkh = p2pkh(publicKey, network);
  return [
    { kind: 'p2wpkh', address: wpkh.address!, script: wpkh.script },
    { kind: 'p2sh-p2wpkh', address: sh.address!, script: sh.script, redeemScript: sh.redeemScript },
    { kind: 'p2pkh', address: pkh.address!, script: pkh.script },
  ];
}

/**
 * The pinned address among the three a key pays from, or why it is not: a P2TR pin is refused
 * as the reference miner refuses it (and validators read vin[0]'s address as the sender).
 */
export function pinnedSource(
  publicKey: Uint8Array,
  address: string,
  networkName: BitcoinNetworkName,
): SourceScript | { problem: string } {
  const scripts = sourceScripts(publicKey, btcNetwork(networkName));
  const pinned = /^(bc|tb)1/i.test(address) ? address.toLowerCase() : address;
  const found = scripts.find((s) => s.address === pinned);
  if (found !== undefined) return found;
  return {
    problem: `the key does not pay from ${address}; it derives ${scripts.map((s) => `${s.address} (${s.kind})`).join(', ')} on ${networkName} (P2TR is not a paying address: the reference miner refuses it)`,
  };
}

/** Why `address` cannot be a paying (pinned) address of the network, or null. */
export function payingAddressProblem(address: string, networkName: BitcoinNetworkName): string | null {
  let type: string;
  try {
    type = Address(btcNetwork(networkName)).decode(address).type;
  } catch {
    return `not a Bitcoin address of ${networkName}`;
  }
  return ['wpkh', 'sh', 'pkh'].includes(type)
    ? null
    : `a ${type} address: the paying address is P2WPKH, P2SH-P2WPKH or P2PKH (the reference miner refuses P2TR)`;
}

/** The output script paying `address`, and its type, or why it cannot be paid. */
export function destinationScript(
  address: string,
  network: BtcNetwork,
): { script: Uint8Array; type: DestinationType } | { problem: string } {
  let decoded: ReturnType<ReturnType<typeof Address>['decode']>;
  try {
    decoded = Address(network).decode(address);
  } catch (error) {
    return { problem: `not a Bitcoin address of this network (${(error as Error).message})` };
  }
  if (!(DESTINATION_TYPES as readonly string[]).includes(decoded.type))
    return { problem: `a ${decoded.type} output is not paid (not the user's alone)` };
  return { script: OutScript.encode(decoded), type: decoded.type as DestinationType };
}

/** Weight of one input spending each source kind, with a 72-byte signature (see the header). */
export const INPUT_WEIGHT: Readonly<Record<SourceKind, number>> = {
  // outpoint 36 + empty scriptSig 1 + sequence 4 = 41 bytes x4; witness: count, sig 1+72, key 1+33.
  p2wpkh: 41 * 4 + (1 + 73 + 34),
  // scriptSig: length 1 + push of the 22-byte program (1 + 22).
  'p2sh-p2wpkh': (41 + 23) * 4 + (1 + 73 + 34),
  // scriptSig: length 1 + sig 1+72 + key 1+33 = 108, no witness.
  p2pkh: (40 + 108) * 4,
};

/** Weight of an output paying this script (amount 8, script length 1, script). */
export function outputWeight(script: Uint8Array): number {
  return (8 + 1 + script.length) * 4;
}

/** Upper bound of the virtual size of a payout: version, counts, locktime, segwit marker. */
export function estimateVsize(kind: SourceKind, inputs: number, outputScripts: readonly Uint8Array[]): number {
  if (inputs < 1 || inputs > 252 || outputScripts.length > 252)
    throw new RangeError(`${inputs} inputs, ${outputScripts.length} outputs: one-byte counts only`);
  const segwit = kind !== 'p2pkh';
  const weight =
    10 * 4 + (segwit ? 2 : 0) + inputs * INPUT_WEIGHT[kind] + outputScripts.reduce((w, s) => w + outputWeight(s), 0);
  return Math.ceil(weight / 4);
}

/**
 * Bitcoin Core's dust threshold (GetDustThreshold, dust relay fee 3 sat/vB): an output worth
 * less than it costs to spend is refused by every node's policy. 546 for P2PKH, 540 for P2SH,
 * 294 for P2WPKH, 330 for P2WSH and P2TR.
 */
export function dustThreshold(script: Uint8Array): bigint {
  const isWitnessProgram =
    script.length >= 4 &&
    script.length <= 42 &&
    (script[0] === 0 || (script[0]! >= 0x51 && script[0]! <= 0x60)) &&
    script[1] === script.length - 2;
  const spend = isWitnessProgram ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  return BigInt((8 + 1 + script.length + spend) * 3);
}

/** The reference miner leaves change of 546 sat or less to the fee (allways/assets/btc.py). */
export const CHANGE_DUST_SATS = 546n;

export interface FeePolicy {
  /** The estimate is multiplied by this (reference: 1.25, BTC_FEE_RATE_SAFETY_MULTIPLIER). */
  readonly multiplier: number;
  /** Never below (reference: 5 sat/vB, BTC_MIN_FEE_RATE). */
  readonly minSatVb: number;
  /** When the API gives no estimate (reference: 15 sat/vB, BTC_FALLBACK_FEE_RATE). */
  readonly fallbackSatVb: number;
  /** Refuse to sign above it: an estimate this high is a broken or lying endpoint. */
  readonly maxSatVb: number;
}

export const REFERENCE_FEE_POLICY: FeePolicy = { multiplier: 1.25, minSatVb: 5, fallbackSatVb: 15, maxSatVb: 500 };

/**
 * Whole sat/vB: the estimate for 2 blocks (else 3) x multiplier, rounded half to even as the
 * reference's Python `round` does (12.5 -> 12), at least the floor; the fallback without one.
 */
export function feeRateSatVb(estimates: Readonly<Record<string, number>> | null, policy: FeePolicy): number {
  const estimate = estimates?.['2'] ?? estimates?.['3'];
  if (estimate === undefined || !Number.isFinite(estimate)) return Math.max(policy.fallbackSatVb, policy.minSatVb);
  return Math.max(roundHalfEven(estimate * policy.multiplier), policy.minSatVb);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface Coin {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
}

export interface Selection<C extends Coin> {
  readonly coins: readonly C[];
  readonly fee: bigint;
  /** 0 when the change is left to the fee (546 sat or less). */
  readonly change: bigint;
  readonly vsize: number;
}

/**
 * Largest coins first (as the reference miner), stopping once they cover the amount and the
 * fee of a transaction with a change output; the change is dropped, and left to the fee, when it
 * would be 546 sat or less. Null when all `coins` (at most `maxInputs` of them) do not cover it.
 */
export function selectCoins<C extends Coin>(
  coins: readonly C[],
  amount: bigint,
  rateSatVb: number,
  kind: SourceKind,
  scripts: { readonly destination: Uint8Array; readonly change: Uint8Array },
  maxInputs: number,
): Selection<C> | null {
  const sorted = [...coins].sort((a, b) => (a.value === b.value ? 0 : a.value > b.value ? -1 : 1)).slice(0, maxInputs);
  const rate = BigInt(rateSatVb);
  let total = 0n;
  for (let n = 1; n <= sorted.length; n++) {
    total += sorted[n - 1]!.value;
    const withChange = estimateVsize(kind, n, [scripts.destination, scripts.change]);
    const change = total - amount - rate * BigInt(withChange);
    if (change < 0n) continue;
    const chosen = sorted.slice(0, n);
    if (change > CHANGE_DUST_SATS) return { coins: chosen, fee: rate * BigInt(withChange), change, vsize: withChange };
    // No change output: everything above the amount is fee, at least the rate times the smaller size.
    return { coins: chosen, fee: total - amount, change: 0n, vsize: estimateVsize(kind, n, [scripts.destination]) };
  }
  return null;
}

/** Bytes of an even-length hex string; refuses anything else (Buffer would silently stop). */
export function hexToBytes(text: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error('not hex');
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
