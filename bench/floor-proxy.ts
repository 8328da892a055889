/**
 * "The floor": the least a Node HTTP proxy can do. A bare `node:http` server
 * that reads the request body, forwards it to one upstream through one shared
 * undici Pool and streams the response back. No routing, no parsing, no
 * logging. Whatever Switchyard costs above this is the price of its features;
 * the bench reports Switchyard's throughput as a fraction of this one.
 *
 * Run as its own process by bench/run.ts:
 *   node bench/floor-proxy.ts --upstream http://127.0.0.1:PORT [--port N] [--connections N]
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

export interface FloorProxyOptions {
  /** Origin of the upstream, e.g. `http://127.0.0.1:4010`. */
  upstream: string;
  /** Default 0: an ephemeral port. The host is always 127.0.0.1. */
  port?: number;
  /** Upstream connections; default 64, the gateway's default pool size. */
  connections?: number;
}

export interface FloorProxy {
  readonly url: string;
  close(): Promise<void>;
}

/** RFC 9110 §7.6.1: connection-specific fields are not forwarded by a proxy. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
]);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (hopByHop.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export async function startFloorProxy(options: FloorProxyOptions): Promise<FloorProxy> {
  const pool = new Pool(options.upstream, {
    connections: options.connections ?? 64,
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): void => {
    let headersSent = false;
    pool.stream(
      { method: req.method === 'GET' ? 'GET' : 'POST', path: req.url ?? '/', headers: endToEnd(req.headers) as Record<string, string>, body },
      ({ statusCode, headers }) => {
        headersSent = true;
        // Keep upstream's content-length on a buffered body; a stream arrives chunked and is re-chunked here.
        const out = endToEnd(headers);
        const length = headers['content-length'];
        if (typeof length === 'string') out['content-length'] = length;
        res.writeHead(statusCode, out);
        return res;
      },
      (err) => {
        if (err === null || err === undefined) return;
        if (headersSent || res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'bad_gateway', message: err.message } }));
      },
    );
  };

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', () => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      upstream: { type: 'string' },
      port: { type: 'string', default: '0' },
      connections: { type: 'string', default: '64' },
    },
    strict: true,
  });
  const port = Number(values.port);
  const connections = Number(values.connections);
  if (values.upstream === undefined || !URL.canParse(values.upstream)) throw new Error('--upstream http://127.0.0.1:PORT is required');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a positive integer, got ${values.connections}`);
  const proxy = await startFloorProxy({ upstream: new URL(values.upstream).origin, port, connections });
  process.stdout.write(`floor-proxy listening on ${proxy.url}\n`);
  const stop = (): void => {
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`floor-proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
