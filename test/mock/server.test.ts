import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Agent, request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { StreamPlayer } from '../../src/mock/player.ts';
import { startMockProvider } from '../../src/mock/server.ts';
import { post, startMock, userAsks, waitFor } from './helpers.ts';

const anthropic = (extra: Record<string, unknown> = {}) => ({ model: 'm', max_tokens: 1000, messages: userAsks('hello'), ...extra });

test('counts requests, completions and paths, and exposes them at /_mock/stats', async (t) => {
  const mock = await startMock(t);
  await post(`${mock.url}/v1/messages`, anthropic());
  await post(`${mock.url}/v1/chat/completions`, { model: 'g', messages: userAsks('x'), stream: true });
  await fetch(`${mock.url}/health`).then((r) => r.text());
  await waitFor(() => mock.stats.completed === 3);
  assert.equal(mock.stats.requests, 3);
  assert.equal(mock.stats.completed, 3);
  assert.equal(mock.stats.inFlight, 0);
  assert.deepEqual({ ...mock.stats.byPath }, { '/v1/messages': 1, '/v1/chat/completions': 1, '/health': 1 });
  const remote = (await (await fetch(`${mock.url}/_mock/stats`)).json()) as { requests: number; last: Array<{ path: string; body: unknown }> };
  assert.equal(remote.requests, 3, 'control endpoints are not counted');
  assert.deepEqual(remote.last[0]?.body, anthropic());
  assert.equal(remote.last[2]?.path, '/health');
});

test('keeps the last 50 requests with their parsed bodies, and /_mock/reset clears the stats', async (t) => {
  const mock = await startMock(t, { outputTokens: 1 });
  for (let i = 0; i < 55; i++) await post(`${mock.url}/v1/messages`, anthropic({ messages: userAsks(`n${i}`) }));
  assert.equal(mock.stats.last.length, 50);
  const first = mock.stats.last[0];
  assert.equal(first?.method, 'POST');
  assert.equal(first?.headers['content-type'], 'application/json');
  assert.deepEqual((first?.body as { messages: unknown }).messages, userAsks('n5'));
  const reset = await post(`${mock.url}/_mock/reset`, '');
  assert.equal(reset.status, 200);
  assert.equal(mock.stats.requests, 0);
  assert.equal(mock.stats.completed, 0);
  assert.equal(mock.stats.last.length, 0);
  assert.deepEqual({ ...mock.stats.byPath }, {});
});

test('counts a client that goes away mid-stream as one abort, not a completion', async (t) => {
  const mock = await startMock(t, { tokensPerSecond: 50, outputTokens: 200 });
  const controller = new AbortController();
  const res = await fetch(`${mock.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anthropic({ stream: true })),
    signal: controller.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  assert.equal(mock.stats.inFlight, 1);
  controller.abort();
  await waitFor(() => mock.stats.aborted > 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(mock.stats.aborted, 1);
  assert.equal(mock.stats.completed, 0);
  assert.equal(mock.stats.inFlight, 0);
});

test('counts an abort during the latency wait, before any header was sent', async (t) => {
  const mock = await startMock(t, { latencyMs: 10_000 });
  const controller = new AbortController();
  const pending = fetch(`${mock.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'g', messages: userAsks('x') }),
    signal: controller.signal,
  });
  await waitFor(() => mock.stats.last.length === 1);
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  await waitFor(() => mock.stats.aborted === 1);
  assert.equal(mock.stats.aborted, 1);
  assert.equal(mock.stats.inFlight, 0);
});

