import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtinExampleConfig, parseConfig } from '../../src/config/index.ts';
import { startMockProvider } from '../../src/mock/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startGateway } from '../../src/server/gateway.ts';
import { SseParser } from '../../src/protocols/sse.ts';
import { defaultYaml, postJson, startStack } from './stack.ts';

const ask = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Tell me about switchyards' }],
  ...extra,
});

async function readSse(res: Response): Promise<Array<{ event: string | undefined; data: string }>> {
  const parser = new SseParser();
  const out = parser.push(await res.text());
  out.push(...parser.end());
  return out;
}

test('Anthropic to Anthropic passes the upstream bytes through and only rewrites the model', async (t) => {
  const { gateway, mock } = await startStack(t);
  const body = { ...ask('claude-mock'), context_management: { edits: [] }, some_future_field: { x: 1 } };
  const res = await postJson(`${gateway.url}/v1/messages?beta=true`, body, {
    'anthropic-beta': 'interleaved-thinking-2025-05-14,context-management-2025-06-27',
    'anthropic-version': '2023-06-01',
    'x-api-key': 'client-key-never-forwarded',
  });
  assert.equal(res.status, 200, res.text);
  const upstream = mock.stats.last.at(-1)!;
  assert.equal(upstream.path, '/v1/messages?beta=true');
  assert.deepEqual(upstream.body, { ...body, model: 'upstream-claude' });
  assert.equal(upstream.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14,context-management-2025-06-27');
  assert.equal(upstream.headers['x-api-key'], 'sk-ant-secret');
  assert.equal(res.json.type, 'message');
  assert.equal(res.json.model, 'upstream-claude');
});

test('OpenAI to OpenAI streams through untouched', async (t) => {
  const { gateway, mock } = await startStack(t);
  const direct = await fetch(`${mock.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask('upstream-gpt'), stream: true, stream_options: { include_usage: true } }),
  });
  const directText = await direct.text();
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask('gpt-mock'), stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await res.text();
  // Chunk ids and timestamps differ per call; the rest must be identical.
  const normalise = (s: string) => s.replace(/"id":"[^"]*"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0');
  assert.equal(normalise(text), normalise(directText));
  assert.match(text, /data: \[DONE\]/);
});

test('an Anthropic client reaches an OpenAI provider, streaming, translated event by event', async (t) => {
  const { gateway, mock } = await startStack(t);
  const res = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask('gpt-mock'), stream: true }),
  });
  assert.equal(res.status, 200);
  const events = await readSse(res);
  const names = events.map((e) => e.event);
  assert.equal(names[0], 'message_start');
  assert.equal(names.at(-1), 'message_stop');
  assert.ok(names.includes('content_block_delta'));
  const upstream = mock.stats.last.at(-1)!;
  assert.equal(upstream.path, '/v1/chat/completions');
  assert.equal((upstream.body as { model: string }).model, 'upstream-gpt');
  const text = events
    .filter((e) => e.event === 'content_block_delta')
    .map((e) => (JSON.parse(e.data) as { delta: { text?: string } }).delta.text ?? '')
    .join('');
  assert.match(text, /Mock reply/);
});

test('an OpenAI client reaches an Anthropic provider, non-streaming', async (t) => {
  const { gateway, mock } = await startStack(t);
  const res = await postJson(`${gateway.url}/v1/chat/completions`, {
    model: 'claude-mock',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Tell me about switchyards' },
    ],
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.object, 'chat.completion');
  const choice = (res.json.choices as Array<{ message: { content: string }; finish_reason: string }>)[0]!;
  assert.match(choice.message.content, /Mock reply/);
  assert.equal(choice.finish_reason, 'stop');
  const upstream = mock.stats.last.at(-1)!;
  assert.equal(upstream.path, '/v1/messages');
  const sent = upstream.body as { system: unknown; max_tokens: number; model: string };
  assert.equal(sent.model, 'upstream-claude');
  assert.ok(sent.max_tokens > 0, 'max_tokens is filled in for Anthropic');
  assert.ok(JSON.stringify(sent.system).includes('Be brief.'));
  const usage = res.json.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
});

test('an upstream error status comes back in the client protocol shape', async (t) => {
  const { gateway, mock } = await startStack(t);
  mock.setOptions({ fault: 'status:400' });
  const res = await postJson(`${gateway.url}/v1/messages`, ask('gpt-mock'));
  assert.equal(res.status, 400);
  assert.equal(res.json.type, 'error');
  assert.equal((res.json.error as { type: string }).type, 'invalid_request_error');
  mock.setOptions({ fault: '429:3' });
  const res2 = await postJson(`${gateway.url}/v1/chat/completions`, ask('claude-mock'));
  assert.equal(res2.status, 429);
  assert.equal(res2.headers.get('retry-after'), '3');
  assert.equal((res2.json.error as { type: string }).type, 'rate_limit_error');
});

const combos = [
  ['gpt-mock', '/v1/messages'],
  ['claude-mock', '/v1/messages'],
  ['claude-mock', '/v1/chat/completions'],
  ['gpt-mock', '/v1/chat/completions'],
] as const;

test('a stream that fails or is cut mid-way ends with a protocol error event, never a clean end', async (t) => {
  const { gateway, mock } = await startStack(t);
  for (const [model, path] of combos) {
    for (const fault of ['error-mid-stream', 'drop-mid-stream', 'truncate']) {
      mock.setOptions({ fault });
      const res = await fetch(`${gateway.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...ask(model), stream: true }),
      });
      assert.equal(res.status, 200);
      const events = await readSse(res);
      const label = `${model} via ${path} with ${fault}`;
      assert.ok(events.length > 1, `${label}: some content came first`);
      const last = events.at(-1)!;
      if (path === '/v1/messages') {
        assert.equal(last.event, 'error', label);
        assert.equal((JSON.parse(last.data) as { type: string }).type, 'error', label);
      } else {
        assert.ok((JSON.parse(last.data) as { error?: unknown }).error, label);
        assert.ok(!events.some((e) => e.data === '[DONE]'), label);
      }
    }
  }
});

