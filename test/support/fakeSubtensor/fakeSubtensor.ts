/**
 * A fake Subtensor node for the tests: a WebSocket JSON-RPC endpoint on 127.0.0.1 that answers
 * the calls @polkadot/api and settle's Substrate adapter make, with a real runtime's types
 * (see runtime.ts), a transaction pool with the node's refusals, blocks that apply signed
 * `balances.transferKeepAlive` and `contracts.call` extrinsics (signatures checked), events,
 * finality lagging the best block, and the allways contract model. No Substrate node can be
 * installed on these machines; this is the closest offline stand-in, and it is only a test's.
 */
import type { AddressInfo } from 'node:net';
import { u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { blake2AsU8a, decodeAddress, encodeAddress, signatureVerify } from '@polkadot/util-crypto';
import type { Extrinsic } from '@polkadot/types/interfaces';
import { WebSocketServer, type WebSocket } from 'ws';
import { AllwaysAbi } from '../../../src/chains/substrate/allwaysAbi.ts';
import { AllwaysContractModel, type ContractEvent } from './allwaysContractModel.ts';
import {
  accountKey,
  decodeContractsCallParams,
  DISPATCH_INFO,
  encodeAccountInfo,
  encodeEvent,
  encodeEventRecords,
  encodeExecResult,
  EVENTS_KEY,
  metadataHex,
  moduleError,
  registry,
  rpcMethods,
  runtimeVersion,
  type EventRecordInput,
} from './runtime.ts';

/** What every extrinsic costs its signer, in rao. */
export const FEE = 1_000_000n;
export const EXISTENTIAL_DEPOSIT = 500n;

interface Account {
  nonce: number;
  free: bigint;
}

interface Block {
  readonly number: number;
  readonly hash: string;
  readonly header: Record<string, unknown>;
  readonly extrinsics: string[];
  readonly events: string;
  /** Account states after this block, by SS58. */
  readonly accounts: Map<string, Account>;
}

interface PoolEntry {
  readonly hex: string;
  readonly hash: string;
  readonly signer: string;
  readonly nonce: number;
}

export interface RpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: string;
}

class RpcRefusal extends Error {
  constructor(readonly error: RpcError) {
    super(error.message);
  }
}

export interface FakeSubtensorOptions {
  /** Produce a block every this many ms; null: only when the test calls produceBlock. */
  readonly blockTimeMs?: number | null;
  /** Blocks the finalized head trails the best block. */
  readonly finalityLag?: number;
}

const GENESIS_PARENT = `0x${'00'.repeat(32)}`;

export class FakeSubtensor {
  readonly contract: AllwaysContractModel;
  readonly contractAddress: string;
  readonly blocks: Block[] = [];
  readonly pool: PoolEntry[] = [];
  /** Every request received, for tests that check the traffic. */
  readonly requests: { method: string; params: unknown[] }[] = [];
  /** Methods that fail with a transport-level error while listed (an endpoint in trouble). */
  readonly failing = new Set<string>();
  /** Methods that get no answer at all while listed (a node that hangs). */
  readonly stalled = new Set<string>();
  /**
   * Called with every request after it is recorded and before it is answered, so a test can
   * change the chain at a precise point of a client's traffic (e.g. produce a block between
   * two reads of one poll). Null: nothing is called.
   */
  onRequest: ((method: string, params: unknown[]) => void) | null = null;
  /**
   * For how many blocks after including an extrinsic the pool refuses it again as "temporarily
   * banned" (1012). Null (the default): for ever. A real node's ban lapses (30 minutes by
   * default); the extrinsic is then checked like any other, and its used nonce makes it
   * "outdated" (1010).
   */
  banBlocks: number | null = null;
  finalityLag: number;
  private accounts = new Map<string, Account>();
  private pendingEvents: EventRecordInput[] = [];
  private server: WebSocketServer | null = null;
  private port = 0;
  private timer: NodeJS.Timeout | null = null;
  private subscriptionId = 0;

  private constructor(options: FakeSubtensorOptions) {
    this.finalityLag = options.finalityLag ?? 0;
    this.contractAddress = encodeAddress(blake2AsU8a('allways_swap_manager', 256), 42);
    this.contract = new AllwaysContractModel(AllwaysAbi.load(), this.contractAddress);
    this.sealBlock([]);
  }

