import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseFault, FaultSpecError } from '../../src/mock/faults.ts';
import { anthropicText, openaiText, parseSse, post, sseData, startMock, userAsks, waitFor } from './helpers.ts';

const anthropic = (extra: Record<string, unknown> = {}) => ({ model: 'm', max_tokens: 100, messages: userAsks('hello'), ...extra });
const openai = (extra: Record<string, unknown> = {}) => ({ model: 'g', messages: userAsks('hello'), ...extra });

/** Reads a body chunk by chunk until it ends or fails; returns what arrived and the failure. */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

function streamRequest(url: string, body: unknown, fault: string, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-fault': fault },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

test('status:<code> answers that status with a protocol-shaped error', async (t) => {
  const mock = await startMock(t);
  const a = await post(`${mock.url}/v1/messages`, anthropic(), { 'x-mock-fault': 'status:529' });
  assert.equal(a.status, 529);
  assert.deepEqual((a.json as { type: string; error: { type: string } }).type, 'error');
  assert.equal((a.json as { error: { type: string } }).error.type, 'overloaded_error');
  const o = await post(`${mock.url}/v1/chat/completions`, openai(), { 'x-mock-fault': 'status:503' });
  assert.equal(o.status, 503);
  assert.equal(typeof (o.json as { error: { message: string } }).error.message, 'string');
  assert.equal(o.headers.get('retry-after'), null);
  const r = await post(`${mock.url}/v1/chat/completions`, openai(), { 'x-mock-fault': 'status:503:7' });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '7');
  assert.equal(mock.stats.faults, 3);
});

test('429 sets retry-after and the protocol rate-limit reset header', async (t) => {
  const mock = await startMock(t);
  const before = Date.now();
  const a = await post(`${mock.url}/v1/messages`, anthropic(), { 'x-mock-fault': '429:7' });
  assert.equal(a.status, 429);
  assert.equal(a.headers.get('retry-after'), '7');
  const reset = Date.parse(a.headers.get('anthropic-ratelimit-requests-reset') ?? '');
  assert.ok(reset >= before + 6000 && reset <= Date.now() + 8000);
  assert.equal((a.json as { error: { type: string } }).error.type, 'rate_limit_error');
  const o = await post(`${mock.url}/v1/chat/completions`, openai(), { 'x-mock-fault': '429' });
  assert.equal(o.status, 429);
  assert.equal(o.headers.get('retry-after'), '1');
  assert.equal((o.json as { error: { type: string } }).error.type, 'rate_limit_error');
});

test('reset destroys the connection without a response and is not counted as a client abort', async (t) => {
  const mock = await startMock(t);
  await assert.rejects(streamRequest(`${mock.url}/v1/messages`, anthropic(), 'reset'), TypeError);
  await waitFor(() => mock.stats.inFlight === 0);
  assert.equal(mock.stats.inFlight, 0);
  assert.equal(mock.stats.aborted, 0);
  assert.equal(mock.stats.completed, 0);
  assert.equal(mock.stats.faults, 1);
});

