/**
 * A usage event: one finished chat request, as the ledger stores it
 * (ARCHITECTURE.md, "usage event"). Built in the `finished` hook, so building
 * one is a handful of field reads into an object of fixed shape.
 */
import type { ChatCall } from '../pipeline/chat.ts';
import type { RequestEnd } from '../pipeline/hooks.ts';

export interface UsageEvent {
  /** The ledger's own id (unique per gateway instance and event); never the client's request id. */
  readonly id: string;
  /** When the request finished, epoch milliseconds. */
  readonly at: number;
  readonly tenantId: string | null;
  readonly tenantName: string | null;
  readonly keyId: string | null;
  readonly surface: string;
  readonly stream: boolean;
  readonly rule: string | null;
  /** The public model name the request was routed to. */
  readonly model: string | null;
  /** `provider/model` of the deployment that answered (or was tried last). */
  readonly deployment: string | null;
  readonly provider: string | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly costUsd: number;
  readonly latencyMs: number;
  readonly ttftMs: number | null;
  readonly status: number;
  /** The `SWY_ERR_*` code when the request failed or was refused. */
  readonly error: string | null;
  readonly attempts: number;
  readonly clientAborted: boolean;
  readonly requestId: string;
}

/** Prices a request's usage; 0 when the deployment has no known price. */
export type CostFn = (call: ChatCall) => number;

/** Builds the event for a call that has just finished. */
export function usageEventOf(id: string, call: ChatCall, end: RequestEnd, cost: CostFn): UsageEvent {
  const s = call.summary;
  const p = call.principal;
  const usage = s.usage;
  const deployment = s.deployment ?? s.attempts[s.attempts.length - 1]?.deployment ?? null;
  const slash = deployment === null ? -1 : deployment.indexOf('/');
  return {
    id,
    at: Date.now(),
    tenantId: p?.tenantId ?? null,
    tenantName: p?.tenantName ?? null,
    keyId: p?.keyId ?? null,
    surface: s.surface,
    stream: s.stream === true,
    rule: s.rule ?? null,
    model: s.model ?? null,
    deployment,
    provider: slash === -1 ? null : deployment!.slice(0, slash),
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadTokens ?? 0,
    cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
    costUsd: usage === undefined ? 0 : cost(call),
    latencyMs: end.latencyMs,
    ttftMs: s.ttftMs ?? null,
    status: end.status,
    error: s.error ?? null,
    attempts: s.attempts.length,
    clientAborted: end.clientAborted,
    requestId: call.requestId,
  };
}

/** Event ids: a random prefix per instance and a counter, so ids are unique across instances and increase within one (append-friendly in a B-tree). */
export function eventIdGenerator(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${(++n).toString(36).padStart(9, '0')}`;
}
