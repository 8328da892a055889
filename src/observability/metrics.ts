/**
 * The gateway's Prometheus metrics (issue 5): what every finished request did,
 * recorded into label-bound cells (./metric-cells.ts), plus values read only
 * at scrape time (breakers, queue, pools, process). One instance per gateway,
 * so several gateways in one process never share numbers.
 *
 * Labels are bounded: surface, route rule, model, deployment, status class,
 * error code, origin — all from the config or the error catalogue, never a
 * request id or a key. A family that still sees too many label sets folds
 * the rest into `_other` (metrics.maxSeries).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AttemptRecord } from '../pipeline/attempt.ts';
import type { ChatCall } from '../pipeline/chat.ts';
import type { RequestEnd } from '../pipeline/hooks.ts';
import type { GatewayState } from '../pipeline/state.ts';
import type { LimiterStats } from '../resilience/limiter.ts';
import type { Principal } from '../tenancy/principal.ts';
import { CounterFamily, HistogramFamily, renderSampled, type CounterCell, type GaugeSample, type HistogramCell } from './metric-cells.ts';

/** Seconds; from a cached completion (a few ms) to a long generation. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const NONE = 'none';


/** The numbers read at scrape time, from the gateway's parts. */
export interface ScrapeSources {
  /** The current state snapshot: breakers and in-flight per deployment. */
  state(): GatewayState;
  limiter(): LimiterStats | undefined;
  pools(): ReadonlyArray<{ origin: string; connected: number; pending: number; running: number }>;
  /** Extra text blocks (other extensions' metrics, e.g. the usage ledger). */
  extra?(): Iterable<string>;
}

/** What a request's route cell holds, per (surface, rule, model, deployment). */
interface RouteCells {
  readonly requests: CounterCell[];
  readonly duration: HistogramCell[];
  ttft: HistogramCell | undefined;
  /** input, output, cache_read, cache_write */
  readonly tokens: CounterCell[];
  cost: CounterCell | undefined;
}

const TOKEN_TYPES = ['input', 'output', 'cache_read', 'cache_write'] as const;

/** A failed attempt, as opposed to one that lost a hedge race or whose client went away. */
function isFailure(error: string | undefined): boolean {
  return error !== undefined && error !== 'hedge_lost' && error !== 'client_closed';
}

function statusIndex(status: number): number {
  const hundreds = Math.floor(status / 100);
  return hundreds >= 1 && hundreds <= 5 ? hundreds : 0;
}

export class GatewayMetrics {
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly ttft: HistogramFamily;
  readonly tokens: CounterFamily;
  readonly cost: CounterFamily;
  readonly errors: CounterFamily;
  readonly limitRejections: CounterFamily;
  readonly clientAborts: CounterFamily;
  readonly attempts: CounterFamily;
  readonly attemptDuration: HistogramFamily;
  readonly failovers: CounterFamily;
  readonly retries: CounterFamily;
  readonly hedges: CounterFamily;
  readonly tenantCost: CounterFamily;
  readonly #families: ReadonlyArray<CounterFamily | HistogramFamily>;
  readonly #routes = new Map<string, Map<string, Map<string, Map<string, RouteCells>>>>();
  readonly #limitCodes = new Map<string, boolean>();
  /** Tenant → its budgets as last seen on a request (set by authentication on `call.principal`). */
  readonly #tenantBudgets = new Map<string, { day: number | undefined; month: number | undefined }>();
  readonly #maxSeries: number;
  readonly #registry = new Registry();
  readonly #sources: ScrapeSources;
  #inFlight = 0;

