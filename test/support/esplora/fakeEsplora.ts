/**
 * The Esplora HTTP API over a FakeBitcoin, served on 127.0.0.1 on a free port: the paths and
 * JSON shapes of blockstream.info/api that the BTC sender and the validators read, and POST /tx
 * answering a refusal as Esplora does (HTTP 400, "sendrawtransaction RPC error: {...}").
 *
 * Faults, each for the next `times` matching requests: `drop-before` closes the connection
 * without doing anything, `drop-after` does the request and then closes the connection (the
 * answer is lost: a broadcast that reached the node), `status` answers an HTTP status (503,
 * 429...) without doing anything, `answer` answers the JSON given (an Esplora that lags). Every request is recorded as "METHOD /path".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Address, OutScript, type NETWORK } from '@scure/btc-signer';
import { BroadcastRefusal, FakeBitcoin, type FakeBlock } from './fakeBitcoin.ts';
import { hexOf, type ParsedTx } from './rawTx.ts';

export interface Fault {
  readonly method: 'GET' | 'POST';
  readonly path: RegExp;
  readonly mode: 'drop-before' | 'drop-after' | 'status' | 'answer';
  readonly status?: number;
  /** For `answer`: the JSON answered instead (an Esplora behind, e.g. a status from before a reorg). */
  readonly body?: object;
  times?: number;
}

export interface FakeEsplora {
  readonly url: string;
  readonly chain: FakeBitcoin;
  readonly requests: string[];
  fault(fault: Fault): void;
  close(): Promise<void>;
}

type Answer = { status: number; body: string | object };

