/**
 * The allways contract's wire format, checked against bytes built by hand from the metadata
 * and the SCALE rules, never against the encoder under test: the mark_fulfilled call, and a
 * ContractExecResult carrying each of the 28 Error variants.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AllwaysAbi, VENDORED_METADATA_PATH } from '../../src/chains/substrate/allwaysAbi.ts';
import { AbiMismatch } from '../../src/errors.ts';
import { decodeContractExecResult } from '../../src/chains/substrate/substrateChain.ts';
import { CONTRACT_ERRORS, classifyMarkError } from '../../machines/index.ts';
import { registry } from '../support/fakeSubtensor/runtime.ts';

interface MetadataJson {
  spec: { messages: { label: string; selector: string }[] };
  types: {
    id: number;
    type: { path?: string[]; def: { variant?: { variants: { index: number; name: string }[] } } };
  }[];
}

const metadata = JSON.parse(readFileSync(VENDORED_METADATA_PATH, 'utf8')) as MetadataJson;
const selectorOf = (label: string): string => metadata.spec.messages.find((m) => m.label === label)!.selector;
const errorEnum = metadata.types.find((t) => t.type.path?.join('::') === 'allways_swap_manager::errors::Error')!.type
  .def.variant!.variants;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const le = (value: bigint, bytes: number): string => {
  let out = '';
  for (let i = 0; i < bytes; i += 1) out += ((value >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0');
  return out;
};
/** SCALE compact for lengths below 2^14. */
const compactLength = (n: number): string => (n < 64 ? le(BigInt(n << 2), 1) : le(BigInt((n << 2) | 1), 2));
const scaleString = (text: string): string =>
  compactLength(Buffer.byteLength(text)) + Buffer.from(text, 'utf8').toString('hex');

describe('mark_fulfilled on the wire', () => {
  const abi = AllwaysAbi.load();

  it('is the selector of the metadata, then swap_id u64, dest_tx_hash String, dest_tx_block u32, dest_amount u128', () => {
    const txHash = `0x${'7bc9'.repeat(16)}`; // 66 characters: looks like hex, must travel as text
    const amount = (1n << 100n) + 12_345n;
    const args =
      selectorOf('mark_fulfilled').slice(2) + le(42n, 8) + scaleString(txHash) + le(1_234_567n, 4) + le(amount, 16);
    const expected = compactLength(args.length / 2) + args;
    expect(selectorOf('mark_fulfilled')).toBe('0x2dbeeb8d');
    expect(hex(abi.encodeMarkFulfilled(42n, txHash, 1_234_567, amount))).toBe(expected);
  });

  it('keeps a short non-hex hash as text too, and refuses values that do not fit their types', () => {
    const args = selectorOf('mark_fulfilled').slice(2) + le(0n, 8) + scaleString('abc') + le(0n, 4) + le(1n, 16);
    expect(hex(abi.encodeMarkFulfilled(0n, 'abc', 0, 1n))).toBe(compactLength(args.length / 2) + args);
    expect(() => abi.encodeMarkFulfilled(1n << 64n, 'h', 1, 1n)).toThrow(/u64/);
    expect(() => abi.encodeMarkFulfilled(1n, 'h', 2 ** 32, 1n)).toThrow(/u32/);
    expect(() => abi.encodeMarkFulfilled(1n, 'h', 1, 1n << 128n)).toThrow(/u128/);
    expect(() => abi.encodeMarkFulfilled(1n, 'h', 1, -1n)).toThrow(/u128/);
  });

  it('reads get_swap and get_next_swap_id with the selectors of the metadata', () => {
    expect(hex(abi.encodeGetSwap(7n))).toBe(compactLength(12) + selectorOf('get_swap').slice(2) + le(7n, 8));
    expect(hex(abi.encodeGetNextSwapId())).toBe(compactLength(4) + selectorOf('get_next_swap_id').slice(2));
  });
});

