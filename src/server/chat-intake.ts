/**
 * The chat routes' own front door: `POST /v1/messages` and
 * `POST /v1/chat/completions` are read, checked and parsed here, straight off
 * node:http, before Fastify sees them. These two routes carry nearly all the
 * traffic, and Fastify's per-request machinery (request and reply objects,
 * hook runner, content-type parser chain, schema validator) cost about as much
 * as everything the floor proxy does besides I/O (docs/performance.md).
 * Every other route, every other method on these paths, and everything after
 * close has begun still goes through Fastify.
 *
 * What Fastify did for these routes is done here the same way: a body over the
 * limit is refused with a 413 before it is buffered whole (at once when
 * content-length says so), only `application/json` is accepted, the body is
 * parsed once (src/server/body.ts) and must be an object with a non-empty
 * string `model` and an array `messages`; every failure is a GatewayError
 * handed to the refusal handler, which answers it in the client's protocol with
 * its request id and records the request like any other (log line, metrics,
 * ledger).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.ts';
import type { ProtocolName } from '../model/types.ts';
import { ClientBody } from '../protocols/client-body.ts';
import { parseJsonBody } from './body.ts';

export interface IntakeLimits {
  bodyLimit: number;
  maxNestingDepth: number;
}

/** A checked chat request: its parsed body, request id, and the body's bytes as received (for passthrough). */
export type ChatHandler = (
  surface: ProtocolName,
  req: IncomingMessage,
  res: ServerResponse,
  body: Record<string, unknown>,
  requestId: string,
  raw: ClientBody,
) => void;

/** Answers a request refused before it was parsed whole, with `error` (and records it). */
export type RefusalHandler = (surface: ProtocolName, req: IncomingMessage, res: ServerResponse, requestId: string, error: GatewayError) => void;

/** The surface of a chat request this door takes, or undefined for everything Fastify should route. */
export function chatSurfaceOf(req: IncomingMessage): ProtocolName | undefined {
  if (req.method !== 'POST') return undefined;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/v1/messages') return 'anthropic';
  if (path === '/v1/chat/completions') return 'openai';
  return undefined;
}

/** Reads, checks and parses one chat request, then hands it to `handle`; or answers the error. */
export function takeChatRequest(
  surface: ProtocolName,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  limits: IntakeLimits,
  handle: ChatHandler,
  refused: RefusalHandler,
): void {
  const refuse = (error: GatewayError, closeConnection = false): void => {
    if (res.headersSent || res.destroyed) return;
    // A body left unread would have to be drained to keep the connection: close it instead.
    if (closeConnection) res.shouldKeepAlive = false;
    refused(surface, req, res, requestId, error);
  };
  const headers = req.headers;
  const declared = headers['content-length'];
  const hasBody = headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
  const contentType = headers['content-type'];
  if (contentType === undefined ? hasBody : !isJson(contentType)) {
    req.resume();
    return refuse(new GatewayError('SWY_ERR_BAD_CONTENT_TYPE', `Unsupported content type '${contentType ?? ''}': send application/json.`), true);
  }
  if (declared !== undefined && Number(declared) > limits.bodyLimit) {
    req.resume();
    return refuse(tooLarge(), true);
  }

  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limits.bodyLimit) {
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      req.resume();
      refuse(tooLarge(), true);
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    const raw = ClientBody.fromChunks(chunks, size);
    let body: unknown;
    try {
      body = parseJsonBody(raw.bytes, limits.maxNestingDepth);
    } catch (err) {
      return refuse(err instanceof GatewayError ? err : new GatewayError('SWY_ERR_BAD_JSON', 'The request body is not valid JSON.'));
    }
    const invalid = invalidChatBody(body);
    if (invalid !== undefined) return refuse(invalid);
    handle(surface, req, res, body as Record<string, unknown>, requestId, raw);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  // A client that goes away mid-upload: nothing to answer, the socket is gone.
  req.on('error', () => req.off('end', onEnd));
}

/**
 * What is wrong with a parsed chat body, worded as the route's JSON schema
 * validator words it (`body must have required property 'model'`), or undefined.
 */
export function chatBodyProblem(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'body must be object';
  const record = body as Record<string, unknown>;
  const problems: string[] = [];
  const { model, messages } = record;
  if (model === undefined) problems.push("body must have required property 'model'");
  if (messages === undefined) problems.push("body must have required property 'messages'");
  if (model !== undefined) {
    if (typeof model !== 'string') problems.push('body/model must be string');
    else if (model.length === 0) problems.push('body/model must NOT have fewer than 1 characters');
  }
  if (messages !== undefined && !Array.isArray(messages)) problems.push('body/messages must be array');
  return problems.length === 0 ? undefined : problems.join(', ');
}

/** The 400 for a parsed body that is not a chat request, or undefined. */
export function invalidChatBody(body: unknown): GatewayError | undefined {
  const problem = chatBodyProblem(body);
  return problem === undefined ? undefined : new GatewayError('SWY_ERR_INVALID_REQUEST', `Invalid request: ${problem}`);
}

/** `application/json`, with or without parameters (`; charset=utf-8`), in any case. */
function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === 'application/json';
}

function tooLarge(): GatewayError {
  return new GatewayError('SWY_ERR_BODY_TOO_LARGE', 'The request body is larger than this gateway accepts.');
}