export async function startFakeEsplora(network: typeof NETWORK, chain = new FakeBitcoin()): Promise<FakeEsplora> {
  const requests: string[] = [];
  const faults: Fault[] = [];
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const method = req.method === 'POST' ? 'POST' : 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${method} ${path}`);
    const fault = faults.find((f) => f.method === method && f.path.test(path) && (f.times ?? 1) > 0);
    if (fault !== undefined) fault.times = (fault.times ?? 1) - 1;
    if (fault?.mode === 'drop-before') return void req.socket.destroy();
    if (fault?.mode === 'status') return void res.writeHead(fault.status ?? 503).end('fault');
    if (fault?.mode === 'answer')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fault.body));
    const answer = route(chain, network, method, path, body);
    if (fault?.mode === 'drop-after') return void req.socket.destroy();
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res
      .writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json' })
      .end(text);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    chain,
    requests,
    fault: (f) => void faults.push({ ...f, times: f.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

const notFound: Answer = { status: 404, body: 'Transaction not found' };

function route(chain: FakeBitcoin, network: typeof NETWORK, method: string, path: string, body: string): Answer {
  if (method === 'POST' && path === '/tx') return broadcast(chain, body.trim());
  if (path === '/blocks/tip/height') return { status: 200, body: String(chain.tip) };
  if (path === '/fee-estimates') return { status: 200, body: chain.feeEstimates };
  const address = path.match(/^\/address\/([^/]+)\/utxo$/);
  if (address !== null) return utxos(chain, network, address[1]!);
  const history = path.match(/^\/address\/([^/]+)\/txs$/);
  if (history !== null) return addressTxs(chain, network, history[1]!);
  const block = path.match(/^\/block\/([0-9a-f]{64})\/status$/);
  if (block !== null) {
    const found = chain.blockOf(block[1]!);
    return found === null
      ? { status: 404, body: 'Block not found' }
      : { status: 200, body: { in_best_chain: found.best, height: found.block.height, next_best: null } };
  }
  const m = path.match(/^\/tx\/([0-9a-f]{64})(\/status|\/hex|\/outspend\/(\d+))?$/);
  if (m !== null) {
    const txid = m[1]!;
    const view = chain.view();
    if (!view.where.has(txid)) return notFound;
    const tx = chain.txs.get(txid)!;
    const status = statusOf(chain, view.where.get(txid)!);
    if (m[2] === '/status') return { status: 200, body: status };
    if (m[2] === '/hex') return { status: 200, body: tx.hex };
    if (m[3] !== undefined) {
      const vout = Number(m[3]);
      if (vout >= tx.outputs.length) return { status: 404, body: 'Output not found' };
      const spend = view.spentBy.get(`${txid}:${vout}`);
      return {
        status: 200,
        body:
          spend === undefined
            ? { spent: false }
            : { spent: true, txid: spend.txid, vin: spend.vin, status: statusOf(chain, spend.height) },
      };
    }
    return { status: 200, body: txJson(chain, network, tx, status) };
  }
  return { status: 404, body: 'not found' };
}

function broadcast(chain: FakeBitcoin, hex: string): Answer {
  try {
    return { status: 200, body: chain.accept(hex) };
  } catch (error) {
    if (error instanceof BroadcastRefusal) return { status: 400, body: error.message };
    throw error;
  }
}

function utxos(chain: FakeBitcoin, network: typeof NETWORK, address: string): Answer {
  let script: string;
  try {
    script = hexOf(OutScript.encode(Address(network).decode(address)));
  } catch {
    return { status: 400, body: 'Invalid Bitcoin address' };
  }
  const coins = [...chain.view().unspent.values()].filter((c) => hexOf(c.output.script) === script);
  return {
    status: 200,
    body: coins.map((c) => ({
      txid: c.txid,
      vout: c.vout,
      value: Number(c.output.value),
      status: statusOf(chain, c.height),
    })),
  };
}

/** Esplora's first page of an address's history: up to 50 pooled, then the 25 newest confirmed, newest first. */
function addressTxs(chain: FakeBitcoin, network: typeof NETWORK, address: string): Answer {
  let script: string;
  try {
    script = hexOf(OutScript.encode(Address(network).decode(address)));
  } catch {
    return { status: 400, body: 'Invalid Bitcoin address' };
  }
  const touches = (txid: string): boolean => {
    const tx = chain.txs.get(txid)!;
    return (
      tx.outputs.some((o) => hexOf(o.script) === script) ||
      tx.inputs.some((i) => {
        const prev = chain.txs.get(i.txid)?.outputs[i.vout];
        return prev !== undefined && hexOf(prev.script) === script;
      })
    );
  };
  const pooled = [...chain.mempool].reverse().filter(touches).slice(0, 50);
  const mined = chain.chain
    .flatMap((block) => block.txids)
    .reverse()
    .filter(touches)
    .slice(0, 25);
  const view = chain.view();
  const body = [...pooled, ...mined].map((txid) =>
    txJson(chain, network, chain.txs.get(txid)!, statusOf(chain, view.where.get(txid) ?? null)),
  );
  return { status: 200, body };
}

function statusOf(chain: FakeBitcoin, height: number | null): object {
  if (height === null) return { confirmed: false };
  const block: FakeBlock = chain.chain[height]!;
  return { confirmed: true, block_height: height, block_hash: block.hash, block_time: block.time };
}

function addressOf(network: typeof NETWORK, script: Uint8Array): string | undefined {
  try {
    return Address(network).encode(OutScript.decode(script));
  } catch {
    return undefined;
  }
}

function txJson(chain: FakeBitcoin, network: typeof NETWORK, tx: ParsedTx, status: object): object {
  const vin = tx.inputs.map((input, i) => {
    const prev = chain.txs.get(input.txid)?.outputs[input.vout];
    const prevout =
      prev === undefined
        ? null
        : {
            scriptpubkey: hexOf(prev.script),
            scriptpubkey_address: addressOf(network, prev.script),
            value: Number(prev.value),
          };
    return {
      txid: input.txid,
      vout: input.vout,
      prevout,
      scriptsig: hexOf(input.scriptSig),
      witness: (tx.witnesses[i] ?? []).map(hexOf),
      is_coinbase: prev === undefined,
      sequence: input.sequence,
    };
  });
  const vout = tx.outputs.map((o) => ({
    scriptpubkey: hexOf(o.script),
    scriptpubkey_address: addressOf(network, o.script),
    value: Number(o.value),
  }));
  return { txid: tx.txid, version: tx.version, locktime: tx.locktime, vin, vout, weight: tx.weight, status };
}
