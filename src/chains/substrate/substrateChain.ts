/**
 * The few things settle asks of a Substrate node (Subtensor), over @polkadot/api: heights,
 * contract dry runs at a given block, balances, nonces, extrinsic submission with its refusals
 * told apart, and the events of a block. Everything @polkadot/api-specific stays in this
 * directory; the contract and the transfer sender above it speak in plain values.
 */
import '@polkadot/api-augment';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { DispatchError, SignedBlock } from '@polkadot/types/interfaces';
import type { Registry } from '@polkadot/types/types';
import type { FrameSystemEventRecord } from '@polkadot/types/lookup';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import type { Logger } from '../../host/ports.ts';

export interface ContractCall {
  readonly origin: string;
  readonly contract: string;
  /** Selector and arguments, length-prefixed (as AllwaysAbi encodes them). */
  readonly input: Uint8Array;
  /** The block hash to run at; the best block when absent. */
  readonly at?: string;
}

export type ContractCallResult =
  | {
      readonly ok: true;
      readonly reverted: boolean;
      readonly data: Uint8Array;
      readonly gasRequired: { readonly refTime: bigint; readonly proofSize: bigint };
    }
  /** The call did not run to a return (trapped, out of gas, no such contract...). */
  | { readonly ok: false; readonly dispatchError: string };

/** Why the node's transaction pool refused an extrinsic. */
export type RefusalKind =
  /** Its nonce is used, its era has ended, or its signature no longer checks out: never lands. */
  | 'stale'
  /** The pool has it already, or saw it included recently: harmless. */
  | 'known'
  /** The account cannot pay the fee. */
  | 'payment'
  | 'other';

export class SubmitRefused extends Error {
  override readonly name = 'SubmitRefused';
  constructor(
    readonly kind: RefusalKind,
    detail: string,
  ) {
    super(`extrinsic refused by the node (${kind}): ${detail}`);
  }
}

/** An endpoint for a log line: provider URLs often carry an API key in the path's query or userinfo. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.username !== '' || parsed.password !== '' || parsed.search !== '';
    return hidden ? `${parsed.protocol}//${parsed.host}${parsed.pathname} (credentials hidden)` : url;
  } catch {
    return '(an endpoint URL that does not parse)';
  }
}

/** No node answered at the endpoint (down, or not yet up): worth trying again later. */
export class EndpointUnreachable extends Error {
  override readonly name = 'EndpointUnreachable';
}

export interface BlockRef {
  readonly number: number;
  readonly hash: string;
}

export class SubstrateChain {
  private constructor(
    readonly api: ApiPromise,
    readonly url: string,
  ) {}

