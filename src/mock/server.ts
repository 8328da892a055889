/**
 * The mock provider: an OpenAI- and Anthropic-compatible LLM server on plain
 * node:http, deterministic, fast (benchmarks use it as the upstream), with
 * fault injection for retry, failover and stream-abort tests.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicWire } from './anthropic-wire.ts';
import { Exchange } from './exchange.ts';
import { FaultCounters } from './faults.ts';
import { FixtureStore } from './fixtures.ts';
import { generate } from './generate.ts';
import { MockHeaderError, requestSettings, resolveOptions } from './options.ts';
import type { MockOptions, ResolvedOptions } from './options.ts';
import { parseAnthropicRequest, parseOpenAIRequest } from './request.ts';
import { healthBody, isPostPath, maxBodyBytes, modelsBody, readBody, wireFor } from './routes.ts';
import type { WireEncoder } from './wire.ts';
import { OpenRequests, type OpenEntry } from '../server/open-requests.ts';

export type { MockOptions } from './options.ts';
export type { FaultSpec } from './faults.ts';

export interface RecordedRequest {
  method: string;
  /** As requested, query string included (`/v1/messages?beta=true`). */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON; the raw text when it was not JSON; undefined without a body. */
  body: unknown;
}

export interface MockStats {
  /** Requests received, control endpoints (`/_mock/*`) excepted. */
  requests: number;
  /** Responses the client walked away from before they ended (each counted once). */
  aborted: number;
  /** Responses that fully ended. */
  completed: number;
  inFlight: number;
  /** Requests that got a fault (sockets the mock cut itself count here, not in `aborted`). */
  faults: number;
  /** Requests per path, query string left out. */
  byPath: Record<string, number>;
  /** The last 50 requests, oldest first. */
  last: RecordedRequest[];
}

export interface MockProvider {
  /** `http://host:port`, without a trailing slash or `/v1`. */
  url: string;
  port: number;
  /** Live counters: read them any time; `POST /_mock/reset` zeroes them. */
  stats: MockStats;
  close(): Promise<void>;
  /** Changes options for later requests; `host` and `port` cannot change. Throws on invalid values. */
  setOptions(patch: Partial<MockOptions>): void;
}

const recordedRequests = 50;

/**
 * Starts a mock provider.
 *
 * @example
 * const mock = await startMockProvider({ outputTokens: 5 });
 * t.after(() => mock.close());
 * await fetch(`${mock.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', max_tokens: 9, messages: [...] }) });
 */
export async function startMockProvider(options: MockOptions = {}): Promise<MockProvider> {
  const mock = new MockServer(resolveOptions(options));
  return mock.listen(options.host ?? '127.0.0.1', options.port ?? 0);
}

