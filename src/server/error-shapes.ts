/**
 * Writes errors in the client's own protocol: Anthropic clients get
 * `{"type":"error","error":{…}}`, OpenAI clients `{"error":{…}}`; both with the
 * request id header. The stream variants end an SSE stream well-formed.
 */
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors.ts';
import type { ErrorBody, ProtocolName } from '../model/types.ts';
import { anthropicErrorBody } from '../protocols/anthropic/errors.ts';
import { openaiErrorBody } from '../protocols/openai/errors.ts';
import { formatSse } from '../protocols/sse.ts';

export function errorPayload(surface: ProtocolName, error: GatewayError, requestId: string): unknown {
  return surface === 'anthropic'
    ? anthropicErrorBody(error.kind, error.message, requestId)
    : openaiErrorBody(error.kind, error.message, error.code);
}

/** Response headers for a request id, as each protocol's SDK reads them. */
export function requestIdHeaders(surface: ProtocolName, requestId: string): Record<string, string> {
  return surface === 'anthropic' ? { 'x-request-id': requestId, 'request-id': requestId } : { 'x-request-id': requestId };
}

/** The status a client of `surface` gets for `error`: 529 is Anthropic's own overloaded status, OpenAI clients know (and retry) 503. */
export function clientStatus(surface: ProtocolName, error: GatewayError): number {
  return error.status === 529 && surface === 'openai' ? 503 : error.status;
}

export function writeError(res: ServerResponse, surface: ProtocolName, error: GatewayError, requestId: string): void {
  if (res.headersSent) {
    // Too late for a status: end the stream with a protocol error event instead.
    if (!res.writableEnded) res.end(streamErrorEvent(surface, { kind: error.kind, message: error.message }));
    return;
  }
  const body = JSON.stringify(errorPayload(surface, error, requestId));
  res.writeHead(clientStatus(surface, error), {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...requestIdHeaders(surface, requestId),
    ...error.headers,
  });
  res.end(body);
}

/** The SSE event that reports an error mid-stream, in the client's protocol. */
export function streamErrorEvent(surface: ProtocolName, error: ErrorBody): string {
  if (surface === 'anthropic') {
    return formatSse('error', JSON.stringify(anthropicErrorBody(error.kind, error.message)));
  }
  return formatSse(undefined, JSON.stringify(openaiErrorBody(error.kind, error.message)));
}

/** Normalises anything thrown into a GatewayError without leaking internals. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('SWY_ERR_INTERNAL', 'Internal gateway error', { cause: err });
}
