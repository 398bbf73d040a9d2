/**
 * An Esplora HTTP API client (blockstream.info, mempool.space, a self-hosted electrs), over a
 * list of base URLs tried in order: an endpoint that cannot be reached, times out, refuses our
 * credentials (401/403), rate-limits (429) or fails (5xx) hands the request to the next; any
 * other answer, a 404 included, is the answer. Every answer is checked for shape here, so the
 * sender never reads a field that is not there.
 *
 * Reads only, plus `broadcast` (POST /tx): nothing here signs or holds a key. Amounts come back
 * as bigint satoshis.
 */
import { z } from 'zod';

/** Every endpoint of the list failed to answer (network, timeout, 401/403, 429, 5xx). */
export class EsploraUnreachable extends Error {
  override readonly name = 'EsploraUnreachable';
}

/** An endpoint answered something that is not what Esplora answers: a wrong URL, or a proxy. */
export class EsploraBadAnswer extends Error {
  override readonly name = 'EsploraBadAnswer';
}

export interface Utxo {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  /** Height of the block holding the funding transaction; null while it is in the mempool. */
  readonly height: number | null;
}

export interface TxStatus {
  readonly confirmed: boolean;
  readonly height: number | null;
  readonly blockHash: string | null;
}

/** A transaction as Esplora's GET /tx/{txid} shows it: what a deposit check reads. */
export interface EsploraTx {
  readonly txid: string;
  readonly inputs: ReadonlyArray<{ readonly prevoutAddress: string | null }>;
  readonly outputs: ReadonlyArray<{ readonly address: string | null; readonly value: bigint }>;
  readonly status: TxStatus;
}

export type Outspend =
  | { readonly spent: false }
  | { readonly spent: true; readonly txid: string; readonly status: TxStatus };

/** One transaction of an address's history, as GET /address/:address/txs lists it. */
export interface AddressTx {
  readonly txid: string;
  readonly status: TxStatus;
  /** The address each input spends from (null: a coinbase, or a script without an address). */
  readonly inputs: readonly (string | null)[];
  readonly outputs: readonly { readonly address: string | null; readonly value: bigint }[];
}

/** The node's answer to a broadcast: accepted, or refused with its words (400 and the like). */
export type BroadcastAnswer =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly status: number; readonly message: string };

const TXID = /^[0-9a-f]{64}$/;
const sats = z.number().int().nonnegative().refine(Number.isSafeInteger);
const statusSchema = z.object({
  confirmed: z.boolean(),
  block_height: z.number().int().nonnegative().optional(),
  block_hash: z.string().optional(),
});
const utxoSchema = z.object({
  txid: z.string().regex(TXID),
  vout: z.number().int().nonnegative(),
  value: sats,
  status: statusSchema,
});
const outspendSchema = z.object({
  spent: z.boolean(),
  txid: z.string().regex(TXID).optional(),
  status: statusSchema.optional(),
});
const txSchema = z.object({
  txid: z.string().regex(TXID),
  vin: z.array(z.object({ prevout: z.object({ scriptpubkey_address: z.string().optional() }).nullable().optional() })),
  vout: z.array(z.object({ scriptpubkey_address: z.string().optional(), value: sats })),
  status: statusSchema,
});
const feeEstimatesSchema = z.record(z.string(), z.number().nonnegative());
const blockStatusSchema = z.object({ in_best_chain: z.boolean() });

/** Answers longer than this are refused: an address with more UTXOs is paged by Esplora anyway. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface EsploraOptions {
  /** Base URLs, e.g. https://blockstream.info/api, tried in this order. */
  readonly urls: readonly string[];
  readonly timeoutMs?: number;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** What the BTC sender reads and writes through Esplora (the simulator brings its own). */
export interface EsploraApi {
  tipHeight(): Promise<number>;
  utxos(address: string): Promise<Utxo[]>;
  txStatus(txid: string): Promise<TxStatus | null>;
  txHex(txid: string): Promise<string | null>;
  outspend(txid: string, vout: number): Promise<Outspend>;
  /**
   * The address's most recent transactions, newest first: those in the mempool, then the
   * confirmed ones (Esplora: up to 50 unconfirmed and the 25 newest confirmed; one page).
   */
  addressTxs(address: string): Promise<AddressTx[]>;
  feeEstimates(): Promise<Readonly<Record<string, number>>>;
  blockInBestChain(hash: string): Promise<boolean | null>;
  broadcast(rawHex: string): Promise<BroadcastAnswer>;
}

export class Esplora implements EsploraApi {
  private readonly urls: readonly string[];
  private readonly timeoutMs: number;