test('requires the API key when one is set, from x-api-key or a Bearer token', async (t) => {
  const mock = await startMock(t, { requireApiKey: 'sk-mock' });
  const missing = await post(`${mock.url}/v1/messages`, anthropic());
  assert.equal(missing.status, 401);
  assert.equal((missing.json as { error: { type: string } }).error.type, 'authentication_error');
  const wrong = await post(`${mock.url}/v1/chat/completions`, { model: 'g', messages: userAsks('x') }, { authorization: 'Bearer sk-nope' });
  assert.equal(wrong.status, 401);
  assert.equal((wrong.json as { error: { type: string } }).error.type, 'authentication_error');
  assert.equal((await post(`${mock.url}/v1/messages`, anthropic(), { 'x-api-key': 'sk-mock' })).status, 200);
  const bearer = await post(`${mock.url}/v1/chat/completions`, { model: 'g', messages: userAsks('x') }, { authorization: 'Bearer sk-mock' });
  assert.equal(bearer.status, 200);
  assert.equal((await fetch(`${mock.url}/v1/models`)).status, 401);
  assert.equal((await fetch(`${mock.url}/health`)).status, 200, 'health needs no key');
});

test('lists models in a shape both OpenAI and Anthropic clients read', async (t) => {
  const mock = await startMock(t);
  const body = (await (await fetch(`${mock.url}/v1/models`)).json()) as {
    object: string;
    data: Array<Record<string, unknown>>;
    has_more: boolean;
  };
  assert.equal(body.object, 'list');
  assert.equal(body.has_more, false);
  assert.ok(body.data.length > 0);
  for (const model of body.data) {
    assert.equal(model['object'], 'model');
    assert.equal(model['type'], 'model');
    assert.equal(typeof model['id'], 'string');
    assert.equal(typeof model['display_name'], 'string');
    assert.equal(typeof model['created'], 'number');
    assert.equal(typeof model['owned_by'], 'string');
  }
});

test('answers unknown paths with 404 and wrong methods with 405', async (t) => {
  const mock = await startMock(t);
  assert.equal((await fetch(`${mock.url}/v2/nothing`)).status, 404);
  assert.equal((await fetch(`${mock.url}/v1/messages`)).status, 405);
  assert.equal((await fetch(`${mock.url}/v1/chat/completions`, { method: 'DELETE' })).status, 405);
});