test('hang never sends headers, and the request is cleaned up when the client goes away', async (t) => {
  const mock = await startMock(t);
  const controller = new AbortController();
  const pending = streamRequest(`${mock.url}/v1/chat/completions`, openai(), 'hang', controller.signal);
  await waitFor(() => mock.stats.last.length === 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  await waitFor(() => mock.stats.aborted === 1);
  assert.equal(mock.stats.aborted, 1);
  assert.equal(mock.stats.inFlight, 0);
});

test('hang-after-headers sends 200 and SSE headers, then nothing', async (t) => {
  const mock = await startMock(t);
  const controller = new AbortController();
  const res = await streamRequest(`${mock.url}/v1/messages`, anthropic({ stream: true }), 'hang-after-headers', controller.signal);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = await Promise.race([reader.read(), new Promise((resolve) => setTimeout(() => resolve('nothing'), 100))]);
  assert.equal(first, 'nothing');
  controller.abort();
  await waitFor(() => mock.stats.aborted === 1);
  assert.equal(mock.stats.aborted, 1);
});

test('malformed-sse sends a second event whose data is not JSON', async (t) => {
  const mock = await startMock(t);
  for (const [path, body] of [
    ['/v1/messages', anthropic({ stream: true })],
    ['/v1/chat/completions', openai({ stream: true })],
  ] as const) {
    const res = await post(`${mock.url}${path}`, body, { 'x-mock-fault': 'malformed-sse' });
    const messages = parseSse(res.text);
    assert.equal(messages.length, 2, path);
    JSON.parse(messages[0]?.data ?? '');
    assert.throws(() => JSON.parse(messages[1]?.data ?? ''), SyntaxError, path);
  }
  assert.equal(mock.stats.completed, 2);
});

test('error-mid-stream sends some content, then an error event, then closes', async (t) => {
  const mock = await startMock(t);
  const a = await post(`${mock.url}/v1/messages`, anthropic({ stream: true }), { 'x-mock-fault': 'error-mid-stream' });
  const events = parseSse(a.text);
  assert.ok(anthropicText(a.text).length > 0);
  assert.equal(events.at(-1)?.event, 'error');
  assert.deepEqual(JSON.parse(events.at(-1)?.data ?? ''), {
    type: 'error',
    error: { type: 'overloaded_error', message: 'mock fault: error-mid-stream' },
  });
  assert.ok(!events.some((e) => e.event === 'message_stop'));
  const o = await post(`${mock.url}/v1/chat/completions`, openai({ stream: true }), { 'x-mock-fault': 'error-mid-stream' });
  assert.ok(openaiText(o.text).length > 0);
  const last = sseData(o.text).at(-1) as { error?: { message: string } };
  assert.equal(last.error?.message, 'mock fault: error-mid-stream');
  assert.ok(!o.text.includes('[DONE]'));
});

test('error-first answers 200 with a stream whose first event is an error', async (t) => {
  const mock = await startMock(t);
  const a = await post(`${mock.url}/v1/messages`, anthropic({ stream: true }), { 'x-mock-fault': 'error-first' });
  assert.equal(a.status, 200);
  const events = parseSse(a.text);
  assert.equal(events.length, 1);
  assert.equal(events[0]?.event, 'error');
  const o = await post(`${mock.url}/v1/chat/completions`, openai({ stream: true }), { 'x-mock-fault': 'error-first' });
  assert.equal(o.status, 200);
  assert.ok((sseData(o.text)[0] as { error?: unknown }).error);
});

test('drop-mid-stream sends some content, then cuts the connection without ending the body', async (t) => {
  const mock = await startMock(t);
  const res = await streamRequest(`${mock.url}/v1/messages`, anthropic({ stream: true }), 'drop-mid-stream');
  assert.equal(res.status, 200);
  const { text, error } = await readAll(res);
  assert.ok(error !== undefined, 'the body read fails');
  assert.ok(anthropicText(text).length > 0, 'some content arrived first');
  assert.ok(!text.includes('message_stop'));
  await waitFor(() => mock.stats.inFlight === 0);
  assert.equal(mock.stats.aborted, 0, 'a cut made by the mock is not a client abort');
  // Non-streaming: half a JSON body, then the cut.
  const whole = await streamRequest(`${mock.url}/v1/chat/completions`, openai(), 'drop-mid-stream');
  const partial = await readAll(whole);
  assert.ok(partial.error !== undefined);
});

test('truncate ends the stream cleanly but without a stop reason or terminator', async (t) => {
  const mock = await startMock(t);
  const a = await post(`${mock.url}/v1/messages`, anthropic({ stream: true }), { 'x-mock-fault': 'truncate' });
  const names = parseSse(a.text).map((e) => e.event);
  assert.ok(names.includes('content_block_delta'));
  assert.ok(!names.includes('message_delta') && !names.includes('message_stop'));
  const o = await post(`${mock.url}/v1/chat/completions`, openai({ stream: true, stream_options: { include_usage: true } }), {
    'x-mock-fault': 'truncate',
  });
  assert.ok(openaiText(o.text).length > 0);
  assert.ok(!o.text.includes('[DONE]'));
  const chunks = sseData(o.text) as Array<{ choices: Array<{ finish_reason: string | null }> }>;
  assert.ok(chunks.every((c) => c.choices.length === 1 && c.choices[0]?.finish_reason === null));
  assert.equal(mock.stats.completed, 2);
});

test('no-finish ends the stream with its terminator but never gives a stop reason', async (t) => {
  const mock = await startMock(t);
  const a = await post(`${mock.url}/v1/messages`, anthropic({ stream: true }), { 'x-mock-fault': 'no-finish' });
  const names = parseSse(a.text).map((e) => e.event);
  assert.ok(names.includes('content_block_delta'));
  assert.ok(!names.includes('message_delta'));
  assert.equal(names.at(-1), 'message_stop');
  const o = await post(`${mock.url}/v1/chat/completions`, openai({ stream: true }), { 'x-mock-fault': 'no-finish' });
  assert.ok(openaiText(o.text).length > 0);
  assert.ok(o.text.trimEnd().endsWith('data: [DONE]'));
  const chunks = (sseData(o.text) as unknown[]).filter((c): c is { choices: Array<{ finish_reason: string | null }> } => typeof c === 'object' && c !== null);
  assert.ok(chunks.every((c) => c.choices.every((ch) => ch.finish_reason === null)));
});

test('fixture:<name> replays the recorded stream verbatim', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mock-fixtures-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'openai'));
  const recorded = 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"héllo wörld ✓"}}]}\r\n\r\ndata: [DONE]\r\n\r\n';
  writeFileSync(join(dir, 'openai', 'sample.sse'), recorded);
  const mock = await startMock(t, { fixturesDir: dir });
  const res = await post(`${mock.url}/v1/chat/completions`, openai({ stream: true }), { 'x-mock-fault': 'fixture:sample' });
  assert.equal(res.status, 200);
  assert.equal(res.text, recorded);
  const missing = await post(`${mock.url}/v1/messages`, anthropic({ stream: true }), { 'x-mock-fault': 'fixture:sample' });
  assert.equal(missing.status, 500);
  assert.equal((missing.json as { type: string }).type, 'error');
});

