/**
 * Timeouts per attempt and per request (issue 3, "Timeouts per attempt"):
 * time to first byte (response headers), idle time between body chunks, and
 * a total deadline across every attempt and backoff of one request.
 *
 * One timer per attempt: armed for the first byte, refreshed on every chunk
 * (`timer.refresh()`, no timer per chunk), and capped by the request deadline
 * so the deadline needs no timer of its own.
 */
import type { Config, ModelConfig } from '../config/schema.ts';
import type { LatencyDigest } from './latency.ts';

/** `firstByteMs` as a base plus an allowance per requested output token, capped. */
export interface AdaptiveFirstByte {
  readonly baseMs: number;
  readonly perOutputTokenMs: number;
  readonly maxMs: number;
}

/**
 * The first-byte timeout tightened by a deployment's learned first-byte
 * latency: `min(configured, max(floorMs, factor × percentile))` once it has
 * `minSamples`. The learned latency runs to the first content (never shorter
 * than the time to headers the timer measures), so the bound errs long.
 */
export interface LearnedTimeout {
  readonly percentile: number;
  readonly factor: number;
  readonly floorMs: number;
  readonly minSamples: number;
}

export interface TimeoutPolicy {
  readonly firstByteMs: number | AdaptiveFirstByte;
  readonly idleMs: number;
  readonly totalMs: number;
  readonly learned?: LearnedTimeout;
}

export interface RequestPolicy {
  readonly timeouts: TimeoutPolicy;
  /** How many more times the whole ordered group is tried after every deployment failed. */
  readonly retries: number;
  /** Per deployment (group order): the factor on `perOutputTokenMs`; undefined when all are 1. */
  readonly perTokenMultipliers?: readonly number[];
}

export const defaultTimeouts: TimeoutPolicy = Object.freeze({ firstByteMs: 60_000, idleMs: 60_000, totalMs: 600_000 });
export const defaultRequestPolicy: RequestPolicy = Object.freeze({ timeouts: defaultTimeouts, retries: 1 });

/**
 * The first-byte timeout for a request asking for `maxTokens` output tokens
 * (unknown: the base alone), the per-token allowance scaled by the
 * deployment's `multiplier` (a slower upstream model gets more per token).
 *
 * @example firstByteMs({ firstByteMs: { baseMs: 1000, perOutputTokenMs: 10, maxMs: 60000 }, … }, 100, 2) // 3000
 */
export function firstByteMs(policy: TimeoutPolicy, maxTokens: number | undefined, multiplier = 1): number {
  const fb = policy.firstByteMs;
  if (typeof fb === 'number') return fb;
  const tokens = maxTokens !== undefined && maxTokens > 0 ? maxTokens : 0;
  return Math.min(fb.maxMs, fb.baseMs + fb.perOutputTokenMs * multiplier * tokens);
}

/**
 * The first-byte timeout of one attempt on the deployment at `index` of the
 * group: the configured (or adaptive) one, tightened by what the deployment
 * has shown it needs when `timeouts.learned` is set.
 */
export function attemptFirstByteMs(
  policy: RequestPolicy,
  index: number,
  body: Readonly<Record<string, unknown>>,
  deploymentMaxTokens: number | undefined,
  firstByte: LatencyDigest,
): number {
  const timeouts = policy.timeouts;
  const fb = timeouts.firstByteMs;
  const configured =
    typeof fb === 'number' ? fb : firstByteMs(timeouts, requestedMaxTokens(body, deploymentMaxTokens), policy.perTokenMultipliers?.[index] ?? 1);
  const learned = timeouts.learned;
  if (learned === undefined) return configured;
  const observed = firstByte.percentile(learned.percentile, learned.minSamples);
  if (observed === undefined) return configured;
  return Math.min(configured, Math.max(learned.floorMs, Math.ceil(learned.factor * observed)));
}

/** Per config version: model name (and alias) → its policy. Built once, read per request. */
const byConfig = new WeakMap<Config, ReadonlyMap<string, RequestPolicy>>();

/** The policy of the model group a request was routed to; defaults for `provider,model` targets. */
export function requestPolicy(config: Config, modelName: string): RequestPolicy {
  let table = byConfig.get(config);
  if (table === undefined) {
    table = buildTable(config.models);
    byConfig.set(config, table);
  }
  return table.get(modelName) ?? defaultRequestPolicy;
}

