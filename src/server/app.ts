/**
 * The HTTP surface: Fastify routes for each client API, bodies parsed once,
 * schemas compiled once at start, every error in the caller's protocol shape.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/index.ts';
import { GatewayError, overloadedError } from '../errors.ts';
import type { ProtocolName } from '../model/types.ts';
import type { ClientBody } from '../protocols/client-body.ts';
import { requestCost } from '../observability/cost.ts';
import { parseTraceparent } from '../observability/trace-context.ts';
import { moduleLogger, truncatedBody, type Logger } from '../observability/logger.ts';
import { handleChat, type ChatCall, type RequestSummary } from '../pipeline/chat.ts';
import { EMPTY_HOOKS, type GatewayExtension, type HookChain } from '../pipeline/hooks.ts';
import type { StateHolder } from '../pipeline/state.ts';
import type { ConcurrencyLimiter } from '../resilience/limiter.ts';
import type { RouteDecision } from '../routing/index.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { parseJsonBody } from './body.ts';
import { FinishingQueue } from './finishing.ts';
import { chatSurfaceOf, invalidChatBody, takeChatRequest } from './chat-intake.ts';
import { callerOf, scopeRefusal } from '../tenancy/scopes.ts';
import { corsHandler } from './cors.ts';
import { clientStatus, errorPayload, requestIdHeaders, toGatewayError, writeError } from './error-shapes.ts';
import { findModel, handleCountTokens, listModels } from './info-routes.ts';
import type { OpenRequests } from './open-requests.ts';

export interface AppOptions {
  holder: StateHolder;
  pools: UpstreamPools;
  logger: Logger;
  bodyLimit: number;
  maxHeaderSize: number;
  maxNestingDepth: number;
  requestTimeoutMs: number;
  isReady: () => boolean;
  /** The gateway-wide limit on chat requests at once (`server.maxConcurrent`); absent means unlimited. */
  limiter?: ConcurrencyLimiter;
  /** Extension hooks for chat requests (auth, limits, ledger, metrics). */
  hooks?: HookChain;
  /** Extensions whose routes (admin API, /metrics, /ui) are added to the app. */
  extensions?: readonly GatewayExtension[];
  /** Filled with the chat requests in flight, so a shutdown past its deadline can end them well-formed. */
  openCalls?: OpenRequests<ChatCall>;
  /** `server.corsOrigins`: browser origins allowed to call the gateway; none by default. */
  corsOrigins?: readonly string[];
}

const chatBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: { type: 'array' },
  },
} as const;

/** Known paths and their methods, so a wrong method gets a 405 rather than a 404. */
const methodsByPath = new Map([
  ['/v1/messages', 'POST'],
  ['/v1/messages/count_tokens', 'POST'],
  ['/v1/chat/completions', 'POST'],
  ['/v1/models', 'GET'],
  ['/health', 'GET'],
  ['/ready', 'GET'],
]);

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Random per process, then a counter: unique across instances, and far cheaper than a UUID per request. */
const REQUEST_ID_PREFIX = `req_${randomBytes(6).toString('hex')}`;
let requestCounter = 0;

function newRequestId(): string {
  return `${REQUEST_ID_PREFIX}${(++requestCounter).toString(36)}`;
}

/** Which protocol a path belongs to, so even a 404 answers in the right shape. */
export function surfaceForPath(url: string, headers?: IncomingHttpHeaders): ProtocolName {
  if (url.startsWith('/v1/messages')) return 'anthropic';
  // Routes both protocols share (`/v1/models`): the Anthropic SDK always sends its version header.
  return headers?.['anthropic-version'] === undefined ? 'openai' : 'anthropic';
}

/**
 * A request that arrives on a kept-alive connection while the gateway drains:
 * refused in its protocol's shape (503, or 529 for Anthropic clients, with
 * retry-after and a request id), and the connection closes after it.
 */
function refuseWhileClosing(req: IncomingMessage, res: ServerResponse): void {
  const surface = surfaceForPath(req.url ?? '/', req.headers);
  res.shouldKeepAlive = false;
  req.resume();
  writeError(res, surface, overloadedError(surface, 'The gateway is shutting down; retry on another instance.'), requestIdOf(req));
}