  constructor(options: EsploraOptions) {
    if (options.urls.length === 0) throw new Error('Esplora: at least one URL');
    this.urls = options.urls.map((u) => u.replace(/\/+$/, ''));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async tipHeight(): Promise<number> {
    const text = await this.text('/blocks/tip/height');
    const height = Number(text.trim());
    if (!Number.isSafeInteger(height) || height < 0)
      throw new EsploraBadAnswer(`/blocks/tip/height answered '${text.slice(0, 40)}', not a height`);
    return height;
  }

  /** Unspent outputs of the address, those still in the mempool included (height null). */
  async utxos(address: string): Promise<Utxo[]> {
    const parsed = this.parse(
      `/address/${address}/utxo`,
      z.array(utxoSchema),
      await this.text(`/address/${address}/utxo`),
    );
    return parsed.map((u) => ({
      txid: u.txid,
      vout: u.vout,
      value: BigInt(u.value),
      height: u.status.confirmed ? (u.status.block_height ?? null) : null,
    }));
  }

  /** The transaction's status, or null when this Esplora does not know it. */
  async txStatus(txid: string): Promise<TxStatus | null> {
    const path = `/tx/${txid}/status`;
    const answer = await this.get(path);
    if (answer.status === 404) return null;
    return toStatus(this.parse(path, statusSchema, this.ok(path, answer)));
  }

  /** The transaction with its inputs' prevout addresses and its outputs, or null when unknown. */
  async tx(txid: string): Promise<EsploraTx | null> {
    const path = `/tx/${txid}`;
    const answer = await this.get(path);
    if (answer.status === 404) return null;
    const t = this.parse(path, txSchema, this.ok(path, answer));
    return {
      txid: t.txid,
      inputs: t.vin.map((i) => ({ prevoutAddress: i.prevout?.scriptpubkey_address ?? null })),
      outputs: t.vout.map((o) => ({ address: o.scriptpubkey_address ?? null, value: BigInt(o.value) })),
      status: toStatus(t.status),
    };
  }

  /** The raw transaction as hex, or null when unknown. */
  async txHex(txid: string): Promise<string | null> {
    const path = `/tx/${txid}/hex`;
    const answer = await this.get(path);
    if (answer.status === 404) return null;
    const hex = this.ok(path, answer).trim();
    if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new EsploraBadAnswer(`${path} did not answer hex`);
    return hex.toLowerCase();
  }

  /** Whether (and by what) the output txid:vout is spent, in a block or in the mempool. */
  async outspend(txid: string, vout: number): Promise<Outspend> {
    const path = `/tx/${txid}/outspend/${vout}`;
    const o = this.parse(path, outspendSchema, await this.text(path));
    if (!o.spent) return { spent: false };
    if (o.txid === undefined || o.status === undefined)
      throw new EsploraBadAnswer(`${path}: spent, but by no transaction`);
    return { spent: true, txid: o.txid, status: toStatus(o.status) };
  }

  async addressTxs(address: string): Promise<AddressTx[]> {
    const path = `/address/${address}/txs`;
    return this.parse(path, z.array(txSchema), await this.text(path)).map((tx) => ({
      txid: tx.txid,
      status: toStatus(tx.status),
      inputs: tx.vin.map((input) => input.prevout?.scriptpubkey_address ?? null),
      outputs: tx.vout.map((o) => ({ address: o.scriptpubkey_address ?? null, value: BigInt(o.value) })),
    }));
  }

  /** Target in blocks -> sat/vB. */
  async feeEstimates(): Promise<Readonly<Record<string, number>>> {
    return this.parse('/fee-estimates', feeEstimatesSchema, await this.text('/fee-estimates'));
  }

  /** Whether the block is on the best chain; null when the endpoint does not know the block. */
  async blockInBestChain(hash: string): Promise<boolean | null> {
    const path = `/block/${hash}/status`;
    const answer = await this.get(path);
    if (answer.status === 404) return null;
    return this.parse(path, blockStatusSchema, this.ok(path, answer)).in_best_chain;
  }

  async broadcast(rawHex: string): Promise<BroadcastAnswer> {
    const answer = await this.request('POST', '/tx', rawHex);
    if (answer.status === 200) return { accepted: true };
    return { accepted: false, status: answer.status, message: answer.text.slice(0, 500) };
  }

  private async text(path: string): Promise<string> {
    return this.ok(path, await this.get(path));
  }

  private ok(path: string, answer: Answer): string {
    if (answer.status !== 200)
      throw new EsploraBadAnswer(`${path} answered HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
    return answer.text;
  }

  private parse<T>(path: string, schema: z.ZodType<T>, text: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new EsploraBadAnswer(`${path} did not answer JSON: ${text.slice(0, 80)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new EsploraBadAnswer(
        `${path} answered an unexpected shape: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }

  private get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  /** Each URL in turn until one gives an answer that is not a reason to try the next. */
  private async request(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    const failures: string[] = [];
    for (const base of this.urls) {
      let answer: Answer;
      try {
        const response = await fetch(`${base}${path}`, {
          method,
          body,
          headers: body === undefined ? {} : { 'content-type': 'text/plain' },
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        answer = { status: response.status, text: await boundedText(response) };
      } catch (error) {
        failures.push(`${base}: ${(error as Error).message}`);
        continue;
      }
      if (answer.status === 401 || answer.status === 403 || answer.status === 429 || answer.status >= 500) {
        failures.push(`${base}: HTTP ${answer.status}`);
        continue;
      }
      return answer;
    }
    throw new EsploraUnreachable(`${method} ${path}: no Esplora endpoint answered (${failures.join('; ')})`);
  }
}

async function boundedText(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > MAX_ANSWER_BYTES) throw new Error(`answer of ${length} bytes, over the ${MAX_ANSWER_BYTES} accepted`);
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES)
    throw new Error(`answer of ${text.length} characters, over the ${MAX_ANSWER_BYTES} accepted`);
  return text;
}

function toStatus(s: z.infer<typeof statusSchema>): TxStatus {
  return {
    confirmed: s.confirmed,
    height: s.confirmed ? (s.block_height ?? null) : null,
    blockHash: s.confirmed ? (s.block_hash ?? null) : null,
  };
}
