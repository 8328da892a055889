/**
 * Limits and budgets end to end on one gateway with counters in memory: a
 * test extension plays authentication and sets `call.principal`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultYaml, postJson, startStack } from '../e2e/stack.ts';
import { as, enforcer, keyPrincipal } from './limits-helpers.ts';
import { periodsAt } from '../../src/tenancy/limits.ts';
import { PriceTable } from '../../src/usage/pricing.ts';

const key = keyPrincipal;

const memory = () => (url: string) => defaultYaml(url, 'limits: { backend: memory }');
const anthropicBody = { model: 'claude-mock', max_tokens: 50, messages: [{ role: 'user', content: 'Hello there' }] };
const openaiBody = { model: 'gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: 'Hello there' }] };

test('over its requests per minute a key gets a 429 in its protocol with retry-after, and the upstream never sees it', async (t) => {
  const stack = await startStack(t, { yaml: memory(), extensions: [as(key('k1', { requestsPerMinute: 2 }))] });
  const base = stack.gateway.url;
  assert.equal((await postJson(`${base}/v1/messages`, anthropicBody)).status, 200);
  assert.equal((await postJson(`${base}/v1/chat/completions`, openaiBody)).status, 200);
  const upstreamBefore = stack.mock.stats.requests;

  const ant = await postJson(`${base}/v1/messages`, anthropicBody);
  assert.equal(ant.status, 429);
  assert.equal((ant.json.error as Record<string, unknown>).type, 'rate_limit_error');
  assert.match(String((ant.json.error as Record<string, unknown>).message), /2 requests per minute/);
  const retryAfter = Number(ant.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 120, String(retryAfter));
  assert.ok(ant.headers.get('x-request-id'));

  const oai = await postJson(`${base}/v1/chat/completions`, openaiBody);
  assert.equal(oai.status, 429);
  assert.ok(oai.json.error && typeof oai.json.error === 'object');
  assert.ok(Number(oai.headers.get('retry-after')) >= 1);
  assert.equal(stack.mock.stats.requests, upstreamBefore, 'refused requests never reach the upstream');

  const lines = stack.logs.filter((l) => l.msg === 'request' && l.status === 429);
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.error === 'SWY_ERR_RATE_LIMITED' && l.keyId === 'k1'));
  assert.equal(enforcer(stack.gateway).stats().rejected.requestsPerMinute, 2);
  assert.equal(enforcer(stack.gateway).stats().admitted, 2);
});

test('tenant limits bind every key of the tenant; key defaults from config apply to keys without their own', async (t) => {
  const a = key('ka', undefined, { requestsPerMinute: 3 });
  const b = key('kb', { requestsPerMinute: 10 }, { requestsPerMinute: 3 });
  const stack = await startStack(t, {
    yaml: (url) => defaultYaml(url, 'limits: { backend: memory, keys: { requestsPerMinute: 2 } }'),
    extensions: [as(a, { b })],
  });
  const url = `${stack.gateway.url}/v1/messages`;
  // ka has no rpm of its own: the default 2 applies.
  assert.equal((await postJson(url, anthropicBody)).status, 200);
  assert.equal((await postJson(url, anthropicBody)).status, 200);
  const third = await postJson(url, anthropicBody);
  assert.equal(third.status, 429);
  assert.match(String((third.json.error as Record<string, unknown>).message), /this API key/);
  // kb sets 10 itself, but the tenant's 3 are used up after one more.
  assert.equal((await postJson(url, anthropicBody, { 'x-test-key': 'b' })).status, 200);
  const tenantRefusal = await postJson(url, anthropicBody, { 'x-test-key': 'b' });
  assert.equal(tenantRefusal.status, 429);
  assert.match(String((tenantRefusal.json.error as Record<string, unknown>).message), /tenant/);
});

test('the open principal (no authentication) has its own limits from config', async (t) => {
  const stack = await startStack(t, { yaml: (url) => defaultYaml(url, 'limits: { backend: memory, open: { requestsPerMinute: 1 } }') });
  const url = `${stack.gateway.url}/v1/messages`;
  assert.equal((await postJson(url, anthropicBody)).status, 200);
  const refused = await postJson(url, anthropicBody);
  assert.equal(refused.status, 429);
  assert.match(String((refused.json.error as Record<string, unknown>).message), /open access/);
});

test('no limits configured anywhere: nothing is counted and nothing refused', async (t) => {
  const stack = await startStack(t, { yaml: memory() });
  for (let i = 0; i < 5; i++) assert.equal((await postJson(`${stack.gateway.url}/v1/messages`, anthropicBody)).status, 200);
  assert.equal(enforcer(stack.gateway).stats().admitted, 0);
  assert.equal(enforcer(stack.gateway).local.scopeCount, 0);
});

test('a concurrency slot is released on every path: answered, upstream failure, client gone', async (t) => {
  const yaml = (url: string) =>
    defaultYaml(url, 'limits: { backend: memory }').replace(
      'models:\n',
      'models:\n  - { name: dead, deployments: [ { provider: nowhere, model: x } ] }\n',
    ).replace('providers:\n', 'providers:\n  - { name: nowhere, protocol: anthropic, baseUrl: "http://127.0.0.1:9" }\n');
  const stack = await startStack(t, { yaml, mock: { latencyMs: 300 }, extensions: [as(key('kc', { concurrency: 1 }))] });
  const url = `${stack.gateway.url}/v1/messages`;
  // Answered.
  assert.equal((await postJson(url, anthropicBody)).status, 200);
  // Upstream unreachable: a 502, and the slot comes back.
  const failed = await postJson(url, { ...anthropicBody, model: 'dead' });
  assert.ok(failed.status >= 500, String(failed.status));
  // Client gone mid-request.
  const controller = new AbortController();
  const pending = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anthropicBody), signal: controller.signal }).catch(() => undefined);
  for (let i = 0; i < 100 && stack.mock.stats.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
  // While it is in flight, a second request is over the limit.
  const busy = await postJson(url, anthropicBody);
  assert.equal(busy.status, 429);
  assert.equal(busy.headers.get('retry-after'), '1');
  controller.abort();
  await pending;
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 20));
    ok = (await postJson(url, anthropicBody)).status === 200;
  }
  assert.ok(ok, 'the slot of the abandoned request was released');
});

test('a daily budget reserves the estimate and settles the actual cost; once spent, requests get a budget 429 until the day ends', async (t) => {
  // $1000 per million tokens makes each small request cost a few cents.
  const pricing = 'pricing: { models: { "upstream-claude": { input: 1000, output: 1000 } } }';
  const stack = await startStack(t, {
    yaml: (url) => defaultYaml(url, `limits: { backend: memory }\n${pricing}`),
    extensions: [as(key('kb', { budgetDayUsd: 0.5 }))],
  });
  const url = `${stack.gateway.url}/v1/messages`;
  const prices = new PriceTable({ models: { 'upstream-claude': { input: 1000, output: 1000 } } });
  let spent = 0;
  let refused: Awaited<ReturnType<typeof postJson>> | undefined;
  for (let i = 0; i < 100 && refused === undefined; i++) {
    const res = await postJson(url, anthropicBody);
    if (res.status === 429) refused = res;
    else {
      assert.equal(res.status, 200);
      const usage = res.json.usage as { input_tokens: number; output_tokens: number };
      spent += prices.costOf({ inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }, 'ant/upstream-claude');
    }
  }
  assert.ok(refused, 'the budget ran out');
  assert.equal((refused.json.error as Record<string, unknown>).type, 'rate_limit_error');
  assert.match(String((refused.json.error as Record<string, unknown>).message), /daily budget of \$0\.50/);
  const secondsToMidnight = (periodsAt(Date.now()).dayEndsAt - Date.now()) / 1000;
  assert.ok(Math.abs(Number(refused.headers.get('retry-after')) - secondsToMidnight) < 5);
  const log = stack.logs.find((l) => l.msg === 'request' && l.status === 429);
  assert.equal(log?.error, 'SWY_ERR_BUDGET_EXCEEDED');
  // Settled spend is the sum of actual costs, nothing left reserved, and never over the budget.
  const day = `d:${periodsAt(Date.now()).day}`;
  for (let i = 0; i < 100 && enforcer(stack.gateway).local.budget('key:kb', day).reserved > 0; i++) await new Promise((r) => setTimeout(r, 10));
  const b = enforcer(stack.gateway).local.budget('key:kb', day);
  assert.equal(b.reserved, 0);
  assert.ok(Math.abs(b.spent / 1e9 - spent) < 1e-6, `${b.spent / 1e9} vs ${spent}`);
  assert.ok(spent <= 0.5);
});

test('a request whose input alone is over the input tokens per minute is told so', async (t) => {
  const stack = await startStack(t, { yaml: memory(), extensions: [as(key('kt', { inputTokensPerMinute: 200 }))] });
  const url = `${stack.gateway.url}/v1/messages`;
  assert.equal((await postJson(url, anthropicBody)).status, 200);
  const big = await postJson(url, { ...anthropicBody, messages: [{ role: 'user', content: 'word '.repeat(600) }] });
  assert.equal(big.status, 429);
  assert.match(String((big.json.error as Record<string, unknown>).message), /this request alone \(about \d+ input tokens\) is over the 200 input tokens per minute/);
  assert.equal(stack.mock.stats.byPath['/v1/messages'], 1);
});

test('a stream the client abandons before its usage arrived is charged its estimated input, not nothing', async (t) => {
  const pricing = 'pricing: { models: { "upstream-gpt": { input: 1000, output: 1000 } } }';
  const stack = await startStack(t, {
    yaml: (url) => defaultYaml(url, `limits: { backend: memory }\n${pricing}`),
    mock: { tokensPerSecond: 20, outputTokens: 200 },
    extensions: [as(key('ks', { budgetDayUsd: 10 }))],
  });
  const controller = new AbortController();
  const res = await fetch(`${stack.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...openaiBody, stream: true, stream_options: { include_usage: true } }),
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort();
  await reader.read().catch(() => undefined);
  const limits = enforcer(stack.gateway);
  const day = `d:${periodsAt(Date.now()).day}`;
  let settled = false;
  for (let i = 0; i < 100 && !settled; i++) {
    await new Promise((r) => setTimeout(r, 20));
    settled = limits.local.budget('key:ks', day).reserved === 0;
  }
  assert.ok(settled, 'the reservation was released');
  const spent = limits.local.budget('key:ks', day).spent;
  assert.ok(spent > 0, 'charged');
  // Only the input: far less than the 200-token reply would have cost.
  assert.ok(spent < 100 * 1000 * 1000, String(spent));
});
