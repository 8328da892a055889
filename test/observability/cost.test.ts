import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { requestCost } from '../../src/observability/cost.ts';
import type { RequestSummary } from '../../src/pipeline/chat.ts';

const config = (input: number) =>
  parseConfig(
    `providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]
models: [ { name: m, deployments: [ { provider: p, model: up } ] } ]
routes: { default: m }
pricing: { models: { up: { input: ${input}, output: 10 } } }
`,
    { env: {} },
  );

test("a finished request's cost is worked out once and kept on its summary for every reader", () => {
  const summary: RequestSummary = { surface: 'openai', attempts: [], deployment: 'p/up', usage: { inputTokens: 1_000_000, outputTokens: 100_000 } };
  assert.equal(requestCost(config(3), summary, 'm'), 4);
  assert.equal(summary.cost, 4);
  // Later readers (metrics, ledger, dashboard) get the same figure without pricing it again.
  assert.equal(requestCost(config(5), summary, 'm'), 4);
  // No usage yet: nothing is kept, so the figure comes once the usage does.
  const early: RequestSummary = { surface: 'openai', attempts: [], deployment: 'p/up' };
  assert.equal(requestCost(config(3), early, 'm'), undefined);
  assert.equal(early.cost, undefined);
});
