/**
 * The JSON the dashboard polls: live traffic from the recorder, the route
 * rules and model groups of the running config, and every tracked
 * deployment's health and breaker state. `configView` is the running config
 * with secrets masked, fetched separately because it only changes on reload.
 */
import type { GatewayState } from '../pipeline/state.ts';
import type { LimiterStats } from '../resilience/limiter.ts';
import { routeNames, routesSchema } from '../config/schema.ts';
import { maskSecrets } from './mask.ts';
import type { TrafficRecorder } from './recorder.ts';

export interface SnapshotSources {
  readonly state: GatewayState;
  readonly recorder: TrafficRecorder;
  readonly limiter?: LimiterStats;
  /** Epoch ms, for the page to line up its clock. */
  readonly now: number;
}

const DEFAULT_BACKGROUND = routesSchema.shape.backgroundPattern.parse(undefined);

/** Headline figures are over the last minute; the charts cover the whole window. */
const HEADLINE_MS = 60_000;

export function buildSnapshot({ state, recorder, limiter, now }: SnapshotSources) {
  const window = recorder.window;
  const lastMinute = window.span(HEADLINE_MS);
  const whole = window.span();
  return {
    now,
    startedAt: recorder.startedAt,
    configVersion: state.version,
    window: {
      bucketMs: window.bucketMs,
      spanMs: window.bucketMs * window.size,
      buckets: window.buckets(),
      total: whole,
      lastMinute: { ...lastMinute, ratePerSec: lastMinute.requests / (HEADLINE_MS / 1000) },
    },
    totals: recorder.totals,
    limiter: limiter ?? null,
    routes: routeRules(state),
    models: state.config.models.map((m) => ({
      name: m.name,
      aliases: m.aliases,
      strategy: m.strategy,
      sticky: m.sticky,
      deployments: m.deployments.map((d) => ({ id: `${d.provider}/${d.model}`, weight: d.weight })),
    })),
    flows: recorder.flows(),
    deployments: deployments(state, recorder),
    recent: recorder.recent(),
    usage: recorder.usage(),
  };
}

export type Snapshot = ReturnType<typeof buildSnapshot>;

function routeRules(state: GatewayState) {
  const routes = state.config.routes;
  const rules: Array<{ rule: string; target: string; model: string; deployments: string[]; condition: string }> = [];
  const conditions: Record<string, string> = {
    default: 'anything not matched otherwise',
    background: routes.backgroundPattern === DEFAULT_BACKGROUND ? 'a haiku-class model name' : `model matches /${routes.backgroundPattern}/i`,
    think: 'thinking enabled',
    longContext: `input over ${routes.longContextThreshold.toLocaleString('en-US')} tokens`,
    webSearch: 'a web-search tool',
    image: 'an image in the last user message',
  };
  for (const rule of routeNames) {
    const target = routes[rule];
    if (target === undefined) continue;
    const decision = state.router.decideByName(target);
    rules.push({
      rule,
      target,
      model: decision?.modelName ?? target,
      deployments: decision?.deployments.map((d) => d.id) ?? [],
      condition: conditions[rule] ?? '',
    });
  }
  if (routes.custom !== undefined) {
    rules.unshift({ rule: 'custom', target: '(module)', model: '(decided per request)', deployments: [], condition: 'the custom router module answers first' });
  }
  return rules;
}

function deployments(state: GatewayState, recorder: TrafficRecorder) {
  const protocols = new Map(state.config.providers.map((p) => [p.name, p.protocol]));
  const groups = new Map<string, string[]>();
  for (const model of state.config.models) {
    for (const d of model.deployments) {
      const id = `${d.provider}/${d.model}`;
      const list = groups.get(id) ?? [];
      if (!list.includes(model.name)) list.push(model.name);
      groups.set(id, list);
    }
  }
  const out = [];
  for (const [id, health] of state.resilience.registry.entries()) {
    const snap = health.snapshot();
    const slash = id.indexOf('/');
    const provider = slash === -1 ? id : id.slice(0, slash);
    const tally = recorder.attempts(id);
    out.push({
      id,
      provider,
      upstreamModel: slash === -1 ? '' : id.slice(slash + 1),
      protocol: protocols.get(provider) ?? null,
      models: groups.get(id) ?? [],
      state: snap.state,
      inFlight: snap.inFlight,
      maxConcurrent: health.maxConcurrent,
      latencyMs: Math.round(snap.latencyMs * 10) / 10,
      windowRequests: snap.windowRequests,
      windowFailures: snap.windowFailures,
      errorRate: snap.windowRequests === 0 ? 0 : snap.windowFailures / snap.windowRequests,
      consecutiveFailures: snap.consecutiveFailures,
      attempts: tally?.attempts ?? 0,
      failures: tally?.failures ?? 0,
      lastError: tally?.lastError ?? null,
    });
  }
  return out;
}

/** The running config with secrets masked; section names are shown, never judged by name. */
export function configView(state: GatewayState): { version: number; config: Record<string, unknown> } {
  const config: Record<string, unknown> = {};
  for (const [section, value] of Object.entries(state.config)) config[section] = maskSecrets(value);
  return { version: state.version, config };
}