  constructor(sources: ScrapeSources, maxSeries = 2000) {
    this.#sources = sources;
    this.#maxSeries = maxSeries;
    const route = ['surface', 'rule', 'model', 'deployment'];
    this.requests = new CounterFamily('switchyard_requests_total', 'Chat requests finished, by route and HTTP status class.', [...route, 'status_class'], maxSeries);
    this.duration = new HistogramFamily(
      'switchyard_request_duration_seconds',
      'Time from request received to response closed.',
      [...route, 'status_class'],
      LATENCY_BUCKETS,
      maxSeries,
    );
    this.ttft = new HistogramFamily('switchyard_time_to_first_token_seconds', 'Time from request received to the first content sent to the client.', route, TTFT_BUCKETS, maxSeries);
    this.tokens = new CounterFamily('switchyard_tokens_total', 'Tokens reported by the upstream, by type (input, output, cache_read, cache_write).', ['model', 'deployment', 'type'], maxSeries);
    this.cost = new CounterFamily('switchyard_cost_usd_total', 'Cost of finished requests in US dollars, at the configured prices.', ['model', 'deployment'], maxSeries);
    this.errors = new CounterFamily('switchyard_request_errors_total', 'Requests answered with a gateway error, by error code.', ['surface', 'code'], maxSeries);
    this.limitRejections = new CounterFamily(
      'switchyard_limit_rejections_total',
      'Requests refused by rate limits, quotas or budgets before any upstream call, by error code.',
      ['code'],
      maxSeries,
    );
    this.clientAborts = new CounterFamily('switchyard_client_aborts_total', 'Requests whose client went away before the response was complete.', ['surface'], maxSeries);
    this.attempts = new CounterFamily(
      'switchyard_upstream_attempts_total',
      'Upstream attempts by deployment and outcome (ok, an error code, hedge_lost or client_closed), hedged or not.',
      ['deployment', 'outcome', 'hedge'],
      maxSeries,
    );
    this.attemptDuration = new HistogramFamily(
      'switchyard_upstream_attempt_duration_seconds',
      'Upstream attempt time, from sending to the end of its answer (or its failure).',
      ['deployment'],
      LATENCY_BUCKETS,
      maxSeries,
    );
    this.failovers = new CounterFamily('switchyard_failovers_total', 'Attempts moved to another deployment after a failed one.', ['model'], maxSeries);
    this.retries = new CounterFamily('switchyard_retries_total', 'Attempts repeated on the same deployment after a failed one.', ['model'], maxSeries);
    this.hedges = new CounterFamily('switchyard_hedges_total', 'Hedged second attempts, by whether the hedge answered the client.', ['model', 'outcome'], maxSeries);
    this.tenantCost = new CounterFamily('switchyard_tenant_cost_usd_total', 'Cost of finished requests in US dollars, by tenant.', ['tenant'], maxSeries);
    this.#families = [
      this.requests,
      this.duration,
      this.ttft,
      this.tokens,
      this.cost,
      this.errors,
      this.limitRejections,
      this.clientAborts,
      this.attempts,
      this.attemptDuration,
      this.failovers,
      this.retries,
      this.hedges,
      this.tenantCost,
    ];
    // Event-loop lag, memory, CPU, GC, handles: prom-client's standard process metrics.
    collectDefaultMetrics({ register: this.#registry });
  }

  /** A chat request was admitted (by the extensions before metrics) and is now in flight. */
  started(): void {
    this.#inFlight++;
  }

  /** Requests between `started` and `finished`. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Records one finished chat request; `wasStarted` when `started()` counted it; `costUsd` when prices are known. */
  finished(call: ChatCall, end: RequestEnd, wasStarted: boolean, costUsd?: number): void {
    if (wasStarted) this.#inFlight--;
    const summary = call.summary;
    const model = summary.model ?? NONE;
    const deployment = summary.deployment ?? NONE;
    const cells = this.#routeCells(call.surface, summary.rule ?? NONE, model, deployment);
    const index = statusIndex(end.status);
    const requests = (cells.requests[index] ??= this.requests.cell(call.surface, summary.rule ?? NONE, model, deployment, STATUS_CLASSES[index] as string));
    requests.value++;
    const duration = (cells.duration[index] ??= this.duration.cell(call.surface, summary.rule ?? NONE, model, deployment, STATUS_CLASSES[index] as string));
    this.duration.observe(duration, end.latencyMs / 1000);
    if (summary.ttftMs !== undefined) {
      const ttft = (cells.ttft ??= this.ttft.cell(call.surface, summary.rule ?? NONE, model, deployment));
      this.ttft.observe(ttft, summary.ttftMs / 1000);
    }
    const usage = summary.usage;
    if (usage !== undefined) {
      this.#tokenCell(cells, 0, model, deployment).value += usage.inputTokens;
      this.#tokenCell(cells, 1, model, deployment).value += usage.outputTokens;
      if (usage.cacheReadTokens) this.#tokenCell(cells, 2, model, deployment).value += usage.cacheReadTokens;
      if (usage.cacheWriteTokens) this.#tokenCell(cells, 3, model, deployment).value += usage.cacheWriteTokens;
    }
    if (costUsd !== undefined && costUsd > 0) (cells.cost ??= this.cost.cell(model, deployment)).value += costUsd;
    const principal = call.principal;
    if (principal !== undefined) this.#recordTenant(principal, costUsd);
    if (end.clientAborted) this.clientAborts.cell(call.surface).value++;
    const attempts = summary.attempts;
    if (summary.error !== undefined) {
      this.errors.cell(call.surface, summary.error).value++;
      if (attempts.length === 0 && this.#isLimitCode(summary.error, end.status)) this.limitRejections.cell(summary.error).value++;
    }
    if (attempts.length > 0) this.#recordAttempts(attempts, model, deployment);
  }

  #recordTenant(principal: Principal, costUsd: number | undefined): void {
    const tenant = principal.tenantName;
    if (costUsd !== undefined && costUsd > 0) this.tenantCost.cell(tenant).value += costUsd;
    const limits = principal.tenantLimits;
    if (limits === undefined || (limits.budgetDayUsd === undefined && limits.budgetMonthUsd === undefined)) return;
    const known = this.#tenantBudgets.get(tenant);
    if (known !== undefined) {
      known.day = limits.budgetDayUsd;
      known.month = limits.budgetMonthUsd;
    } else if (this.#tenantBudgets.size < this.#maxSeries) {
      this.#tenantBudgets.set(tenant, { day: limits.budgetDayUsd, month: limits.budgetMonthUsd });
    }
  }

  #tokenCell(cells: RouteCells, type: number, model: string, deployment: string): CounterCell {
    return (cells.tokens[type] ??= this.tokens.cell(model, deployment, TOKEN_TYPES[type] as string));
  }

