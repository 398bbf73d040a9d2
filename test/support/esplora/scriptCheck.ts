/**
 * Checks one input of a transaction the way a node does for the three kinds of output a payout
 * spends (P2WPKH, P2SH-P2WPKH, P2PKH): the scriptSig and witness have the template's shape,
 * the public key hashes to the output's hash, and the ECDSA signature verifies (low-S, strict
 * DER, SIGHASH_ALL) over the signature hash computed here by hand. Anything else is refused
 * with the words a node would use.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  bip143Sighash,
  hash160,
  hexOf,
  legacySighash,
  pushes,
  scripts,
  type ParsedTx,
  type RawOutput,
} from './rawTx.ts';

const SIGHASH_ALL = 1;

/** Null when the input is validly signed, else the reason (as bitcoind words it, roughly). */
export function inputProblem(tx: ParsedTx, index: number, prevout: RawOutput): string | null {
  const script = prevout.script;
  const input = tx.inputs[index]!;
  const witness = tx.witnesses[index] ?? [];
  if (isP2wpkh(script)) {
    if (input.scriptSig.length !== 0) return 'non-mandatory-script-verify-flag (Witness requires empty scriptSig)';
    return witnessKeyHashProblem(tx, index, script.subarray(2), witness, prevout.value);
  }
  if (script.length === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87) {
    const pushed = pushes(input.scriptSig);
    if (pushed === null || pushed.length !== 1)
      return 'mandatory-script-verify-flag-failed (Only push operators allowed in signatures)';
    const redeem = pushed[0]!;
    if (hexOf(hash160(redeem)) !== hexOf(script.subarray(2, 22)))
      return 'mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)';
    if (!isP2wpkh(redeem)) return 'fake Esplora: only P2SH-P2WPKH is spent here';
    return witnessKeyHashProblem(tx, index, redeem.subarray(2), witness, prevout.value);
  }
  if (script.length === 25 && hexOf(script) === hexOf(scripts.p2pkh(script.subarray(3, 23)))) {
    if (witness.length !== 0) return 'non-mandatory-script-verify-flag (Witness provided for non-witness script)';
    const pushed = pushes(input.scriptSig);
    if (pushed === null || pushed.length !== 2)
      return 'mandatory-script-verify-flag-failed (Operation not valid with the current stack size)';
    const [signature, key] = pushed as [Uint8Array, Uint8Array];
    if (hexOf(hash160(key)) !== hexOf(script.subarray(3, 23)))
      return 'mandatory-script-verify-flag-failed (Script failed an OP_EQUALVERIFY operation)';
    return signatureProblem(signature, key, (hashType) => legacySighash(tx, index, script, hashType));
  }
  return `fake Esplora: cannot spend output script ${hexOf(script)}`;
}

function isP2wpkh(script: Uint8Array): boolean {
  return script.length === 22 && script[0] === 0x00 && script[1] === 0x14;
}

function witnessKeyHashProblem(
  tx: ParsedTx,
  index: number,
  keyHash: Uint8Array,
  witness: readonly Uint8Array[],
  amount: bigint,
): string | null {
  if (witness.length !== 2) return 'mandatory-script-verify-flag-failed (Witness program hash mismatch)';
  const [signature, key] = witness as [Uint8Array, Uint8Array];
  if (key.length !== 33) return 'non-mandatory-script-verify-flag (Using non-compressed keys in segwit)';
  if (hexOf(hash160(key)) !== hexOf(keyHash))
    return 'mandatory-script-verify-flag-failed (Witness program hash mismatch)';
  // BIP143: the script code of a P2WPKH input is the P2PKH script of its key hash.
  return signatureProblem(signature, key, (hashType) =>
    bip143Sighash(tx, index, scripts.p2pkh(keyHash), amount, hashType),
  );
}

function signatureProblem(
  signature: Uint8Array,
  key: Uint8Array,
  sighash: (hashType: number) => Uint8Array,
): string | null {
  if (signature.length < 9) return 'mandatory-script-verify-flag-failed (Non-canonical DER signature)';
  const hashType = signature[signature.length - 1]!;
  if (hashType !== SIGHASH_ALL) return `fake Esplora: sighash type ${hashType} (a payout signs SIGHASH_ALL)`;
  let valid: boolean;
  try {
    valid = secp256k1.verify(signature.subarray(0, -1), sighash(hashType), key, {
      prehash: false,
      format: 'der',
      lowS: true,
    });
  } catch {
    return 'mandatory-script-verify-flag-failed (Non-canonical DER signature)';
  }
  return valid
    ? null
    : 'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)';
}
