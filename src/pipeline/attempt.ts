/**
 * One attempt of a request on one deployment, from sending it to the end of
 * the relay: health accounting (in flight, outcome, first-byte latency) and
 * the attempt's entry in `summary.attempts`. Used by the plain ordered
 * failover in chat.ts and by the hedged race in hedged.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { REQUESTED_MODEL } from '../config/index.ts';
import type { GatewayError } from '../errors.ts';
import type { ChatRequest } from '../model/types.ts';
import type { PreparedProvider } from '../providers/index.ts';
import type { DeploymentGroup, Ticket } from '../resilience/index.ts';
import { attemptFirstByteMs, type RequestPolicy } from '../resilience/timeouts.ts';
import type { ChatCall, PipelineDeps } from './chat.ts';
import { RELAY_ABORTED, RELAY_BROKEN, relayJson, relayStream } from './relay.ts';
import { attemptUpstream } from './upstream-call.ts';
import { passThroughTrace } from '../observability/trace-context.ts';

/**
 * One entry of `summary.attempts`, in the order attempts started. Times are
 * ms on the request's clock: `startMs` after the request arrived
 * (`ChatCall.startedAt`), `durationMs` until the attempt ended (for the
 * attempt that answered: until its relay ended).
 */
export interface AttemptRecord {
  /** `provider/model`. */
  deployment: string;
  startMs: number;
  durationMs?: number;
  /** The upstream's HTTP status, when it answered. */
  status?: number;
  /**
   * Why the attempt did not answer: a `SWY_ERR_*` code, `hedge_lost` (a
   * hedged twin answered first; not a failure of this deployment) or
   * `client_closed` (the client went away before any answer). An attempt
   * whose stream broke after content reached the client keeps its status
   * and has `SWY_ERR_UPSTREAM_STREAM_ABORTED`.
   */
  error?: string;
  /** Started as a hedge: the attempt before it had no first byte after the hedge delay. */
  hedge?: true;
}

/** Everything the attempts of one request share. */
export interface RequestRun {
  readonly deps: PipelineDeps;
  readonly call: ChatCall;
  readonly group: DeploymentGroup;
  readonly policy: RequestPolicy;
  readonly requestedModel: string;
  readonly stream: boolean;
  readonly decode: () => ChatRequest;
  /** The request's total deadline on the `performance.now()` clock. */
  readonly deadline: number;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** An attempt ran into the total deadline. */
  expired: boolean;
  readonly onDeadline: () => void;
}

/** A hedged attempt's view of the race it is in (src/pipeline/hedged.ts). */
export interface Contender {
  /** Aborted when the client goes away or a twin answered first. */
  readonly signal: AbortSignal;
  /** Takes the response for this attempt; false when a twin already has it. */
  claim(): boolean;
}

/** The answer was relayed (whole, or ended with an error event after content reached the client). */
export const ANSWERED = Symbol('answered');
/** The attempt's signal was aborted: the client went away, or a hedged twin answered first. */
export const ABORTED = Symbol('aborted');

/** Nothing reached the client: the request may fail over. */
export interface FailedAttempt {
  readonly error: GatewayError;
  readonly retryable: boolean;
  /** How long the deployment asked to be left alone, if it said. */
  readonly retryAfterMs: number | undefined;
}

export type AttemptOutcome = typeof ANSWERED | typeof ABORTED | FailedAttempt;

export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Starts the summary entry of an attempt about to be sent. */
export function recordAttempt(call: ChatCall, deploymentId: string, sentAt: number, hedge: boolean): AttemptRecord {
  const entry: AttemptRecord = { deployment: deploymentId, startMs: roundMs(sentAt - call.startedAt) };
  if (hedge) entry.hedge = true;
  call.summary.attempts.push(entry);
  return entry;
}

/**
 * Runs one attempt holding `ticket` on the deployment at `index`. Health:
 * a failure before content, or a stream that breaks after content, counts
 * against the deployment; a client error, a client gone before the answer, or
 * a lost hedge race does not. In flight is released on every path.
 */