test('fail-first:<n>:<spec> fails the first n requests of this instance, then succeeds', async (t) => {
  const mock = await startMock(t, { fault: 'fail-first:2:status:503' });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await post(`${mock.url}/v1/messages`, anthropic())).status);
  assert.deepEqual(statuses, [503, 503, 200, 200]);
  await post(`${mock.url}/_mock/reset`, {});
  assert.equal((await post(`${mock.url}/v1/messages`, anthropic())).status, 503, 'reset restarts the count');
  const other = await startMock(t, { fault: 'fail-first:1:reset' });
  await assert.rejects(post(`${other.url}/v1/chat/completions`, openai()));
  assert.equal((await post(`${other.url}/v1/chat/completions`, openai())).status, 200);
});

test('the x-mock-fault header wins over the default fault, and setOptions changes the default', async (t) => {
  const mock = await startMock(t, { fault: 'status:500' });
  assert.equal((await post(`${mock.url}/v1/messages`, anthropic())).status, 500);
  assert.equal((await post(`${mock.url}/v1/messages`, anthropic(), { 'x-mock-fault': 'none' })).status, 200);
  mock.setOptions({ fault: 'status:418' });
  assert.equal((await post(`${mock.url}/v1/messages`, anthropic())).status, 418);
  mock.setOptions({ fault: undefined });
  assert.equal((await post(`${mock.url}/v1/messages`, anthropic())).status, 200);
  assert.throws(() => mock.setOptions({ fault: 'explode' }), FaultSpecError);
});

test('a malformed x-mock-fault header gets a 400 that says why', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, anthropic(), { 'x-mock-fault': 'fixture:../../etc/passwd' });
  assert.equal(res.status, 400);
  assert.match((res.json as { error: { message: string } }).error.message, /fixture/);
});

test('parseFault understands every documented spec', () => {
  assert.deepEqual(parseFault('status:502'), { kind: 'status', status: 502 });
  assert.deepEqual(parseFault('503'), { kind: 'status', status: 503 });
  assert.deepEqual(parseFault('status:503:7'), { kind: 'status', status: 503, retryAfterSeconds: 7 });
  assert.deepEqual(parseFault('fail-first:1:status:529:2'), { kind: 'fail-first', count: 1, then: { kind: 'status', status: 529, retryAfterSeconds: 2 } });
  assert.deepEqual(parseFault('status:429'), { kind: 'rate_limit', retryAfterSeconds: 1 });
  assert.deepEqual(parseFault('429:30'), { kind: 'rate_limit', retryAfterSeconds: 30 });
  for (const kind of ['reset', 'hang', 'hang-after-headers', 'malformed-sse', 'error-mid-stream', 'error-first', 'drop-mid-stream', 'no-finish']) {
    assert.deepEqual(parseFault(kind), { kind });
  }
  assert.deepEqual(parseFault('fixture:text-with-usage'), { kind: 'fixture', name: 'text-with-usage' });
  assert.deepEqual(parseFault('fail-first:3:429:2'), { kind: 'fail-first', count: 3, then: { kind: 'rate_limit', retryAfterSeconds: 2 } });
  assert.deepEqual(parseFault(' none '), { kind: 'none' });
  for (const bad of ['status:200', 'status:abc', 'status:503:x', '429:x', 'fail-first:x:reset', 'fail-first:1:fail-first:1:reset', 'boom']) {
    assert.throws(() => parseFault(bad), FaultSpecError, bad);
  }
});
