/**
 * One attempt against one deployment: build the upstream request, send it on
 * the origin's shared pool, and classify what came back. Nothing here writes
 * to the client, so the caller can still fail over after a failed attempt.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError, kindForStatus } from '../errors.ts';
import type { ChatRequest, ProtocolName } from '../model/types.ts';
import { kindFromAnthropicType } from '../protocols/anthropic/errors.ts';
import type { ClientBody } from '../protocols/client-body.ts';
import { rawStringsOf } from '../protocols/json-bytes.ts';
import { stringifyToBytes } from '../protocols/json-pieces.ts';
import { kindFromOpenAIError } from '../protocols/openai/errors.ts';
import type { PreparedProvider } from '../providers/index.ts';
import { explicitRetryAfterMs, retryAfterMs as readRetryAfter } from '../resilience/retry.ts';
import { AttemptTimer, type TimeoutKind } from '../resilience/timeouts.ts';
import { UpstreamCall } from '../upstream/call.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { mayHaveUnsignedThinking, withoutUnsignedThinking } from '../protocols/anthropic/unsigned-thinking.ts';

export interface AttemptInput {
  surface: ProtocolName;
  provider: PreparedProvider;
  upstreamModel: string;
  /** The deployment's output limit, if configured. */
  maxTokens: number | undefined;
  /** The client's parsed body: forwarded as is (model rewritten) on the same protocol. Never modified. */
  body: Record<string, unknown>;
  /** The body's bytes as received, when known: forwarded with `model` rewritten (src/protocols/client-body.ts). */
  rawBody?: ClientBody;
  /** The request in the internal model, decoded on first use (translation only). */
  decode: () => ChatRequest;
  query: string;
  clientHeaders: IncomingHttpHeaders;
  requestId: string;
  /** W3C trace headers to send (src/observability/trace-context.ts). */
  trace?: UpstreamTrace | undefined;
  signal: AbortSignal;
  /** The request's total deadline on the `performance.now()` clock. */
  deadline: number;
  firstByteMs: number;
  idleMs: number;
  /** Called when this attempt ran into the request's total deadline. */
  onDeadline: () => void;
}

/** The W3C Trace Context headers an upstream request carries. */
export interface UpstreamTrace {
  readonly traceparent: string;
  readonly tracestate?: string;
}

export type AttemptResult =
  | { ok: true; statusCode: number; headers: IncomingHttpHeaders; call: UpstreamCall }
  | {
      ok: false;
      error: GatewayError;
      retryable: boolean;
      /**
       * The deployment is at fault (connection error, timeout, 408, 429, 5xx,
       * 529): counts against its health. Client errors (400, 401, 403, 404,
       * 413, 422…) never do, nor does an attempt the client aborted.
       */
      deploymentFault: boolean;
      /**
       * How long the deployment asked to be left alone: a 429's `retry-after-ms`,
       * `retry-after` or rate-limit reset, or a 503's or 529's `retry-after(-ms)`.
       */
      retryAfterMs?: number;
    };

/** Upstream statuses worth trying another deployment for (ARCHITECTURE.md, execute). */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504, 529]);
const MAX_ERROR_BODY = 64 * 1024;
/** How long a key rests after a 429 that did not say (retry-after). */
const KEY_REST_MS = 30_000;
/** How long a key the provider refused (401, 403: revoked, disabled) rests before it is tried again. */
const KEY_REFUSED_REST_MS = 5 * 60_000;

/** From this request size, an upstream body is serialised in pieces (json-pieces.ts) instead of as one large string. */
const SERIALISE_IN_PIECES_FROM = 64 * 1024;

function serialise(body: unknown, rawBody: ClientBody | undefined): string | Buffer {
  // The client's long strings are copied from its bytes when its body was parsed from them (json-bytes.ts);
  // once the bytes were rewritten in place they are another buffer, with no strings known.
  const bytes = rawBody?.bytes;
  return bytes !== undefined && bytes.length >= SERIALISE_IN_PIECES_FROM ? stringifyToBytes(body, rawStringsOf(bytes)) : JSON.stringify(body);
}