export async function runAttempt(
  run: RequestRun,
  index: number,
  provider: PreparedProvider,
  ticket: Ticket,
  entry: AttemptRecord,
  sentAt: number,
  contender?: Contender,
): Promise<AttemptOutcome> {
  const { call, group } = run;
  const deployment = group.deployments[index]!;
  const health = group.health[index]!;
  const signal = contender?.signal ?? run.signal;
  let recorded = false;
  let committed = false;
  try {
    const result = await attemptUpstream(run.deps.pools, {
      surface: call.surface,
      provider,
      // `*` keeps the model name the client asked for.
      upstreamModel: deployment.model === REQUESTED_MODEL ? run.requestedModel : deployment.model,
      maxTokens: deployment.maxTokens,
      body: call.body,
      rawBody: call.rawBody,
      decode: run.decode,
      query: call.query,
      clientHeaders: call.headers,
      requestId: call.requestId,
      trace: call.trace ?? passThroughTrace(call.headers),
      signal,
      deadline: run.deadline,
      firstByteMs: attemptFirstByteMs(run.policy, index, call.body, deployment.maxTokens, health.firstByte),
      idleMs: run.policy.timeouts.idleMs,
      onDeadline: run.onDeadline,
    });
    if (signal.aborted) return ABORTED;
    if (!result.ok) {
      recorded = true;
      if (result.deploymentFault) health.fail(ticket, result.retryAfterMs);
      else health.succeed(ticket, undefined);
      entry.error = result.error.code;
      entry.status = result.error.status;
      return { error: result.error, retryable: result.retryable, retryAfterMs: result.retryAfterMs };
    }
    entry.status = result.statusCode;
    // The latency EWMA (latency strategy) reads the time to the response head.
    const headMs = performance.now() - sentAt;
    const commit = (): boolean => {
      if (contender !== undefined && !contender.claim()) return false;
      committed = true;
      health.firstByte.record(performance.now() - sentAt);
      call.summary.deployment = deployment.id;
      return true;
    };
    const end = run.stream
      ? await relayStream(call, provider, run.decode, result.call, signal, commit, contentTypeOf(result.headers))
      : await relayJson(call, provider, result.call, signal, commit, run.decode);
    if (end === undefined) {
      recorded = true;
      health.succeed(ticket, headMs);
      return ANSWERED;
    }
    if (end === RELAY_BROKEN) {
      // Content reached the client, so no failover; but the deployment did fail this request.
      recorded = true;
      health.fail(ticket);
      entry.error = 'SWY_ERR_UPSTREAM_STREAM_ABORTED';
      return ANSWERED;
    }
    if (end === RELAY_ABORTED) {
      if (committed) {
        // The client left mid-answer: as far as anyone knows the deployment was fine.
        recorded = true;
        health.succeed(ticket, headMs);
      }
      return ABORTED;
    }
    // Nothing reached the client yet: a failed attempt like any other.
    recorded = true;
    health.fail(ticket);
    entry.error = end.code;
    entry.status = end.status;
    return { error: end, retryable: true, retryAfterMs: undefined };
  } finally {
    if (!committed && entry.error === undefined && run.signal.aborted) entry.error = 'client_closed';
    entry.durationMs ??= roundMs(performance.now() - sentAt);
    health.release(ticket, recorded);
  }
}

/**
 * The client went away: attempts still running end now (their upstream calls
 * are being aborted). One that answered keeps no error; the others read
 * `client_closed`.
 */
export function closeOpenAttempts(call: ChatCall): void {
  const now = performance.now();
  const { summary } = call;
  for (const entry of summary.attempts) {
    if (entry.durationMs !== undefined) continue;
    entry.durationMs = roundMs(now - call.startedAt - entry.startMs);
    const answering = summary.status !== undefined && summary.deployment === entry.deployment;
    if (!answering && entry.error === undefined) entry.error = 'client_closed';
  }
}

/** What the rounds of one request have learned so far. */
export interface RoundTally {
  /** This round sent at least one attempt. */
  tried: boolean;
  lastError: GatewayError | undefined;
  /** The shortest wait an upstream asked for in this round, and its error. */
  hint: { ms: number; error: GatewayError } | undefined;
  /** No further attempt: a non-retryable failure, or past the total deadline. */
  stop: boolean;
}

/** Takes a failed attempt into the tally; true when the request must stop trying. */
export function noteFailure(run: RequestRun, tally: RoundTally, failed: FailedAttempt): boolean {
  tally.lastError = failed.error;
  if (run.expired || !failed.retryable) {
    tally.stop = true;
    return true;
  }
  const ms = failed.retryAfterMs;
  if (ms !== undefined && (tally.hint === undefined || ms < tally.hint.ms)) tally.hint = { ms, error: failed.error };
  return false;
}

function contentTypeOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['content-type'];
  return typeof value === 'string' ? value : undefined;
}
