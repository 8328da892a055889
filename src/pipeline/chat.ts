/**
 * The one chat pipeline every client surface feeds (ARCHITECTURE.md, "One
 * pipeline, thin surfaces"): decode → route → try deployments in order →
 * relay the answer, passed through untouched or translated event by event.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { GatewayError, overloadedError } from '../errors.ts';
import type { ChatRequest, ProtocolName, Usage } from '../model/types.ts';
import type { ClientBody } from '../protocols/client-body.ts';
import { decodeRequest } from '../translate/index.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { clientStatus, toGatewayError, writeError } from '../server/error-shapes.ts';
import type { GatewayState } from './state.ts';
import { ABORTED, ANSWERED, closeOpenAttempts, noteFailure, recordAttempt, runAttempt, type AttemptRecord, type RequestRun, type RoundTally } from './attempt.ts';
import { hedgedRound } from './hedged.ts';
import { DENIED } from '../resilience/index.ts';
import { conversationKey } from '../resilience/sticky.ts';
import { retryWaitMs, sleep } from '../resilience/retry.ts';
import { requestPolicy } from '../resilience/timeouts.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { HookChain } from './hooks.ts';
import type { UpstreamTrace } from './upstream-call.ts';

/** What one request did, for its summary log line (and later usage events). */
export interface RequestSummary {
  surface: ProtocolName;
  stream?: boolean;
  rule?: string;
  model?: string;
  deployment?: string;
  /** Every attempt, in the order they started (src/pipeline/attempt.ts): deployment, times, outcome, hedge. */
  attempts: AttemptRecord[];
  status?: number;
  ttftMs?: number;
  usage?: Usage;
  stopReason?: string | null;
  error?: string;
  /**
   * USD at the configured prices, worked out once when the request has finished
   * (src/observability/cost.ts): null when nothing prices it. For the log line,
   * metrics, ledger, limits and dashboard alike.
   */
  cost?: number | null;
}

export interface ChatCall {
  surface: ProtocolName;
  body: Record<string, unknown>;
  /** The body's bytes as the client sent them: passthrough forwards them with only `model` rewritten. */
  rawBody?: ClientBody;
  /** The raw query string with its `?` (Claude Code sends `?beta=true`), or ''. */
  query: string;
  headers: IncomingHttpHeaders;
  requestId: string;
  res: ServerResponse;
  startedAt: number;
  summary: RequestSummary;
  /** Who is calling, set by authentication in an `admit` hook (src/tenancy/principal.ts). */
  principal?: Principal;
  /**
   * W3C trace headers for the upstream requests, set by tracing (src/observability/tracing.ts)
   * to the gateway's own span; when unset, a client's valid `traceparent` passes through.
   */
  trace?: UpstreamTrace;
}

export interface PipelineDeps {
  state: GatewayState;
  pools: UpstreamPools;
  /** Extension hooks (src/pipeline/hooks.ts); `admit` already ran in the server. */
  hooks: HookChain;
}

export async function handleChat(deps: PipelineDeps, call: ChatCall): Promise<void> {
  const { state, hooks } = deps;
  const { res, summary } = call;
  const abort = new AbortController();
  // The moment the client goes away, the upstream call is aborted. Prepended, so
  // the attempts read complete by the time the summary is logged and `finished` runs.
  const onClose = (): void => {
    if (res.writableFinished) return;
    abort.abort();
    closeOpenAttempts(call);
  };
  res.prependOnceListener('close', onClose);

  try {
    // The body is decoded into the internal model only when something needs
    // it: scenario routing or translation. Passthrough to a named model skips it.
    let decoded: ChatRequest | undefined;
    const decode = (): ChatRequest => (decoded ??= decodeRequest(call.surface, call.body));
    const requestedModel = call.body.model as string;
    const stream = call.body.stream === true;
    summary.stream = stream;
    const decision = state.router.decideByName(requestedModel) ?? (await state.router.decide(decode(), requestedModel, call.requestId));
    summary.rule = decision.rule;
    summary.model = decision.modelName;
    for (const routed of hooks.routed) {
      const pending = routed(call, decision);
      if (pending !== undefined) await pending;
    }

    const policy = requestPolicy(state.config, decision.modelName);
    const group = state.resilience.group(decision);
    const run: RequestRun = {
      deps,
      call,
      group,
      policy,
      requestedModel,
      stream,
      decode,
      deadline: call.startedAt + policy.timeouts.totalMs,
      signal: abort.signal,
      expired: false,
      onDeadline: () => {
        run.expired = true;
      },
    };
    const hedge = group.hedge;
    // Every request of a hedging group earns its share of a hedge (src/resilience/hedge.ts).
    hedge?.budget.earn();
    const tally: RoundTally = { tried: false, lastError: undefined, hint: undefined, stop: false };
    for (let round = 0; round <= policy.retries; round++) {
      if (round > 0) {
        // Every deployment failed retryably and nothing reached the client: try the group again.
        const wait = retryWaitMs(round - 1, tally.hint?.ms, run.deadline - performance.now());
        if (wait === undefined) {
          // What the upstream asked for does not fit in the deadline: hand its 429 (and retry-after) back.
          if (tally.hint !== undefined) tally.lastError = tally.hint.error;
          break;
        }
        if (!(await sleep(wait, abort.signal))) return;
        tally.hint = undefined;
      }
      const order = group.order(group.sticky ? conversationKey(decode()) : undefined);
      // Every deployment's breaker is open: try them anyway rather than fail untried.
      const force = order.length > 0 && !group.health[order[0]!]!.available();
      tally.tried = false;
      const done = hedge === undefined ? await orderedRound(run, order, force, tally) : await hedgedRound(run, order, force, hedge, tally);
      if (done) return;
      if (tally.stop) break;
      // Nothing could be tried (no known provider): another round would not change that.
      if (!tally.tried) break;
    }
    const { lastError } = tally;
    const timeouts = policy.timeouts;
    if (run.expired) {
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
    if (!res.headersSent) summary.status = clientStatus(call.surface, error);
    writeError(res, call.surface, error, call.requestId);
    if (error.code === 'SWY_ERR_INTERNAL') throw err;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * One round of plain ordered failover: each deployment in turn until one
 * answers. Resolves true when the request is over (answered, or the client
 * went away).
 */
async function orderedRound(run: RequestRun, order: readonly number[], force: boolean, tally: RoundTally): Promise<boolean> {
  const { group } = run;
  for (const index of order) {
    const provider = run.deps.state.providers.get(group.deployments[index]!.provider.name);
    if (provider === undefined) continue;
    // Checked again per attempt: a breaker may have opened during an earlier attempt.
    const ticket = group.health[index]!.acquire(force);
    if (ticket === DENIED) continue;
    tally.tried = true;
    const sentAt = performance.now();
    const entry = recordAttempt(run.call, group.deployments[index]!.id, sentAt, false);
    const outcome = await runAttempt(run, index, provider, ticket, entry, sentAt);
    if (outcome === ANSWERED || outcome === ABORTED) return true;
    if (noteFailure(run, tally, outcome)) return false;
  }
  return false;
}
