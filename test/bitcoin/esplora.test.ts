/**
 * The Esplora client: which answers move on to the next endpoint (network errors, 401/403,
 * 429, 5xx) and which are the answer (404 included), and answers of the wrong shape refused
 * with the path named, against small HTTP servers on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Esplora, EsploraBadAnswer, EsploraUnreachable } from '../../src/chains/bitcoin/esplora.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** A server answering every request with `status` and `body`; returns its URL and a request log. */
async function serve(status: number, body: string): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(status).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, seen };
}

const TXID = 'ab'.repeat(32);

describe('Esplora endpoints in order', () => {
  it('moves on after 401, 403, 429 and 5xx, and takes a 404 as the answer', async () => {
    const failing = await Promise.all([
      serve(401, 'no'),
      serve(403, 'no'),
      serve(429, 'slow down'),
      serve(502, 'bad gateway'),
    ]);
    const missing = await serve(404, 'Transaction not found');
    const never = await serve(200, '{}');
    const esplora = new Esplora({ urls: [...failing.map((f) => f.url), missing.url, never.url] });
    expect(await esplora.txStatus(TXID)).toBeNull();
    for (const f of failing) expect(f.seen).toEqual([`GET /api/tx/${TXID}/status`]);
    expect(never.seen).toEqual([]);
  });

  it('says which endpoints failed and why when none answers', async () => {
    const down = await serve(503, 'maintenance');
    const esplora = new Esplora({ urls: ['http://127.0.0.1:1', down.url], timeoutMs: 2_000 });
    const failure = esplora.tipHeight();
    await expect(failure).rejects.toThrow(EsploraUnreachable);
    await expect(failure).rejects.toThrow(
      /GET \/blocks\/tip\/height: no Esplora endpoint answered \(http:\/\/127\.0\.0\.1:1: .*; http:\/\/127\.0\.0\.1:\d+\/api: HTTP 503\)/,
    );
  });

  it('refuses answers of the wrong shape, naming the path', async () => {
    const html = await serve(200, '<html>captive portal</html>');
    await expect(new Esplora({ urls: [html.url] }).utxos('bc1qexample')).rejects.toThrow(
      /\/address\/bc1qexample\/utxo did not answer JSON/,
    );
    const shape = await serve(200, JSON.stringify([{ txid: TXID, vout: 0, value: -5, status: { confirmed: true } }]));
    await expect(new Esplora({ urls: [shape.url] }).utxos('bc1qexample')).rejects.toThrow(EsploraBadAnswer);
    const height = await serve(200, 'tip');
    await expect(new Esplora({ urls: [height.url] }).tipHeight()).rejects.toThrow(/answered 'tip', not a height/);
  });

  it('returns a broadcast refusal as the node worded it', async () => {
    const refusing = await serve(400, 'sendrawtransaction RPC error: {"code":-26,"message":"dust"}');
    expect(await new Esplora({ urls: [refusing.url] }).broadcast('00')).toEqual({
      accepted: false,
      status: 400,
      message: 'sendrawtransaction RPC error: {"code":-26,"message":"dust"}',
    });
    expect(refusing.seen).toEqual(['POST /api/tx']);
  });
});
