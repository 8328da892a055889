/**
 * Timeouts per attempt, the total deadline and group retries on real sockets
 * (issue 3, "When a deployment fails"). Timeouts are a few hundred ms so the
 * file stays fast; each test asserts the answer came well before the defaults.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { SseParser } from '../../src/protocols/sse.ts';
import { postJson, startStack } from './stack.ts';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  events: Array<{ event: string | undefined; data: string }>;
  ms: number;
}

async function send(url: string, path: string, model: string, stream: boolean): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 64, stream, messages: [{ role: 'user', content: 'hello' }] }),
  });
  const text = await res.text();
  const parser = new SseParser();
  const events = stream ? [...parser.push(text), ...parser.end()] : [];
  return { status: res.status, headers: res.headers, text, events, ms: performance.now() - started };
}

/** Providers on the mock: `bad` carries `fault`, `good` none; `model` lines are the models section. */
function yaml(fault: string, models: string, extraProviders = ''): (url: string) => string {
  return (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: bad, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: "${fault}" } }
  - { name: good, protocol: anthropic, baseUrl: "${url}" }
  - { name: bad-oai, protocol: openai, baseUrl: "${url}/v1", headers: { x-mock-fault: "${fault}" } }
${extraProviders}
models:
${models}
routes: { default: pair }
`;
}

test('a deployment that never answers is failed over after firstByteMs and the client gets a clean answer', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml('hang', `  - { name: pair, timeouts: { firstByteMs: 200 }, deployments: [ { provider: bad, model: first }, { provider: good, model: second } ] }`),
  });
  for (const stream of [false, true]) {
    for (const path of ['/v1/messages', '/v1/chat/completions']) {
      const label = `${path} stream=${stream}`;
      const answer = await send(gateway.url, path, 'pair', stream);
      assert.equal(answer.status, 200, `${label}: ${answer.text}`);
      assert.ok(answer.ms >= 190 && answer.ms < 2000, `${label}: ${answer.ms} ms`);
      assert.ok(!answer.text.includes('error'), label);
      assert.equal((mock.stats.last.at(-1)!.body as { model: string }).model, 'second', label);
    }
  }
});

test('an upstream that hangs after its headers is a timeout error in the client protocol, not a hang', async (t) => {
  const { gateway } = await startStack(t, {
    yaml: yaml(
      'hang-after-headers',
      `  - { name: pair, retries: 0, timeouts: { idleMs: 200 }, deployments: [ { provider: bad, model: a } ] }
  - { name: oai, retries: 0, timeouts: { idleMs: 200 }, deployments: [ { provider: bad-oai, model: a } ] }`,
    ),
  });
  for (const stream of [true, false]) {
    const anthropic = await send(gateway.url, '/v1/messages', 'pair', stream);
    assert.equal(anthropic.status, 504, anthropic.text);
    assert.equal((JSON.parse(anthropic.text) as { error: { type: string } }).error.type, 'timeout_error');
    assert.ok(anthropic.ms < 2000, `${anthropic.ms} ms`);
    const openai = await send(gateway.url, '/v1/chat/completions', 'oai', stream);
    assert.equal(openai.status, 504, openai.text);
    assert.ok(openai.ms < 2000, `${openai.ms} ms`);
  }
});

test('a body that stalls after its headers fails over, streamed or not, when nothing reached the client', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml('hang-after-headers', `  - { name: pair, timeouts: { idleMs: 200 }, deployments: [ { provider: bad, model: first }, { provider: good, model: second } ] }`),
  });
  for (const stream of [false, true]) {
    const answer = await send(gateway.url, '/v1/messages', 'pair', stream);
    assert.equal(answer.status, 200, answer.text);
    assert.ok(!answer.text.includes('error'));
    assert.ok(answer.ms >= 190 && answer.ms < 2000, `${answer.ms} ms`);
    assert.equal((mock.stats.last.at(-1)!.body as { model: string }).model, 'second');
  }
});

/** An Anthropic upstream that sends one content delta and then nothing, on a real socket. */
async function startStaller(t: TestContext): Promise<string> {
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    req.resume();
    open.add(res);
    res.on('close', () => open.delete(res));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } };
    res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`);
    res.write(`event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`);
    res.write(`event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } })}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const res of open) res.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a stream that stalls after content ends with a timeout error event after idleMs', async (t) => {
  const stallUrl = await startStaller(t);
  const { gateway } = await startStack(t, {
    yaml: yaml(
      'none',
      `  - { name: pair, timeouts: { idleMs: 250 }, deployments: [ { provider: staller, model: a }, { provider: good, model: b } ] }`,
      `  - { name: staller, protocol: anthropic, baseUrl: "${stallUrl}" }`,
    ),
  });
  const anthropic = await send(gateway.url, '/v1/messages', 'pair', true);
  assert.equal(anthropic.status, 200);
  assert.ok(anthropic.text.includes('Hello'), 'the content before the stall reached the client');
  const last = anthropic.events.at(-1)!;
  assert.equal(last.event, 'error', anthropic.text);
  assert.equal((JSON.parse(last.data) as { error: { type: string } }).error.type, 'timeout_error');
  assert.ok(anthropic.ms >= 240 && anthropic.ms < 2000, `${anthropic.ms} ms`);

  const openai = await send(gateway.url, '/v1/chat/completions', 'pair', true);
  assert.equal(openai.status, 200);
  assert.ok(openai.text.includes('Hello'));
  assert.ok(!openai.text.includes('[DONE]'), 'never a clean end');
  assert.ok(openai.text.includes('error'), openai.text);
});

test('the total deadline caps every attempt together, before and after content', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml(
      'hang',
      `  - { name: pair, timeouts: { firstByteMs: 300, totalMs: 450 }, deployments: [ { provider: bad, model: a }, { provider: bad-oai, model: b }, { provider: good, model: c } ] }
  - { name: slow, timeouts: { totalMs: 300 }, deployments: [ { provider: good, model: c } ] }`,
    ),
  });
  // 300 ms on the first deployment, the 150 ms left on the second, and no third attempt.
  const hung = await send(gateway.url, '/v1/messages', 'pair', false);
  assert.equal(hung.status, 504, hung.text);
  assert.equal((JSON.parse(hung.text) as { error: { type: string } }).error.type, 'timeout_error');
  assert.ok(hung.ms >= 430 && hung.ms < 1500, `${hung.ms} ms`);
  assert.equal(mock.stats.last.length, 2);

  // A stream that keeps flowing is still cut at the deadline, with an error event.
  mock.setOptions({ tokensPerSecond: 20 });
  const flowing = await send(gateway.url, '/v1/messages', 'slow', true);
  assert.equal(flowing.status, 200);
  assert.equal(flowing.events.at(-1)?.event, 'error', flowing.text);
  assert.ok(flowing.ms >= 280 && flowing.ms < 1000, `${flowing.ms} ms`);
});

const ask = (model: string) => ({ model, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });

test('a 503 from the only deployment is retried once and the retry answers', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml('fail-first:1:status:503', `  - { name: pair, retries: 1, deployments: [ { provider: bad, model: a } ] }`),
  });
  const res = await postJson(`${gateway.url}/v1/messages`, ask('pair'));
  assert.equal(res.status, 200, res.text);
  assert.equal(mock.stats.last.length, 2);
});

test('a 429 with retry-after is waited out when the deadline allows', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml('fail-first:1:429:1', `  - { name: pair, deployments: [ { provider: bad, model: a } ] }`),
  });
  const started = performance.now();
  const res = await postJson(`${gateway.url}/v1/messages`, ask('pair'));
  const ms = performance.now() - started;
  assert.equal(res.status, 200, res.text);
  assert.ok(ms >= 950 && ms < 3000, `${ms} ms`);
  assert.equal(mock.stats.last.length, 2);
});

test('a 429 whose retry-after does not fit in the deadline goes back to the client with its retry-after', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml('429:1', `  - { name: pair, timeouts: { totalMs: 500 }, deployments: [ { provider: bad, model: a } ] }`),
  });
  const started = performance.now();
  const res = await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'));
  assert.equal(res.status, 429, res.text);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.ok(performance.now() - started < 500);
  assert.equal(mock.stats.last.length, 1);
});

test('a 400 is never retried', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: yaml('status:400', `  - { name: pair, retries: 3, deployments: [ { provider: bad, model: a }, { provider: good, model: b } ] }`),
  });
  const res = await postJson(`${gateway.url}/v1/messages`, ask('pair'));
  assert.equal(res.status, 400);
  assert.equal(mock.stats.last.length, 1);
});

test('a client that goes away during a backoff cancels it at once', async (t) => {
  const { gateway, mock, logs } = await startStack(t, {
    yaml: yaml('429:5', `  - { name: pair, deployments: [ { provider: bad, model: a } ] }`),
  });
  const controller = new AbortController();
  const pending = fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ask('pair')),
    signal: controller.signal,
  }).catch(() => undefined);
  for (let i = 0; i < 100 && mock.stats.last.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  controller.abort();
  await pending;
  // The request is over (its log line is written) long before the 5 s retry-after.
  const finished = (): boolean => logs.some((l) => l.msg === 'request');
  for (let i = 0; i < 100 && !finished(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(finished(), 'the request finished without waiting out its backoff');
  assert.equal(mock.stats.last.length, 1);
});

/** `first` takes its latency and fault from the mock defaults; `second` always answers at once. */
function learnedYaml(model: string): (url: string) => string {
  return (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: first, protocol: anthropic, baseUrl: "${url}" }
  - { name: second, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: none, x-mock-latency-ms: "0" } }
models:
  - ${model}
routes: { default: pair }
`;
}

