/**
 * An upstream's error status reaches the client in the client's protocol: the
 * status and the error type that protocol's SDKs expect for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startStack } from './stack.ts';

function yaml(url: string): string {
  return `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: oai-404, protocol: openai, baseUrl: "${url}/v1", headers: { x-mock-fault: "status:404" } }
  - { name: ant-529, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: "status:529" } }
models:
  - { name: gone, deployments: [ { provider: oai-404, model: m } ] }
  - { name: busy, deployments: [ { provider: ant-529, model: m } ] }
routes: { default: gone }
`;
}

async function post(url: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown>; requestId: string | null }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, requestId: res.headers.get('x-request-id') };
}

test("an OpenAI upstream's 404 reaches an Anthropic client as not_found_error", async (t) => {
  const { gateway } = await startStack(t, { yaml });
  const res = await post(`${gateway.url}/v1/messages`, { model: 'gone', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.status, 404);
  assert.equal(res.json.type, 'error');
  assert.equal((res.json.error as { type: string }).type, 'not_found_error');
  assert.ok(res.requestId);
});

test("an Anthropic upstream's 529 reaches an OpenAI client as a 503, streaming or not", async (t) => {
  const { gateway } = await startStack(t, { yaml });
  for (const stream of [false, true]) {
    const res = await post(`${gateway.url}/v1/chat/completions`, { model: 'busy', stream, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 503, `stream: ${stream}`);
    assert.ok((res.json.error as { message: string }).message.includes('529'));
    assert.ok(res.requestId);
  }
  const anthropic = await post(`${gateway.url}/v1/messages`, { model: 'busy', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(anthropic.status, 529, 'an Anthropic client still gets its own status');
});