  #recordAttempts(attempts: readonly AttemptRecord[], model: string, answered: string): void {
    let previous: AttemptRecord | undefined;
    let hedged = false;
    for (const attempt of attempts) {
      const hedge = attempt.hedge === true;
      this.attempts.cell(attempt.deployment, attempt.error ?? 'ok', hedge ? 'true' : 'false').value++;
      if (attempt.durationMs !== undefined) this.attemptDuration.observe(this.attemptDuration.cell(attempt.deployment), attempt.durationMs / 1000);
      if (hedge) {
        hedged = true;
      } else if (previous !== undefined && isFailure(previous.error)) {
        // A new attempt after a failed one: on the same deployment a retry, on another a failover.
        if (previous.deployment === attempt.deployment) this.retries.cell(model).value++;
        else this.failovers.cell(model).value++;
      }
      if (!hedge) previous = attempt;
    }
    if (hedged) {
      const won = attempts.some((a) => a.hedge === true && a.error === undefined && a.deployment === answered);
      this.hedges.cell(model, won ? 'won' : 'lost').value++;
    }
  }

  /** Limits, quotas and budgets refuse with their own codes; decided once per code. */
  #isLimitCode(code: string, status: number): boolean {
    let known = this.#limitCodes.get(code);
    if (known === undefined) {
      known = code !== 'SWY_ERR_OVERLOADED' && (status === 429 || /LIMIT|BUDGET|QUOTA/.test(code));
      this.#limitCodes.set(code, known);
    }
    return known;
  }

  #routeCells(surface: string, rule: string, model: string, deployment: string): RouteCells {
    let bySurface = this.#routes.get(surface);
    if (bySurface === undefined) this.#routes.set(surface, (bySurface = new Map()));
    let byRule = bySurface.get(rule);
    if (byRule === undefined) bySurface.set(rule, (byRule = new Map()));
    let byModel = byRule.get(model);
    if (byModel === undefined) byRule.set(model, (byModel = new Map()));
    let cells = byModel.get(deployment);
    if (cells === undefined) byModel.set(deployment, (cells = { requests: [], duration: [], ttft: undefined, tokens: [], cost: undefined }));
    return cells;
  }

  /** The Prometheus text exposition of every metric, read now. */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const family of this.#families) family.render(out);
    this.#renderSampled(out);
    for (const block of this.#sources.extra?.() ?? []) if (block !== '') out.push(block.trimEnd());
    out.push((await this.#registry.metrics()).trimEnd());
    return `${out.join('\n')}\n`;
  }

  #renderSampled(out: string[]): void {
    const state = this.#sources.state();
    const breakers: GaugeSample[] = [];
    const upstreamInFlight: GaugeSample[] = [];
    for (const [deployment, health] of state.resilience.registry.entries()) {
      const current = health.state;
      for (const s of ['closed', 'half-open', 'open'] as const) breakers.push({ labels: { deployment, state: s }, value: current === s ? 1 : 0 });
      upstreamInFlight.push({ labels: { deployment }, value: health.inFlight });
    }
    renderSampled(out, 'switchyard_breaker_state', 'Circuit breaker state per deployment (1 for the current state).', 'gauge', breakers);
    renderSampled(out, 'switchyard_upstream_in_flight', 'Upstream attempts in flight per deployment.', 'gauge', upstreamInFlight);
    renderSampled(out, 'switchyard_requests_in_flight', 'Chat requests received and not yet finished.', 'gauge', [{ labels: {}, value: this.#inFlight }]);
    const limiter = this.#sources.limiter();
    if (limiter !== undefined) {
      renderSampled(out, 'switchyard_queue_depth', 'Chat requests waiting for a slot of server.maxConcurrent.', 'gauge', [{ labels: {}, value: limiter.queued }]);
      renderSampled(out, 'switchyard_concurrency_slots_in_use', 'Slots of server.maxConcurrent taken.', 'gauge', [{ labels: {}, value: limiter.inFlight }]);
      renderSampled(out, 'switchyard_concurrency_limit', 'server.maxConcurrent.', 'gauge', [{ labels: {}, value: limiter.maxConcurrent }]);
      renderSampled(out, 'switchyard_shed_total', 'Requests shed by the concurrency limit: queue full, or waited too long.', 'counter', [
        { labels: { reason: 'queue_full' }, value: limiter.shedFull },
        { labels: { reason: 'queue_timeout' }, value: limiter.shedTimeout },
      ]);
    } else {
      renderSampled(out, 'switchyard_queue_depth', 'Chat requests waiting for a slot of server.maxConcurrent.', 'gauge', [{ labels: {}, value: 0 }]);
    }
    const pools: GaugeSample[] = [];
    for (const p of this.#sources.pools()) {
      pools.push({ labels: { origin: p.origin, state: 'connected' }, value: p.connected });
      pools.push({ labels: { origin: p.origin, state: 'running' }, value: p.running });
      pools.push({ labels: { origin: p.origin, state: 'pending' }, value: p.pending });
    }
    renderSampled(out, 'switchyard_upstream_pool_connections', 'Upstream pool per origin: open connections, requests running and requests pending.', 'gauge', pools);
    const budgets: GaugeSample[] = [];
    for (const [tenant, { day, month }] of this.#tenantBudgets) {
      if (day !== undefined) budgets.push({ labels: { tenant, period: 'day' }, value: day });
      if (month !== undefined) budgets.push({ labels: { tenant, period: 'month' }, value: month });
    }
    renderSampled(out, 'switchyard_tenant_budget_usd', 'Budget of each tenant in US dollars per day or month, as last seen on a request.', 'gauge', budgets);
    renderSampled(out, 'switchyard_config_version', 'Version of the configuration serving (1 at start, +1 per reload).', 'gauge', [{ labels: {}, value: state.version }]);
  }

  /** The families recorded per request, with their label names (sampled gauges are not listed). */
  describe(): Array<{ name: string; type: 'counter' | 'histogram'; labelNames: readonly string[] }> {
    return this.#families.map((f) => ({ name: f.name, type: f instanceof HistogramFamily ? 'histogram' : 'counter', labelNames: f.labelNames }));
  }

  /** The content type of `render()`. */
  get contentType(): string {
    return this.#registry.contentType;
  }
}
