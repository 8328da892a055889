/**
 * The chat routes' own intake (src/server/chat-intake.ts), on a real socket:
 * the edges bad-input.test.ts does not reach: content-type parameters, a
 * body with no content type, a declared length over the limit refused before
 * any body is sent, a chunked body that grows past it, other methods.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { chatBodyProblem } from '../../src/server/chat-intake.ts';
import { postJson, startStack } from './stack.ts';

/** Sends raw bytes on a fresh connection; resolves with everything the gateway sent back until it closed or `untilMs`. */
function rawExchange(url: string, bytes: string | Buffer, untilMs = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, untilMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const valid = JSON.stringify({ model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

test('application/json with parameters and in any case is accepted', async (t) => {
  const { gateway } = await startStack(t);
  for (const type of ['application/json; charset=utf-8', 'Application/JSON', ' application/json ;charset=UTF-8']) {
    const res = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': type }, body: valid });
    assert.equal(res.status, 200, `${type}: ${await res.text()}`);
    await res.arrayBuffer().catch(() => undefined);
  }
});

test('a body without a content type gets a 400 in the protocol shape; an empty one says it is empty', async (t) => {
  const { gateway } = await startStack(t);
  const noType = await rawExchange(
    gateway.url,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(valid)}\r\nConnection: close\r\n\r\n${valid}`,
  );
  assert.match(noType, /^HTTP\/1\.1 400 /);
  assert.match(noType, /SWY_ERR_BAD_CONTENT_TYPE/);
  assert.match(noType, /x-request-id: /i);
  const empty = await rawExchange(gateway.url, `POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  assert.match(empty, /^HTTP\/1\.1 400 /);
  assert.match(empty, /"type":"error"/);
  assert.match(empty, /empty/);
});

test('a declared length over the limit gets a 413 before any body is sent, and the connection closes', async (t) => {
  const { gateway } = await startStack(t);
  // The stack's limit is 1 MiB; no body follows the headers.
  const reply = await rawExchange(gateway.url, `POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.match(reply, /request_too_large/);
  assert.match(reply, /connection: close/i);
  const ok = await postJson(`${gateway.url}/v1/messages`, JSON.parse(valid));
  assert.equal(ok.status, 200);
});

test('a chunked body that grows past the limit gets a 413', async (t) => {
  const { gateway } = await startStack(t);
  const piece = 'x'.repeat(256 * 1024);
  const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
  const reply = await rawExchange(
    gateway.url,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(6)}0\r\n\r\n`,
  );
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.match(reply, /SWY_ERR_BODY_TOO_LARGE/);
});

test('a request refused at the door still gets its log line and is counted in /metrics', async (t) => {
  const { gateway, logs } = await startStack(t);
  const refusals: Array<{ path: string; type: string; body: string; status: number; code: string }> = [
    { path: '/v1/messages', type: 'application/json', body: '{"model":"claude-mock",', status: 400, code: 'SWY_ERR_BAD_JSON' },
    { path: '/v1/chat/completions', type: 'text/plain', body: valid, status: 400, code: 'SWY_ERR_BAD_CONTENT_TYPE' },
    { path: '/v1/messages', type: 'application/json', body: JSON.stringify({ model: 'claude-mock' }), status: 400, code: 'SWY_ERR_INVALID_REQUEST' },
    { path: '/v1/messages', type: 'application/json', body: JSON.stringify({ model: 'claude-mock', messages: [], pad: 'x'.repeat(1_100_000) }), status: 413, code: 'SWY_ERR_BODY_TOO_LARGE' },
  ];
  for (const r of refusals) {
    const res = await fetch(`${gateway.url}${r.path}`, { method: 'POST', headers: { 'content-type': r.type }, body: r.body });
    assert.equal(res.status, r.status, r.code);
    await res.arrayBuffer();
    const requestId = res.headers.get('x-request-id');
    assert.ok(requestId !== null);
    // The line is written once the response has closed, with the other requests of that turn.
    for (let i = 0; i < 50 && !logs.some((l) => l.requestId === requestId); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const line = logs.find((l) => l.msg === 'request' && l.requestId === requestId);
    assert.ok(line, `a request line for ${r.code}`);
    assert.equal(line.status, r.status);
    assert.equal(line.error, r.code);
    assert.equal(line.surface, r.path === '/v1/messages' ? 'anthropic' : 'openai');
  }
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  const refused = metrics.split('\n').filter((l) => l.startsWith('switchyard_requests_total{') && l.includes('status_class="4xx"'));
  assert.equal(
    refused.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0),
    refusals.length,
    refused.join('\n'),
  );
});

test('other methods on the chat paths still get a 405 with Allow', async (t) => {
  const { gateway } = await startStack(t);
  const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'GET' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  await res.arrayBuffer();
});

test('the body checks word their problems like the schema validator', () => {
  assert.equal(chatBodyProblem([]), 'body must be object');
  assert.equal(chatBodyProblem(null), 'body must be object');
  assert.equal(chatBodyProblem({}), "body must have required property 'model', body must have required property 'messages'");
  assert.equal(chatBodyProblem({ model: 1, messages: [] }), 'body/model must be string');
  assert.equal(chatBodyProblem({ model: '', messages: [] }), 'body/model must NOT have fewer than 1 characters');
  assert.equal(chatBodyProblem({ model: 'm', messages: 'hi' }), 'body/messages must be array');
  assert.equal(chatBodyProblem({ model: 'm', messages: [] }), undefined);
});

test('passthrough sends the client bytes with only the model rewritten, and re-serialises what it cannot rewrite in place', async (t) => {
  const { gateway, mock } = await startStack(t);
  const send = async (text: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    assert.equal(res.status, 200, await res.text());
    return mock.stats.last.at(-1)!.body as Record<string, unknown>;
  };
  // Unusual spacing, a nested "model", an unknown field: all kept; only the top-level model changes.
  const spaced = '{ "metadata" : { "model" : "keep-me" } ,\n "model" :  "claude-mock", "max_tokens": 16,\n "messages": [{"role": "user", "content": "hi \\"model\\""}], "x_unknown": [1, {"a": null}] }';
  assert.deepEqual(await send(spaced), { ...(JSON.parse(spaced) as object), model: 'upstream-claude' });
  // Two model keys: JSON.parse keeps the last; the upstream must see that one, rewritten, once.
  const twice = '{"model":"gpt-mock","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"model":"claude-mock"}';
  const upstream = await send(twice);
  assert.equal(upstream.model, 'upstream-claude');
});
