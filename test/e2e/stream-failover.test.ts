/**
 * A stream that fails before its first content event is a failed attempt:
 * the gateway fails over and the client never sees it. (Issue 3: "including
 * an HTTP 200 whose first SSE event is an error".)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from '../../src/protocols/sse.ts';
import { startStack } from './stack.ts';

function yaml(url: string, fault: string): string {
  return `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: bad-ant, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: "${fault}" } }
  - { name: good-ant, protocol: anthropic, baseUrl: "${url}" }
  - { name: bad-oai, protocol: openai, baseUrl: "${url}/v1", headers: { x-mock-fault: "${fault}" } }
  - { name: good-oai, protocol: openai, baseUrl: "${url}/v1" }
models:
  - { name: ant-pair, deployments: [ { provider: bad-ant, model: first }, { provider: good-ant, model: second } ] }
  - { name: oai-pair, deployments: [ { provider: bad-oai, model: first }, { provider: good-oai, model: second } ] }
  - { name: ant-alone, deployments: [ { provider: bad-ant, model: first } ] }
  - { name: oai-alone, deployments: [ { provider: bad-oai, model: first } ] }
routes: { default: ant-pair }
`;
}

async function stream(url: string, path: string, model: string, streaming = true): Promise<{ status: number; events: Array<{ event: string | undefined; data: string }>; text: string }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 64, stream: streaming, messages: [{ role: 'user', content: 'hello' }] }),
  });
  const text = await res.text();
  const parser = new SseParser();
  return { status: res.status, events: [...parser.push(text), ...parser.end()], text };
}

/** Both client protocols, each in front of a same-protocol pair (passthrough) and the other (translated). */
const PATHS_AND_PAIRS = [
  ['/v1/messages', 'ant-pair'],
  ['/v1/messages', 'oai-pair'],
  ['/v1/chat/completions', 'oai-pair'],
  ['/v1/chat/completions', 'ant-pair'],
] as const;

for (const fault of ['error-first', 'reset', 'cut-before-content', 'json-for-stream', 'malformed-sse']) {
  test(`a stream that fails before any content (${fault}) fails over, passthrough and translated`, async (t) => {
    const { gateway, mock } = await startStack(t, { yaml: (url) => yaml(url, fault) });
    for (const [path, model] of PATHS_AND_PAIRS) {
      const label = `${model} via ${path}`;
      const { status, events, text } = await stream(gateway.url, path, model);
      assert.equal(status, 200, `${label}: ${text}`);
      assert.ok(!text.includes('error'), `${label}: the failed attempt never reaches the client`);
      if (path === '/v1/messages') assert.equal(events.at(-1)?.event, 'message_stop', label);
      else assert.equal(events.at(-1)?.data, '[DONE]', label);
      assert.equal((mock.stats.last.at(-1)!.body as { model: string }).model, 'second', label);
    }
  });
}

test('with nowhere to fail over, an error before any content is an HTTP error in the client protocol', async (t) => {
  const { gateway } = await startStack(t, { yaml: (url) => yaml(url, 'error-first') });
  const anthropic = await stream(gateway.url, '/v1/messages', 'ant-alone');
  assert.equal(anthropic.status, 529);
  assert.equal((JSON.parse(anthropic.text) as { error: { type: string } }).error.type, 'overloaded_error');
  const openai = await stream(gateway.url, '/v1/chat/completions', 'oai-alone');
  assert.equal(openai.status, 503);
  assert.ok((JSON.parse(openai.text) as { error: { message: string } }).error.message.length > 0);
});

for (const fault of ['malformed-sse', 'cut-before-content']) {
  test(`a 200 whose JSON body is not an answer (${fault}) fails over, passthrough and translated`, async (t) => {
    const { gateway, mock } = await startStack(t, { yaml: (url) => yaml(url, fault) });
    for (const [path, model] of PATHS_AND_PAIRS) {
      const label = `${model} via ${path}`;
      const { status, text } = await stream(gateway.url, path, model, false);
      assert.equal(status, 200, `${label}: ${text}`);
      const body = JSON.parse(text) as { content?: unknown[]; choices?: unknown[] };
      assert.ok(Array.isArray(path === '/v1/messages' ? body.content : body.choices), label);
      assert.equal((mock.stats.last.at(-1)!.body as { model: string }).model, 'second', label);
    }
    const alone = await stream(gateway.url, '/v1/chat/completions', 'oai-alone', false);
    assert.equal(alone.status, 502);
    assert.match((JSON.parse(alone.text) as { error: { message: string } }).error.message, /not JSON|not an OpenAI answer/);
  });
}