export async function attemptUpstream(pools: UpstreamPools, input: AttemptInput): Promise<AttemptResult> {
  const { provider, surface } = input;
  const same = provider.protocol === surface;
  let payload: string | Buffer;
  const limit = input.maxTokens;
  if (same) {
    // Same protocol: the client's fields pass through untouched, only the model
    // is rewritten (and max_tokens clamped when the deployment declares a limit):
    // in the bytes as received when it can be, else on a copy, re-serialised.
    const clamp = limit !== undefined && exceedsMaxTokens(input.body, limit);
    // Thinking an Anthropic upstream would refuse (see unsigned-thinking.ts) goes first.
    const signed =
      surface === 'anthropic' && (input.rawBody === undefined || mayHaveUnsignedThinking(input.rawBody.bytes)) ? withoutUnsignedThinking(input.body) : undefined;
    const spliced = clamp || signed !== undefined || input.rawBody === undefined ? undefined : input.rawBody.withModel(input.upstreamModel);
    if (spliced !== undefined) {
      payload = spliced;
    } else {
      const body = { ...(signed ?? input.body), model: input.upstreamModel };
      if (clamp) clampMaxTokens(body, limit);
      payload = serialise(body, input.rawBody);
    }
  } else {
    const decoded = input.decode();
    const req = limit !== undefined && (decoded.maxTokens ?? Infinity) > limit ? { ...decoded, maxTokens: limit } : decoded;
    payload = serialise(provider.encode(req, input.upstreamModel, limit), input.rawBody);
  }
  const headers = upstreamHeaders(provider, input.requestId, same ? input.clientHeaders : undefined);
  if (input.trace !== undefined) {
    headers.traceparent = input.trace.traceparent;
    if (input.trace.tracestate !== undefined) headers.tracestate = input.trace.tracestate;
  }
  // With a key pool, a 429 rests that key and the same request goes out at
  // once with another; the deployment only sees a 429 when every key rests.
  const keys = provider.keyPool;
  let call!: UpstreamCall;
  let statusCode: number;
  let responseHeaders: IncomingHttpHeaders;
  for (let tries = 0; ; tries++) {
    let keyIndex = -1;
    if (keys !== undefined) {
      keyIndex = keys.pick();
      const [name, value] = provider.authHeader(keys.key(keyIndex));
      headers[name] = value;
    }
    const timer = new AttemptTimer(input.deadline, input.firstByteMs, input.idleMs, (kind) => {
      if (kind === 'total') input.onDeadline();
      call.abort(timeoutError(kind, provider.name, input));
    });
    call = new UpstreamCall(input.signal, timer);
    pools.get(provider.origin, provider.pool).dispatch(
      { method: 'POST', path: same ? provider.chatPath + input.query : provider.chatPath, headers, body: payload },
      call,
    );
    try {
      ({ statusCode, headers: responseHeaders } = await call.head);
    } catch (err) {
      const aborted = input.signal.aborted;
      return { ok: false, error: classifyTransportError(err, provider.name), retryable: !aborted, deploymentFault: !aborted };
    }
    // Each key has its own breaker: a rate limit or a refused key benches that key alone.
    if (keys === undefined || (statusCode !== 429 && statusCode !== 401 && statusCode !== 403)) break;
    const rest = statusCode === 429 ? (readRetryAfter(responseHeaders) ?? KEY_REST_MS) : KEY_REFUSED_REST_MS;
    const another = keys.rest(keyIndex, rest);
    if (!another || tries + 1 >= keys.size) break;
    await call.collect(MAX_ERROR_BODY).catch(() => undefined);
  }
  if (statusCode < 400) return { ok: true, statusCode, headers: responseHeaders, call };
  const text = await call.collect(MAX_ERROR_BODY).then(
    (buf) => buf.toString('utf8'),
    () => '',
  );
  const error = upstreamStatusError(provider, statusCode, responseHeaders, text);
  const retryable = retryableStatuses.has(statusCode);
  const deploymentFault = statusCode === 408 || statusCode === 429 || statusCode >= 500;
  const retryAfterMs =
    statusCode === 429
      ? readRetryAfter(responseHeaders)
      : statusCode === 503 || statusCode === 529
        ? explicitRetryAfterMs(responseHeaders)
        : undefined;
  return retryAfterMs === undefined
    ? { ok: false, error, retryable, deploymentFault }
    : { ok: false, error, retryable, deploymentFault, retryAfterMs };
}