/** The query string of a request URL with its `?` (Claude Code's `?beta=true`), or ''. */
function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q);
}

/** The client's `x-request-id` when it is safe to echo, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : newRequestId();
}

/**
 * The protocol of a request the HTTP parser refused, from the start of the bytes
 * it could not parse: the request line is there when the headers overflowed in the
 * first read, which is all a best guess can use.
 */
function surfaceOfRawPacket(raw: unknown): ProtocolName {
  if (!Buffer.isBuffer(raw)) return 'openai';
  const line = raw.subarray(0, 64).toString('latin1');
  return surfaceForPath(line.slice(line.indexOf(' ') + 1));
}

/** Logged and recorded for a request whose client left before any answer (nginx's convention). */
const CLIENT_CLOSED_STATUS = 499;

/** Node's default for the headers; a smaller requestTimeoutMs lowers it. */
const HEADERS_TIMEOUT_MS = 60_000;

/** The chat surface last served on a connection, for an error Node reports on it later. */
const socketSurface = new WeakMap<Socket, ProtocolName>();

/** What to answer for an error of Node's HTTP parser or its timeouts. */
function parserRefusal(code: string | undefined): { error: GatewayError; reason: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { error: new GatewayError('SWY_ERR_HEADERS_TOO_LARGE', 'The request headers are too large.'), reason: 'Request Header Fields Too Large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { error: new GatewayError('SWY_ERR_REQUEST_TIMEOUT', 'The request was not received in time (server.requestTimeoutMs).'), reason: 'Request Timeout' };
  }
  return { error: new GatewayError('SWY_ERR_INVALID_REQUEST', 'The HTTP request is malformed.'), reason: 'Bad Request' };
}

