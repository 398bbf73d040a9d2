/**
 * The daemon's HTTP endpoint, on 127.0.0.1 only (off unless a port is configured): /health,
 * /machines (each live machine's state) and /metrics (Prometheus). Read-only; no secret is
 * reachable from here (the host's machines hold none).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenFailed } from '../errors.ts';
import type { DaemonMetrics } from './metrics.ts';

export interface StatusSource {
  health(): {
    status: 'ok' | 'degraded' | 'starting';
    lastTickAt: string | null;
    live: number;
    openRecoveryEntries: number;
    /** Paying accounts whose signatures the witness holds (degraded while any is). */
    signingHeld?: ReadonlyArray<{ chain: string; account: string; chainShows: string | null; unknown: number }>;
  };
  machines(): Array<{ id: string; kind: string; state: string }>;
}

export async function startStatusServer(
  port: number,
  source: StatusSource,
  metrics: DaemonMetrics,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const send = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    } catch {
      return send(400, 'text/plain', 'bad request target\n');
    }
    if (path === '/health') {
      const health = source.health();
      return send(health.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(health)}\n`);
    }
    if (path === '/machines') return send(200, 'application/json', `${JSON.stringify(source.machines())}\n`);
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(200, metrics.registry.contentType, text),
        (error: unknown) => send(500, 'text/plain', `metrics failed: ${String(error)}\n`),
      );
      return;
    }
    send(404, 'text/plain', 'settle daemon: /health, /machines, /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new ListenFailed(port, error.code ?? error.message)));
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