async function logFor(logs: Array<Record<string, unknown>>, n: number): Promise<Record<string, unknown>> {
  const requests = (): Array<Record<string, unknown>> => logs.filter((l) => l.requestId !== undefined && l.surface !== undefined);
  for (let i = 0; i < 200 && requests().length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return requests()[n - 1]!;
}

test('once a deployment has a learned first-byte latency, its first-byte timeout tightens to factor × p99', async (t) => {
  const { gateway, mock, logs } = await startStack(t, {
    mock: { latencyMs: 60 },
    yaml: learnedYaml(
      `{ name: pair, timeouts: { firstByteMs: 20000, learned: { percentile: 0.99, factor: 2, floorMs: 150, minSamples: 5 } }, deployments: [ { provider: first, model: a }, { provider: second, model: b } ] }`,
    ),
  });
  for (let i = 0; i < 5; i++) {
    const answer = await send(gateway.url, '/v1/messages', 'pair', false);
    assert.equal(answer.status, 200, answer.text);
  }
  const learned = gateway.holder.current.resilience.registry.get('first/a')!.firstByte.percentile(0.99)!;
  assert.ok(learned >= 55 && learned < 2000, `learned p99 ${learned}`);
  // Now it hangs: it is given max(150, 2 × p99), not the configured 20 s.
  mock.setOptions({ fault: 'hang' });
  const answer = await send(gateway.url, '/v1/messages', 'pair', true);
  assert.equal(answer.status, 200, answer.text);
  assert.ok(answer.ms < 10_000, `${answer.ms} ms`);
  const log = await logFor(logs, 6);
  assert.equal(log.deployment, 'second/b');
  const [timedOut] = log.attempts as Array<{ deployment: string; error: string; durationMs: number }>;
  assert.equal(timedOut!.deployment, 'first/a');
  assert.equal(timedOut!.error, 'SWY_ERR_UPSTREAM_TIMEOUT');
  const expected = Math.max(150, 2 * learned);
  assert.ok(timedOut!.durationMs >= expected - 5 && timedOut!.durationMs < expected + 3000, `${timedOut!.durationMs} ms vs ${expected}`);
});

test('the adaptive per-token allowance is multiplied by the deployment perOutputTokenMultiplier', async (t) => {
  // 100 ms + 2 ms × 64 tokens = 228 ms without the multiplier; × 10 it is 1380 ms.
  const { gateway, logs } = await startStack(t, {
    mock: { latencyMs: 600 },
    yaml: learnedYaml(
      `{ name: pair, timeouts: { firstByteMs: { baseMs: 100, perOutputTokenMs: 2, maxMs: 20000 } }, deployments: [ { provider: first, model: a, perOutputTokenMultiplier: 10 }, { provider: second, model: b } ] }
  - { name: plain, timeouts: { firstByteMs: { baseMs: 100, perOutputTokenMs: 2, maxMs: 20000 } }, deployments: [ { provider: first, model: a }, { provider: second, model: b } ] }`,
    ),
  });
  const slowModel = await send(gateway.url, '/v1/messages', 'pair', false);
  assert.equal(slowModel.status, 200, slowModel.text);
  assert.equal((await logFor(logs, 1)).deployment, 'first/a');
  const plain = await send(gateway.url, '/v1/messages', 'plain', false);
  assert.equal(plain.status, 200, plain.text);
  assert.equal((await logFor(logs, 2)).deployment, 'second/b');
});
