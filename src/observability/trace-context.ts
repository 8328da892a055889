/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading and
 * writing the `traceparent` header. Kept apart from the tracing SDK so the
 * pipeline can pass a client's trace on upstream even when tracing is off.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  /** Bit 0: sampled. */
  readonly flags: number;
}

// version-traceid-parentid-flags; later versions may append fields after another dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The parsed header, or undefined when it is absent or invalid (the spec says: then start a new trace). */
export function parseTraceparent(value: string | string[] | undefined): TraceParent | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${(parent.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** `tracestate`, passed on unchanged (vendors' entries are theirs); one header, at most 512 characters as the spec allows. */
export function tracestateOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.tracestate;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined === undefined || joined === '' || joined.length > 512 ? undefined : joined;
}

/**
 * The trace headers for upstream requests when the gateway does not trace
 * itself: the client's valid `traceparent` (and `tracestate`) pass through, so
 * the provider's spans still join the client's trace.
 */
export function passThroughTrace(headers: IncomingHttpHeaders): { traceparent: string; tracestate?: string } | undefined {
  const raw = headers.traceparent;
  if (raw === undefined) return undefined;
  const parent = parseTraceparent(raw);
  if (parent === undefined) return undefined;
  const tracestate = tracestateOf(headers);
  return tracestate === undefined ? { traceparent: formatTraceparent(parent) } : { traceparent: formatTraceparent(parent), tracestate };
}
