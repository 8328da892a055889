/**
 * What the dashboard knows about traffic, fed by the `finished` hook: the
 * rolling window for the charts, the last requests with their attempts, where
 * traffic went (route rule → model → deployment), attempts per deployment, and
 * usage by tenant, key and model. Everything is bounded: the ring holds the
 * last `recentSize` requests and each tally at most `maxKeys` names (the rest
 * are counted under "(other)"), so a client inventing model names cannot grow it.
 */
import type { ChatCall } from '../pipeline/chat.ts';
import type { RequestEnd } from '../pipeline/hooks.ts';
import { RollingWindow, type WallClock } from './window.ts';

export interface RecentAttempt {
  readonly deployment: string;
  readonly status?: number;
  readonly error?: string;
  /** Since the request started, and how long the attempt took (ms). */
  readonly startMs?: number;
  readonly durationMs?: number;
  readonly hedge?: boolean;
}

/** Attempt outcomes that are no fault of the deployment (src/pipeline/attempt.ts). */
const NOT_FAILURES: ReadonlySet<string> = new Set(['hedge_lost', 'client_closed']);

export interface RecentRequest {
  readonly id: string;
  /** When the request started, epoch ms. */
  readonly at: number;
  readonly surface: string;
  readonly stream: boolean;
  readonly tenant?: string;
  readonly keyId?: string;
  readonly rule?: string;
  readonly model?: string;
  readonly requestedModel?: string;
  readonly deployment?: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly ttftMs?: number;
  readonly tokensIn?: number;
  readonly tokensOut?: number;
  readonly costUsd?: number;
  readonly error?: string;
  readonly clientAborted: boolean;
  readonly attempts: readonly RecentAttempt[];
}

export interface Tally {
  requests: number;
  errors: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

export interface FlowTally extends Tally {
  readonly rule: string;
  readonly model: string;
  readonly deployment: string;
}

export interface AttemptTally {
  attempts: number;
  failures: number;
  /** The latest failure's code and status, and when (epoch ms). */
  lastError?: { error?: string; status?: number; at: number };
}

/** Prices one request's usage in USD; undefined when the model has no price. */
export type CostFunction = (call: ChatCall) => number | undefined;

export interface RecorderOptions {
  clock?: WallClock;
  recentSize?: number;
  maxKeys?: number;
  bucketMs?: number;
  buckets?: number;
  cost?: CostFunction;
}

const OTHER = '(other)';
const NONE = '—';
/** Requests refused before authentication, or with no authentication configured. */
const NO_TENANT = '(none)';
const NO_KEY = '(none)';

function emptyTally(): Tally {
  return { requests: 0, errors: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 };
}

/** A name → tally map that stops adding names at `max` and folds the rest into "(other)". */
class BoundedTallies<T extends Tally> {
  readonly #max: number;
  readonly #byName = new Map<string, T>();
  readonly #create: (name: string) => T;

  constructor(max: number, create: (name: string) => T) {
    this.#max = max;
    this.#create = create;
  }