test('waits latencyMs before the headers and ttftMs more before the first content', async (t) => {
  const mock = await startMock(t, { latencyMs: 60, ttftMs: 80 });
  const started = performance.now();
  const res = await fetch(`${mock.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anthropic({ stream: true })),
  });
  const headersAt = performance.now() - started;
  let text = '';
  let contentAt = 0;
  const decoder = new TextDecoder();
  for await (const chunk of res.body as ReadableStream<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (contentAt === 0 && text.includes('content_block_start')) contentAt = performance.now() - started;
  }
  assert.ok(headersAt >= 55, `headers after ${headersAt}ms`);
  assert.ok(contentAt >= 135, `first content after ${contentAt}ms`);
  assert.ok(contentAt < 2000, `first content after ${contentAt}ms`);
});

test('paces output at tokensPerSecond, and per-request headers override the options', async (t) => {
  const mock = await startMock(t);
  const body = { model: 'g', messages: userAsks('x'), stream: true };
  const started = performance.now();
  const paced = await post(`${mock.url}/v1/chat/completions`, body, { 'x-mock-tps': '100', 'x-mock-tokens': '10' });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 90, `10 tokens at 100/s took ${elapsed}ms`);
  assert.ok(elapsed < 2000, `10 tokens at 100/s took ${elapsed}ms`);
  assert.equal((paced.text.match(/"content":"[^"]+"/g) ?? []).length, 10);
  const delayed = performance.now();
  await post(`${mock.url}/v1/chat/completions`, { ...body, stream: false }, { 'x-mock-latency-ms': '50', 'x-mock-ttft-ms': '30' });
  assert.ok(performance.now() - delayed >= 75);
  const bad = await post(`${mock.url}/v1/chat/completions`, body, { 'x-mock-tps': 'fast' });
  assert.equal(bad.status, 400);
});

test('keeps connections alive between requests', async (t) => {
  const mock = await startMock(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const once = () =>
    new Promise<boolean>((resolve, reject) => {
      const req = request(`${mock.url}/health`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(req.reusedSocket));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await once(), false);
  assert.equal(await once(), true);
});

test('close() ends open connections, hanging requests included, without waiting for them', async (t) => {
  const mock = await startMock(t, { fault: 'hang' });
  const pending = fetch(`${mock.url}/v1/messages`, { method: 'POST', body: JSON.stringify(anthropic()) });
  await waitFor(() => mock.stats.last.length === 1);
  const started = performance.now();
  await mock.close();
  assert.ok(performance.now() - started < 1000);
  await assert.rejects(pending);
});

test('writes one log line per finished request when a logger is given', async (t) => {
  const lines: string[] = [];
  const mock = await startMock(t, { logger: (line) => lines.push(line) });
  await post(`${mock.url}/v1/messages`, anthropic());
  await waitFor(() => lines.length === 1);
  assert.match(lines[0] ?? '', /^POST \/v1\/messages 200 completed \d+ms$/);
});

test('refuses invalid options at start and in setOptions', async (t) => {
  await assert.rejects(startMockProvider({ outputTokens: 0 }), RangeError);
  await assert.rejects(startMockProvider({ latencyMs: -1 }), RangeError);
  const mock = await startMock(t);
  assert.throws(() => mock.setOptions({ tokensPerSecond: Number.NaN }), RangeError);
  mock.setOptions({ outputTokens: 2 });
  const res = await post(`${mock.url}/v1/messages`, anthropic());
  assert.equal((res.json as { content: Array<{ text: string }> }).content[0]?.text, 'Mock reply');
});

/** A stand-in response whose socket buffer is always full: every write asks the writer to wait for 'drain'. */
class FullResponse extends EventEmitter {
  writes: string[] = [];
  ended: string | undefined;
  write(data: string | Buffer): boolean {
    this.writes.push(data.toString());
    return false;
  }
  end(data?: string): void {
    this.ended = data ?? '';
  }
}

test('the stream player writes nothing more until the response drains', () => {
  const res = new FullResponse();
  const frames = ['a', 'b', 'c'].map((data) => ({ data: Buffer.from(data), tokens: 1 }));
  const player = new StreamPlayer(res as unknown as ServerResponse, frames, {
    contentStart: 0,
    ttftMs: 0,
    tokensPerSecond: 0,
    ending: 'end',
    onDestroy: () => {},
  });
  player.start();
  assert.deepEqual(res.writes, ['a']);
  res.emit('drain');
  assert.deepEqual(res.writes, ['a', 'b']);
  player.cancel();
  res.emit('drain');
  assert.deepEqual(res.writes, ['a', 'b'], 'a cancelled player stops listening');
  assert.equal(res.ended, undefined);
});

test('the stream player joins frames that are due together into one write', () => {
  const res = new FullResponse();
  const frames = ['a', 'b', 'c'].map((data) => ({ data, tokens: 1 }));
  new StreamPlayer(res as unknown as ServerResponse, frames, {
    contentStart: 1,
    ttftMs: 0,
    tokensPerSecond: 0,
    ending: 'end',
    onDestroy: () => {},
  }).start();
  assert.deepEqual(res.writes, []);
  assert.equal(res.ended, 'abc');
});

test('a cancelled paced player leaves no timer behind', () => {
  const res = new FullResponse();
  res.write = (data: string) => {
    res.writes.push(data);
    return true;
  };
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
  const before = timers();
  const player = new StreamPlayer(res as unknown as ServerResponse, [{ data: 'x', tokens: 1 }], {
    contentStart: 0,
    ttftMs: 60_000,
    tokensPerSecond: 0,
    ending: 'end',
    onDestroy: () => {},
  });
  player.start();
  assert.equal(timers(), before + 1);
  player.cancel();
  assert.equal(timers(), before);
  assert.deepEqual(res.writes, []);
});
