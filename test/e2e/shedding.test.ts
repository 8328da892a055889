/**
 * Concurrency limits and load shedding on real sockets (issue 3, "Protecting
 * the gateway and its upstreams"): the mock answers slowly so requests pile up.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import type { Gateway } from '../../src/server/gateway.ts';
import { defaultYaml, postJson, startStack } from './stack.ts';

const ask = (model: string) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'Tell me about switchyards' }] });

function limitedYaml(server: string): (url: string) => string {
  return (url) => defaultYaml(url).replace('server: { host: 127.0.0.1, port: 0, bodyLimit: 1048576 }', `server: { host: 127.0.0.1, port: 0, ${server} }`);
}

/** Waits (bounded) until the gateway's limiter reaches a state. */
async function until(gateway: Gateway, check: (s: { inFlight: number; queued: number }) => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check(gateway.limiter!.stats())) return;
    await sleep(5);
  }
  assert.fail(`limiter never reached the expected state: ${JSON.stringify(gateway.limiter!.stats())}`);
}

test('with 2 slots and a queue of 1, five Anthropic requests give three answers and two 529 overloaded errors with retry-after', async (t) => {
  const { gateway, logs } = await startStack(t, { mock: { latencyMs: 300 }, yaml: limitedYaml('maxConcurrent: 2, maxQueue: 1') });
  const results = await Promise.all(Array.from({ length: 5 }, () => postJson(`${gateway.url}/v1/messages`, ask('claude-mock'))));
  const ok = results.filter((r) => r.status === 200);
  const shed = results.filter((r) => r.status === 529);
  assert.equal(ok.length, 3, results.map((r) => r.status).join());
  assert.equal(shed.length, 2);
  for (const r of shed) {
    assert.equal(r.headers.get('retry-after'), '1');
    assert.ok(r.headers.get('request-id'));
    assert.equal(r.json.type, 'error');
    assert.equal((r.json.error as Record<string, unknown>).type, 'overloaded_error');
    assert.equal(r.json.request_id, r.headers.get('request-id'));
  }
  await until(gateway, (s) => s.inFlight === 0 && s.queued === 0);
  const lines = logs.filter((l) => l.msg === 'request' && l.error === 'SWY_ERR_OVERLOADED');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.status === 529));
});

test('OpenAI clients are shed with 503 service_unavailable and retry-after', async (t) => {
  const { gateway } = await startStack(t, { mock: { latencyMs: 300 }, yaml: limitedYaml('maxConcurrent: 2, maxQueue: 1') });
  const results = await Promise.all(Array.from({ length: 5 }, () => postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'))));
  assert.deepEqual(
    results.map((r) => r.status).sort(),
    [200, 200, 200, 503, 503],
  );
  for (const r of results.filter((x) => x.status === 503)) {
    assert.equal(r.headers.get('retry-after'), '1');
    const error = r.json.error as Record<string, unknown>;
    assert.equal(error.type, 'service_unavailable');
    assert.equal(error.code, 'SWY_ERR_OVERLOADED');
  }
});

test('a request that waits longer than maxQueueWaitMs is shed', async (t) => {
  const { gateway } = await startStack(t, { mock: { latencyMs: 500 }, yaml: limitedYaml('maxConcurrent: 1, maxQueueWaitMs: 100') });
  const first = postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'));
  await until(gateway, (s) => s.inFlight === 1);
  const started = performance.now();
  const second = await postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'));
  const waited = performance.now() - started;
  assert.equal(second.status, 503);
  assert.ok(waited >= 90 && waited < 450, `waited ${waited} ms`);
  assert.equal((await first).status, 200);
});

test('a queued request whose client disconnects frees its place in the queue', async (t) => {
  const { gateway, mock } = await startStack(t, { mock: { latencyMs: 400 }, yaml: limitedYaml('maxConcurrent: 1, maxQueue: 1') });
  await gateway.warmed;
  const before = mock.stats.requests;
  const first = postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'));
  await until(gateway, (s) => s.inFlight === 1);
  const gone = new AbortController();
  const abandoned = fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ask('gpt-mock')),
    signal: gone.signal,
  }).catch((err: unknown) => err);
  await until(gateway, (s) => s.queued === 1);
  gone.abort();
  await abandoned;
  // At once, well before the request in flight (400 ms) would have handed its slot on.
  await until(gateway, (s) => s.queued === 0 && s.inFlight === 1, 20);
  // The freed place takes a new waiter, which is served after the first.
  const third = await postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'));
  assert.equal(third.status, 200);
  assert.equal((await first).status, 200);
  // The abandoned request never reached the provider.
  assert.equal(mock.stats.requests - before, 2);
  await until(gateway, (s) => s.inFlight === 0);
});

test('a deployment at its maxConcurrent sends the overflow to the next deployment', async (t) => {
  const { gateway, mock } = await startStack(t, {
    mock: { latencyMs: 300 },
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: one } }
  - { name: two, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: two } }
models:
  - { name: pair, deployments: [ { provider: one, model: a, maxConcurrent: 1 }, { provider: two, model: b } ] }
routes: { default: pair }
`,
  });
  const results = await Promise.all(Array.from({ length: 3 }, () => postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))));
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200],
  );
  const tags = mock.stats.last.map((r) => String(r.headers['x-tag']));
  assert.equal(tags.filter((x) => x === 'one').length, 1);
  assert.equal(tags.filter((x) => x === 'two').length, 2);
  // Once the first is done, the capped deployment takes traffic again.
  const again = await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'));
  assert.equal(again.status, 200);
  assert.equal(String(mock.stats.last.at(-1)?.headers['x-tag']), 'one');
});

test('a reload that lifts a deployment cap lets its traffic through again', async (t) => {
  const yaml = (url: string, cap: string) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: one } }
  - { name: two, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: two } }
models:
  - { name: pair, deployments: [ { provider: one, model: a${cap} }, { provider: two, model: b } ] }
routes: { default: pair }
`;
  const { gateway, mock } = await startStack(t, { mock: { latencyMs: 200 }, yaml: (url) => yaml(url, ', maxConcurrent: 1') });
  await gateway.reload(parseConfig(yaml(mock.url, ''), { env: {} }));
  const results = await Promise.all(Array.from({ length: 3 }, () => postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))));
  assert.ok(results.every((r) => r.status === 200));
  const tags = mock.stats.last.map((r) => String(r.headers['x-tag']));
  assert.equal(tags.filter((x) => x === 'one').length, 3);
});

test('when every deployment of a model is at its cap, the request is shed as overloaded', async (t) => {
  const { gateway } = await startStack(t, {
    mock: { latencyMs: 300 },
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: anthropic, baseUrl: "${url}" }
models:
  - { name: single, deployments: [ { provider: one, model: a, maxConcurrent: 1 } ] }
routes: { default: single }
`,
  });
  const results = await Promise.all(Array.from({ length: 2 }, () => postJson(`${gateway.url}/v1/messages`, ask('single'))));
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 529]);
  const shed = results.find((r) => r.status === 529)!;
  assert.equal((shed.json.error as Record<string, unknown>).type, 'overloaded_error');
  assert.equal(shed.headers.get('retry-after'), '1');
});