  static async start(options: FakeSubtensorOptions = {}): Promise<FakeSubtensor> {
    const node = new FakeSubtensor(options);
    await node.listen(0);
    if (options.blockTimeMs !== undefined && options.blockTimeMs !== null) {
      node.timer = setInterval(() => node.produceBlock(), options.blockTimeMs);
    }
    return node;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get best(): Block {
    return this.blocks.at(-1)!;
  }

  get finalized(): Block {
    return this.blocks[Math.max(0, this.blocks.length - 1 - this.finalityLag)]!;
  }

  endow(address: string, free: bigint): void {
    this.account(address).free = free;
  }

  balanceOf(address: string): bigint {
    return this.accounts.get(encodeAddress(decodeAddress(address), 42))?.free ?? 0n;
  }

  nonceOf(address: string): number {
    return this.accounts.get(encodeAddress(decodeAddress(address), 42))?.nonce ?? 0;
  }

  /**
   * Contract events a validator's extrinsic would emit; they land in the next block. `from` is
   * the emitting contract: the allways contract by default, another address to stand for a
   * different contract emitting look-alike events.
   */
  emitContractEvent(event: ContractEvent, from: string = this.contractAddress): void {
    this.pendingEvents.push({
      extrinsic: 0,
      event: encodeEvent('Contracts', 'ContractEmitted', [from, u8aToHex(event.data)]),
      topics: event.topics,
    });
  }

  /** Applies the pool's ready extrinsics (each signer's in nonce order) in a new block. */
  produceBlock(): Block {
    const included: PoolEntry[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const entry of [...this.pool]) {
        if (entry.nonce !== this.account(entry.signer).nonce) continue;
        this.pool.splice(this.pool.indexOf(entry), 1);
        this.account(entry.signer).nonce += 1;
        included.push(entry);
        progress = true;
      }
    }
    return this.sealBlock(included);
  }

  /**
   * Drops the best block, as a reorganisation onto a sibling without it: its extrinsics are
   * forgotten (not pooled again) and balances and nonces go back to the new best block's. The
   * allways contract model is not rolled back: only for tests that do not touch the contract.
   */
  reorgBest(): Block {
    if (this.blocks.length < 2) throw new Error('nothing to reorganise');
    const dropped = this.blocks.pop()!;
    this.accounts = new Map([...this.best.accounts].map(([k, v]) => [k, { ...v }]));
    return dropped;
  }

