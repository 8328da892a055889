/**
 * The one chat pipeline every client surface feeds (ARCHITECTURE.md, "One
 * pipeline, thin surfaces"): decode → route → try deployments in order →
 * relay the answer, passed through untouched or translated event by event.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { REQUESTED_MODEL } from '../config/index.ts';
import { GatewayError, overloadedError } from '../errors.ts';
import type { ChatRequest, ProtocolName, Usage } from '../model/types.ts';
import { decodeRequest } from '../translate/index.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { toGatewayError, writeError } from '../server/error-shapes.ts';
import type { GatewayState } from './state.ts';
import { relayJson, relayStream } from './relay.ts';
import { attemptUpstream } from './upstream-call.ts';
import { DENIED } from '../resilience/index.ts';
import { conversationKey } from '../resilience/sticky.ts';
import { retryWaitMs, sleep } from '../resilience/retry.ts';
import { firstByteMs, requestedMaxTokens, requestPolicy } from '../resilience/timeouts.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { HookChain } from './hooks.ts';

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
  /** Who is calling, set by authentication in an `admit` hook (src/tenancy/principal.ts). */
  principal?: Principal;
}

export interface PipelineDeps {
  state: GatewayState;
  pools: UpstreamPools;
  /** Extension hooks (src/pipeline/hooks.ts); `admit` already ran in the server. */
  hooks: HookChain;
}

export async function handleChat(deps: PipelineDeps, call: ChatCall): Promise<void> {
  const { state, pools, hooks } = deps;
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
    for (const routed of hooks.routed) await routed(call, decision);

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
      const order = group.order(group.sticky ? conversationKey(decode()) : undefined);
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
