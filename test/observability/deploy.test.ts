/**
 * deploy/ (issue 5): the Grafana dashboard and the Prometheus alert rules
 * parse, and every metric and label they query is one a real gateway exports
 * (scraped from its /metrics after some traffic).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { metricsOf } from '../../src/observability/metrics-extension.ts';
import type { ExtensionFactory } from '../../src/server/gateway.ts';
import { defaultYaml, postJson, startStack } from '../e2e/stack.ts';
import { declaredTypes, scrape } from '../../bench/lib/prom-text.ts';

const root = new URL('../../deploy/', import.meta.url);

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan', 'le']);

/** Metric references in a PromQL expression, with the label names their selectors use. */
export function metricReferences(expr: string): Array<{ metric: string; labels: string[] }> {
  const refs: Array<{ metric: string; labels: string[] }> = [];
  // Selectors with matchers first, then strip them so label names are not taken for metrics.
  let rest = expr.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g, (_m, metric: string, matchers: string) => {
    const labels = [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1] as string);
    refs.push({ metric, labels });
    return ' ';
  });
  rest = rest
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[\w]+\}?/g, ' ')
    .replace(/(?<![\w:])\d[\d.]*(e[+-]?\d+)?/gi, ' ');
  for (const m of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const word = m[0].replace(/\s*\($/, '');
    if (m[1] !== undefined) continue; // a function call
    if (PROMQL_WORDS.has(word.toLowerCase()) || /^\d/.test(word) || /^e\d+$/.test(word)) continue;
    refs.push({ metric: word, labels: [] });
  }
  return refs;
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(new URL('grafana/switchyard-dashboard.json', root), 'utf8')) as {
    panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ definition?: string }> };
  };
  assert.ok(dashboard.panels.length > 10);
  const exprs: string[] = [];
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') continue;
    assert.ok((panel.targets ?? []).length > 0, `panel '${panel.title}' has a query`);
    for (const target of panel.targets ?? []) exprs.push(target.expr);
  }
  for (const variable of dashboard.templating.list) {
    const m = /label_values\((\w+),/.exec(variable.definition ?? '');
    if (m) exprs.push(m[1] as string);
  }
  return exprs;
}

function alertExpressions(): Array<{ alert: string; expr: string }> {
  const rules = parseYaml(readFileSync(new URL('prometheus/switchyard-alerts.yaml', root), 'utf8')) as {
    groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }>;
  };
  const out: Array<{ alert: string; expr: string }> = [];
  for (const group of rules.groups) {
    for (const rule of group.rules) {
      assert.ok(rule.alert, `every rule in ${group.name} is an alert`);
      assert.ok(rule.labels?.severity, `${rule.alert} has a severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert} has a summary`);
      out.push({ alert: rule.alert, expr: rule.expr });
    }
  }
  return out;
}

test('the reference extractor finds metrics and selector labels, not functions or label names', () => {
  assert.deepEqual(metricReferences('histogram_quantile(0.99, sum by (le, model) (rate(x_bucket{a="1", b=~"y"}[5m]))) > 30 and y_total'), [
    { metric: 'x_bucket', labels: ['a', 'b'] },
    { metric: 'y_total', labels: [] },
  ]);
  assert.deepEqual(metricReferences('clamp_min(sum(rate(z[$__rate_interval])), 1e-9)'), [{ metric: 'z', labels: [] }]);
});

test('the dashboard and the alert rules parse and query only metrics and labels the gateway exports', async (t) => {
  // A concurrency limit, so its metrics (queue, shedding) are exported too.
  // A tenant with budgets (as authentication would attach) and prices, so the budget metrics are exported too.
  const tenant: ExtensionFactory = () => ({
    name: 'test-tenant',
    hooks: {
      admit(call) {
        call.principal = { kind: 'key', tenantId: 't1', tenantName: 'acme', keyId: 'k1', tenantLimits: { budgetDayUsd: 10, budgetMonthUsd: 200 } };
      },
    },
  });
  const { gateway } = await startStack(t, {
    yaml: (url) => defaultYaml(url, 'pricing: { fallback: { input: 1, output: 2 } }').replace('bodyLimit: 1048576', 'bodyLimit: 1048576, maxConcurrent: 8'),
    extensions: [tenant],
  });
  for (const [path, model] of [
    ['/v1/messages', 'claude-mock'],
    ['/v1/chat/completions', 'gpt-mock'],
  ] as const) {
    assert.equal((await postJson(`${gateway.url}${path}`, { model, max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }] })).status, 200);
  }
  const { text, samples } = await scrape(`${gateway.url}/metrics`);
  const exported = new Map<string, Set<string>>();
  for (const [name, type] of declaredTypes(text)) {
    const names = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    for (const n of names) exported.set(n, new Set(type === 'histogram' && n.endsWith('_bucket') ? ['le'] : []));
  }
  // Families nothing was recorded in yet (hedges, cost) still declare their label names.
  for (const family of metricsOf(gateway.holder)?.describe() ?? []) {
    const names = family.type === 'histogram' ? [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`] : [family.name];
    for (const n of names) for (const l of family.labelNames) exported.get(n)?.add(l);
  }
  for (const s of samples) {
    const labels = exported.get(s.name) ?? new Set<string>();
    for (const l of Object.keys(s.labels)) labels.add(l);
    exported.set(s.name, labels);
  }

  const expressions = [...dashboardExpressions().map((expr) => ({ where: 'dashboard', expr })), ...alertExpressions().map(({ alert, expr }) => ({ where: alert, expr }))];
  assert.ok(expressions.length > 20);
  for (const { where, expr } of expressions) {
    const refs = metricReferences(expr);
    assert.ok(refs.length > 0, `${where}: '${expr}' queries a metric`);
    for (const { metric, labels } of refs) {
      const known = exported.get(metric);
      assert.ok(known, `${where}: '${metric}' is not exported by the gateway`);
      for (const label of labels) assert.ok(known.has(label), `${where}: '${metric}' has no label '${label}'`);
    }
  }
  // Each alert the issue asks for is there.
  const alerts = alertExpressions().map((a) => a.alert);
  for (const wanted of ['SwitchyardHighErrorRate', 'SwitchyardHighP99Latency', 'SwitchyardBreakerOpen', 'SwitchyardTenantDailyBudgetNearlySpent', 'SwitchyardUsageLedgerLag']) {
    assert.ok(alerts.includes(wanted), wanted);
  }
  assert.ok(samples.some((s) => s.name === 'switchyard_usage_ledger_lag_seconds'), 'the usage ledger is exported');
  assert.ok(samples.some((s) => s.name === 'switchyard_tenant_budget_usd' && s.labels.tenant === 'acme' && s.labels.period === 'day' && s.value === 10));
  assert.ok(samples.some((s) => s.name === 'switchyard_tenant_cost_usd_total' && s.labels.tenant === 'acme' && s.value > 0));
});
