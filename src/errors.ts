/**
 * The error catalogue: stable `SWY_ERR_*` codes, each with a status and a
 * neutral kind that every protocol maps to its own error shape. Codes are never
 * reused once published; branch on `code`, never on message text.
 */
import type { ErrorKind, ProtocolName } from './model/types.ts';

interface CatalogueEntry {
  status: number;
  kind: ErrorKind;
}

export const errorCatalogue = {
  SWY_ERR_BAD_JSON: { status: 400, kind: 'invalid_request' },
  SWY_ERR_EMPTY_BODY: { status: 400, kind: 'invalid_request' },
  SWY_ERR_BAD_CONTENT_TYPE: { status: 400, kind: 'invalid_request' },
  SWY_ERR_BAD_UTF8: { status: 400, kind: 'invalid_request' },
  SWY_ERR_TOO_DEEP: { status: 400, kind: 'invalid_request' },
  SWY_ERR_INVALID_REQUEST: { status: 400, kind: 'invalid_request' },
  SWY_ERR_BODY_TOO_LARGE: { status: 413, kind: 'request_too_large' },
  SWY_ERR_HEADERS_TOO_LARGE: { status: 431, kind: 'invalid_request' },
  /** The client did not send the whole request within server.requestTimeoutMs. */
  SWY_ERR_REQUEST_TIMEOUT: { status: 408, kind: 'timeout' },
  SWY_ERR_NOT_FOUND: { status: 404, kind: 'not_found' },
  SWY_ERR_METHOD_NOT_ALLOWED: { status: 405, kind: 'invalid_request' },
  SWY_ERR_UNKNOWN_MODEL: { status: 404, kind: 'not_found' },
  SWY_ERR_UNKNOWN_PROVIDER: { status: 404, kind: 'not_found' },
  SWY_ERR_UNAUTHORIZED: { status: 401, kind: 'authentication' },
  /** The upstream answered with an error status; status is copied from it. */
  SWY_ERR_UPSTREAM_STATUS: { status: 502, kind: 'api_error' },
  SWY_ERR_UPSTREAM_CONNECT: { status: 502, kind: 'api_error' },
  SWY_ERR_UPSTREAM_TIMEOUT: { status: 504, kind: 'timeout' },
  SWY_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, kind: 'api_error' },
  SWY_ERR_UPSTREAM_STREAM_ABORTED: { status: 502, kind: 'api_error' },
  SWY_ERR_NOT_READY: { status: 503, kind: 'overloaded' },
  /** The gateway sheds load (a concurrency limit); build it with `overloadedError`, whose status depends on the surface. */
  SWY_ERR_OVERLOADED: { status: 503, kind: 'overloaded' },
  SWY_ERR_INTERNAL: { status: 500, kind: 'api_error' },
  /** A key's, tenant's or the open principal's requests, tokens per minute or concurrency limit (src/tenancy/limits.ts). */
  SWY_ERR_RATE_LIMITED: { status: 429, kind: 'rate_limit' },
  /** A daily or monthly spend budget does not cover the request's estimated cost. */
  SWY_ERR_BUDGET_EXCEEDED: { status: 429, kind: 'rate_limit' },
  /** Authenticated, but this key or token may not do that (model, route, tenant, admin scope). */
  SWY_ERR_FORBIDDEN: { status: 403, kind: 'permission' },
  /** The admin API: the thing exists already, or is in a state that forbids the change. */
  SWY_ERR_CONFLICT: { status: 409, kind: 'invalid_request' },
  /** The usage ledger's queue stayed full (the store is down or too slow); Anthropic clients get 529, like SWY_ERR_OVERLOADED. */
  SWY_ERR_LEDGER_BACKLOG: { status: 503, kind: 'overloaded' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly kind: ErrorKind;
  /** Extra response headers, e.g. `retry-after` copied from an upstream 429. */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { status?: number; kind?: ErrorKind; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    const entry: CatalogueEntry = errorCatalogue[code];
    this.status = options.status ?? entry.status;
    this.kind = options.kind ?? entry.kind;
    this.headers = options.headers;
  }
}

/** The neutral kind that best describes an upstream HTTP status. */
export function kindForStatus(status: number): ErrorKind {
  switch (status) {
    case 400:
    case 422:
      return 'invalid_request';
    case 401:
      return 'authentication';
    case 403:
      return 'permission';
    case 404:
      return 'not_found';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit';
    case 504:
    case 408:
      return 'timeout';
    case 503:
    case 529:
      return 'overloaded';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request';
  }
}

/**
 * The gateway's own overload: its wait queue is full or waited too long, or
 * every deployment of the model is at its concurrency cap. Anthropic clients
 * get 529 `overloaded_error`, as Anthropic itself sends; OpenAI clients 503.
 * Both carry `retry-after`, which the official SDKs honour.
 *
 * @example
 * writeError(res, 'anthropic', overloadedError('anthropic', 'The gateway is at capacity.'), requestId);
 */
/** Anthropic says "overloaded" with 529, OpenAI with 503. */
export function overloadedStatus(surface: ProtocolName): number {
  return surface === 'anthropic' ? 529 : 503;
}

export function overloadedError(surface: ProtocolName, message: string, retryAfterSeconds = 1): GatewayError {
  return new GatewayError('SWY_ERR_OVERLOADED', message, {
    status: overloadedStatus(surface),
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}
