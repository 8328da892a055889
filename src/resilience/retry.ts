/**
 * Retries of a whole model group (issue 3, "Retries"): exponential backoff
 * with full jitter, at least what the upstream asked for (`retry-after`,
 * `retry-after-ms`, Anthropic's `anthropic-ratelimit-*-reset`), and never
 * past the request's total deadline.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
}

export const defaultBackoff: BackoffOptions = Object.freeze({ baseMs: 250, capMs: 8_000 });

/** A source of uniform numbers in [0, 1); injectable for tests. */
export type Random = () => number;

/**
 * Full jitter: `random(0, min(cap, base × 2^retry))`, `retry` counting from 0
 * for the first retry (AWS Architecture Blog, "Exponential Backoff And Jitter").
 *
 * @example backoffMs(2, () => 0.5) // 500: half of min(8000, 250 × 4)
 */
export function backoffMs(retry: number, random: Random = Math.random, options: BackoffOptions = defaultBackoff): number {
  // 2^31 is already far past any cap; bounding the exponent keeps the product finite.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(Math.max(retry, 0), 31));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before retry number `retry`: the jittered backoff, but at
 * least `hintMs` (what the upstream asked for). Undefined when that wait would
 * not leave any time before the deadline: the caller stops instead.
 */
export function retryWaitMs(
  retry: number,
  hintMs: number | undefined,
  remainingMs: number,
  random: Random = Math.random,
  options: BackoffOptions = defaultBackoff,
): number | undefined {
  const wait = Math.max(backoffMs(retry, random, options), hintMs ?? 0);
  return wait < remainingMs ? wait : undefined;
}

/**
 * Resolves true after `ms`, or false at once when `signal` aborts (the client
 * went away): a pending backoff never outlives its request.
 */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

const decimal = /^\s*\d+(\.\d+)?\s*$/;
const resetHeaders = ['requests', 'tokens', 'input-tokens', 'output-tokens'] as const;

/**
 * How long the upstream asked to be left alone, in ms: `retry-after-ms`
 * (OpenAI), else `retry-after` in seconds or as an HTTP date (RFC 9110
 * §10.2.3), else Anthropic's `anthropic-ratelimit-<limit>-reset` (RFC 3339):
 * the latest reset among limits whose `-remaining` is 0, or without any such
 * marker the earliest reset given.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  const explicit = explicitRetryAfterMs(headers, now);
  if (explicit !== undefined) return explicit;
  let exhausted: number | undefined;
  let earliest: number | undefined;
  for (const limit of resetHeaders) {
    const reset = headers[`anthropic-ratelimit-${limit}-reset`];
    if (typeof reset !== 'string') continue;
    const at = Date.parse(reset);
    if (Number.isNaN(at)) continue;
    const wait = Math.max(0, at - now);
    if (headers[`anthropic-ratelimit-${limit}-remaining`] === '0') exhausted = Math.max(exhausted ?? 0, wait);
    earliest = Math.min(earliest ?? Infinity, wait);
  }
  return exhausted ?? earliest;
}

/**
 * Only `retry-after-ms` and `retry-after`: what a 503 or 529 asks for. The
 * rate-limit reset headers ride on every Anthropic answer and say nothing
 * about an overload, so they are not read here.
 */
export function explicitRetryAfterMs(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (typeof ms === 'string' && decimal.test(ms)) return Number(ms);
  const value = headers['retry-after'];
  if (typeof value === 'string' && value.length > 0) {
    if (decimal.test(value)) return Number(value) * 1000;
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return undefined;
}
