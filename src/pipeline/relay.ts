/**
 * Relaying an upstream answer to the client once an attempt has its head:
 * a JSON body (passed through or translated) or a stream (passed through
 * with a tap, or translated event by event), with backpressure and the
 * hold-back that lets a stream failing before its first content fail over.
 */
import type { ChatRequest, ChatResponse, ErrorBody, ProtocolName, Usage } from '../model/types.ts';
import { GatewayError, overloadedStatus } from '../errors.ts';
import { restoreToolNames, shortenedToolNames } from '../protocols/openai/index.ts';
import type { PreparedProvider } from '../providers/index.ts';
import { requestIdHeaders, streamErrorEvent } from '../server/error-shapes.ts';
import { createStreamTranslator, decodeResponse, encodeResponse } from '../translate/index.ts';
import type { UpstreamCall } from '../upstream/call.ts';
import type { ChatCall } from './chat.ts';
import { PassthroughTap, usageFromResponse } from './stream-tap.ts';
import { classifyTransportError } from './upstream-call.ts';

/** The relay's signal was aborted (the client went away, or a hedged twin answered first): nothing more was written. */
export const RELAY_ABORTED = Symbol('relay aborted');
/** Content reached the client, then the upstream failed: the stream ended with an error event. */
export const RELAY_BROKEN = Symbol('relay broken');

/**
 * How a relay ended: undefined when the answer was relayed whole; a
 * GatewayError when the attempt failed before anything reached the client
 * (the caller may fail over); or one of the two markers above.
 */
export type RelayEnd = undefined | GatewayError | typeof RELAY_ABORTED | typeof RELAY_BROKEN;

/**
 * Called at the moment an attempt would first write to the client. Returning
 * false means another attempt (a hedged twin) already owns the response:
 * this one writes nothing and ends.
 */
export type CommitGate = () => boolean;

/**
 * Relays a whole JSON answer. A body that fails or stalls before it is
 * complete, or is not an answer of the provider's protocol (cut short, an
 * HTML page, an error object with a 200), is returned as an error (nothing
 * reached the client yet) so the caller can fail over, like a stream that
 * fails before its first content.
 */
export async function relayJson(
  call: ChatCall,
  provider: PreparedProvider,
  upstream: UpstreamCall,
  signal: AbortSignal,
  onCommit: CommitGate,
  decode?: () => ChatRequest,
): Promise<RelayEnd> {
  let raw: Buffer;
  try {
    raw = await upstream.collect();
  } catch (err) {
    if (signal.aborted) return RELAY_ABORTED;
    return classifyTransportError(err, provider.name);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return new GatewayError('SWY_ERR_UPSTREAM_BAD_RESPONSE', `Provider '${provider.name}' sent a response that is not JSON.`);
  }
  let out: Buffer;
  let usage: Usage | undefined;
  let stopReason: string | null | undefined;
  if (provider.protocol === call.surface) {
    // Passthrough: the bytes go back untouched once they are known to be an answer.
    if (!isAnswer(provider.protocol, parsed)) {
      return new GatewayError('SWY_ERR_UPSTREAM_BAD_RESPONSE', `Provider '${provider.name}' sent a 200 whose body is not ${provider.protocol === 'openai' ? 'an OpenAI' : 'an Anthropic'} answer.`);
    }
    out = raw;
    usage = usageFromResponse(provider.protocol, parsed);
    stopReason = passthroughStopReason(provider.protocol, parsed);
  } else {
    let decoded: ChatResponse;
    try {
      decoded = decodeResponse(provider.protocol, parsed);
      if (provider.protocol === 'openai' && decode !== undefined) decoded = restoreToolNames(decoded, shortenedToolNames(decode()));
    } catch (err) {
      if (err instanceof GatewayError) return err;
      throw err;
    }
    usage = decoded.usage;
    stopReason = decoded.stopReason;
    out = Buffer.from(JSON.stringify(encodeResponse(call.surface, decoded, { legacyFunctions: decode?.().legacyFunctions === true })));
  }
  if (!onCommit()) return RELAY_ABORTED;
  const { summary } = call;
  summary.usage = usage;
  if (stopReason !== undefined) summary.stopReason = stopReason;
  summary.status = 200;
  summary.ttftMs = performance.now() - call.startedAt;
  call.res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': out.length,
    ...requestIdHeaders(call.surface, call.requestId),
  });
  call.res.end(out);
  return undefined;
}

