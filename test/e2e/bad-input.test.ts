import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { defaultYaml, postJson, startStack } from './stack.ts';

function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer }): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const valid = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

test('bad input gets a 400 in the Anthropic shape with a request id, and the gateway keeps serving', async (t) => {
  const { gateway } = await startStack(t);
  const url = `${gateway.url}/v1/messages`;
  const cases: Array<{ name: string; body: string | Buffer; contentType?: string; code: string }> = [
    { name: 'malformed JSON', body: '{"model": "x", ', code: 'SWY_ERR_BAD_JSON' },
    { name: 'empty body', body: '', code: 'SWY_ERR_EMPTY_BODY' },
    { name: 'wrong content type', body: JSON.stringify(valid), contentType: 'text/plain', code: 'SWY_ERR_BAD_CONTENT_TYPE' },
    { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"model":"x","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]), code: 'SWY_ERR_BAD_UTF8' },
    { name: 'absurd nesting', body: `{"model":"x","messages":${'['.repeat(5000)}${']'.repeat(5000)}}`, code: 'SWY_ERR_TOO_DEEP' },
    { name: 'missing model', body: JSON.stringify({ messages: [] }), code: 'model' },
    { name: 'messages not an array', body: JSON.stringify({ model: 'x', messages: 'hello' }), code: 'messages' },
  ];
  for (const c of cases) {
    const body = Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body);
    const res = await rawRequest(url, { headers: { 'content-type': c.contentType ?? 'application/json', 'content-length': String(body.length) }, body });
    assert.equal(res.status, 400, `${c.name}: ${res.body}`);
    const json = JSON.parse(res.body) as { type: string; error: { type: string; message: string } };
    assert.equal(json.type, 'error', c.name);
    assert.equal(json.error.type, 'invalid_request_error', c.name);
    assert.ok(typeof res.headers['x-request-id'] === 'string' && res.headers['x-request-id'].length > 0, `${c.name}: request id`);
    if (c.code.startsWith('SWY_')) assert.ok(json.error.message.length > 0);
    else assert.match(json.error.message, new RegExp(c.code), c.name);
  }
  const ok = await postJson(url, valid);
  assert.equal(ok.status, 200, ok.text);
});

test('bad input on the OpenAI surface gets the OpenAI error shape', async (t) => {
  const { gateway } = await startStack(t);
  const res = await postJson(`${gateway.url}/v1/chat/completions`, '{nope');
  assert.equal(res.status, 400);
  const error = res.json.error as { type: string; message: string; code: string };
  assert.equal(error.type, 'invalid_request_error');
  assert.equal(error.code, 'SWY_ERR_BAD_JSON');
  assert.ok(res.headers.get('x-request-id'));
});

test('a body over the limit gets a 413 and the gateway keeps serving', async (t) => {
  const { gateway } = await startStack(t);
  const big = JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] });
  const res = await postJson(`${gateway.url}/v1/messages`, big);
  assert.equal(res.status, 413);
  assert.equal((res.json.error as { type: string }).type, 'request_too_large');
  const ok = await postJson(`${gateway.url}/v1/messages`, valid);
  assert.equal(ok.status, 200);
});

test('oversized headers get a 431 with a JSON body and the gateway keeps serving', async (t) => {
  const { gateway } = await startStack(t);
  const res = await rawRequest(`${gateway.url}/v1/messages`, {
    headers: { 'content-type': 'application/json', 'x-big': 'a'.repeat(40_000) },
    body: Buffer.from(JSON.stringify(valid)),
  });
  assert.equal(res.status, 431);
  const body = JSON.parse(res.body) as { type: string; error: { type: string }; request_id: string };
  // The request line names /v1/messages: the Anthropic shape, with a request id.
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
  assert.match(String(res.headers['x-request-id']), /^req_/);
  assert.equal(body.request_id, res.headers['x-request-id']);
  const openai = await rawRequest(`${gateway.url}/v1/chat/completions`, {
    headers: { 'content-type': 'application/json', 'x-big': 'a'.repeat(40_000) },
    body: Buffer.from(JSON.stringify(valid)),
  });
  assert.equal(openai.status, 431);
  assert.ok((JSON.parse(openai.body) as { error: { message: string } }).error.message);
  assert.match(String(openai.headers['x-request-id']), /^req_/);
  const ok = await postJson(`${gateway.url}/v1/messages`, valid);
  assert.equal(ok.status, 200);
});

test('a malformed request line gets a 400 with a JSON body and a request id', async (t) => {
  const { gateway } = await startStack(t);
  const { port } = new URL(gateway.url);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end('NOT A REQUEST\r\n\r\n'));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 400 /);
  assert.match(reply, /\r\nx-request-id: req_\w+\r\n/i);
  const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { error: { type: string } };
  assert.equal(body.error.type, 'invalid_request_error');
  const ok = await postJson(`${gateway.url}/v1/messages`, valid);
  assert.equal(ok.status, 200);
});

test('an unknown path answers 404 in the protocol shape of its prefix', async (t) => {
  const { gateway } = await startStack(t);
  const res = await postJson(`${gateway.url}/v1/messages/nope`, valid);
  assert.equal(res.status, 404);
  assert.equal(res.json.type, 'error');
  const res2 = await fetch(`${gateway.url}/v1/nothing`);
  assert.equal(res2.status, 404);
  assert.ok(((await res2.json()) as { error: unknown }).error);
});

test('an incoming x-request-id is echoed back and passed upstream', async (t) => {
  const { gateway, mock } = await startStack(t);
  const res = await postJson(`${gateway.url}/v1/messages`, valid, { 'x-request-id': 'trace-abc-123' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), 'trace-abc-123');
  assert.equal(res.headers.get('request-id'), 'trace-abc-123');
  const last = mock.stats.last.at(-1);
  assert.equal(last?.headers['x-request-id'], 'trace-abc-123');
});

test('a known path with the wrong method gets a 405 with Allow, in the protocol shape', async (t) => {
  const { gateway } = await startStack(t);
  const res = await fetch(`${gateway.url}/v1/messages`);
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  const body = (await res.json()) as { type: string; error: { type: string } };
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
  const openai = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'DELETE' });
  assert.equal(openai.status, 405);
  assert.ok(((await openai.json()) as { error: unknown }).error);
});

test('a body slower than server.requestTimeoutMs gets a 408 in the protocol shape of its path, and is logged', async (t) => {
  const { gateway, logs } = await startStack(t, { yaml: (url) => defaultYaml(url).replace('bodyLimit: 1048576', 'bodyLimit: 1048576, requestTimeoutMs: 600') });
  const { port } = new URL(gateway.url);
  const started = Date.now();
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      // Headers whole, then the body never finishes.
      socket.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":');
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
  });
  assert.match(reply, /^HTTP\/1\.1 408 /);
  assert.match(reply, /\r\nx-request-id: req_\w+\r\n/i);
  const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { type: string; error: { message: string } };
  assert.equal(body.type, 'error', 'the Anthropic shape, for /v1/messages');
  assert.match(body.error.message, /requestTimeoutMs/);
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
  assert.ok(logs.some((line) => line.msg === 'request refused by the HTTP parser' && line.status === 408));
});
