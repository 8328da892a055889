import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import type { ConfigProblem } from '../../src/config/index.ts';

const base = (model: string): string => `
providers: [ { name: a, protocol: openai, baseUrl: "http://127.0.0.1:1/v1" } ]
models:
  - ${model}
routes: { default: m }
`;

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, { env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

function has(problems: ConfigProblem[], path: string, message: RegExp): void {
  assert.ok(
    problems.some((p) => p.path === path && message.test(p.message)),
    `no problem at ${path} matching ${message}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`,
  );
}

test('a model group defaults to the priority strategy and no breaker overrides', () => {
  const config = parseConfig(base('{ name: m, deployments: [ { provider: a, model: x } ] }'), { env: {} });
  assert.equal(config.models[0]?.strategy, 'priority');
  assert.equal(config.models[0]?.breaker, undefined);
});

test('strategy, breaker overrides and deployment prices parse, numbers also from environment strings', () => {
  const config = parseConfig(
    base(`{ name: m, strategy: cost, breaker: { consecutiveFailures: 3, errorRate: "0.25", windowMs: 10000, minRequests: 4, cooldownMs: 500, halfOpenProbes: 2 },
      deployments: [ { provider: a, model: x, inputCostPerMTok: 3, outputCostPerMTok: "15" } ] }`),
    { env: {} },
  );
  const model = config.models[0]!;
  assert.equal(model.strategy, 'cost');
  assert.deepEqual(model.breaker, { consecutiveFailures: 3, errorRate: 0.25, windowMs: 10000, minRequests: 4, cooldownMs: 500, halfOpenProbes: 2 });
  assert.equal(model.deployments[0]?.inputCostPerMTok, 3);
  assert.equal(model.deployments[0]?.outputCostPerMTok, 15);
});

test('an unknown strategy, out-of-range breaker values and negative prices are reported together', () => {
  const p = problemsOf(
    base(`{ name: m, strategy: fastest, breaker: { consecutiveFailures: 0, errorRate: 50, halfOpenProbes: 0, coolDownMs: 5 },
      deployments: [ { provider: a, model: x, inputCostPerMTok: -1 } ] }`),
  );
  has(p, 'models.0.strategy', /one of: priority, weighted, round-robin, least-in-flight, latency, cost/);
  has(p, 'models.0.breaker.consecutiveFailures', />= 1/);
  has(p, 'models.0.breaker.errorRate', /<= 1/);
  has(p, 'models.0.breaker.halfOpenProbes', />= 1/);
  has(p, 'models.0.breaker.coolDownMs', /did you mean "cooldownMs"/);
  has(p, 'models.0.deployments.0.inputCostPerMTok', />= 0/);
});
