/**
 * The proof bytes settle passes with every claim: a compact settlement record of the job,
 * stored by the Escrow in the Claimed event (so it costs gas per byte: ocean-node sends the
 * whole job JSON, this is 160 bytes, most of them zero).
 *
 *   abi.encode(uint8 version, bytes32 sourceJobId, uint256 cost, uint64 durationSecs, bytes32 resultHash)
 *
 * version 1. sourceJobId: the job's id in the engine that ran it when it is 32 bytes of hex
 * (ocean-node's jobId, whose sha256 is the escrow's jobId), else the sha256 of its UTF-8 text.
 * cost: what the job cost in the token's smallest unit, before the cap at the lock (the
 * claimed amount is the Claimed event's own). durationSecs and resultHash: 0 when unknown.
 */
import { createHash } from 'node:crypto';
import { AbiCoder } from 'ethers';
import type { SettlementRecord } from '../../host/ports.ts';

export const PROOF_VERSION = 1;
export const PROOF_TYPES = ['uint8', 'bytes32', 'uint256', 'uint64', 'bytes32'] as const;
const ZERO32 = `0x${'00'.repeat(32)}`;
const HEX32 = /^(0x)?[0-9a-fA-F]{64}$/;
const MAX_UINT64 = 2n ** 64n - 1n;

function bytes32Of(id: string): string {
  if (HEX32.test(id)) return `0x${id.replace(/^0x/, '').toLowerCase()}`;
  return `0x${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

/** The proof bytes of a claim; '0x' (empty) when there is no record. */
export function encodeSettlementProof(record: SettlementRecord | null | undefined): string {
  if (record === null || record === undefined) return '0x';
  const duration = record.durationSecs === null ? 0n : BigInt(record.durationSecs);
  return AbiCoder.defaultAbiCoder().encode(PROOF_TYPES, [
    PROOF_VERSION,
    bytes32Of(record.sourceJobId),
    record.cost,
    duration > MAX_UINT64 ? MAX_UINT64 : duration,
    record.resultHash !== null && HEX32.test(record.resultHash) ? bytes32Of(record.resultHash) : ZERO32,
  ]);
}

export interface DecodedProof {
  readonly version: number;
  readonly sourceJobId: string;
  readonly cost: bigint;
  readonly durationSecs: bigint;
  readonly resultHash: string;
}

/** Reads proof bytes written by encodeSettlementProof (for audits and tests). */
export function decodeSettlementProof(proof: string): DecodedProof {
  const [version, sourceJobId, cost, durationSecs, resultHash] = AbiCoder.defaultAbiCoder().decode(PROOF_TYPES, proof);
  return {
    version: Number(version),
    sourceJobId: String(sourceJobId),
    cost: BigInt(cost),
    durationSecs: BigInt(durationSecs),
    resultHash: String(resultHash),
  };
}
