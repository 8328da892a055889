/**
 * `GET /metrics` (issue 5): the gateway's Prometheus metrics as an extension.
 * Its `admit` hook counts requests in flight (those the extensions before it
 * admitted) and its `finished` hook records what each request did; everything else is read when Prometheus scrapes.
 * Settings (`metrics.*`) are read at start; a reload keeps them.
 */
import type { ChatCall } from '../pipeline/chat.ts';
import type { GatewayExtension } from '../pipeline/hooks.ts';
import type { StateHolder } from '../pipeline/state.ts';
import { requireAdmin } from '../server/admin-auth.ts';
import type { ExtensionContext } from '../server/gateway.ts';
import { USAGE_EXTENSION_NAME, type UsageLedger } from '../usage/extension.ts';
import { requestCost } from './cost.ts';
import { renderSampled } from './metric-cells.ts';
import { GatewayMetrics } from './metrics.ts';

/** Sources of extra metric text (another extension's own numbers, rendered in the exposition format). */
export type MetricsTextSource = () => string;

const byHolder = new WeakMap<StateHolder, GatewayMetrics>();
const extraSources = new WeakMap<StateHolder, MetricsTextSource[]>();

/**
 * The metrics of the gateway that owns `holder`, for other extensions (the
 * admin UI reads counters from it). Undefined when metrics are disabled or
 * the metrics extension has not been built yet (it is built first).
 */
export function metricsOf(holder: StateHolder): GatewayMetrics | undefined {
  return byHolder.get(holder);
}

/** Lets another extension (the usage ledger) add its own lines to this gateway's `/metrics`. */
export function addMetricsText(holder: StateHolder, source: MetricsTextSource): void {
  let list = extraSources.get(holder);
  if (list === undefined) extraSources.set(holder, (list = []));
  list.push(source);
}

export function metricsExtension(context: ExtensionContext): GatewayExtension | undefined {
  const settings = context.config.metrics;
  if (!settings.enabled) return undefined;
  const { holder, pools, limiter } = context;
  const metrics = new GatewayMetrics(
    {
      state: () => holder.current,
      limiter: () => limiter?.stats(),
      pools: () => pools.stats(),
      extra: () => [ledgerText(context.extensions), ...(extraSources.get(holder) ?? []).map((source) => source())],
    },
    settings.maxSeries,
  );
  byHolder.set(holder, metrics);
  // In a cluster, a scrape of any worker answers for all of them (src/cluster/primary.ts).
  const { cluster } = context;
  cluster?.setMetricsSource(() => metrics.render());
  const inFlight = new WeakSet<ChatCall>();
  return {
    name: 'metrics',
    hooks: {
      admit(call) {
        // Remembered per call: a request refused by an earlier extension's admit never started here.
        inFlight.add(call);
        metrics.started();
      },
      finished(call, end) {
        metrics.finished(call, end, inFlight.delete(call), requestCost(holder.current.config, call.summary, call.body.model));
      },
    },
    routes(app) {
      const adminKeys = (): readonly string[] => holder.current.config.admin.apiKeys;
      app.get(settings.path, settings.requireAdmin ? { onRequest: requireAdmin(adminKeys) } : {}, async (_request, reply) => {
        const text = cluster === undefined ? await metrics.render() : await cluster.clusterMetrics();
        reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
      });
    },
  };
}

/** The usage ledger's batch writer (src/usage/writer.ts), read at scrape; empty when the ledger is off. */
function ledgerText(extensions: readonly GatewayExtension[]): string {
  const ledger = extensions.find((e) => e.name === USAGE_EXTENSION_NAME) as UsageLedger | undefined;
  if (ledger === undefined) return '';
  const s = ledger.stats();
  const out: string[] = [];
  const one = (name: string, help: string, type: 'gauge' | 'counter', value: number): void => renderSampled(out, name, help, type, [{ labels: {}, value }]);
  one('switchyard_usage_ledger_queued', 'Usage events accepted and not yet written.', 'gauge', s.queued);
  one('switchyard_usage_ledger_waiting', 'Requests held back waiting for room in the usage queue.', 'gauge', s.waiting);
  one('switchyard_usage_ledger_lag_seconds', 'Age of the oldest usage event not yet written.', 'gauge', s.lagMs / 1000);
  one('switchyard_usage_ledger_last_batch_size', 'Events in the last batch written.', 'gauge', s.lastBatchSize);
  one('switchyard_usage_ledger_last_flush_seconds', 'How long the last successful batch write took.', 'gauge', s.lastFlushMs / 1000);
  one('switchyard_usage_ledger_events_written_total', 'Usage events written to the store.', 'counter', s.written);
  one('switchyard_usage_ledger_batches_total', 'Batches written to the store.', 'counter', s.batches);
  one('switchyard_usage_ledger_write_failures_total', 'Failed batch writes (each is retried).', 'counter', s.failures);
  one('switchyard_usage_ledger_failing_writes', 'Failed batch writes in a row right now; 0 when the store is healthy.', 'gauge', s.failingFor);
  return out.join('\n');
}
