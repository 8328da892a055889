/**
 * Limits and budgets per key and per tenant (issue 4; README, "Limits and
 * budgets"): requests, input and output tokens per minute, requests in
 * flight, spend per day and per month. A request over a limit gets a 429 in
 * its client's protocol with `retry-after`, before any upstream call.
 *
 * It runs in the `routed` hook: authentication has set `call.principal` by
 * then, and the routed deployments give the price to reserve budget at. What
 * `routed` takes, `finished` gives back on every path (answered, failed,
 * refused later, client gone), settled with the real usage and cost.
 *
 * Counters live in this process, or in Redis when it is configured; while
 * Redis is unreachable requests are admitted on local counters (logged once,
 * visible in `stats()`), and settlements for Redis admissions wait to be
 * replayed when it is back.
 */
import { randomBytes } from 'node:crypto';
import type { Limits, Principal } from './principal.ts';
import type { ChatCall } from '../pipeline/chat.ts';
import type { GatewayExtension, RequestEnd } from '../pipeline/hooks.ts';
import type { RouteDecision } from '../routing/index.ts';
import type { ExtensionContext } from '../server/gateway.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { GatewayError } from '../errors.ts';
import { requestedMaxTokens } from '../resilience/timeouts.ts';
import { costOf, pricedDeployment, priceTableFromConfig, type PriceTable } from '../usage/pricing.ts';
import { createRedis, describeRedisUrl, resolveRedisUrl, type RedisConnection, type RedisStats } from '../store/redis.ts';
import { estimateInputTokens } from './limits-estimate.ts';
import { IN_FLIGHT_RETRY_MS, MemoryLimitBackend, toNanos, fromNanos, WINDOW_MS, type Admission, type LimitName, type ScopePlan, type Settlement, type Verdict } from './limits-backend.ts';
import { RedisLimitBackend } from './limits-redis.ts';
import type { Db } from '../store/db.ts';
import { UsageQueries } from '../usage/queries.ts';

type LimitsConfig = Config['limits'];

export interface LimitsStats {
  /** Where counters are kept by configuration. */
  readonly backend: 'memory' | 'redis';
  /** True while a Redis backend is unreachable and this instance counts locally. */
  readonly degraded: boolean;
  readonly redis: RedisStats | undefined;
  readonly admitted: number;
  readonly rejected: Readonly<Record<LimitName, number>>;
  /** Admissions counted locally because Redis was unreachable. */
  readonly localFallbacks: number;
  /** Settlements of Redis admissions waiting for Redis to come back. */
  readonly pendingSettlements: number;
  /** Settlements given up (queue full); their reservations free themselves when their lease ends. */
  readonly droppedSettlements: number;
}

export interface LimitsOptions {
  readonly config: Config;
  readonly logger: Logger;
  /**
   * The usage ledger's store: with counters in this process, a budget's spend
   * so far this day and month is read from it the first time a key or tenant
   * is seen, so a restart does not hand out the budget again.
   */
  readonly store?: () => Promise<Db>;
  /** Defaults to REDIS_URL. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const MAX_PENDING_SETTLEMENTS = 10_000;
const EMPTY: Limits = Object.freeze({});

interface Outcome {
  readonly verdict: Verdict;
  readonly settle: (used: Settlement) => void;
}

interface CallState {
  readonly admission: Admission;
  /** A value when counted in memory (the hot path), a promise when Redis answers. */
  readonly outcome: Outcome | undefined | Promise<Outcome | undefined>;
}

/** Built-in extension factory (src/server/gateway.ts). */
export function limitsExtension(context: ExtensionContext): GatewayExtension {
  return new LimitsEnforcer({ config: context.config, logger: context.logger, ...(context.config.usage.enabled ? { store: context.store } : {}) });
}

