/**
 * Load balancing and failover on real sockets (issue 3): two providers on one
 * mock, told apart by an `x-tag` header, one of them given a fault header.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import type { MockProvider } from '../../src/mock/server.ts';
import { postJson, startStack } from './stack.ts';

const ask = (model: string) => ({ model, max_tokens: 32, messages: [{ role: 'user', content: 'Tell me about switchyards' }] });

/** Providers `one` and `two` on the same mock; `fault` goes to `one` only. */
function pairYaml(model: string, fault?: string): (url: string) => string {
  const oneHeaders = fault === undefined ? '{ x-tag: one }' : `{ x-tag: one, x-mock-fault: "${fault}" }`;
  return (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: openai, baseUrl: "${url}/v1", headers: ${oneHeaders} }
  - { name: two, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: two } }
models:
  - ${model}
routes: { default: pair }
`;
}

function tags(mock: MockProvider): string[] {
  return mock.stats.last.map((r) => String(r.headers['x-tag']));
}

function count(mock: MockProvider, tag: string): number {
  return tags(mock).filter((t) => t === tag).length;
}

test('a deployment answering 503 is failed over, skipped once its breaker opens, and probed again after the cooldown', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: pairYaml(
      `{ name: pair, breaker: { consecutiveFailures: 3, cooldownMs: 600 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`,
      'status:503',
    ),
  });
  const send = async (): Promise<void> => {
    const res = await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'));
    assert.equal(res.status, 200, res.text);
  };
  for (let i = 0; i < 3; i++) await send();
  assert.equal(count(mock, 'one'), 3);
  assert.equal(count(mock, 'two'), 3);

  // Open: the failing deployment is not even tried.
  for (let i = 0; i < 4; i++) await send();
  assert.equal(count(mock, 'one'), 3);
  assert.equal(count(mock, 'two'), 7);

  // After the cooldown one probe goes to it; it fails again and re-opens the breaker.
  await new Promise((r) => setTimeout(r, 650));
  await send();
  assert.equal(count(mock, 'one'), 4);
  await send();
  assert.equal(count(mock, 'one'), 4);
  assert.equal(count(mock, 'two'), 9);
  assert.equal(gateway.holder.current.resilience.registry.get('one/a')?.state, 'open');
});

test('a probe that succeeds after the cooldown closes the breaker and the deployment serves again', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: pairYaml(
      `{ name: pair, breaker: { consecutiveFailures: 2, cooldownMs: 400 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`,
      'fail-first:2:status:500',
    ),
  });
  for (let i = 0; i < 3; i++) assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  assert.deepEqual(tags(mock), ['one', 'two', 'one', 'two', 'two']);
  await new Promise((r) => setTimeout(r, 450));
  for (let i = 0; i < 2; i++) assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  assert.deepEqual(tags(mock).slice(5), ['one', 'one']);
  assert.equal(gateway.holder.current.resilience.registry.get('one/a')?.state, 'closed');
});

test('a 429 with retry-after takes the deployment out at once for that long', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: pairYaml(`{ name: pair, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`, '429:30'),
  });
  for (let i = 0; i < 3; i++) assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  assert.deepEqual(tags(mock), ['one', 'two', 'two', 'two']);
});

test('round-robin spreads requests across two healthy deployments', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: pairYaml(`{ name: pair, strategy: round-robin, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`),
  });
  for (let i = 0; i < 6; i++) assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  assert.deepEqual(tags(mock), ['one', 'two', 'one', 'two', 'one', 'two']);
});

test('a 400 from the first deployment is not failed over and does not open its breaker', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: pairYaml(
      `{ name: pair, breaker: { consecutiveFailures: 1, errorRate: 0.1, minRequests: 1 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`,
      'status:400',
    ),
  });
  for (let i = 0; i < 3; i++) {
    const res = await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'));
    assert.equal(res.status, 400, res.text);
  }
  assert.deepEqual(tags(mock), ['one', 'one', 'one']);
  assert.equal(gateway.holder.current.resilience.registry.get('one/a')?.state, 'closed');
});

test('a client that goes away mid-stream leaves nothing in flight on the deployment', async (t) => {
  const { gateway, mock } = await startStack(t, {
    mock: { tokensPerSecond: 20, outputTokens: 200 },
    yaml: pairYaml(`{ name: pair, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`),
  });
  const health = gateway.holder.current.resilience.registry.get('one/a')!;
  const controller = new AbortController();
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask('pair'), stream: true }),
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  const inFlight = (): number => health.inFlight;
  assert.equal(inFlight(), 1);
  controller.abort();
  const deadline = Date.now() + 5000;
  while ((mock.stats.aborted === 0 || inFlight() !== 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(mock.stats.aborted, 1);
  assert.equal(inFlight(), 0);
  // A client leaving is not the deployment's fault.
  assert.equal(health.snapshot().windowFailures, 0);
  assert.equal(health.state, 'closed');
});

test('a reload keeps an open breaker for a deployment that is still configured', async (t) => {
  const yaml = pairYaml(
    `{ name: pair, breaker: { consecutiveFailures: 1, cooldownMs: 60000 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`,
    'status:503',
  );
  const { gateway, mock } = await startStack(t, { yaml });
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  await gateway.reload(parseConfig(yaml(mock.url).replace('model: b', 'model: c'), { env: {} }));
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  assert.deepEqual(tags(mock), ['one', 'two', 'two']);
});

/** Reads a whole SSE answer from the gateway; the answer is already committed (HTTP 200). */
async function streamFrom(url: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

for (const fault of ['error-mid-stream', 'drop-mid-stream', 'truncate']) {
  test(`a stream that fails after content (${fault}) counts against the deployment's breaker`, async (t) => {
    const { gateway, mock } = await startStack(t, {
      yaml: pairYaml(
        `{ name: pair, breaker: { consecutiveFailures: 2, cooldownMs: 60000 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`,
        fault,
      ),
    });
    // Content reached the client, so there is no failover: the stream ends with an error event.
    const openai = await streamFrom(gateway.url, '/v1/chat/completions', { ...ask('pair'), stream: true });
    assert.equal(openai.status, 200);
    assert.match(openai.text, /"error"/);
    // Translated (Anthropic client, OpenAI provider) too.
    const anthropic = await streamFrom(gateway.url, '/v1/messages', { ...ask('pair'), stream: true });
    assert.equal(anthropic.status, 200);
    assert.match(anthropic.text, /event: error/);
    const health = gateway.holder.current.resilience.registry.get('one/a')!;
    assert.equal(health.snapshot().windowFailures, 2);
    assert.equal(health.state, 'open');
    assert.equal(health.inFlight, 0);
    // Two broken streams in a row opened the breaker: the next request goes to the other deployment.
    const next = await streamFrom(gateway.url, '/v1/chat/completions', { ...ask('pair'), stream: true });
    assert.equal(next.status, 200);
    assert.doesNotMatch(next.text, /"error"/);
    assert.deepEqual(tags(mock), ['one', 'one', 'two']);
  });
}

test('a 503 with retry-after takes the deployment out for that long, like a 429', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: pairYaml(`{ name: pair, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }`, 'status:503:30'),
  });
  for (let i = 0; i < 3; i++) assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  assert.deepEqual(tags(mock), ['one', 'two', 'two', 'two']);
  assert.equal(gateway.holder.current.resilience.registry.get('one/a')?.state, 'open');
});

test('a 529 with retry-after is waited out before the group is retried, and a 503 without one is not', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: solo, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: "fail-first:1:status:529:1" } }
  - { name: plain, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: "fail-first:1:status:503" } }
models:
  - { name: solo, retries: 1, deployments: [ { provider: solo, model: a } ] }
  - { name: plain, retries: 1, deployments: [ { provider: plain, model: a } ] }
routes: { default: solo }
`,
  });
  const body = (model: string) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  let started = performance.now();
  const first = await postJson(`${gateway.url}/v1/messages`, body('solo'));
  const waited = performance.now() - started;
  assert.equal(first.status, 200, first.text);
  assert.equal(mock.stats.last.filter((r) => r.path === '/v1/messages').length, 2);
  // retry-after: 1 second; the plain backoff before a first retry is at most 250 ms.
  assert.ok(waited >= 950, `retried after ${waited} ms`);
  started = performance.now();
  const second = await postJson(`${gateway.url}/v1/messages`, body('plain'));
  assert.equal(second.status, 200, second.text);
  assert.ok(performance.now() - started < 950);
});
