/**
 * The one chat pipeline every client surface feeds (ARCHITECTURE.md, "One
 * pipeline, thin surfaces"): decode → route → try deployments in order →
 * relay the answer, passed through untouched or translated event by event.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { REQUESTED_MODEL } from '../config/index.ts';
import { GatewayError } from '../errors.ts';
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

    let lastError: GatewayError | undefined;
    const group = state.resilience.group(decision);
    const order = group.order();
    // Every deployment's breaker is open: try them anyway rather than fail untried.
    const force = order.length > 0 && !group.health[order[0]!]!.available();
    for (const index of order) {
      const deployment = group.deployments[index]!;
      const provider = state.providers.get(deployment.provider.name);
      if (provider === undefined) continue;
      const health = group.health[index]!;
      // Checked again per attempt: a breaker may have opened during an earlier attempt.
      const ticket = health.acquire(force);
      if (ticket === DENIED) continue;
      let recorded = false;
      try {
        const sentAt = performance.now();
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
        });
        if (abort.signal.aborted) return;
        if (!result.ok) {
          recorded = true;
          if (result.deploymentFault) health.fail(ticket, result.retryAfterMs);
          else health.succeed(ticket, undefined);
          summary.attempts.push({ deployment: deployment.id, error: result.error.code, status: result.error.status });
          lastError = result.error;
          if (result.retryable) continue;
          break;
        }
        // Success is the answer's head; the deployment stays in flight while the body is relayed.
        recorded = true;
        health.succeed(ticket, performance.now() - sentAt);
        summary.attempts.push({ deployment: deployment.id, status: result.statusCode });
        summary.deployment = deployment.id;
        if (stream) await relayStream(call, provider, decode, result.call, abort.signal);
        else await relayJson(call, provider, result.call);
        return;
      } finally {
        // In flight ends here on every path: answered, failed, thrown, or the client went away.
        health.release(ticket, recorded);
      }
    }
    throw lastError ?? new GatewayError('SWY_ERR_UNKNOWN_MODEL', `No deployment is available for model '${decision.modelName}'.`);
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

async function relayJson(call: ChatCall, provider: PreparedProvider, upstream: UpstreamCall): Promise<void> {
  let raw: Buffer;
  try {
    raw = await upstream.collect();
  } catch (err) {
    throw classifyTransportError(err, provider.name);
  }
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
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

async function relayStream(
  call: ChatCall,
  provider: PreparedProvider,
  decode: () => ChatRequest,
  upstream: UpstreamCall,
  signal: AbortSignal,
): Promise<void> {
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
  const write = (data: string | Uint8Array): void => {
    if (data.length === 0 || res.writableEnded) return;
    if (!res.headersSent) {
      res.writeHead(200, { ...SSE_HEADERS, ...requestIdHeaders(call.surface, call.requestId) });
      summary.status = 200;
      summary.ttftMs = performance.now() - call.startedAt;
    }
    // A slow client slows the upstream read instead of growing a buffer.
    if (!res.write(data) && !waitingForDrain) {
      waitingForDrain = true;
      upstream.pause();
      res.once('drain', resume);
    }
  };

  let failure: ErrorBody | undefined;
  try {
    await upstream.relay(
      tap !== undefined
        ? (chunk) => {
            tap.push(chunk);
            write(chunk);
          }
        : (chunk) => write(translator!.pushBytes(chunk)),
    );
  } catch (err) {
    if (signal.aborted) return;
    const error = classifyTransportError(err, provider.name);
    failure = { kind: error.kind, message: `The upstream stream from '${provider.name}' failed: ${error.message}` };
  } finally {
    res.off('drain', resume);
  }

  if (tap !== undefined) {
    tap.end();
    summary.usage = tap.usage;
    summary.stopReason = tap.stopReason;
    if (failure === undefined && !tap.finished) {
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
  if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, ...requestIdHeaders(call.surface, call.requestId) });
  res.end();
}
