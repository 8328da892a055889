/**
 * Fault specs for the mock provider: a short string, set as a default option
 * or per request with the `x-mock-fault` header, that makes the mock misbehave
 * the way real providers do (error statuses, rate limits, resets, broken
 * streams), so retry, failover and stream-abort paths can be tested for real.
 */

/**
 * A fault spec string. Grammar:
 * `none` | `status:<400-599>` | `status:<400-599>:<seconds>` (with `retry-after`) | `<400-599>` | `429` | `429:<seconds>` | `reset` | `hang` |
 * `hang-after-headers` | `malformed-sse` | `error-mid-stream` | `error-first` |
 * `drop-mid-stream` | `no-finish` | `truncate` | `cut-before-content` | `json-for-stream` | `fixture:<name>` | `fail-first:<n>:<spec>`.
 *
 * `no-finish`: the stream ends with the protocol's own terminator (`[DONE]`,
 * `message_stop`) but never gives a finish reason, as some providers do.
 * `truncate`: the stream just stops, cleanly at the transport level, with no
 * finish reason and no terminator: a truncated answer.
 * `cut-before-content`: the stream stops cleanly right after its opening
 * events (a non-streaming answer: a 200 with an empty body), as when a proxy
 * in between gives up; nothing of the answer was sent.
 * `json-for-stream`: a stream request is answered with the whole JSON body,
 * as by a server that ignores `stream`.
 *
 * @example `x-mock-fault: fail-first:2:status:503` fails the first two requests with 503.
 */
export type FaultSpec = string;

export type StreamFaultKind =
  | 'hang-after-headers'
  | 'malformed-sse'
  | 'error-mid-stream'
  | 'error-first'
  | 'drop-mid-stream'
  | 'no-finish'
  | 'truncate'
  | 'cut-before-content'
  | 'json-for-stream';

export type Fault =
  | { kind: 'none' }
  | { kind: 'status'; status: number; retryAfterSeconds?: number }
  | { kind: 'rate_limit'; retryAfterSeconds: number }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: StreamFaultKind }
  | { kind: 'fixture'; name: string }
  | { kind: 'fail-first'; count: number; then: Fault };

const simpleFaults: ReadonlySet<string> = new Set([
  'reset',
  'hang',
  'hang-after-headers',
  'malformed-sse',
  'error-mid-stream',
  'error-first',
  'drop-mid-stream',
  'no-finish',
  'truncate',
  'cut-before-content',
  'json-for-stream',
]);

/** Fixture names are plain file names: no separators, so a header cannot walk the file system. */
const fixtureName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const decimal = /^\d{1,9}$/;

export class FaultSpecError extends Error {
  constructor(spec: string, why: string) {
    super(`invalid mock fault spec "${spec}": ${why}`);
    this.name = 'FaultSpecError';
  }
}

/** Parses a fault spec; throws FaultSpecError with the reason when it is not valid. */
export function parseFault(spec: FaultSpec): Fault {
  return parseAt(spec.trim(), spec, 0);
}

function parseAt(text: string, whole: string, depth: number): Fault {
  if (text === '' || text === 'none') return { kind: 'none' };
  if (simpleFaults.has(text)) return { kind: text } as Fault;
  const colon = text.indexOf(':');
  const head = colon === -1 ? text : text.slice(0, colon);
  const rest = colon === -1 ? '' : text.slice(colon + 1);
  if (head === 'status') return statusFault(rest, whole);
  if (head === '429') {
    if (colon === -1) return { kind: 'rate_limit', retryAfterSeconds: 1 };
    if (!decimal.test(rest)) throw new FaultSpecError(whole, '429:<seconds> needs a whole number of seconds');
    return { kind: 'rate_limit', retryAfterSeconds: Number(rest) };
  }
  if (colon === -1 && decimal.test(text)) return statusFault(text, whole);
  if (head === 'fixture') {
    if (!fixtureName.test(rest)) throw new FaultSpecError(whole, 'fixture:<name> needs a plain file name');
    return { kind: 'fixture', name: rest };
  }
  if (head === 'fail-first') {
    // A nested fail-first makes no sense and unbounded nesting would be a recursion hazard.
    if (depth > 0) throw new FaultSpecError(whole, 'fail-first cannot be nested');
    const second = rest.indexOf(':');
    const count = second === -1 ? '' : rest.slice(0, second);
    if (!decimal.test(count)) throw new FaultSpecError(whole, 'use fail-first:<n>:<spec>');
    return { kind: 'fail-first', count: Number(count), then: parseAt(rest.slice(second + 1), whole, depth + 1) };
  }
  throw new FaultSpecError(whole, 'unknown fault');
}

function statusFault(text: string, whole: string): Fault {
  const colon = text.indexOf(':');
  const code = colon === -1 ? text : text.slice(0, colon);
  const status = decimal.test(code) ? Number(code) : NaN;
  if (!(status >= 400 && status <= 599)) throw new FaultSpecError(whole, 'status must be 400-599');
  let retryAfterSeconds: number | undefined;
  if (colon !== -1) {
    const seconds = text.slice(colon + 1);
    if (!decimal.test(seconds)) throw new FaultSpecError(whole, 'status:<code>:<seconds> needs a whole number of seconds');
    retryAfterSeconds = Number(seconds);
  }
  if (status === 429) return { kind: 'rate_limit', retryAfterSeconds: retryAfterSeconds ?? 1 };
  return retryAfterSeconds === undefined ? { kind: 'status', status } : { kind: 'status', status, retryAfterSeconds };
}

/**
 * Resolves `fail-first` against per-instance counters: the first `count`
 * requests carrying the same spec get the inner fault, later ones none.
 * Counters are keyed by the spec text so unrelated specs do not share a budget.
 */
export class FaultCounters {
  #used = new Map<string, number>();

  resolve(fault: Fault, key: string): Fault {
    if (fault.kind !== 'fail-first') return fault;
    const used = this.#used.get(key) ?? 0;
    if (used >= fault.count) return { kind: 'none' };
    this.#used.set(key, used + 1);
    return fault.then;
  }

  reset(): void {
    this.#used.clear();
  }
}
