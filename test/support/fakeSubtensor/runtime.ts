/**
 * The runtime side of the fake Subtensor: the type registry of a real Substrate runtime with
 * the Contracts and Balances pallets (substrate-contracts-node's metadata, shipped with
 * @polkadot/types-support), and the encoders the fake node needs to answer as a node would:
 * storage keys, AccountInfo, event records, ContractExecResult.
 */
import { Metadata, TypeRegistry } from '@polkadot/types';
import type { Codec } from '@polkadot/types/types';
import metadataHex, {
  rpc as rpcMethods,
  version as runtimeVersion,
} from '@polkadot/types-support/metadata/static-substrate-contracts-node';
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, decodeAddress, xxhashAsU8a } from '@polkadot/util-crypto';

export { metadataHex, rpcMethods, runtimeVersion };

export const registry = new TypeRegistry();
export const metadata = new Metadata(registry, metadataHex);
registry.setMetadata(metadata);
registry.setChainProperties(
  registry.createType('ChainProperties', { ss58Format: 42, tokenDecimals: 9, tokenSymbol: 'TAO' }),
);

const pallets = metadata.asLatest.pallets;

function pallet(name: string) {
  const found = pallets.find((p) => p.name.toString() === name);
  if (found === undefined) throw new Error(`runtime has no pallet ${name}`);
  return found;
}

function storageValueType(palletName: string, item: string): string {
  const entry = pallet(palletName)
    .storage.unwrap()
    .items.find((i) => i.name.toString() === item)!;
  return registry.createLookupType(entry.type.isMap ? entry.type.asMap.value : entry.type.asPlain);
}

export function storagePrefix(palletName: string, item: string): Uint8Array {
  return u8aConcat(xxhashAsU8a(palletName, 128), xxhashAsU8a(item, 128));
}

export const EVENTS_KEY = u8aToHex(storagePrefix('System', 'Events'));

export function accountKey(address: string | Uint8Array): string {
  const id = typeof address === 'string' ? decodeAddress(address) : address;
  return u8aToHex(u8aConcat(storagePrefix('System', 'Account'), blake2AsU8a(id, 128), id));
}

export function encodeAccountInfo(nonce: number, free: bigint): string {
  return registry.createType(storageValueType('System', 'Account'), { nonce, providers: 1, data: { free } }).toHex();
}

/** A runtime event: pallet index, variant index, fields encoded by the metadata's types. */
export function encodeEvent(palletName: string, variant: string, fields: readonly unknown[]): Uint8Array {
  const p = pallet(palletName);
  const eventType = registry.lookup.getSiType(p.events.unwrap().type);
  const v = eventType.def.asVariant.variants.find((x) => x.name.toString() === variant);
  if (v === undefined) throw new Error(`${palletName} has no event ${variant}`);
  if (v.fields.length !== fields.length) throw new Error(`${palletName}.${variant} takes ${v.fields.length} fields`);
  const encoded = v.fields.map((f, i) => registry.createType(registry.createLookupType(f.type), fields[i]).toU8a());
  return u8aConcat(new Uint8Array([p.index.toNumber(), v.index.toNumber()]), ...encoded);
}

export interface EventRecordInput {
  readonly extrinsic: number;
  readonly event: Uint8Array;
  readonly topics?: readonly Uint8Array[];
}

/** Vec<EventRecord>: phase ApplyExtrinsic(index), the event, its topics. */
export function encodeEventRecords(records: readonly EventRecordInput[]): string {
  const parts = records.map((r) =>
    u8aConcat(
      new Uint8Array([0]),
      registry.createType('u32', r.extrinsic).toU8a(),
      r.event,
      compactToU8a((r.topics ?? []).length),
      ...(r.topics ?? []),
    ),
  );
  return u8aToHex(u8aConcat(compactToU8a(records.length), ...parts));
}

export const DISPATCH_INFO = { weight: { refTime: 1_000_000, proofSize: 1_000 }, class: 'Normal', paysFee: 'Yes' };

export function moduleError(palletName: string, error: string): { Module: { index: number; error: Uint8Array } } {
  const p = pallet(palletName);
  const errType = registry.lookup.getSiType(p.errors.unwrap().type);
  const v = errType.def.asVariant.variants.find((x) => x.name.toString() === error);
  if (v === undefined) throw new Error(`${palletName} has no error ${error}`);
  return { Module: { index: p.index.toNumber(), error: new Uint8Array([v.index.toNumber(), 0, 0, 0]) } };
}

/** ContractExecResult (ContractsApi v2) of a call that returned `data` with these flags. */
export function encodeExecResult(result: { data: Uint8Array; revert: boolean } | { dispatchError: unknown }): string {
  const common = {
    gasConsumed: { refTime: 2_000_000_000, proofSize: 60_000 },
    gasRequired: { refTime: 3_000_000_000, proofSize: 90_000 },
    storageDeposit: { Charge: 0 },
    debugMessage: '',
  };
  // Bytes from hex: a Uint8Array would be read as already length-prefixed.
  const inner =
    'data' in result
      ? { Ok: { flags: result.revert ? 1 : 0, data: u8aToHex(result.data) } }
      : { Err: result.dispatchError };
  return registry.createType('ContractExecResult', { ...common, result: inner }).toHex();
}

export function decodeContractsCallParams(bytes: Uint8Array): {
  origin: Uint8Array;
  dest: Uint8Array;
  input: Uint8Array;
} {
  const origin = bytes.subarray(0, 32);
  const dest = bytes.subarray(32, 64);
  let offset = 64 + 16; // value: u128
  const gas = registry.createType('Option<WeightV2>', bytes.subarray(offset));
  offset += gas.encodedLength;
  const deposit = registry.createType('Option<Balance>', bytes.subarray(offset));
  offset += deposit.encodedLength;
  const input = registry.createType('Bytes', bytes.subarray(offset));
  if (offset + input.encodedLength !== bytes.length) throw new Error('ContractsApi_call params have trailing bytes');
  return { origin, dest, input: input.toU8a() };
}

export function hex(codec: Codec | Uint8Array): string {
  return codec instanceof Uint8Array ? u8aToHex(codec) : codec.toHex();
}
