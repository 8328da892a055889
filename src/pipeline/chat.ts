/**
 * The one chat pipeline every client surface feeds (ARCHITECTURE.md, "One
 * pipeline, thin surfaces"): decode → route → try deployments in order →
 * relay the answer, passed through untouched or translated event by event.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { REQUESTED_MODEL } from '../config/index.ts';
import { GatewayError, overloadedError } from '../errors.ts';
import type { ChatRequest, ErrorBody, ProtocolName, Usage } from '../model/types.ts';
import type { PreparedProvider } from '../providers/index.ts';
import { createStreamTranslator, decodeRequest, decodeResponse, encodeResponse } from '../translate/index.ts';
import type { UpstreamCall } from '../upstream/call.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { requestIdHeaders, streamErrorEvent, toGatewayError, writeError } from '../server/error-shapes.ts';
import type { GatewayState } from './state.ts';
import { PassthroughTap, usageFromResponseText } from './stream-tap.ts';
import { attemptUpstream, classifyTransportError } from './upstream-call.ts';
import { DENIED } from '../resilience/index.ts';
import { retryWaitMs, sleep } from '../resilience/retry.ts';
import { firstByteMs, requestedMaxTokens, requestPolicy } from '../resilience/timeouts.ts';

/** What one request did, for its summary log line (and later usage events). */
export interface RequestSummary {
  surface: ProtocolName;
  stream?: boolean;
  rule?: string;
  model?: string;
  deployment?: string;
  attempts: Array<{ deployment: string; error?: string; status?: number }>;
  status?: number;
  ttftMs?: number;
  usage?: Usage;
  stopReason?: string | null;
  error?: string;
}

export interface ChatCall {
  surface: ProtocolName;
  body: Record<string, unknown>;
  /** The raw query string with its `?` (Claude Code sends `?beta=true`), or ''. */
  query: string;
  headers: IncomingHttpHeaders;
  requestId: string;
  res: ServerResponse;
  startedAt: number;
  summary: RequestSummary;
}

export interface PipelineDeps {
  state: GatewayState;
  pools: UpstreamPools;
}