test('a stream that ends without a finish reason still ends well-formed', async (t) => {
  const { gateway, mock } = await startStack(t);
  mock.setOptions({ fault: 'no-finish' });
  for (const [model, path] of combos) {
    const res = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask(model), stream: true }),
    });
    const events = await readSse(res);
    const label = `${model} via ${path}`;
    if (path === '/v1/messages') {
      assert.equal(events.at(-1)!.event, 'message_stop', label);
      assert.ok(!events.some((e) => e.event === 'error'), label);
    } else {
      assert.equal(events.at(-1)!.data, '[DONE]', label);
      assert.ok(!events.some((e) => e.data.startsWith('{"error"')), label);
    }
  }
});

test('fails over to the next deployment when the first cannot be reached', async (t) => {
  const { gateway } = await startStack(t, {
    yaml: (url) =>
      defaultYaml(url).replace(
        'routes:',
        `  - { name: dead-then-alive, deployments: [ { provider: dead, model: x }, { provider: oai, model: upstream-gpt } ] }\nroutes:`,
      ).replace('providers:', 'providers:\n  - { name: dead, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" }'),
  });
  const res = await postJson(`${gateway.url}/v1/chat/completions`, ask('dead-then-alive'));
  assert.equal(res.status, 200, res.text);
});

test('the upstream call is aborted when the client goes away', async (t) => {
  const { gateway, mock } = await startStack(t, { mock: { tokensPerSecond: 20, outputTokens: 200 } });
  const controller = new AbortController();
  const res = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask('gpt-mock', { max_tokens: 1000 }), stream: true }),
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort();
  const deadline = Date.now() + 5000;
  while (mock.stats.aborted === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(mock.stats.aborted, 1);
});

test('models, health, ready and count_tokens answer', async (t) => {
  const { gateway } = await startStack(t);
  await gateway.warmed;
  const models = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
  assert.deepEqual(models.data.map((m) => m.id).sort(), ['claude-mock', 'gpt-mock']);
  assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
  assert.equal((await fetch(`${gateway.url}/ready`)).status, 200);
  const count = await postJson(`${gateway.url}/v1/messages/count_tokens`, { model: 'gpt-mock', messages: [{ role: 'user', content: 'hello world' }] });
  assert.equal(count.status, 200);
  assert.ok((count.json.input_tokens as number) > 0);
});

test('count_tokens toward an Anthropic provider keeps the query (?beta=true) and drops unsigned thinking, as chat does', async (t) => {
  const { gateway, mock } = await startStack(t);
  const body = {
    model: 'claude-mock',
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'from a translated turn', signature: '' }, { type: 'text', text: 'Hello.' }] },
      { role: 'user', content: 'again' },
    ],
  };
  const count = await postJson(`${gateway.url}/v1/messages/count_tokens?beta=true`, body);
  assert.equal(count.status, 200);
  assert.ok((count.json.input_tokens as number) > 0);
  const upstream = mock.stats.last.at(-1)!;
  assert.equal(upstream.path, '/v1/messages/count_tokens?beta=true');
  assert.deepEqual((upstream.body as { messages: Array<{ content: unknown }> }).messages[1]?.content, [{ type: 'text', text: 'Hello.' }]);
});