/**
 * The headers of an upstream request: the provider's static ones, the request
 * id and, when the client speaks the provider's protocol, the client headers
 * that pass through (beta flags, API version). A key pool's key is set per try.
 */
export function upstreamHeaders(provider: PreparedProvider, requestId: string, clientHeaders?: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = { ...provider.staticHeaders, 'x-request-id': requestId };
  if (clientHeaders !== undefined) {
    for (const name of provider.forwardedClientHeaders) {
      const value = clientHeaders[name];
      if (typeof value === 'string') headers[name] = value;
      else if (Array.isArray(value)) headers[name] = value.join(',');
    }
  }
  return headers;
}

/** See `retryAfterMs` in src/resilience/retry.ts (also reads Anthropic's rate-limit reset headers). */
export const parseRetryAfter = readRetryAfter;

const MAX_TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens'];

function exceedsMaxTokens(body: Record<string, unknown>, limit: number): boolean {
  return MAX_TOKEN_FIELDS.some((field) => {
    const value = body[field];
    return typeof value === 'number' && value > limit;
  });
}

function clampMaxTokens(body: Record<string, unknown>, limit: number): void {
  for (const field of MAX_TOKEN_FIELDS) {
    const value = body[field];
    if (typeof value === 'number' && value > limit) body[field] = limit;
  }
}

const STATUS_DECIDES_KIND: ReadonlySet<number> = new Set([404, 413, 429]);

function upstreamStatusError(
  provider: PreparedProvider,
  status: number,
  headers: IncomingHttpHeaders,
  text: string,
): GatewayError {
  let message = text.slice(0, 500);
  let kind = kindForStatus(status);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; type?: unknown } | string; message?: unknown };
    const err = parsed.error;
    if (typeof err === 'object' && err !== null) {
      if (typeof err.message === 'string') message = err.message;
      // The status names these kinds exactly; the upstream's type (OpenAI says
      // invalid_request_error for a 404) would give the client the wrong one.
      if (!STATUS_DECIDES_KIND.has(status)) {
        kind = provider.protocol === 'anthropic' ? kindFromAnthropicType(err.type) : kindFromOpenAIError(err.type, kind);
      }
    } else if (typeof err === 'string') {
      message = err;
    } else if (typeof parsed.message === 'string') {
      message = parsed.message;
    }
  } catch {
    // Not JSON: keep the (truncated) text.
  }
  const passHeaders: Record<string, string> = {};
  for (const name of ['retry-after', 'retry-after-ms']) {
    const value = headers[name];
    if (typeof value === 'string') passHeaders[name] = value;
  }
  // The provider rejecting the gateway's own credentials is the gateway's
  // problem, not the client's: report it as a bad gateway, not a 401.
  if (status === 401 || status === 403) {
    return new GatewayError('SWY_ERR_UPSTREAM_STATUS', `Provider '${provider.name}' rejected the gateway's credentials (HTTP ${status}): ${message}`, {
      status: 502,
      kind: 'api_error',
    });
  }
  return new GatewayError('SWY_ERR_UPSTREAM_STATUS', `Provider '${provider.name}' answered HTTP ${status}: ${message}`, {
    status,
    kind,
    headers: passHeaders,
  });
}

function timeoutError(kind: TimeoutKind, providerName: string, input: AttemptInput): GatewayError {
  const message =
    kind === 'first-byte'
      ? `Provider '${providerName}' sent no response headers within ${input.firstByteMs} ms.`
      : kind === 'idle'
        ? `Provider '${providerName}' sent nothing for ${input.idleMs} ms.`
        : `The request ran past its total deadline while waiting for provider '${providerName}'.`;
  return new GatewayError('SWY_ERR_UPSTREAM_TIMEOUT', message);
}

export function classifyTransportError(err: unknown, providerName: string): GatewayError {
  // Our own timeouts abort the exchange with a GatewayError already classified.
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new GatewayError('SWY_ERR_UPSTREAM_TIMEOUT', `Provider '${providerName}' timed out (${code}).`, { cause: err });
  }
  if (code === 'UND_ERR_ABORTED' || (err as Error).name === 'AbortError') {
    return new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', 'The request was aborted.', { cause: err });
  }
  return new GatewayError('SWY_ERR_UPSTREAM_CONNECT', `Could not reach provider '${providerName}' (${code || (err as Error).message}).`, {
    cause: err,
  });
}