export async function handleChat(deps: PipelineDeps, call: ChatCall): Promise<void> {
  const { state, pools } = deps;
  const { res, summary } = call;
  const abort = new AbortController();
  // The moment the client goes away, the upstream call is aborted.
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);

  try {
    // The body is decoded into the internal model only when something needs
    // it: scenario routing or translation. Passthrough to a named model skips it.
    let decoded: ChatRequest | undefined;
    const decode = (): ChatRequest => (decoded ??= decodeRequest(call.surface, call.body));
    const requestedModel = call.body.model as string;
    const stream = call.body.stream === true;
    summary.stream = stream;
    const decision = state.router.decideByName(requestedModel) ?? (await state.router.decide(decode(), requestedModel));
    summary.rule = decision.rule;
    summary.model = decision.modelName;

    const policy = requestPolicy(state.config, decision.modelName);
    const timeouts = policy.timeouts;
    const deadline = call.startedAt + timeouts.totalMs;
    let expired = false;
    const onDeadline = (): void => {
      expired = true;
    };
    /** The shortest wait an upstream asked for in this round, and its error. */
    let hint: { ms: number; error: GatewayError } | undefined;
    let lastError: GatewayError | undefined;
    const group = state.resilience.group(decision);
    rounds: for (let round = 0; round <= policy.retries; round++) {
      if (round > 0) {
        // Every deployment failed retryably and nothing reached the client: try the group again.
        const wait = retryWaitMs(round - 1, hint?.ms, deadline - performance.now());
        if (wait === undefined) {
          // What the upstream asked for does not fit in the deadline: hand its 429 (and retry-after) back.
          if (hint !== undefined) lastError = hint.error;
          break;
        }
        if (!(await sleep(wait, abort.signal))) return;
        hint = undefined;
      }
      const order = group.order();
      // Every deployment's breaker is open: try them anyway rather than fail untried.
      const force = order.length > 0 && !group.health[order[0]!]!.available();
      let tried = false;
      for (const index of order) {
        const deployment = group.deployments[index]!;
        const provider = state.providers.get(deployment.provider.name);
        if (provider === undefined) continue;
        const health = group.health[index]!;
        // Checked again per attempt: a breaker may have opened during an earlier attempt.
        const ticket = health.acquire(force);
        if (ticket === DENIED) continue;
        tried = true;
        let recorded = false;
        try {
          const sentAt = performance.now();
          const fb = timeouts.firstByteMs;
          const result = await attemptUpstream(pools, {
            surface: call.surface,
            provider,
            // `*` keeps the model name the client asked for.
            upstreamModel: deployment.model === REQUESTED_MODEL ? requestedModel : deployment.model,
            maxTokens: deployment.maxTokens,
            body: call.body,
            decode,
            query: call.query,
            clientHeaders: call.headers,
            requestId: call.requestId,
            signal: abort.signal,
            deadline,
            firstByteMs: typeof fb === 'number' ? fb : firstByteMs(timeouts, requestedMaxTokens(call.body, deployment.maxTokens)),
            idleMs: timeouts.idleMs,
            onDeadline,
          });
          if (abort.signal.aborted) return;
          if (!result.ok) {
            recorded = true;
            if (result.deploymentFault) health.fail(ticket, result.retryAfterMs);
            else health.succeed(ticket, undefined);
            summary.attempts.push({ deployment: deployment.id, error: result.error.code, status: result.error.status });
            lastError = result.error;
            if (expired) break rounds;
            if (!result.retryable) break rounds;
            if (result.retryAfterMs !== undefined && (hint === undefined || result.retryAfterMs < hint.ms)) {
              hint = { ms: result.retryAfterMs, error: result.error };
            }
            continue;
          }
          // Success is the answer's head (for a stream: its first content); the
          // deployment stays in flight while the body is relayed.
          const latencyMs = performance.now() - sentAt;
          const succeed = (): void => {
            recorded = true;
            health.succeed(ticket, latencyMs);
          };
          summary.attempts.push({ deployment: deployment.id, status: result.statusCode });
          summary.deployment = deployment.id;
          const failedBeforeContent = stream
            ? await relayStream(call, provider, decode, result.call, abort.signal, succeed)
            : await relayJson(call, provider, result.call, succeed);
          if (failedBeforeContent === undefined) return;
          // Nothing reached the client yet: this is a failed attempt like any other.
          if (abort.signal.aborted) return;
          recorded = true;
          health.fail(ticket, undefined);
          summary.attempts[summary.attempts.length - 1] = { deployment: deployment.id, error: failedBeforeContent.code, status: failedBeforeContent.status };
          summary.deployment = undefined;
          lastError = failedBeforeContent;
          if (expired) break rounds;
          continue;
        } finally {
          // In flight ends here on every path: answered, failed, thrown, or the client went away.
          health.release(ticket, recorded);
        }
      }
      // Nothing could be tried (no known provider): another round would not change that.
      if (!tried) break;
    }
    if (expired) {
      throw new GatewayError('SWY_ERR_UPSTREAM_TIMEOUT', `The request did not complete within its total deadline of ${timeouts.totalMs} ms.`);
    }
    if (lastError !== undefined) throw lastError;
    // Nothing was tried: every deployment is at its concurrency cap (or none is configured).
    if (group.health.some((h) => h.atCapacity)) {
      throw overloadedError(call.surface, `Every deployment of model '${decision.modelName}' is at its concurrency limit; retry shortly.`);
    }
    throw new GatewayError('SWY_ERR_UNKNOWN_MODEL', `No deployment is available for model '${decision.modelName}'.`);
  } catch (err) {
    if (abort.signal.aborted) return;
    const error = toGatewayError(err);
    summary.error = error.code;
    if (!res.headersSent) summary.status = error.status;
    writeError(res, call.surface, error, call.requestId);
    if (error.code === 'SWY_ERR_INTERNAL') throw err;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Relays a whole JSON answer. A body that fails or stalls before it is
 * complete is returned as an error (nothing reached the client yet) so the
 * caller can fail over, like a stream that fails before its first content.
 */
async function relayJson(call: ChatCall, provider: PreparedProvider, upstream: UpstreamCall, onCommit: () => void): Promise<GatewayError | undefined> {
  let raw: Buffer;
  try {
    raw = await upstream.collect();
  } catch (err) {
    return classifyTransportError(err, provider.name);
  }
  onCommit();
  let out: Buffer;
  if (provider.protocol === call.surface) {
    // Passthrough: the bytes go back untouched; only the usage is read.
    out = raw;
    call.summary.usage = usageFromResponseText(provider.protocol, raw.toString('utf8'));
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new GatewayError('SWY_ERR_UPSTREAM_BAD_RESPONSE', `Provider '${provider.name}' sent a response that is not JSON.`);
    }
    const decoded = decodeResponse(provider.protocol, parsed);
    call.summary.usage = decoded.usage;
    call.summary.stopReason = decoded.stopReason;
    out = Buffer.from(JSON.stringify(encodeResponse(call.surface, decoded)));
  }
  call.summary.status = 200;
  call.summary.ttftMs = performance.now() - call.startedAt;
  call.res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': out.length,
    ...requestIdHeaders(call.surface, call.requestId),
  });
  call.res.end(out);
  return undefined;
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
async function relayStream(
  call: ChatCall,
  provider: PreparedProvider,
  decode: () => ChatRequest,
  upstream: UpstreamCall,
  signal: AbortSignal,
  onCommit: () => void,
): Promise<GatewayError | undefined> {
  const { res, summary } = call;
  const same = provider.protocol === call.surface;
  const tap = same ? new PassthroughTap(provider.protocol) : undefined;
  const translator = same
    ? undefined
    : createStreamTranslator(provider.protocol, call.surface, { includeUsage: decode().includeUsage === true });

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
  const commit = (): void => {
    if (held === undefined || res.writableEnded) return;
    res.writeHead(200, { ...SSE_HEADERS, ...requestIdHeaders(call.surface, call.requestId) });
    summary.status = 200;
    summary.ttftMs = performance.now() - call.startedAt;
    onCommit();
    const early = held;
    held = undefined;
    for (const data of early) send(data);
  };
  const write = (data: string | Uint8Array): void => {
    if (data.length === 0 || res.writableEnded) return;
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
    if (early !== undefined) return;
    const t = tap!;
    t.push(chunk);
    if (held !== undefined && t.errored && !t.contentStarted) {
      return failEarly(t.errorKind ?? 'api_error', `Provider '${provider.name}' answered with an error event before any content.`);
    }
    write(chunk);
    if (t.contentStarted || t.finished) commit();
  };
  const onTranslated = (chunk: Buffer): void => {
    if (early !== undefined) return;
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
    if (signal.aborted) return undefined;
    if (early === undefined) {
      const error = classifyTransportError(err, provider.name);
      if (held !== undefined) return error;
      failure = { kind: error.kind, message: `The upstream stream from '${provider.name}' failed: ${error.message}` };
    }
  } finally {
    res.off('drain', resume);
  }
  if (early !== undefined) return early;

  if (tap !== undefined) {
    tap.end();
    summary.usage = tap.usage;
    summary.stopReason = tap.stopReason;
    if (failure === undefined && !tap.finished) {
      if (held !== undefined) return new GatewayError('SWY_ERR_UPSTREAM_STREAM_ABORTED', `The upstream stream from '${provider.name}' ended before any content.`);
      failure = { kind: 'api_error', message: `The upstream stream from '${provider.name}' ended before it was complete.` };
    }
    if (failure !== undefined) write(streamErrorEvent(call.surface, failure));
  } else {
    const t = translator!;
    write(failure !== undefined ? streamErrorEvent(call.surface, failure) : t.end());
    summary.usage = t.usage;
    summary.stopReason = t.stopReason;
  }
  if (failure !== undefined) summary.error = 'SWY_ERR_UPSTREAM_STREAM_ABORTED';
  commit();
  res.end();
  return undefined;
}

/** The HTTP status for an upstream failure reported before any content. */
function statusForKind(surface: ProtocolName, kind: ErrorBody['kind']): number {
  if (kind === 'rate_limit') return 429;
  if (kind === 'overloaded') return surface === 'anthropic' ? 529 : 503;
  return 502;
}