test('a model is retrieved by its id, slashes and provider prefix included; an unknown one is a 404 in the caller\'s shape', async (t) => {
  const { gateway } = await startStack(t, {
    yaml: (url) => defaultYaml(url).replace('quirks: { reasoningEffort: true } }', 'quirks: { reasoningEffort: true }, models: ["accounts/acme/models/llama-70b"] }'),
  });
  const get = async (id: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gateway.url}/v1/models/${id}`, { headers });
    return { status: res.status, id: res.headers.get('x-request-id'), body: (await res.json()) as Record<string, unknown> };
  };
  const listed = await get('claude-mock');
  assert.equal(listed.status, 200);
  assert.equal(listed.body.id, 'claude-mock');
  const nested = await get('oai,accounts/acme/models/llama-70b');
  assert.equal(nested.status, 200);
  assert.equal(nested.body.id, 'oai,accounts/acme/models/llama-70b');
  const openaiMissing = await get('nope');
  assert.equal(openaiMissing.status, 404);
  assert.equal((openaiMissing.body.error as { type: string }).type, 'not_found_error');
  assert.ok(openaiMissing.id);
  const anthropicMissing = await get('nope', { 'anthropic-version': '2023-06-01' });
  assert.equal(anthropicMissing.status, 404);
  assert.equal(anthropicMissing.body.type, 'error');
  assert.equal((anthropicMissing.body.error as { type: string }).type, 'not_found_error');
});

test('one log line per request names the rule and deployment and never a key', async (t) => {
  const { gateway, logs } = await startStack(t);
  const res = await postJson(`${gateway.url}/v1/messages`, ask('claude-haiku-4-5-20251001'), { 'x-api-key': 'client-secret-key' });
  assert.equal(res.status, 200);
  await new Promise((r) => setTimeout(r, 50));
  const lines = logs.filter((l) => l.msg === 'request');
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.rule, 'background');
  assert.equal(line.deployment, 'oai/upstream-gpt');
  assert.equal(line.status, 200);
  assert.ok(typeof line.latencyMs === 'number');
  assert.ok((line.tokensOut as number) > 0);
  assert.ok((line.tokensIn as number) > 0);
  const all = JSON.stringify(logs);
  for (const secret of ['sk-oai-secret', 'sk-ant-secret', 'client-secret-key']) assert.ok(!all.includes(secret), secret);
});

test('a deployment output limit clamps max_tokens, translated and passed through', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: (url) =>
      defaultYaml(url).replace(
        'routes:',
        `  - { name: small-gpt, deployments: [ { provider: oai, model: upstream-gpt, maxTokens: 100 } ] }\n  - { name: small-claude, deployments: [ { provider: ant, model: upstream-claude, maxTokens: 100 } ] }\nroutes:`,
      ),
  });
  const viaAnthropic = await postJson(`${gateway.url}/v1/messages`, ask('small-gpt', { max_tokens: 128000 }));
  assert.equal(viaAnthropic.status, 200, viaAnthropic.text);
  assert.equal((mock.stats.last.at(-1)!.body as { max_tokens: number }).max_tokens, 100);
  const passthrough = await postJson(`${gateway.url}/v1/messages`, ask('small-claude', { max_tokens: 128000 }));
  assert.equal(passthrough.status, 200, passthrough.text);
  assert.equal((mock.stats.last.at(-1)!.body as { max_tokens: number }).max_tokens, 100);
  const small = await postJson(`${gateway.url}/v1/messages`, ask('small-claude', { max_tokens: 50 }));
  assert.equal(small.status, 200);
  assert.equal((mock.stats.last.at(-1)!.body as { max_tokens: number }).max_tokens, 50);
});

test('a client that stops reading slows the upstream read instead of growing a buffer', async (t) => {
  const { gateway, mock } = await startStack(t, { mock: { outputTokens: 100_000 } });
  const body = JSON.stringify({ ...ask('claude-mock', { max_tokens: 200_000 }), stream: true });
  await gateway.warmed;
  const completedBefore = mock.stats.completed;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  res.pause();
  const buffersBefore = process.memoryUsage().arrayBuffers;
  await new Promise((r) => setTimeout(r, 1500));
  // The stream is over 10 MB. Without backpressure the mock would have written all of it long
  // ago, and the gateway (in this process) would hold what the client has not read.
  const heldBack = mock.stats.inFlight === 1;
  // Loopback receive buffers autotune up to tcp_rmem's maximum (32 MB here), so under load the
  // kernel alone can sometimes take the whole stream: then what counts is that this process
  // (the gateway) did not keep it.
  const grownMb = (process.memoryUsage().arrayBuffers - buffersBefore) / 1e6;
  const ok = heldBack || grownMb < 4;
  if (!ok) res.destroy();
  assert.ok(ok, `held back by backpressure (stats: ${JSON.stringify({ ...mock.stats, last: undefined })}, completed before: ${completedBefore}); buffers grew ${grownMb.toFixed(1)} MB`);
  let bytes = 0;
  res.on('data', (chunk: Buffer) => (bytes += chunk.length));
  res.resume();
  await new Promise((r) => res.on('end', r));
  assert.ok(bytes > 10_000_000, `${bytes} bytes`);
  assert.equal(mock.stats.completed, completedBefore + 1);
});

test('a client that leaves before any answer is recorded as 499 client_closed, not 200', async (t) => {
  const ends: Array<{ status: number; error: string | undefined; clientAborted: boolean }> = [];
  const { gateway, mock } = await startStack(t, {
    mock: { fault: 'hang' },
    extensions: [
      () => ({
        name: 'test-ends',
        hooks: { finished: (call, end) => ends.push({ status: end.status, error: call.summary.error, clientAborted: end.clientAborted }) },
      }),
    ],
  });
  const controller = new AbortController();
  const pending = fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    signal: controller.signal,
  });
  pending.catch(() => undefined);
  for (let i = 0; i < 200 && mock.stats.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  for (let i = 0; i < 200 && ends.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(ends, [{ status: 499, error: 'client_closed', clientAborted: true }]);
});

test('reloads apply in order, newest last: a slow one (a router module to import) cannot bring an older config back', async (t) => {
  const { gateway, mock } = await startStack(t);
  const dir = await mkdtemp(join(tmpdir(), 'swy-reload-'));
  const slowRouter = join(dir, 'slow.mjs');
  await writeFile(slowRouter, 'await new Promise((r) => setTimeout(r, 400));\nexport default () => undefined;\n');
  const older = parseConfig(`${defaultYaml(mock.url)}`.replace('routes: { default: claude-mock, background: gpt-mock }', `routes: { default: claude-mock, custom: "${slowRouter}" }`), { env: {} });
  const newer = parseConfig(defaultYaml(mock.url).replace('routes: { default: claude-mock, background: gpt-mock }', 'routes: { default: gpt-mock }'), { env: {} });
  const first = gateway.reload(older);
  await new Promise((r) => setTimeout(r, 50));
  await Promise.all([first, gateway.reload(newer)]);
  assert.equal(gateway.holder.current.config, newer);
  assert.equal(gateway.holder.current.config.routes.default, 'gpt-mock');
});

test('count_tokens on a deployment with model "*" asks the provider for the model the client named', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: ant, protocol: anthropic, baseUrl: "${url}" }
models:
  - { name: any, deployments: [ { provider: ant, model: "*" } ] }
routes: { default: any }
`,
  });
  const res = await postJson(`${gateway.url}/v1/messages/count_tokens`, { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hello there' }] });
  assert.equal(res.status, 200);
  const asked = mock.stats.last.at(-1)!;
  assert.equal(asked.path, '/v1/messages/count_tokens');
  assert.equal((asked.body as { model: string }).model, 'claude-sonnet-4-5');
});