/** Fastify's default, kept now that the gateway creates the server itself. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export function buildApp(options: AppOptions): FastifyInstance {
  const { holder, pools, limiter, openCalls } = options;
  const logger = moduleLogger(options.logger, 'server');
  /** One summary line per chat request (and its body when `logging.bodies` is on). */
  const requestLog = moduleLogger(options.logger, 'request');
  const intakeLimits = { bodyLimit: options.bodyLimit, maxNestingDepth: options.maxNestingDepth };
  /** Set when close begins: from then on every new request is refused (refuseWhileClosing). */
  let closing = false;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, allErrors: true } },
    genReqId: requestIdOf,
    // The chat routes are taken straight off node:http (src/server/chat-intake.ts); Fastify routes the rest.
    serverFactory: (fastifyHandler) => {
      const requestTimeout = options.requestTimeoutMs;
      const cors = corsHandler(options.corsOrigins ?? []);
      const server = createServer(
        {
          maxHeaderSize: options.maxHeaderSize,
          // Given at creation: Node derives its header timeout and its check interval from these.
          requestTimeout,
          headersTimeout: requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_MS, requestTimeout) : HEADERS_TIMEOUT_MS,
          connectionsCheckingInterval: requestTimeout > 0 ? Math.min(30_000, Math.max(500, Math.floor(requestTimeout / 4))) : 30_000,
        },
        (req, res) => {
          if (cors !== undefined && cors(req, res)) return;
          if (closing) return refuseWhileClosing(req, res);
          const surface = chatSurfaceOf(req);
          if (surface === undefined) return fastifyHandler(req, res);
          // Remembered for an error Node's parser reports on this connection (a body too slow).
          socketSurface.set(req.socket, surface);
          takeChatRequest(surface, req, res, requestIdOf(req), intakeLimits, serveChat, refuseChat);
        },
      );
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      return server;
    },
    // Node's HTTP layer refused the request before the gateway had it whole: a bad
    // request line, headers over maxHeaderSize, a request slower than requestTimeoutMs.
    // Answered in JSON with a request id, and logged.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const refusal = parserRefusal(err.code);
      const requestId = newRequestId();
      const surface = socketSurface.get(socket) ?? surfaceOfRawPacket((err as { rawPacket?: unknown }).rawPacket);
      const { error } = refusal;
      requestLog.info({ requestId, status: error.status, error: error.code, parserError: err.code, remoteAddress: socket.remoteAddress }, 'request refused by the HTTP parser');
      const body = JSON.stringify(errorPayload(surface, error, requestId));
      const idHeaders = Object.entries(requestIdHeaders(surface, requestId))
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 ${error.status} ${refusal.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${idHeaders}Connection: close\r\n\r\n${body}`,
      );
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, raw, done) => {
    try {
      done(null, parseJsonBody(raw as Buffer, options.maxNestingDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('*', (req, _payload, done) => {
    done(
      new GatewayError('SWY_ERR_BAD_CONTENT_TYPE', `Unsupported content type '${req.headers['content-type'] ?? ''}': send application/json.`),
      undefined,
    );
  });

  app.setErrorHandler((err: Error & { code?: string; validation?: unknown; statusCode?: number }, request, reply) => {
    const error = toClientError(err);
    if (error.code === 'SWY_ERR_INTERNAL') logger.error({ err, requestId: request.id }, 'unhandled error');
    reply.hijack();
    writeError(reply.raw, surfaceForPath(request.url, request.headers), error, request.id);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.hijack();
    const path = request.url.split('?')[0] ?? '';
    const allowed = methodsByPath.get(path);
    const error =
      allowed === undefined
        ? new GatewayError('SWY_ERR_NOT_FOUND', `No route for ${request.method} ${path}.`)
        : new GatewayError('SWY_ERR_METHOD_NOT_ALLOWED', `${path} accepts ${allowed}, not ${request.method}.`, { headers: { allow: allowed } });
    writeError(reply.raw, surfaceForPath(request.url, request.headers), error, request.id);
  });

  const hooks = options.hooks ?? EMPTY_HOOKS;
  const finishing = new FinishingQueue((err) => logger.error({ err }, 'finishing a request failed'));
  /** The request's log line, then the `finished` hooks (ledger, limits, metrics, dashboard). */
  function finishRequest(call: ChatCall, config: Config, status: number, latencyMs: number, clientAborted: boolean): void {
    const { summary } = call;
    const attempts = summary.attempts;
    // The attempt list only says more than `deployment` when something failed.
    const failed = attempts.length > 1 || attempts[0]?.error !== undefined;
    const cost = requestCost(config, summary, call.body.model);
    requestLog.info(
      {
        requestId: call.requestId,
        // The trace the gateway's spans (or the client's) belong to, for jumping from a log line to its trace.
        traceId: call.trace?.traceparent.slice(3, 35) ?? (call.headers.traceparent === undefined ? undefined : parseTraceparent(call.headers.traceparent)?.traceId),
        surface: call.surface,
        stream: summary.stream,
        tenant: call.principal?.tenantName,
        keyId: call.principal?.keyId,
        rule: summary.rule,
        model: summary.model,
        deployment: summary.deployment,
        attempts: failed ? attempts : undefined,
        status,
        latencyMs: round(latencyMs),
        ttftMs: summary.ttftMs === undefined ? undefined : round(summary.ttftMs),
        // Flat numbers serialise faster than a nested object.
        tokensIn: summary.usage?.inputTokens,
        tokensOut: summary.usage?.outputTokens,
        tokensCacheRead: summary.usage?.cacheReadTokens,
        tokensCacheWrite: summary.usage?.cacheWriteTokens,
        costUsd: cost === undefined ? undefined : Math.round(cost * 1e6) / 1e6,
        stopReason: summary.stopReason,
        error: summary.error,
        clientAborted: clientAborted ? true : undefined,
      },
      'request',
    );
    if (hooks.finished.length > 0) {
      const end = { status, latencyMs, clientAborted };
      for (const finished of hooks.finished) {
        try {
          finished(call, end);
        } catch (err) {
          logger.error({ err, requestId: call.requestId }, 'a finished hook threw');
        }
      }
    }
  }

  /** A chat request's record; its log line and `finished` hooks run once its response has closed. */
  function trackChat(surface: ProtocolName, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, requestId: string): ChatCall {
    const startedAt = performance.now();
    const summary: RequestSummary = { surface, attempts: [] };
    const call: ChatCall = {
      surface,
      body,
      query: queryOf(req.url ?? ''),
      headers: req.headers,
      requestId,
      res,
      startedAt,
      summary,
    };
    const config = holder.current.config;
    const open = openCalls?.add(call);
    res.once('close', () => {
      if (open !== undefined) openCalls?.remove(open);
      const latencyMs = performance.now() - startedAt;
      const clientAborted = !res.writableFinished;
      // A client that left before any answer got none: 499 (nginx's "client closed request"),
      // not the 200 Node's response object starts with.
      const status = summary.status ?? (clientAborted && !res.headersSent ? CLIENT_CLOSED_STATUS : res.statusCode);
      if (status === CLIENT_CLOSED_STATUS) summary.error ??= 'client_closed';
      // The log line and the finished hooks run with the other requests that end in this turn.
      finishing.add(() => finishRequest(call, config, status, latencyMs, clientAborted));
    });
    return call;
  }

  /**
   * A chat request refused before it was parsed whole (bad JSON, content type,
   * size): it gets its log line, metrics and ledger event like any other.
   */
  function refuseChat(surface: ProtocolName, req: IncomingMessage, res: ServerResponse, requestId: string, error: GatewayError): void {
    const { summary } = trackChat(surface, req, res, {}, requestId);
    summary.status = clientStatus(surface, error);
    summary.error = error.code;
    writeError(res, surface, error, requestId);
  }

  /** One chat request, checked and parsed (by chat-intake.ts, or by Fastify for injected requests). */
  async function serveChatRequest(
    surface: ProtocolName,
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown>,
    requestId: string,
    rawBody?: ClientBody,
  ): Promise<void> {
    const call = trackChat(surface, req, res, body, requestId);
    const summary = call.summary;
    if (rawBody !== undefined) call.rawBody = rawBody;
    const config = holder.current.config;
    if (config.logging.bodies) requestLog.info({ requestId, surface, body: truncatedBody(call.body, config.logging.bodyMaxChars) }, 'request body');
    try {
      // Authentication and limits come first: a refused request costs no slot and no routing.
      // A hook that answers synchronously costs no turn of the microtask queue.
      for (const admit of hooks.admit) {
        const pending = admit(call);
        if (pending !== undefined) await pending;
      }
    } catch (err) {
      const error = toGatewayError(err);
      if (error.code === 'SWY_ERR_INTERNAL') logger.error({ err, requestId }, 'an admit hook failed');
      summary.error = error.code;
      summary.status = clientStatus(surface, error);
      if (!res.destroyed) writeError(res, surface, error, requestId);
      return;
    }
    // Shedding happens before any routing or upstream work; the slot is held until the response closes.
    if (limiter !== undefined && !(await admit(limiter, surface, requestId, res, summary))) return;
    try {
      await handleChat({ state: holder.current, pools, hooks }, call);
    } catch (err) {
      logger.error({ err, requestId }, 'unhandled error in the chat pipeline');
    }
  }
  function serveChat(surface: ProtocolName, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, requestId: string, raw: ClientBody): void {
    serveChatRequest(surface, req, res, body, requestId, raw).catch((err: unknown) => logger.error({ err, requestId }, 'unhandled error in the chat pipeline'));
  }
  // Reached only by requests that do not come through the server (app.inject): same checks, same handler.
  const chatRoute = (surface: ProtocolName) => async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const invalid = invalidChatBody(request.body);
    if (invalid !== undefined) return refuseChat(surface, request.raw, reply.raw, request.id, invalid);
    await serveChatRequest(surface, request.raw, reply.raw, request.body as Record<string, unknown>, request.id);
  };
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // Every request has closed by now. Their bookkeeping has normally run already; this covers a
  // response that closed in the very turn the server did, before the extensions (the ledger) close.
  app.addHook('onClose', (_instance, done) => {
    finishing.drain();
    done();
  });

  app.post('/v1/messages', chatRoute('anthropic'));
  app.post('/v1/chat/completions', chatRoute('openai'));
  app.post('/v1/messages/count_tokens', { schema: { body: chatBodySchema } }, async (request, reply) => {
    const caller = callerOf(request.raw);
    const authorize = caller === undefined ? undefined : (decision: RouteDecision): void => {
      const refused = scopeRefusal(caller, decision);
      if (refused !== undefined) throw refused;
    };
    const result = await handleCountTokens(holder.current, pools, request.body as Record<string, unknown>, request.headers, request.id, authorize, queryOf(request.url));
    reply.headers(requestIdHeaders('anthropic', request.id)).code(200).send(result);
  });
  app.get('/v1/models', async (request, reply) => {
    reply.headers(requestIdHeaders(surfaceForPath(request.url, request.headers), request.id)).send(listModels(holder.current));
  });
  // Both SDKs' `models.retrieve`. The id may hold slashes (`accounts/x/models/y`), hence the wildcard.
  app.get('/v1/models/*', async (request, reply) => {
    const id = (request.params as { '*': string })['*'];
    const surface = surfaceForPath(request.url, request.headers);
    const model = findModel(holder.current, id);
    if (model === undefined) {
      reply.hijack();
      const message = `The model '${id}' is not configured on this gateway; GET /v1/models lists those that are.`;
      return writeError(reply.raw, surface, new GatewayError('SWY_ERR_NOT_FOUND', message), request.id);
    }
    reply.headers(requestIdHeaders(surface, request.id)).send(model);
  });
  for (const extension of options.extensions ?? []) extension.routes?.(app);
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const ready = options.isReady();
    reply.code(ready ? 200 : 503).send({ ready, configVersion: holder.current.version, pools: pools.stats() });
  });
  return app;
}

/**
 * Takes a slot of the global limit for one chat request, waiting in its queue
 * if need be, and frees it when the response closes (answered, failed or the
 * client gone). False when the request must not go on: shed (the overloaded
 * error is written here) or the client left while it waited.
 */
async function admit(
  limiter: ConcurrencyLimiter,
  surface: ProtocolName,
  requestId: string,
  res: ServerResponse,
  summary: RequestSummary,
): Promise<boolean> {
  const release = (): void => limiter.release();
  if (limiter.tryAcquire()) {
    if (res.destroyed) {
      // The client left before the handler ran: 'close' will not come again.
      release();
      return false;
    }
    res.once('close', release);
    return true;
  }
  // A waiter whose client disconnects leaves the queue at once.
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  res.once('close', onClose);
  if (res.destroyed) gone.abort();
  const outcome = await limiter.wait(gone.signal);
  res.off('close', onClose);
  if (outcome === 'acquired') {
    if (gone.signal.aborted) {
      release();
      return false;
    }
    res.once('close', release);
    return true;
  }
  if (outcome === 'aborted') return false;
  const error = overloadedError(
    surface,
    outcome === 'full'
      ? 'The gateway is at capacity and its wait queue is full; retry shortly.'
      : 'The gateway is at capacity and no slot freed up in time; retry shortly.',
  );
  summary.error = error.code;
  summary.status = clientStatus(surface, error);
  writeError(res, surface, error, requestId);
  return false;
}

function toClientError(err: Error & { code?: string; validation?: unknown; statusCode?: number }): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err.validation !== undefined) {
    return new GatewayError('SWY_ERR_INVALID_REQUEST', `Invalid request: ${err.message}`);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('SWY_ERR_BODY_TOO_LARGE', 'The request body is larger than this gateway accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('SWY_ERR_BAD_CONTENT_TYPE', 'Send the request body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError('SWY_ERR_EMPTY_BODY', 'The request body is empty; send a JSON object.');
    default:
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return new GatewayError('SWY_ERR_INVALID_REQUEST', err.message, { status: err.statusCode });
      }
      return new GatewayError('SWY_ERR_INTERNAL', 'Internal gateway error', { cause: err });
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