/** A ContractExecResult as pallet-contracts encodes it (ContractsApi v2), returning `data`. */
function execResult(data: string, revert: boolean): Uint8Array {
  const weight = (refTime: number, proofSize: number): string => compactLength(refTime) + compactLength(proofSize);
  const body =
    weight(1_000, 10) + // gasConsumed
    weight(2_000, 20) + // gasRequired
    '01' +
    le(0n, 16) + // storageDeposit: Charge(0)
    '00' + // debugMessage: ''
    '00' + // result: Ok(ExecReturnValue)
    le(revert ? 1n : 0n, 4) + // flags
    compactLength(data.length / 2) +
    data;
  return Buffer.from(body, 'hex');
}

describe('ContractExecResult of mark_fulfilled', () => {
  const abi = AllwaysAbi.load();

  it('has the 28 variants of the reference, in its order', () => {
    expect(errorEnum.map((v) => v.name)).toEqual([...CONTRACT_ERRORS]);
    expect(abi.errorVariants()).toEqual(errorEnum.map((v) => v.name));
  });

  it.each(errorEnum.map((v) => [v.name, v.index] as const))('decodes Err(%s) (index %i) to its name', (name, index) => {
    // MessageResult Ok (00), inner Result Err (01), the variant's index.
    const decoded = decodeContractExecResult(registry, execResult(`0001${le(BigInt(index), 1)}`, true));
    expect(decoded).toMatchObject({ ok: true, reverted: true, gasRequired: { refTime: 2_000n, proofSize: 20n } });
    if (!decoded.ok) throw new Error('unreachable');
    const outcome = abi.decodeMarkFulfilled(decoded.data);
    expect(outcome).toEqual({ ok: false, error: name });
    expect(['refused', 'transient']).toContain(classifyMarkError(name));
  });

  it('decodes Ok(Ok(())) as success, and refuses a LangError (the contract could not read the call)', () => {
    const ok = decodeContractExecResult(registry, execResult('0000', false));
    expect(ok.ok && abi.decodeMarkFulfilled(ok.data)).toEqual({ ok: true });
    const lang = decodeContractExecResult(registry, execResult('0101', true));
    expect(() => lang.ok && abi.decodeMarkFulfilled(lang.data)).toThrow(/could not read its input/);
  });

  it('names the module error of a call that did not run to a return', () => {
    const contractsIndex = registry.metadata.pallets.find((p) => p.name.toString() === 'Contracts')!.index.toNumber();
    const errors = registry.lookup.getSiType(
      registry.metadata.pallets.find((p) => p.name.toString() === 'Contracts')!.errors.unwrap().type,
    );
    const trapped = errors.def.asVariant.variants
      .find((v) => v.name.toString() === 'ContractTrapped')!
      .index.toNumber();
    const body = Buffer.from(
      hex(execResult('', false)).slice(0, -12) +
        '01' +
        '03' +
        le(BigInt(contractsIndex), 1) +
        le(BigInt(trapped), 1) +
        '000000',
      'hex',
    );
    expect(decodeContractExecResult(registry, body)).toEqual({ ok: false, dispatchError: 'contracts.ContractTrapped' });
  });
});

describe('loading contract metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-abi-'));

  it('refuses metadata whose mark_fulfilled selector differs, naming the file and both selectors', () => {
    const json = JSON.parse(readFileSync(VENDORED_METADATA_PATH, 'utf8')) as MetadataJson;
    json.spec.messages.find((m) => m.label === 'mark_fulfilled')!.selector = '0xdeadbeef';
    const path = join(dir, 'changed.json');
    writeFileSync(path, JSON.stringify(json));
    expect(() => AllwaysAbi.load(path)).toThrow(AbiMismatch);
    expect(() => AllwaysAbi.load(path)).toThrow(
      /changed\.json: mark_fulfilled has selector 0xdeadbeef, expected 0x2dbeeb8d/,
    );
  });

  it('refuses a missing file and a file that is not ink! metadata', () => {
    expect(() => AllwaysAbi.load(join(dir, 'absent.json'))).toThrow(/cannot read contract metadata .*absent\.json/);
    const path = join(dir, 'other.json');
    writeFileSync(path, JSON.stringify({ hello: 'world' }));
    expect(() => AllwaysAbi.load(path)).toThrow(/other\.json is not ink! contract metadata/);
  });
});