function buildTable(models: readonly ModelConfig[]): ReadonlyMap<string, RequestPolicy> {
  const table = new Map<string, RequestPolicy>();
  for (const model of models) {
    const t = model.timeouts;
    const multipliers = model.deployments.map((d) => d.perOutputTokenMultiplier ?? 1);
    const policy: RequestPolicy = Object.freeze({
      timeouts:
        t === undefined
          ? defaultTimeouts
          : Object.freeze({
              firstByteMs: t.firstByteMs ?? defaultTimeouts.firstByteMs,
              idleMs: t.idleMs ?? defaultTimeouts.idleMs,
              totalMs: t.totalMs ?? defaultTimeouts.totalMs,
              ...(t.learned === undefined ? {} : { learned: Object.freeze({ ...t.learned }) }),
            }),
      retries: model.retries ?? defaultRequestPolicy.retries,
      ...(multipliers.every((m) => m === 1) ? {} : { perTokenMultipliers: Object.freeze(multipliers) }),
    });
    table.set(model.name, policy);
    for (const alias of model.aliases) if (!table.has(alias)) table.set(alias, policy);
  }
  return table;
}

export type TimeoutKind = 'first-byte' | 'idle' | 'total';

/**
 * The one timer of one attempt. `deadline` is on the `performance.now()`
 * clock. Call `start` when the request is sent, `headers` when the response
 * head arrives, `chunk` per body chunk, `clear` on every way out.
 * While `pause`d (a slow client, not a slow upstream) idle time is not counted.
 */
export class AttemptTimer {
  readonly #deadline: number;
  readonly #firstByteMs: number;
  readonly #idleMs: number;
  readonly #onTimeout: (kind: TimeoutKind) => void;
  #timer: NodeJS.Timeout | undefined;
  #durationMs = 0;
  /** The timer is set to the request deadline, which comes before the phase's own timeout. */
  #capped = false;
  #body = false;
  #paused = false;
  /** The idle timeout came while paused: restart counting on resume. */
  #missed = false;
  #done = false;

  constructor(deadline: number, firstByteMs: number, idleMs: number, onTimeout: (kind: TimeoutKind) => void) {
    this.#deadline = deadline;
    this.#firstByteMs = firstByteMs;
    this.#idleMs = idleMs;
    this.#onTimeout = onTimeout;
  }

  start(): void {
    this.#arm(this.#firstByteMs, performance.now());
  }

  headers(): void {
    if (this.#done) return;
    this.#body = true;
    const now = performance.now();
    // Defaults use the same length for both: one refresh, no second timer.
    if (!this.#capped && this.#idleMs === this.#durationMs && now + this.#idleMs <= this.#deadline) this.#timer?.refresh();
    else this.#arm(this.#idleMs, now);
  }

  chunk(): void {
    if (this.#done || this.#capped) return;
    this.#timer?.refresh();
    // A refresh must not push the timer past the deadline: re-arm once, on the deadline.
    const now = performance.now();
    if (now + this.#idleMs > this.#deadline) this.#arm(this.#idleMs, now);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (this.#done) return;
    if (this.#missed) {
      this.#missed = false;
      this.#timer?.refresh();
    } else {
      this.chunk();
    }
  }

  clear(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const remaining = this.#deadline - now;
    this.#capped = remaining <= ms;
    this.#durationMs = Math.max(0, this.#capped ? remaining : ms);
    this.#timer = setTimeout(this.#fire, this.#durationMs);
    // A pending upstream read is what keeps the process busy, not its timer.
    this.#timer.unref();
  }

  #fire = (): void => {
    if (this.#done) return;
    if (!this.#capped && this.#body && this.#paused) {
      this.#missed = true;
      return;
    }
    this.clear();
    this.#onTimeout(this.#capped ? 'total' : this.#body ? 'idle' : 'first-byte');
  };
}

/** The output tokens a client body asks for (`max_tokens` or OpenAI's `max_completion_tokens`), clamped to the deployment's limit (which stands in when none is asked). */
export function requestedMaxTokens(body: Readonly<Record<string, unknown>>, limit: number | undefined): number | undefined {
  const raw = body.max_tokens ?? body.max_completion_tokens;
  const asked = typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? raw : undefined;
  if (asked === undefined) return limit;
  return limit !== undefined && asked > limit ? limit : asked;
}