  get(name: string): T {
    let tally = this.#byName.get(name);
    if (tally !== undefined) return tally;
    if (this.#byName.size >= this.#max) name = OTHER;
    tally = this.#byName.get(name);
    if (tally === undefined) {
      tally = this.#create(name);
      this.#byName.set(name, tally);
    }
    return tally;
  }

  entries(): Array<[string, T]> {
    return [...this.#byName.entries()];
  }
}

export class TrafficRecorder {
  readonly window: RollingWindow;
  readonly startedAt: number;
  readonly totals: Tally & { clientAborted: number } = { ...emptyTally(), clientAborted: 0 };
  readonly #clock: WallClock;
  readonly #recentSize: number;
  readonly #recent: Array<RecentRequest | undefined>;
  #recentNext = 0;
  readonly #flows: BoundedTallies<FlowTally>;
  readonly #byTenant: BoundedTallies<Tally>;
  readonly #byKey: BoundedTallies<Tally>;
  readonly #byModel: BoundedTallies<Tally>;
  readonly #attempts = new Map<string, AttemptTally>();
  readonly #maxKeys: number;
  readonly #cost: CostFunction | undefined;

  constructor(options: RecorderOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.startedAt = this.#clock();
    this.window = new RollingWindow({ clock: this.#clock, bucketMs: options.bucketMs, buckets: options.buckets });
    this.#recentSize = options.recentSize ?? 200;
    this.#recent = new Array<RecentRequest | undefined>(this.#recentSize);
    this.#maxKeys = options.maxKeys ?? 200;
    this.#cost = options.cost;
    const keyed = (): BoundedTallies<Tally> => new BoundedTallies(this.#maxKeys, emptyTally);
    this.#flows = new BoundedTallies(this.#maxKeys, (name) => {
      const [rule = OTHER, model = OTHER, deployment = OTHER] = name === OTHER ? [] : name.split('\n');
      return { ...emptyTally(), rule, model, deployment };
    });
    this.#byTenant = keyed();
    this.#byKey = keyed();
    this.#byModel = keyed();
  }

  /** The `finished` hook: must not throw, so everything it reads is optional. */
  record(call: ChatCall, end: RequestEnd): void {
    const now = this.#clock();
    const s = call.summary;
    const failed = end.status >= 400;
    const tokensIn = s.usage === undefined ? 0 : s.usage.inputTokens + (s.usage.cacheReadTokens ?? 0) + (s.usage.cacheWriteTokens ?? 0);
    const tokensOut = s.usage?.outputTokens ?? 0;
    let costUsd: number | undefined;
    try {
      costUsd = this.#cost?.(call);
    } catch {
      costUsd = undefined;
    }
    // A failed request counts against the last deployment that failed it (not a hedge that merely lost).
    const blamed = s.attempts.findLast((a) => a.error === undefined || !NOT_FAILURES.has(a.error)) ?? s.attempts.at(-1);
    const deployment = s.deployment ?? blamed?.deployment;

    this.window.record(end.latencyMs, failed);
    const add = (tally: Tally): void => {
      tally.requests++;
      if (failed) tally.errors++;
      tally.tokensIn += tokensIn;
      tally.tokensOut += tokensOut;
      tally.costUsd += costUsd ?? 0;
    };
    add(this.totals);
    if (end.clientAborted) this.totals.clientAborted++;
    add(this.#flows.get(`${s.rule ?? NONE}\n${s.model ?? NONE}\n${deployment ?? NONE}`));
    const principal = call.principal;
    add(this.#byTenant.get(principal?.tenantName ?? principal?.tenantId ?? NO_TENANT));
    add(this.#byKey.get(principal?.keyId ?? (principal === undefined ? NO_KEY : `(${principal.kind})`)));
    add(this.#byModel.get(s.model ?? NONE));

    for (const attempt of s.attempts) {
      let tally = this.#attempts.get(attempt.deployment);
      if (tally === undefined) {
        if (this.#attempts.size >= this.#maxKeys * 4) continue;
        tally = { attempts: 0, failures: 0 };
        this.#attempts.set(attempt.deployment, tally);
      }
      tally.attempts++;
      if (attempt.error !== undefined && !NOT_FAILURES.has(attempt.error)) {
        tally.failures++;
        tally.lastError = { error: attempt.error, status: attempt.status, at: now };
      }
    }

    const model = call.body.model;
    this.#recent[this.#recentNext] = {
      id: call.requestId,
      at: now - end.latencyMs,
      surface: s.surface,
      stream: s.stream === true,
      tenant: principal?.tenantName,
      keyId: principal?.keyId,
      rule: s.rule,
      model: s.model,
      requestedModel: typeof model === 'string' ? model.slice(0, 200) : undefined,
      deployment: s.deployment,
      status: end.status,
      latencyMs: round(end.latencyMs),
      ttftMs: s.ttftMs === undefined ? undefined : round(s.ttftMs),
      tokensIn: s.usage === undefined ? undefined : tokensIn,
      tokensOut: s.usage?.outputTokens,
      costUsd,
      error: s.error,
      clientAborted: end.clientAborted,
      attempts: s.attempts.map((a) => ({
        deployment: a.deployment,
        status: a.status,
        error: a.error,
        startMs: a.startMs === undefined ? undefined : round(a.startMs),
        durationMs: a.durationMs === undefined ? undefined : round(a.durationMs),
        hedge: a.hedge,
      })),
    };
    this.#recentNext = (this.#recentNext + 1) % this.#recentSize;
  }

  /** The last requests, newest first. */
  recent(): RecentRequest[] {
    const out: RecentRequest[] = [];
    for (let i = 1; i <= this.#recentSize; i++) {
      const entry = this.#recent[(this.#recentNext - i + this.#recentSize) % this.#recentSize];
      if (entry === undefined) break;
      out.push(entry);
    }
    return out;
  }

  flows(): FlowTally[] {
    return this.#flows.entries().map(([, tally]) => ({ ...tally }));
  }

  usage(): { byTenant: Array<Tally & { name: string }>; byKey: Array<Tally & { name: string }>; byModel: Array<Tally & { name: string }> } {
    const list = (tallies: BoundedTallies<Tally>) => tallies.entries().map(([name, tally]) => ({ name, ...tally }));
    return { byTenant: list(this.#byTenant), byKey: list(this.#byKey), byModel: list(this.#byModel) };
  }

  attempts(deployment: string): AttemptTally | undefined {
    return this.#attempts.get(deployment);
  }

  attemptedDeployments(): string[] {
    return [...this.#attempts.keys()];
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
