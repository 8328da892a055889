/**
 * `GET /metrics` on a real gateway (issue 5): what the traffic did shows in
 * the counters and histograms, breakers and pools are read at scrape time,
 * labels stay bounded, and each gateway in a process has its own numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CounterFamily, HistogramFamily, OVERFLOW_LABEL, quantileOf } from '../../src/observability/metric-cells.ts';
import { metricsOf } from '../../src/observability/metrics-extension.ts';
import { defaultYaml, postJson, startStack } from '../e2e/stack.ts';
import { scrape, total } from '../../bench/lib/prom-text.ts';

const ask = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello there' }], ...extra });

test('requests, latency, time to first token and tokens are counted by surface, rule, model, deployment and status class', async (t) => {
  const { gateway } = await startStack(t);
  await gateway.warmed;
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask('claude-mock'), { 'x-request-id': 'secret-request-id-1' })).status, 200);
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask('claude-mock', { stream: true }))).status, 200);
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'))).status, 200);
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('nope,x'))).status, 404);

  const { status, text, samples, contentType } = await scrape(`${gateway.url}/metrics`);
  assert.equal(status, 200);
  assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
  const claude = { surface: 'anthropic', rule: 'model', model: 'claude-mock', deployment: 'ant/upstream-claude', status_class: '2xx' };
  assert.equal(total(samples, 'switchyard_requests_total', claude), 2);
  assert.equal(total(samples, 'switchyard_requests_total', { surface: 'openai', model: 'gpt-mock', deployment: 'oai/upstream-gpt', status_class: '2xx' }), 1);
  assert.equal(total(samples, 'switchyard_requests_total', { surface: 'openai', status_class: '4xx' }), 1);
  assert.equal(total(samples, 'switchyard_request_errors_total', { surface: 'openai', code: 'SWY_ERR_UNKNOWN_PROVIDER' }), 1);
  assert.equal(total(samples, 'switchyard_request_duration_seconds_count', claude), 2);
  assert.equal(total(samples, 'switchyard_request_duration_seconds_bucket', { ...claude, le: '+Inf' }), 2);
  assert.ok(total(samples, 'switchyard_request_duration_seconds_sum', claude) > 0);
  assert.ok(total(samples, 'switchyard_time_to_first_token_seconds_count', { model: 'claude-mock' }) >= 1);
  assert.ok(total(samples, 'switchyard_tokens_total', { model: 'claude-mock', type: 'input' }) > 0);
  assert.ok(total(samples, 'switchyard_tokens_total', { model: 'claude-mock', type: 'output' }) > 0);
  assert.equal(total(samples, 'switchyard_upstream_attempts_total', { deployment: 'ant/upstream-claude', outcome: 'ok', hedge: 'false' }), 2);
  assert.equal(total(samples, 'switchyard_requests_in_flight'), 0);
  // Read at scrape time.
  assert.equal(total(samples, 'switchyard_breaker_state', { deployment: 'ant/upstream-claude', state: 'closed' }), 1);
  assert.equal(total(samples, 'switchyard_breaker_state', { deployment: 'ant/upstream-claude', state: 'open' }), 0);
  assert.ok(samples.some((s) => s.name === 'switchyard_upstream_pool_connections' && s.labels.state === 'connected'));
  assert.equal(total(samples, 'switchyard_config_version'), 1);
  // prom-client's process metrics: event-loop lag and memory.
  assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
  assert.ok(samples.some((s) => s.name === 'process_resident_memory_bytes'));
  // The usage ledger's writer, read at scrape: every request became an event, queued or written.
  assert.equal(total(samples, 'switchyard_usage_ledger_queued') + total(samples, 'switchyard_usage_ledger_events_written_total'), 4);
  // Bounded labels: request ids never become a label value.
  assert.doesNotMatch(text, /secret-request-id-1/);
});

test('failovers, retries and breaker state are visible after a deployment fails', async (t) => {
  const { gateway } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: openai, baseUrl: "${url}/v1", headers: { x-mock-fault: "status:503" } }
  - { name: two, protocol: openai, baseUrl: "${url}/v1" }
models:
  - { name: pair, breaker: { consecutiveFailures: 2, cooldownMs: 60000 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }
routes: { default: pair }
`,
  });
  for (let i = 0; i < 3; i++) assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  const { samples } = await scrape(`${gateway.url}/metrics`);
  assert.equal(total(samples, 'switchyard_upstream_attempts_total', { deployment: 'one/a', outcome: 'SWY_ERR_UPSTREAM_STATUS' }), 2);
  assert.equal(total(samples, 'switchyard_upstream_attempts_total', { deployment: 'two/b', outcome: 'ok' }), 3);
  assert.equal(total(samples, 'switchyard_failovers_total', { model: 'pair' }), 2);
  assert.equal(total(samples, 'switchyard_breaker_state', { deployment: 'one/a', state: 'open' }), 1);
  assert.equal(total(samples, 'switchyard_requests_total', { model: 'pair', deployment: 'two/b', status_class: '2xx' }), 3);
});

test('two gateways in one process keep their own numbers', async (t) => {
  const a = await startStack(t);
  const b = await startStack(t);
  await postJson(`${a.gateway.url}/v1/messages`, ask('claude-mock'));
  await postJson(`${a.gateway.url}/v1/messages`, ask('claude-mock'));
  await postJson(`${b.gateway.url}/v1/messages`, ask('claude-mock'));
  assert.equal(total((await scrape(`${a.gateway.url}/metrics`)).samples, 'switchyard_requests_total'), 2);
  assert.equal(total((await scrape(`${b.gateway.url}/metrics`)).samples, 'switchyard_requests_total'), 1);
  assert.notEqual(metricsOf(a.gateway.holder), metricsOf(b.gateway.holder));
});

test('metrics can be turned off, moved, or put behind the admin key', async (t) => {
  const off = await startStack(t, { yaml: (url) => defaultYaml(url, 'metrics: { enabled: false }') });
  assert.equal((await fetch(`${off.gateway.url}/metrics`)).status, 404);
  assert.equal(metricsOf(off.gateway.holder), undefined);

  const guarded = await startStack(t, {
    yaml: (url) => defaultYaml(url, 'metrics: { path: /internal/metrics, requireAdmin: true }\nadmin: { apiKeys: [ "adm-secret-key" ] }'),
  });
  assert.equal((await fetch(`${guarded.gateway.url}/metrics`)).status, 404);
  assert.equal((await scrape(`${guarded.gateway.url}/internal/metrics`)).status, 401);
  const ok = await scrape(`${guarded.gateway.url}/internal/metrics`, { authorization: 'Bearer adm-secret-key' });
  assert.equal(ok.status, 200);
  assert.ok(ok.samples.some((s) => s.name === 'switchyard_requests_in_flight'));
});

test('a family folds label sets past its cap into _other', () => {
  const family = new CounterFamily('t_total', 'test', ['model'], 3);
  for (let i = 0; i < 10; i++) family.cell(`m${i}`).value++;
  const series = family.series();
  assert.equal(series.length, 4);
  const other = series.find((s) => s.values[0] === OVERFLOW_LABEL);
  assert.equal(other?.cell.value, 7);
  const out: string[] = [];
  family.render(out);
  assert.ok(out.includes('t_total{model="_other"} 7'));
});

test('label values are escaped and histograms render cumulative buckets', () => {
  const h = new HistogramFamily('h_seconds', 'test', ['model'], [0.1, 1], 10);
  const cell = h.cell('a"b\\c\nd');
  h.observe(cell, 0.05);
  h.observe(cell, 0.5);
  h.observe(cell, 5);
  const out: string[] = [];
  h.render(out);
  assert.ok(out.includes('h_seconds_bucket{model="a\\"b\\\\c\\nd",le="0.1"} 1'), out.join('\n'));
  assert.ok(out.includes('h_seconds_bucket{model="a\\"b\\\\c\\nd",le="1"} 2'));
  assert.ok(out.includes('h_seconds_bucket{model="a\\"b\\\\c\\nd",le="+Inf"} 3'));
  assert.ok(out.includes('h_seconds_count{model="a\\"b\\\\c\\nd"} 3'));
  assert.equal(quantileOf(h.bounds, cell.counts, 0.5), 0.55);
});

test('a hedge is counted with its outcome; the lost twin is neither a failure nor a failover', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: slow, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: hang } }
  - { name: fast, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-latency-ms: "0" } }
models:
  - { name: pair, timeouts: { firstByteMs: 20000 }, hedge: { delayMs: 100, maxShare: 1, burst: 100 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }
routes: { default: pair }
`,
  });
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask('pair'))).status, 200);
  for (let i = 0; i < 200 && mock.stats.aborted < 1; i++) await new Promise((r) => setTimeout(r, 10));
  const { samples } = await scrape(`${gateway.url}/metrics`);
  assert.equal(total(samples, 'switchyard_hedges_total', { model: 'pair', outcome: 'won' }), 1);
  assert.equal(total(samples, 'switchyard_upstream_attempts_total', { deployment: 'slow/a', outcome: 'hedge_lost', hedge: 'false' }), 1);
  assert.equal(total(samples, 'switchyard_upstream_attempts_total', { deployment: 'fast/b', outcome: 'ok', hedge: 'true' }), 1);
  assert.equal(total(samples, 'switchyard_failovers_total'), 0);
  assert.equal(total(samples, 'switchyard_upstream_attempt_duration_seconds_count'), 2);
  assert.ok(total(samples, 'switchyard_upstream_attempt_duration_seconds_sum', { deployment: 'slow/a' }) >= 0.09);
});