test("the built-in example thinks through translation: Anthropic thinking on mock-model (an OpenAI-protocol mock) comes back as a thinking block", async (t) => {
  const mock = await startMockProvider({ port: 0 });
  t.after(() => mock.close());
  const config = builtinExampleConfig(mock.url);
  const gateway = await startGateway({ config: { ...config, store: { ...config.store, url: 'sqlite::memory:' } }, port: 0, logger: createLogger({ level: 'silent' }) });
  t.after(() => gateway.close());
  const res = await postJson(`${gateway.url}/v1/messages`, { model: 'mock-model', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.status, 200);
  const content = res.json.content as Array<{ type: string }>;
  assert.equal(content[0]?.type, 'thinking');
});

test('while it drains, a request pipelined behind one in flight is refused in its protocol, with a request id, and the connection closes', async (t) => {
  // A slow stream holds the drain open: a token every 100 ms.
  const { gateway } = await startStack(t, { mock: { tokensPerSecond: 10, outputTokens: 30 } });
  const { port } = new URL(gateway.url);
  const socket = connect(Number(port), '127.0.0.1');
  t.after(() => socket.destroy());
  const post = (path: string, body: unknown, extra = ''): string => {
    const text = JSON.stringify(body);
    return `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`;
  };
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(post('/v1/messages', { model: 'claude-mock', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'slowly' }] }));
  await new Promise((r) => setTimeout(r, 300));
  const closed = gateway.close();
  await new Promise((r) => setTimeout(r, 100));
  socket.write(post('/v1/messages', { model: 'claude-mock', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, 'x-request-id: drain-1\r\n'));
  await ended;
  await closed;
  // The stream in flight finished whole; the request behind it got Anthropic's overloaded error.
  assert.match(received, /event: message_stop/);
  const second = received.slice(received.lastIndexOf('HTTP/1.1 '));
  assert.match(second, /^HTTP\/1\.1 529 /);
  assert.match(second, /\r\nrequest-id: drain-1\r\n/);
  assert.match(second, /\r\nconnection: close\r\n/i);
  assert.match(second, /"type":"error","error":\{"type":"overloaded_error","message":"The gateway is shutting down/);
});
