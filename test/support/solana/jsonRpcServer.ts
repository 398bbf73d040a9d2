/**
 * The plumbing of a JSON-RPC 2.0 endpoint over HTTP on 127.0.0.1, for the tests' served chains
 * (the LiteSVM-backed Solana node here; any other served program may reuse it): a method table,
 * batches, errors with code/message/data, integers beyond 2^53 written as bare JSON numbers
 * (Solana's lamports and slots are u64; @solana/kit parses them back as bigint), a count of
 * calls per method, and one-shot faults a test arms: a request refused before it reaches the
 * chain, or an answer lost after the chain acted on it.
 *
 * Nothing here knows Solana. It holds no state but the counts and the armed faults; a crash of
 * the test process leaves nothing behind.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RpcMethod = (params: readonly unknown[]) => unknown;

/** An error answered as JSON-RPC's { code, message, data }. */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Where a one-shot fault strikes: before the method runs, or after (its answer lost). */
export type FaultPoint = 'before' | 'after';

export interface JsonRpcServer {
  readonly url: string;
  /** Calls answered (or failed) so far, per method. */
  readonly calls: ReadonlyMap<string, number>;
  /** The next call of `method` fails at `point` (an HTTP 503, as a proxy that lost the node would give). */
  failNext(method: string, point: FaultPoint): void;
  close(): Promise<void>;
}

/** Bodies larger than this are refused: no test sends anything near it. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

class LostAnswer extends Error {}

export async function serveJsonRpc(methods: Readonly<Record<string, RpcMethod>>): Promise<JsonRpcServer> {
  const calls = new Map<string, number>();
  const faults = new Map<string, FaultPoint>();

  const call = async (request: unknown): Promise<object> => {
    const { id, method, params } = (request ?? {}) as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof method !== 'string')
      return { jsonrpc: '2.0', id: id ?? null, error: { code: -32600, message: 'Invalid request' } };
    calls.set(method, (calls.get(method) ?? 0) + 1);
    const fault = faults.get(method);
    if (fault !== undefined) faults.delete(method);
    if (fault === 'before') throw new LostAnswer();
    const handler = methods[method];
    if (handler === undefined)
      return { jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method}` } };
    try {
      const result = await handler(Array.isArray(params) ? params : params === undefined ? [] : [params]);
      if (fault === 'after') throw new LostAnswer();
      return { jsonrpc: '2.0', id, result };
    } catch (error) {
      if (error instanceof LostAnswer) throw error;
      if (fault === 'after') throw new LostAnswer();
      if (error instanceof JsonRpcError)
        return {
          jsonrpc: '2.0',
          id,
          error: {
            code: error.code,
            message: error.message,
            ...(error.data === undefined ? {} : { data: error.data }),
          },
        };
      return { jsonrpc: '2.0', id, error: { code: -32603, message: `Internal error: ${(error as Error).message}` } };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    try {
      const answer = Array.isArray(parsed) ? await Promise.all(parsed.map(call)) : await call(parsed);
      send(res, 200, answer);
    } catch (error) {
      if (!(error instanceof LostAnswer)) throw error;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('answer lost (fault armed by the test)');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    failNext: (method, point) => void faults.set(method, point),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(stringifyWithBigInts(value));
}

/** JSON with bigints written as bare integers (JSON.stringify refuses them). */
export function stringifyWithBigInts(value: unknown): string {
  const marker = '__bigint__';
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v}` : v));
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}