  /** Closes the endpoint (every client connection drops), as a node going away. */
  async goAway(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async comeBack(): Promise<void> {
    if (this.server === null) await this.listen(this.port);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.goAway();
  }

  private account(address: string): Account {
    const key = encodeAddress(decodeAddress(address), 42);
    let account = this.accounts.get(key);
    if (account === undefined) {
      account = { nonce: 0, free: 0n };
      this.accounts.set(key, account);
    }
    return account;
  }

  private async listen(port: number): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (socket) => socket.on('message', (data) => this.onMessage(socket, String(data))));
    this.server = server;
  }

  private onMessage(socket: WebSocket, text: string): void {
    const request = JSON.parse(text) as { id: number; method: string; params?: unknown[] };
    const params = request.params ?? [];
    this.requests.push({ method: request.method, params });
    this.onRequest?.(request.method, params);
    const reply = (body: object): void => socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, ...body }));
    if (this.stalled.has(request.method)) return;
    if (this.failing.has(request.method)) {
      reply({ error: { code: -32603, message: `Internal error: ${request.method} unavailable` } });
      return;
    }
    try {
      const result = this.answer(request.method, params, socket);
      reply({ result });
    } catch (error) {
      if (error instanceof RpcRefusal) reply({ error: error.error });
      else reply({ error: { code: -32601, message: String((error as Error).message) } });
    }
  }

  private answer(method: string, params: unknown[], socket: WebSocket): unknown {
    switch (method) {
      case 'rpc_methods':
        return rpcMethods;
      case 'system_chain':
        return 'Fake Subtensor';
      case 'system_name':
        return 'settle-fake-subtensor';
      case 'system_version':
        return '1.0.0';
      case 'system_properties':
        return { ss58Format: 42, tokenDecimals: 9, tokenSymbol: 'TAO' };
      case 'state_getRuntimeVersion':
        return runtimeVersion;
      case 'state_getMetadata':
        return metadataHex;
      case 'state_subscribeRuntimeVersion':
      case 'chain_subscribeNewHeads':
      case 'chain_subscribeFinalizedHeads':
      case 'chain_subscribeAllHeads': {
        const id = `sub-${++this.subscriptionId}`;
        if (method === 'state_subscribeRuntimeVersion') {
          setImmediate(() =>
            socket.send(
              JSON.stringify({
                jsonrpc: '2.0',
                method: 'state_runtimeVersion',
                params: { subscription: id, result: runtimeVersion },
              }),
            ),
          );
        }
        return id;
      }
      case 'state_unsubscribeRuntimeVersion':
      case 'chain_unsubscribeNewHeads':
      case 'chain_unsubscribeFinalizedHeads':
        return true;
      case 'chain_getBlockHash': {
        if (params[0] === undefined || params[0] === null) return this.best.hash;
        return this.blocks[Number(params[0])]?.hash ?? null;
      }
      case 'chain_getHeader':
        return this.blockAt(params[0]).header;
      case 'chain_getBlock': {
        const block = this.blockAt(params[0]);
        return { block: { header: block.header, extrinsics: block.extrinsics }, justifications: null };
      }
      case 'chain_getFinalizedHead':
        return this.finalized.hash;
      case 'state_getStorage':
        return this.storage(String(params[0]), this.blockAt(params[1]));
      case 'state_queryStorageAt': {
        const block = this.blockAt(params[1]);
        return [{ block: block.hash, changes: (params[0] as string[]).map((key) => [key, this.storage(key, block)]) }];
      }
      case 'state_call':
        return this.runtimeCall(String(params[0]), String(params[1]));
      case 'system_accountNextIndex': {
        const signer = encodeAddress(decodeAddress(String(params[0])), 42);
        let next = this.account(signer).nonce;
        while (this.pool.some((e) => e.signer === signer && e.nonce === next)) next += 1;
        return next;
      }
      case 'author_submitExtrinsic':
        return this.submit(String(params[0]));
      case 'author_pendingExtrinsics':
        return this.pool.map((e) => e.hex);
      default:
        throw new Error(`Method not found: ${method}`);
    }
  }

  private blockAt(hash: unknown): Block {
    if (hash === undefined || hash === null) return this.best;
    const block = this.blocks.find((b) => b.hash === hash);
    if (block === undefined)
      throw new RpcRefusal({ code: 4003, message: `Client error: UnknownBlock: header not found for ${String(hash)}` });
    return block;
  }

  private storage(key: string, block: Block): string | null {
    if (key === EVENTS_KEY) return block.events;
    for (const [address, account] of block.accounts) {
      if (accountKey(address) === key) return encodeAccountInfo(account.nonce, account.free);
    }
    return null;
  }

  private runtimeCall(method: string, data: string): string {
    if (method === 'Metadata_metadata_versions') return u8aToHex(registry.createType('Vec<u32>', [14]).toU8a());
    if (method === 'Metadata_metadata_at_version')
      return u8aToHex(registry.createType('Option<Bytes>', metadataHex).toU8a());
    if (method !== 'ContractsApi_call') throw new Error(`runtime api ${method} not implemented`);
    const { origin, dest, input } = decodeContractsCallParams(hexToU8a(data));
    if (encodeAddress(dest, 42) !== this.contractAddress)
      return encodeExecResult({ dispatchError: moduleError('Contracts', 'ContractNotFound') });
    const outcome = this.contract.call(origin, input, this.best.number, false);
    return encodeExecResult({ data: outcome.data, revert: outcome.revert });
  }

  private submit(hex: string): string {
    let extrinsic: Extrinsic;
    try {
      extrinsic = registry.createType('Extrinsic', hex);
    } catch (error) {
      throw new RpcRefusal({
        code: 1002,
        message: `Verification Error: Runtime error: Could not decode: ${(error as Error).message}`,
      });
    }
    const hash = extrinsic.hash.toHex();
    if (this.pool.some((e) => e.hash === hash))
      throw new RpcRefusal({ code: 1013, message: 'Transaction Already Imported' });
    const includedIn = this.blocks.find((b) => b.extrinsics.includes(hex));
    if (
      includedIn !== undefined &&
      (this.banBlocks === null || this.best.number - includedIn.number < this.banBlocks)
    ) {
      throw new RpcRefusal({ code: 1012, message: 'Transaction is temporarily banned' });
    }
    if (!extrinsic.isSigned)
      throw new RpcRefusal({ code: 1010, message: 'Invalid Transaction', data: 'Transaction call is not expected' });
    const signer = encodeAddress(decodeAddress(extrinsic.signer.toString()), 42);
    const nonce = extrinsic.nonce.toNumber();
    const account = this.account(signer);
    if (nonce < account.nonce)
      throw new RpcRefusal({ code: 1010, message: 'Invalid Transaction', data: 'Transaction is outdated' });
    if (!this.signatureValid(extrinsic))
      throw new RpcRefusal({ code: 1010, message: 'Invalid Transaction', data: 'Transaction has a bad signature' });
    if (account.free < FEE)
      throw new RpcRefusal({
        code: 1010,
        message: 'Invalid Transaction',
        data: 'Inability to pay some fees (e.g. account balance too low)',
      });
    const clash = this.pool.find((e) => e.signer === signer && e.nonce === nonce);
    if (clash !== undefined)
      throw new RpcRefusal({
        code: 1014,
        message: 'Priority is too low: (0 vs 0)',
        data: 'The transaction has too low priority to replace another transaction already in the pool.',
      });
    this.pool.push({ hex, hash, signer, nonce });
    return hash;
  }

  /** The signature over the signing payload, as the runtime's CheckMortality/CheckGenesis build it. */
  private signatureValid(extrinsic: Extrinsic): boolean {
    const era = extrinsic.era;
    let blockHash = this.blocks[0]!.hash;
    if (era.isMortalEra) {
      const birth = era.asMortalEra.birth(this.best.number);
      const block = this.blocks[birth];
      if (block === undefined || this.best.number >= era.asMortalEra.death(this.best.number)) return false;
      blockHash = block.hash;
    }
    const payload = registry.createType(
      'ExtrinsicPayload',
      {
        method: extrinsic.method.toHex(),
        era: extrinsic.era,
        nonce: extrinsic.nonce,
        tip: extrinsic.tip,
        specVersion: runtimeVersion.specVersion,
        transactionVersion: runtimeVersion.transactionVersion,
        genesisHash: this.blocks[0]!.hash,
        blockHash,
      },
      { version: extrinsic.version & 0x7f },
    );
    let message = payload.toU8a({ method: true });
    if (message.length > 256) message = blake2AsU8a(message, 256);
    return signatureVerify(message, extrinsic.signature.toU8a(), decodeAddress(extrinsic.signer.toString())).isValid;
  }

  private sealBlock(included: readonly PoolEntry[]): Block {
    const number = this.blocks.length;
    const records: EventRecordInput[] = [...this.pendingEvents];
    this.pendingEvents = [];
    for (const [index, entry] of included.entries()) records.push(...this.apply(entry, index + 1, number));
    const timestamp = registry
      .createType('Extrinsic', {
        method: registry.createType('Call', {
          callIndex: new Uint8Array([3, 0]),
          args: { now: 1_700_000_000_000 + number * 12_000 },
        }),
      })
      .toHex();
    const extrinsics = [timestamp, ...included.map((e) => e.hex)];
    const header = registry.createType('Header', {
      parentHash: this.blocks.at(-1)?.hash ?? GENESIS_PARENT,
      number,
      stateRoot: u8aToHex(blake2AsU8a(`state-${number}`, 256)),
      extrinsicsRoot: u8aToHex(blake2AsU8a(u8aConcat(...extrinsics.map((e) => hexToU8a(e))), 256)),
      digest: { logs: [] },
    });
    const block: Block = {
      number,
      hash: header.hash.toHex(),
      header: header.toJSON() as Record<string, unknown>,
      extrinsics,
      events: encodeEventRecords(records),
      accounts: new Map([...this.accounts].map(([k, v]) => [k, { ...v }])),
    };
    this.blocks.push(block);
    return block;
  }

  /** Executes one included extrinsic (its nonce already taken): fee, then the call. */
  private apply(entry: PoolEntry, index: number, blockNumber: number): EventRecordInput[] {
    const extrinsic = registry.createType('Extrinsic', entry.hex);
    const signer = this.account(entry.signer);
    signer.free -= FEE;
    const { section, method } = extrinsic.method;
    const args = extrinsic.method.args;
    const success = (events: EventRecordInput[]): EventRecordInput[] => [
      ...events,
      { extrinsic: index, event: encodeEvent('System', 'ExtrinsicSuccess', [DISPATCH_INFO]) },
    ];
    const failure = (pallet: string, error: string): EventRecordInput[] => [
      {
        extrinsic: index,
        event: encodeEvent('System', 'ExtrinsicFailed', [moduleError(pallet, error), DISPATCH_INFO]),
      },
    ];
    if (section === 'balances' && method === 'transferKeepAlive') {
      const to = encodeAddress(args[0]!.toU8a().subarray(1), 42);
      const amount = BigInt(args[1]!.toString());
      if (signer.free - amount < EXISTENTIAL_DEPOSIT) return failure('Balances', 'InsufficientBalance');
      signer.free -= amount;
      this.account(to).free += amount;
      return success([{ extrinsic: index, event: encodeEvent('Balances', 'Transfer', [entry.signer, to, amount]) }]);
    }
    if (section === 'contracts' && method === 'call') {
      const dest = encodeAddress(args[0]!.toU8a().subarray(1), 42);
      if (dest !== this.contractAddress) return failure('Contracts', 'ContractNotFound');
      const outcome = this.contract.call(decodeAddress(entry.signer), args[4]!.toU8a(), blockNumber, true);
      if (outcome.revert) return failure('Contracts', 'ContractReverted');
      return success(
        outcome.events.map((e) => ({
          extrinsic: index,
          event: encodeEvent('Contracts', 'ContractEmitted', [this.contractAddress, u8aToHex(e.data)]),
          topics: e.topics,
        })),
      );
    }
    return failure('System', 'CallFiltered');
  }
}