class MockServer {
  #options: ResolvedOptions;
  #stats: MockStats = { requests: 0, aborted: 0, completed: 0, inFlight: 0, faults: 0, byPath: Object.create(null), last: [] };
  #counters = new FaultCounters();
  #fixtures: FixtureStore;
  /** Open exchanges, for close(): a list, not a Set, for the GC's sake (src/server/open-requests.ts). */
  #exchanges = new OpenRequests<Exchange>();
  #seq = 0;
  #server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => this.#onRequest(req, res));
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#fixtures = new FixtureStore(options.fixturesDir);
  }

  async listen(host: string, port: number): Promise<MockProvider> {
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `http://${shownHost}:${address.port}`,
      port: address.port,
      stats: this.#stats,
      close: () => this.close(),
      setOptions: (patch) => this.setOptions(patch),
    };
  }

  setOptions(patch: Partial<MockOptions>): void {
    this.#options = resolveOptions(patch, this.#options);
    this.#fixtures.dir = this.#options.fixturesDir;
    if ('fault' in patch) this.#counters.reset();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const ex of this.#exchanges.values()) ex.cancel();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  #reset(): void {
    const stats = this.#stats;
    stats.requests = 0;
    stats.aborted = 0;
    stats.completed = 0;
    stats.faults = 0;
    stats.byPath = Object.create(null);
    stats.last.length = 0;
    this.#counters.reset();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path.startsWith('/_mock/')) {
      this.#control(req, res, path);
      return;
    }
    const stats = this.#stats;
    stats.requests++;
    stats.inFlight++;
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    const ex = new Exchange(req, res, path, ++this.#seq);
    const open = this.#exchanges.add(ex);
    res.once('finish', () => {
      ex.finished = true;
      stats.completed++;
    });
    res.once('close', () => this.#onClose(ex, open));
    // A client that goes away mid-upload makes req emit an error; 'close' on res does the bookkeeping.
    req.on('error', noop);

    if (req.method === 'GET') {
      this.#record(req, undefined);
      this.#get(ex);
      return;
    }
    if (req.method !== 'POST') {
      ex.sendError(wireFor(req, path), 405, 'invalid_request', `method ${String(req.method)} not allowed`);
      return;
    }
    readBody(req, (raw) => {
      if (raw === undefined) {
        ex.sendError(wireFor(req, path), 413, 'request_too_large', `request body over ${maxBodyBytes} bytes`, {
          connection: 'close',
        });
        return;
      }
      this.#post(ex, raw);
    });
  }

  #onClose(ex: Exchange, open: OpenEntry<Exchange>): void {
    const stats = this.#stats;
    stats.inFlight--;
    this.#exchanges.remove(open);
    ex.cancel();
    if (!ex.finished && !ex.selfDestroyed) stats.aborted++;
    const logger = this.#options.logger;
    if (logger !== undefined) {
      const outcome = ex.finished ? 'completed' : ex.selfDestroyed ? 'cut' : 'aborted';
      logger(`${ex.req.method} ${ex.path} ${ex.res.statusCode} ${outcome} ${Date.now() - ex.startedAt}ms`);
    }
  }

  #get(ex: Exchange): void {
    const wire = wireFor(ex.req, ex.path);
    if (ex.path === '/health') {
      ex.sendJson(200, healthBody);
    } else if (ex.path === '/v1/models') {
      if (this.#authorized(ex, wire)) ex.sendJson(200, modelsBody);
    } else if (isPostPath(ex.path)) {
      ex.sendError(wire, 405, 'invalid_request', `use POST for ${ex.path}`);
    } else {
      ex.sendError(wire, 404, 'not_found', `no route for GET ${ex.path}`);
    }
  }

  #post(ex: Exchange, raw: string): void {
    const { req, path } = ex;
    let body: unknown;
    let bad: string | undefined;
    if (raw === '') {
      bad = 'request body is empty';
    } else {
      try {
        body = JSON.parse(raw);
      } catch (error) {
        bad = `request body is not valid JSON: ${(error as Error).message}`;
        body = raw;
      }
    }
    this.#record(req, body);
    const wire = wireFor(req, path);
    if (!isPostPath(path)) {
      const known = path === '/v1/models' || path === '/health';
      ex.sendError(wire, known ? 405 : 404, known ? 'invalid_request' : 'not_found', `no route for POST ${path}`);
      return;
    }
    if (!this.#authorized(ex, wire)) return;
    if (bad !== undefined) {
      ex.sendError(wire, 400, 'invalid_request', bad);
      return;
    }
    const parsed = wire === anthropicWire ? parseAnthropicRequest(body, raw) : parseOpenAIRequest(body, raw);
    if (typeof parsed === 'string') {
      ex.sendError(wire, 400, 'invalid_request', parsed);
      return;
    }
    if (path === '/v1/messages/count_tokens') {
      ex.sendJson(200, `{"input_tokens":${Math.max(1, Math.ceil(parsed.inputChars / 4))}}`);
      return;
    }
    let settings;
    try {
      settings = requestSettings(this.#options, req.headers);
    } catch (error) {
      if (!(error instanceof MockHeaderError)) throw error;
      ex.sendError(wire, 400, 'invalid_request', error.message);
      return;
    }
    const fault = this.#counters.resolve(settings.fault, settings.faultSpec);
    if (fault.kind !== 'none') this.#stats.faults++;
    generate({ ex, wire, request: parsed, settings, fault, fixtures: this.#fixtures });
  }

  #authorized(ex: Exchange, wire: WireEncoder): boolean {
    const expected = this.#options.requireApiKey;
    if (expected === undefined) return true;
    const headers = ex.req.headers;
    const authorization = headers.authorization;
    const key =
      headers['x-api-key'] ?? (authorization?.startsWith('Bearer ') === true ? authorization.slice(7) : undefined);
    if (key === expected) return true;
    ex.sendError(wire, 401, 'authentication', key === undefined ? 'missing API key' : 'invalid API key');
    return false;
  }

  #record(req: IncomingMessage, body: unknown): void {
    const last = this.#stats.last;
    last.push({ method: req.method ?? '', path: req.url ?? '/', headers: req.headers, body });
    if (last.length > recordedRequests) last.shift();
  }

  #control(req: IncomingMessage, res: ServerResponse, path: string): void {
    req.resume();
    let body: string;
    if (path === '/_mock/stats' && req.method === 'GET') {
      body = JSON.stringify(this.#stats);
    } else if (path === '/_mock/reset' && req.method === 'POST') {
      this.#reset();
      body = '{"ok":true}';
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"unknown mock control endpoint","type":"not_found_error","param":null,"code":null}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function noop(): void {}
