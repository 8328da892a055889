import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import { BUILTIN_PRICES, completePrice, costOf, PriceTable, pricedDeployment, priceTableFromConfig } from '../../src/usage/pricing.ts';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

test('costOf charges each kind of token once at its own price per million', () => {
  const price = completePrice({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
  close(costOf({ inputTokens: 1_000_000, outputTokens: 0 }, price), 3);
  close(costOf({ inputTokens: 1000, outputTokens: 500 }, price), 0.003 + 0.0075);
  close(costOf({ inputTokens: 10, outputTokens: 20, cacheReadTokens: 1000, cacheWriteTokens: 2000 }, price), (10 * 3 + 20 * 15 + 1000 * 0.3 + 2000 * 3.75) / 1e6);
  // Reasoning tokens are already in outputTokens.
  close(costOf({ inputTokens: 0, outputTokens: 100, reasoningTokens: 80 }, price), 100 * 15 / 1e6);
});

test('a price without cache prices charges cached tokens as input', () => {
  const price = completePrice({ input: 2, output: 8 });
  close(costOf({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 1e6, cacheWriteTokens: 1e6 }, price), 4);
});

test('built-in defaults price the common model families', () => {
  const table = new PriceTable();
  const expect = (id: string, input: number, output: number): void => {
    const price = table.priceOf(id);
    assert.ok(price, `no price for ${id}`);
    assert.deepEqual([price.input, price.output], [input, output], id);
  };
  expect('anthropic/claude-sonnet-4-5-20250929', 3, 15);
  expect('anthropic/claude-sonnet-4-20250514', 3, 15);
  expect('anthropic/claude-opus-4-1-20250805', 15, 75);
  expect('anthropic/claude-opus-4-5', 5, 25);
  expect('anthropic/claude-haiku-4-5', 1, 5);
  expect('anthropic/claude-3-5-haiku-latest', 0.8, 4);
  expect('openrouter/anthropic/claude-sonnet-4.5', 3, 15);
  expect('openai/gpt-4o', 2.5, 10);
  expect('openai/gpt-4o-mini-2024-07-18', 0.15, 0.6);
  expect('openai/gpt-4.1-mini', 0.4, 1.6);
  expect('openai/gpt-5', 1.25, 10);
  expect('openai/gpt-5-mini', 0.25, 2);
  expect('openai/o3', 2, 8);
  expect('openai/o4-mini', 1.1, 4.4);
  expect('deepseek/deepseek-chat', 0.28, 0.42);
  assert.equal(table.priceOf('vllm/qwen3-coder'), undefined);
  assert.equal(table.costOf({ inputTokens: 1000, outputTokens: 1000 }, 'vllm/qwen3-coder'), 0);
  // Anthropic cache: reads at a tenth, writes at 1.25×.
  const sonnet = table.priceOf('claude-sonnet-4-5')!;
  assert.deepEqual([sonnet.cacheRead, sonnet.cacheWrite], [0.3, 3.75]);
  for (const [name, spec] of Object.entries(BUILTIN_PRICES)) assert.ok(spec.input > 0 && spec.output > 0, name);
});

test('config prices come first: exact names over patterns, longer patterns over shorter, then deployment prices, then built-ins, then the fallback', () => {
  const table = new PriceTable({
    models: {
      'claude-sonnet-4*': { input: 1, output: 2 },
      'claude-sonnet-4-5*': { input: 4, output: 5 },
      'bedrock/claude-sonnet-4-5': { input: 6, output: 7 },
      'vllm/*': { input: 0, output: 0 },
    },
    deployments: { 'mine/custom': { input: 9, output: 10 }, 'anthropic/claude-haiku-4-5': { input: 11, output: 12 } },
    fallback: { input: 100, output: 200 },
  });
  assert.equal(table.priceOf('anthropic/claude-sonnet-4-20250514')!.input, 1);
  assert.equal(table.priceOf('anthropic/claude-sonnet-4-5')!.input, 4);
  assert.equal(table.priceOf('bedrock/claude-sonnet-4-5')!.input, 6);
  assert.equal(table.priceOf('vllm/qwen')!.output, 0);
  assert.equal(table.priceOf('mine/custom')!.input, 9);
  assert.equal(table.priceOf('anthropic/claude-haiku-4-5')!.input, 11);
  assert.equal(table.priceOf('openai/gpt-4o')!.input, 2.5);
  assert.equal(table.priceOf('other/unknown')!.input, 100);
  assert.equal(table.isPriced('other/unknown'), false);
  assert.equal(table.isPriced('openai/gpt-4o'), true);
  assert.equal(new PriceTable({ builtins: false }).priceOf('openai/gpt-4o'), undefined);
});

test('the pricing config section is validated and builds the table with deployment prices', () => {
  const yaml = `
providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:1/v1" } ]
models:
  - { name: m, deployments: [ { provider: p, model: house-model, inputCostPerMTok: 1.5, outputCostPerMTok: 3 } ] }
routes: { default: m }
pricing:
  models:
    "gpt-4o*": { input: "2", output: 9, cacheRead: 0.5 }
  fallback: { input: 1, output: 1 }
`;
  const config = parseConfig(yaml, { env: {} });
  const table = priceTableFromConfig(config);
  close(table.costOf({ inputTokens: 1e6, outputTokens: 1e6 }, 'p/house-model'), 4.5);
  close(table.costOf({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 1e6 }, 'p/gpt-4o'), 0.5);
  close(table.costOf({ inputTokens: 1e6, outputTokens: 0 }, 'p/unknown'), 1);
  assert.throws(() => parseConfig(yaml.replace('input: "2"', 'input: -2'), { env: {} }), /pricing\.models/);
  assert.throws(() => parseConfig(yaml + '  extra: 1\n', { env: {} }), /pricing/);
});

test('a deployment that sends the requested model is priced by that model', () => {
  assert.equal(pricedDeployment('anthropic/*', 'claude-haiku-4-5'), 'anthropic/claude-haiku-4-5');
  assert.equal(pricedDeployment('anthropic/claude-opus-4-5', 'x'), 'anthropic/claude-opus-4-5');
  assert.equal(new PriceTable().priceOf(pricedDeployment('anthropic/*', 'claude-haiku-4-5'))!.output, 5);
});