/** The least an answer of `protocol` has: `choices` (OpenAI) or `content` (Anthropic), as an array. */
function isAnswer(protocol: ProtocolName, body: unknown): body is Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return false;
  return Array.isArray((body as Record<string, unknown>)[protocol === 'openai' ? 'choices' : 'content']);
}

function passthroughStopReason(protocol: ProtocolName, body: Record<string, unknown>): string | null | undefined {
  const reason = protocol === 'anthropic' ? body.stop_reason : (body.choices as Array<{ finish_reason?: unknown } | undefined>)[0]?.finish_reason;
  return typeof reason === 'string' ? reason : undefined;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** Bytes of early events held back while waiting for the first content event. */
const MAX_HELD_BYTES = 256 * 1024;

/**
 * Relays a stream. Nothing is sent to the client until the first content
 * event: an upstream whose stream fails before that (an HTTP 200 whose first
 * event is an error, a reset before any content) is returned as an error so
 * the caller can fail over, and the client never sees it. Once content has
 * reached the client there is no failover: a later failure ends the stream
 * with the protocol's error event.
 */
export async function relayStream(
  call: ChatCall,
  provider: PreparedProvider,
  decode: () => ChatRequest,
  upstream: UpstreamCall,
  signal: AbortSignal,
  onCommit: CommitGate,
  contentType?: string,
): Promise<RelayEnd> {
  const { res, summary } = call;
  // A JSON answer to a stream request (a server that ignored `stream`, or an error with a 200)
  // is no stream: nothing reached the client, so the attempt fails and the next may answer.
  if (contentType !== undefined && contentType.toLowerCase().startsWith('application/json')) {
    let text = '';
    try {
      text = (await upstream.collect()).toString('utf8').slice(0, 300);
    } catch {
      if (signal.aborted) return RELAY_ABORTED;
    }
    return new GatewayError('SWY_ERR_UPSTREAM_BAD_RESPONSE', `Provider '${provider.name}' answered a stream request with JSON, not a stream: ${text}`);
  }
  const same = provider.protocol === call.surface;
  const tap = same ? new PassthroughTap(provider.protocol) : undefined;
  const translator = same
    ? undefined
    : createStreamTranslator(provider.protocol, call.surface, {
        includeUsage: decode().includeUsage === true,
        legacyFunctions: decode().legacyFunctions === true,
        toolNames: provider.protocol === 'openai' ? shortenedToolNames(decode()) : undefined,
      });

  let waitingForDrain = false;
  const resume = (): void => {
    waitingForDrain = false;
    upstream.resume();
  };
  const send = (data: string | Uint8Array): void => {
    // A slow client slows the upstream read instead of growing a buffer.
    if (!res.write(data) && !waitingForDrain) {
      waitingForDrain = true;
      upstream.pause();
      res.once('drain', resume);
    }
  };
  /** Early events, held until the first content event; undefined once committed. */
  let held: Array<string | Uint8Array> | undefined = [];
  let heldBytes = 0;
  /** A hedged twin owns the response: this attempt writes nothing more. */
  let lost = false;
  const commit = (): void => {
    if (held === undefined || lost || res.writableEnded) return;
    if (!onCommit()) {
      lost = true;
      upstream.abort(new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', 'A hedged attempt answered first.'));
      return;
    }
    res.writeHead(200, { ...SSE_HEADERS, ...requestIdHeaders(call.surface, call.requestId) });
    summary.status = 200;
    summary.ttftMs = performance.now() - call.startedAt;
    const early = held;
    held = undefined;
    for (const data of early) send(data);
  };
  const write = (data: string | Uint8Array): void => {
    if (data.length === 0 || lost || res.writableEnded) return;
    if (held === undefined) return send(data);
    held.push(data);
    heldBytes += data.length;
    if (heldBytes > MAX_HELD_BYTES) commit();
  };

  let failure: ErrorBody | undefined;
  let early: GatewayError | undefined;
  const failEarly = (kind: ErrorBody['kind'], message: string): void => {
    early = new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', message, { status: statusForKind(call.surface, kind), kind });
    upstream.abort(early);
  };
  const onPassthrough = (chunk: Buffer): void => {
    if (early !== undefined || lost) return;
    const t = tap!;
    t.push(chunk);
    if (held !== undefined && t.errored && !t.contentStarted) {
      return failEarly(t.errorKind ?? 'api_error', `Provider '${provider.name}' answered with an error event before any content.`);
    }
    write(chunk);
    if (t.contentStarted || t.finished) commit();
  };
  const onTranslated = (chunk: Buffer): void => {
    if (early !== undefined || lost) return;
    const t = translator!;
    const out = t.pushBytes(chunk);
    // The decoder stops at an error, so content seen means it came first.
    if (held !== undefined && t.error !== undefined && !t.firstContentSeen) {
      return failEarly(t.error.kind, `Provider '${provider.name}' answered with an error before any content: ${t.error.message}`);
    }
    write(out);
    if (t.firstContentSeen) commit();
  };

  try {
    await upstream.relay(tap !== undefined ? onPassthrough : onTranslated);
  } catch (err) {
    if (signal.aborted || lost) return RELAY_ABORTED;
    if (early === undefined) {
      const error = classifyTransportError(err, provider.name);
      if (held !== undefined) return error;
      failure = { kind: error.kind, message: `The upstream stream from '${provider.name}' failed: ${error.message}` };
    }
  } finally {
    res.off('drain', resume);
  }
  if (early !== undefined) return early;
  if (lost) return RELAY_ABORTED;

  /** The upstream sent an error event after content: the deployment failed this request too. */
  let upstreamError = false;
  if (tap !== undefined) {
    tap.end();
    summary.usage = tap.usage;
    summary.stopReason = tap.stopReason;
    if (failure === undefined && !tap.finished) {
      if (held !== undefined) return new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', `The upstream stream from '${provider.name}' ended before any content.`);
      failure = { kind: 'api_error', message: `The upstream stream from '${provider.name}' ended before it was complete.` };
    }
    if (failure !== undefined) write(streamErrorEvent(call.surface, failure));
    upstreamError = tap.errored;
  } else {
    const t = translator!;
    const rest = failure !== undefined ? streamErrorEvent(call.surface, failure) : t.end();
    // Cut before any content, like the passthrough case: the client has seen nothing, so fail over.
    if (held !== undefined && t.truncated && !t.firstContentSeen) {
      return new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', `The upstream stream from '${provider.name}' ended before any content.`);
    }
    write(rest);
    summary.usage = t.usage;
    summary.stopReason = t.stopReason;
    upstreamError = t.error !== undefined;
  }
  if (failure !== undefined) summary.error = 'SWY_ERR_UPSTREAM_STREAM_ABORTED';
  commit();
  if (lost) return RELAY_ABORTED;
  res.end();
  return failure !== undefined || upstreamError ? RELAY_BROKEN : undefined;
}

/** The HTTP status for an upstream failure reported before any content. */
function statusForKind(surface: ProtocolName, kind: ErrorBody['kind']): number {
  if (kind === 'rate_limit') return 429;
  if (kind === 'overloaded') return overloadedStatus(surface);
  return 502;
}