  /**
   * Connects and waits for the node's metadata. The provider reconnects by itself (every
   * `reconnectMs`) when the endpoint goes away; calls made meanwhile fail and are retried by
   * the host on its next tick.
   */
  static async connect(
    url: string,
    options: { log: Logger; reconnectMs?: number; timeoutMs?: number },
  ): Promise<SubstrateChain> {
    // No response cache: @polkadot caches failures too, so a read at a block would keep failing
    // for 30 s after the node came back.
    const provider = new WsProvider(url, options.reconnectMs ?? 2_500, {}, options.timeoutMs ?? 30_000, 0);
    let firstError: string | null = null;
    provider.on('error', (error: unknown) => {
      firstError ??= String((error as Error)?.message ?? error);
    });
    const ready = ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            new EndpointUnreachable(
              `no Substrate node answered at ${redactUrl(url)} within ${timeoutMs} ms${firstError === null ? '' : `: ${firstError}`}`,
            ),
          ),
        timeoutMs,
      ).unref(),
    );
    try {
      const api = await Promise.race([ready, timer]);
      return new SubstrateChain(api, url);
    } catch (error) {
      await provider.disconnect().catch(() => undefined);
      throw error instanceof EndpointUnreachable
        ? error
        : new EndpointUnreachable(
            `cannot connect to the Substrate node at ${redactUrl(url)}: ${String((error as Error)?.message ?? error)}`,
          );
    }
  }

  disconnect(): Promise<void> {
    return this.api.disconnect();
  }

  async best(): Promise<BlockRef> {
    const header = await this.api.rpc.chain.getHeader();
    return { number: header.number.toNumber(), hash: header.hash.toHex() };
  }

  async finalized(): Promise<BlockRef> {
    const hash = await this.api.rpc.chain.getFinalizedHead();
    const header = await this.api.rpc.chain.getHeader(hash);
    return { number: header.number.toNumber(), hash: hash.toHex() };
  }

  /** The hash of block `number` on the canonical chain, or null beyond the head. */
  async blockHash(number: number): Promise<string | null> {
    const hash = await this.api.rpc.chain.getBlockHash(number);
    return hash.isEmpty ? null : hash.toHex();
  }

  async block(hash: string): Promise<SignedBlock> {
    return this.api.rpc.chain.getBlock(hash);
  }

  async eventsAt(hash: string): Promise<FrameSystemEventRecord[]> {
    const events = await this.api.query.system.events.at(hash);
    return [...(events as unknown as Iterable<FrameSystemEventRecord>)];
  }

  /** A read-only contract call (ContractsApi_call), as the node would run it at `at`. */
  async callContract(call: ContractCall): Promise<ContractCallResult> {
    const api = this.api;
    const params = u8aConcat(
      api.createType('AccountId', call.origin).toU8a(),
      api.createType('AccountId', call.contract).toU8a(),
      api.createType('Balance', 0).toU8a(),
      api.createType('Option<WeightV2>', null).toU8a(),
      api.createType('Option<Balance>', null).toU8a(),
      call.input,
    );
    // As hex: a Uint8Array given for `Bytes` would be read as length-prefixed.
    const raw = await api.rpc.state.call('ContractsApi_call', u8aToHex(params), call.at);
    return decodeContractExecResult(api.registry, raw.toU8a(true));
  }

  async freeBalance(address: string): Promise<bigint> {
    const account = await this.api.query.system.account(address);
    return account.data.free.toBigInt();
  }

  /** The next nonce of an account, counting extrinsics waiting in the node's pool. */
  async nextNonce(address: string): Promise<number> {
    return (await this.api.rpc.system.accountNextIndex(address)).toNumber();
  }

  /** Hands a signed extrinsic to the node's pool; throws SubmitRefused when the pool says no. */
  async submit(extrinsicHex: string): Promise<void> {
    try {
      await this.api.rpc.author.submitExtrinsic(extrinsicHex);
    } catch (error) {
      const message = String((error as Error)?.message ?? error);
      // A JSON-RPC error carries a code: the node answered, and did not take the extrinsic.
      // Without one the transport failed, and the request may have reached the pool.
      const answered = typeof (error as { code?: unknown }).code === 'number';
      const refusal = classifyRefusal(message) ?? (answered ? 'other' : null);
      if (refusal === null) throw new Error(`submitting to ${redactUrl(this.url)} failed: ${message}`);
      throw new SubmitRefused(refusal, message);
    }
  }

  /** "Module.Error" for a module error, else the error's kind. */
  describeDispatchError(error: DispatchError): string {
    return describeDispatchError(this.api.registry, error);
  }
}

export function describeDispatchError(registry: Registry, error: DispatchError): string {
  if (error.isModule) {
    const meta = registry.findMetaError(error.asModule);
    return `${meta.section}.${meta.name}`;
  }
  return error.type;
}

/** A ContractsApi_call answer (ContractExecResult, as the runtime encodes it). */
export function decodeContractExecResult(registry: Registry, bytes: Uint8Array): ContractCallResult {
  const result = registry.createType('ContractExecResult', bytes);
  if (result.result.isErr) return { ok: false, dispatchError: describeDispatchError(registry, result.result.asErr) };
  const ok = result.result.asOk;
  return {
    ok: true,
    reverted: ok.flags.isRevert,
    data: ok.data.toU8a(true),
    gasRequired: { refTime: result.gasRequired.refTime.toBigInt(), proofSize: result.gasRequired.proofSize.toBigInt() },
  };
}

/**
 * The node's pool errors (substrate client/rpc-api author errors): 1010 invalid transaction,
 * 1012 temporarily banned (seen recently), 1013 already imported, 1014 priority too low (a
 * transaction with the same nonce is in the pool). Null when the call itself failed.
 */
export function classifyRefusal(message: string): RefusalKind | null {
  if (/\b1013\b|already imported|\b1012\b|temporarily banned/i.test(message)) return 'known';
  if (/\b1014\b|priority is too low/i.test(message)) return 'stale';
  if (/\b1010\b|invalid transaction/i.test(message)) {
    if (/outdated|stale|ancient birth|bad signature|badproof/i.test(message)) return 'stale';
    if (/pay|fee|balance/i.test(message)) return 'payment';
    return 'other';
  }
  return null;
}