export class LimitsEnforcer implements GatewayExtension {
  readonly name = 'limits';
  readonly hooks = {
    routed: (call: ChatCall, decision: RouteDecision): Promise<void> | void => this.#routed(call, decision),
    finished: (call: ChatCall, end: RequestEnd): void => this.#finished(call, end),
  };
  readonly #logger: Logger;
  readonly #local = new MemoryLimitBackend();
  readonly #redis: RedisConnection | undefined;
  readonly #shared: RedisLimitBackend | undefined;
  readonly #calls = new WeakMap<ChatCall, CallState>();
  readonly #instance = randomBytes(6).toString('base64url');
  readonly #leaseMs: number;
  #limits: LimitsConfig;
  #prices: PriceTable;
  #sequence = 0;
  #admitted = 0;
  readonly #rejected: Record<LimitName, number> = {
    requestsPerMinute: 0,
    inputTokensPerMinute: 0,
    outputTokensPerMinute: 0,
    concurrency: 0,
    budgetDayUsd: 0,
    budgetMonthUsd: 0,
  };
  #localFallbacks = 0;
  #pending: Array<{ admission: Admission; used: Settlement }> = [];
  #dropped = 0;
  #failureLogged = false;
  #flushing = false;
  #attempted = false;
  #queries: Promise<UsageQueries> | undefined;
  #seedFailureLogged = false;
  readonly #store: (() => Promise<Db>) | undefined;
  /** `scope|period` already read from the ledger, and those being read. */
  readonly #seeded = new Set<string>();
  readonly #seeding = new Map<string, Promise<void>>();
  /** Each plan's periods once both are read from the ledger: later requests skip the lookups. */
  readonly #seededPlans = new WeakMap<ScopePlan, Periods>();
  /** Plans by principal, for the config serving (see `plan`). */
  #plans = new WeakMap<Principal, readonly ScopePlan[]>();

  constructor(options: LimitsOptions) {
    const { config, logger } = options;
    this.#logger = logger;
    this.#store = options.store;
    this.#limits = config.limits;
    this.#prices = priceTableFromConfig(config);
    // A lease outlives the longest request, so only a crashed instance's slots expire.
    const timeout = config.server.requestTimeoutMs > 0 ? config.server.requestTimeoutMs : 3_600_000;
    this.#leaseMs = timeout + WINDOW_MS;
    const url = config.limits.backend === 'memory' ? undefined : resolveRedisUrl(config.redis.url, options.env);
    if (config.limits.backend === 'redis' && url === undefined) {
      throw new Error('limits.backend is redis but no redis.url (or REDIS_URL) is set');
    }
    if (url !== undefined) {
      this.#redis = createRedis(url, { logger, name: 'limits' });
      this.#shared = new RedisLimitBackend(this.#redis.client, config.limits.redisPrefix);
      this.#redis.onChange((up) => {
        if (up) {
          this.#failureLogged = false;
          void this.#flush();
        }
      });
      // Connected on first need: a gateway whose callers have no limits never talks to Redis.
      if (config.limits.keys !== undefined || config.limits.tenants !== undefined || config.limits.open !== undefined) this.#redis.connect();
      logger.info({ redis: describeRedisUrl(url) }, 'limits and budgets are shared in redis');
    }
  }

  /** For metrics: where counters live, whether Redis is reachable, and what was refused. */
  stats(): LimitsStats {
    return {
      backend: this.#shared === undefined ? 'memory' : 'redis',
      degraded: this.#redis !== undefined && !this.#redis.up,
      redis: this.#redis?.stats(),
      admitted: this.#admitted,
      rejected: { ...this.#rejected },
      localFallbacks: this.#localFallbacks,
      pendingSettlements: this.#pending.length,
      droppedSettlements: this.#dropped,
    };
  }

  /** The local counters (tests; the fallback while Redis is down). */
  get local(): MemoryLimitBackend {
    return this.#local;
  }

  get shared(): RedisLimitBackend | undefined {
    return this.#shared;
  }

  reloaded(state: { readonly config: Config }): void {
    this.#limits = state.config.limits;
    this.#plans = new WeakMap();
    this.#prices = priceTableFromConfig(state.config);
  }

  async close(): Promise<void> {
    await this.#flush();
    await this.#redis?.close();
  }

  /**
   * The counted parties of a caller and their limits, with the config defaults
   * filled in. Built once per principal (a cached key answers with the same
   * principal object) and per config: the hot path only looks it up.
   */
  plan(principal: Principal | undefined): readonly ScopePlan[] {
    if (principal === undefined) return this.#buildPlan(undefined);
    let scopes = this.#plans.get(principal);
    if (scopes === undefined) this.#plans.set(principal, (scopes = this.#buildPlan(principal)));
    return scopes;
  }

  #buildPlan(principal: Principal | undefined): readonly ScopePlan[] {
    const scopes: ScopePlan[] = [];
    if (principal === undefined || principal.kind === 'open') {
      const tenant = principal?.tenantId ?? 'local';
      push(scopes, 'open', tenant, this.#limits.open ?? EMPTY);
      return Object.freeze(scopes);
    }
    if (principal.keyId !== undefined) push(scopes, `key:${principal.keyId}`, principal.tenantId, merge(this.#limits.keys, principal.keyLimits));
    push(scopes, `tenant:${principal.tenantId}`, principal.tenantId, merge(this.#limits.tenants, principal.tenantLimits));
    return Object.freeze(scopes);
  }

  /** Synchronous when the caller has no limits: nothing to wait for on the hot path. */
  #routed(call: ChatCall, decision: RouteDecision): Promise<void> | undefined {
    const scopes = this.plan(call.principal);
    if (scopes.length === 0) return undefined;
    return this.#enforce(call, decision, scopes);
  }

  #enforce(call: ChatCall, decision: RouteDecision, scopes: readonly ScopePlan[]): Promise<void> | undefined {
    const now = Date.now();
    const inputTokens = estimateInputTokens(call.body, call.rawBody?.bytes.length);
    const needsCost = scopes.some((s) => s.dayNanos !== undefined || s.monthNanos !== undefined);
    const period = periodsAt(now);
    const admission: Admission = {
      id: `${this.#instance}.${(this.#sequence++).toString(36)}`,
      now,
      window: Math.floor(now / WINDOW_MS),
      inputTokens,
      costNanos: needsCost ? toNanos(this.#estimateCost(call, decision, inputTokens)) : 0,
      ...period,
      leaseUntil: now + this.#leaseMs,
      scopes,
    };
    const seeding = this.#store !== undefined && this.#shared === undefined && needsCost ? this.#seed(scopes, now) : undefined;
    return seeding === undefined ? this.#decide(call, admission) : seeding.then(() => this.#decide(call, admission));
  }

  /** Admits (or refuses) a planned request; synchronous when the counts are in memory. */
  #decide(call: ChatCall, admission: Admission): Promise<void> | undefined {
    const outcome = this.#shared === undefined ? this.#admitLocal(admission) : this.#admit(admission);
    // Stored before any wait: a client that leaves meanwhile still gets its slot released.
    this.#calls.set(call, { admission, outcome });
    return outcome instanceof Promise ? outcome.then((result) => refuseUnlessOk(result, admission)) : refuseUnlessOk(outcome, admission);
  }

  #finished(call: ChatCall, _end: RequestEnd): void {
    const state = this.#calls.get(call);
    if (state === undefined) return;
    this.#calls.delete(call);
    const deployment = call.summary.deployment;
    const model = typeof call.body.model === 'string' ? call.body.model : undefined;
    // A deployment that began answering but whose usage never came (the client left mid-stream,
    // the stream broke) still read the prompt: charge the estimated input rather than nothing.
    const usage = call.summary.usage ?? (deployment === undefined ? undefined : { inputTokens: state.admission.inputTokens, outputTokens: 0 });
    const used: Settlement = {
      // Every prompt token counts, cached or not: the estimate admitted the whole prompt too.
      inputTokens: usage === undefined ? 0 : usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0),
      outputTokens: usage?.outputTokens ?? 0,
      costNanos:
        usage === undefined || deployment === undefined
          ? 0
          : // The answered usage's cost was worked out for the log line; an estimated one only here.
            toNanos(usage === call.summary.usage && call.summary.cost !== undefined ? (call.summary.cost ?? 0) : this.#prices.costOf(usage, pricedDeployment(deployment, model))),
      now: Date.now(),
    };
    const settle = (result: Outcome | undefined): void => {
      if (result?.verdict.ok) result.settle(used);
    };
    if (state.outcome instanceof Promise) void state.outcome.then(settle);
    else settle(state.outcome);
  }

  /**
   * The most this request can cost: its estimated input and its requested
   * `max_tokens` at the dearest price of the deployments it may go to. Input is
   * priced at the dearest input rate (a cache write costs more than input).
   */
  #estimateCost(call: ChatCall, decision: RouteDecision, inputTokens: number): number {
    const model = typeof call.body.model === 'string' ? call.body.model : undefined;
    let most = 0;
    for (const d of decision.deployments) {
      const price = this.#prices.priceOf(pricedDeployment(d.id, model));
      if (price === undefined) continue;
      const output = requestedMaxTokens(call.body, d.maxTokens) ?? d.provider.defaultMaxTokens;
      const input = Math.max(price.input, price.cacheWrite, price.cacheRead);
      most = Math.max(most, costOf({ inputTokens, outputTokens: output }, { ...price, input }));
    }
    return most;
  }

  /** Reads each budget's spend so far from the ledger, once per scope and period in this process. */
  #seed(scopes: readonly ScopePlan[], now: number): Promise<void> | undefined {
    const periods = periodsAt(now);
    const waits: Array<Promise<void>> = [];
    for (const scope of scopes) {
      if (this.#seededPlans.get(scope) === periods) continue;
      let pending = false;
      for (const [nanos, period] of [
        [scope.dayNanos, periods.dayKey],
        [scope.monthNanos, periods.monthKey],
      ] as const) {
        if (nanos === undefined) continue;
        const id = `${scope.id}|${period}`;
        if (this.#seeded.has(id)) continue;
        let seeding = this.#seeding.get(id);
        if (seeding === undefined) {
          seeding = this.#readSpent(scope, period, now).then(() => {
            this.#seeded.add(id);
            this.#seeding.delete(id);
          });
          this.#seeding.set(id, seeding);
        }
        waits.push(seeding);
        pending = true;
      }
      if (!pending) this.#seededPlans.set(scope, periods);
    }
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  async #readSpent(scope: ScopePlan, period: string, now: number): Promise<void> {
    try {
      const queries = (this.#queries ??= this.#store!().then((db) => new UsageQueries(db, { cacheMs: 0 })));
      const date = new Date(now);
      const from = period.startsWith('d:')
        ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
        : Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
      const who = scope.id.startsWith('key:') ? { tenantId: scope.slot, keyId: scope.id.slice(4) } : { tenantId: scope.slot };
      const report = await (await queries).report({ ...who, from, to: now });
      if (report.totals.costUsd > 0) this.#local.addSpent(scope.id, period, toNanos(report.totals.costUsd), now);
    } catch (err) {
      if (!this.#seedFailureLogged) this.#logger.warn({ err }, 'spend so far could not be read from the usage ledger; budgets count from now');
      this.#seedFailureLogged = true;
    }
  }

  async #admit(admission: Admission): Promise<Outcome | undefined> {
    try {
      const shared = this.#shared;
      if (shared !== undefined && !this.#redis!.up && !this.#attempted) {
        // Before the first connection attempt has settled, wait for it rather than count locally.
        this.#redis!.connect();
        this.#attempted = await this.#redis!.firstAttempt().then(() => true);
      }
      if (shared !== undefined && this.#redis!.up) {
        try {
          const verdict = await shared.admit(admission);
          return this.#count({ verdict, settle: (used) => this.#settleShared(admission, used) });
        } catch (err) {
          this.#sharedFailed(err);
        }
      }
      this.#localFallbacks++;
      return this.#admitLocal(admission);
    } catch (err) {
      return this.#uncounted(err);
    }
  }

  #admitLocal(admission: Admission): Outcome | undefined {
    try {
      const verdict = this.#local.admitNow(admission);
      return this.#count({ verdict, settle: (used) => this.#local.settleNow(admission, used) });
    } catch (err) {
      return this.#uncounted(err);
    }
  }

  /** A bug here must not turn into refused traffic: log it and let the request through uncounted. */
  #uncounted(err: unknown): undefined {
    this.#logger.error({ err }, 'limits could not be checked; the request goes through');
    return undefined;
  }

  #count(outcome: Outcome): Outcome {
    if (outcome.verdict.ok) this.#admitted++;
    else this.#rejected[outcome.verdict.limit]++;
    return outcome;
  }

  #settleShared(admission: Admission, used: Settlement): void {
    if (!this.#redis!.up) {
      this.#queue(admission, used);
      return;
    }
    this.#shared!.settle(admission, used).catch((err: unknown) => {
      this.#sharedFailed(err);
      this.#queue(admission, used);
    });
  }

  #queue(admission: Admission, used: Settlement): void {
    if (this.#pending.length >= MAX_PENDING_SETTLEMENTS) {
      this.#pending.shift();
      this.#dropped++;
    }
    this.#pending.push({ admission, used });
    // Redis may already be back (a timeout, not an outage).
    if (this.#redis!.up) void this.#flush();
  }

  /** Replays settlements that waited for Redis, oldest first; each runs at most once (limits-redis.ts). */
  async #flush(): Promise<void> {
    if (this.#flushing || this.#shared === undefined) return;
    this.#flushing = true;
    try {
      while (this.#pending.length > 0 && this.#redis!.up) {
        const batch = this.#pending.splice(0, 100);
        const results = await Promise.allSettled(batch.map(({ admission, used }) => this.#shared!.settle(admission, used)));
        const failed = batch.filter((_, i) => results[i]!.status === 'rejected');
        if (failed.length > 0) {
          this.#pending.unshift(...failed);
          break;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  #sharedFailed(err: unknown): void {
    if (this.#failureLogged) return;
    this.#failureLogged = true;
    this.#logger.warn({ reason: err instanceof Error ? err.message : String(err) }, 'a redis limits command failed; counting locally until redis answers again');
  }
}

function push(scopes: ScopePlan[], id: string, slot: string, limits: Limits): void {
  const plan: ScopePlan = {
    id,
    slot,
    rpm: limits.requestsPerMinute,
    itpm: limits.inputTokensPerMinute,
    otpm: limits.outputTokensPerMinute,
    concurrency: limits.concurrency,
    dayNanos: limits.budgetDayUsd === undefined ? undefined : toNanos(limits.budgetDayUsd),
    monthNanos: limits.budgetMonthUsd === undefined ? undefined : toNanos(limits.budgetMonthUsd),
  };
  const limited =
    plan.rpm !== undefined ||
    plan.itpm !== undefined ||
    plan.otpm !== undefined ||
    plan.concurrency !== undefined ||
    plan.dayNanos !== undefined ||
    plan.monthNanos !== undefined;
  if (limited) scopes.push(plan);
}

/** Each limit the key or tenant does not set itself takes the configured default. */
function merge(defaults: Limits | undefined, own: Limits | undefined): Limits {
  if (defaults === undefined) return own ?? EMPTY;
  if (own === undefined) return defaults;
  return {
    requestsPerMinute: own.requestsPerMinute ?? defaults.requestsPerMinute,
    inputTokensPerMinute: own.inputTokensPerMinute ?? defaults.inputTokensPerMinute,
    outputTokensPerMinute: own.outputTokensPerMinute ?? defaults.outputTokensPerMinute,
    concurrency: own.concurrency ?? defaults.concurrency,
    budgetDayUsd: own.budgetDayUsd ?? defaults.budgetDayUsd,
    budgetMonthUsd: own.budgetMonthUsd ?? defaults.budgetMonthUsd,
  };
}

type Periods = Pick<Admission, 'day' | 'month' | 'dayKey' | 'monthKey' | 'dayEndsAt' | 'monthEndsAt'>;

let cachedPeriod: { from: number; until: number; value: Periods } | undefined;

/** The UTC day and month of `now` and when each ends; recomputed once a day. */
export function periodsAt(now: number): Periods {
  if (cachedPeriod !== undefined && now >= cachedPeriod.from && now < cachedPeriod.until) return cachedPeriod.value;
  const date = new Date(now);
  const dayStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const iso = date.toISOString();
  const day = iso.slice(0, 10);
  const month = iso.slice(0, 7);
  const value = Object.freeze({
    day,
    month,
    dayKey: `d:${day}`,
    monthKey: `m:${month}`,
    dayEndsAt: dayStart + 86_400_000,
    monthEndsAt: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  });
  cachedPeriod = { from: dayStart, until: value.dayEndsAt, value };
  return value;
}

const LIMIT_TEXT: Record<LimitName, string> = {
  requestsPerMinute: 'requests per minute',
  inputTokensPerMinute: 'input tokens per minute',
  outputTokensPerMinute: 'output tokens per minute',
  concurrency: 'requests at once',
  budgetDayUsd: 'daily budget',
  budgetMonthUsd: 'monthly budget',
};

function whose(scope: ScopePlan): string {
  if (scope.id === 'open') return "this gateway's open access";
  return scope.id.startsWith('key:') ? 'this API key' : "this key's tenant";
}

/** Dollars as a person reads them: cents, or the digits that matter below a cent ($0.001, not $0.00). */
export function usd(amount: number): string {
  return amount === 0 || amount >= 0.01 ? `$${amount.toFixed(2)}` : `$${Number(amount.toPrecision(3))}`;
}

/** The 429 for a refused request: the client's protocol shape comes from the server (writeError). */
export function refusal(verdict: Extract<Verdict, { ok: false }>, admission: Admission): GatewayError {
  const { limit, scope } = verdict;
  const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  const headers = { 'retry-after': String(seconds) };
  if (limit === 'budgetDayUsd' || limit === 'budgetMonthUsd') {
    const nanos = limit === 'budgetDayUsd' ? scope.dayNanos : scope.monthNanos;
    const amount = usd(fromNanos(nanos ?? 0));
    const when = verdict.retryAfterMs === IN_FLIGHT_RETRY_MS ? 'what is left is held by requests in flight; retry shortly' : `it renews at ${new Date(admission.now + verdict.retryAfterMs).toISOString()}`;
    return new GatewayError('SWY_ERR_BUDGET_EXCEEDED', `The ${LIMIT_TEXT[limit]} of ${amount} for ${whose(scope)} does not cover this request: ${when}.`, { headers });
  }
  const value = { requestsPerMinute: scope.rpm, inputTokensPerMinute: scope.itpm, outputTokensPerMinute: scope.otpm, concurrency: scope.concurrency }[limit];
  if (limit === 'inputTokensPerMinute' && scope.itpm !== undefined && admission.inputTokens > scope.itpm) {
    return new GatewayError(
      'SWY_ERR_RATE_LIMITED',
      `Rate limit: this request alone (about ${admission.inputTokens} input tokens) is over the ${scope.itpm} ${LIMIT_TEXT[limit]} ${whose(scope)} allows.`,
      { headers },
    );
  }
  return new GatewayError('SWY_ERR_RATE_LIMITED', `Rate limit: ${whose(scope)} allows ${value} ${LIMIT_TEXT[limit]}; retry after ${seconds} s.`, { headers });
}

function refuseUnlessOk(result: Outcome | undefined, admission: Admission): undefined {
  if (result === undefined || result.verdict.ok) return undefined;
  throw refusal(result.verdict, admission);
}
