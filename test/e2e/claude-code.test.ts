/**
 * A turn of a Claude Code agent loop, recorded from the real CLI (2.1.x) and
 * with its prompts replaced by stand-ins: adaptive thinking with `display`,
 * `output_config.effort`, `context_management`, cache-control blocks, a
 * `system`-role message mid-conversation, a signed thinking block before a
 * tool_use, and a tool_result. It must pass untouched to an Anthropic
 * upstream and translate cleanly to an OpenAI one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SseParser } from '../../src/protocols/sse.ts';
import { defaultYaml, startStack } from './stack.ts';

const recorded = JSON.parse(readFileSync(new URL('../fixtures/claude-code/agent-turn.json', import.meta.url), 'utf8')) as {
  headers: Record<string, string>;
  query: string;
  body: Record<string, unknown>;
};

function yaml(url: string): string {
  // Claude Code asks for its own model names: route them by scenario, keeping the name for Anthropic.
  return defaultYaml(url)
    .replace('routes: { default: claude-mock, background: gpt-mock }', 'routes: { default: claude-any, think: THINK }')
    .replace('models:', 'models:\n  - { name: claude-any, deployments: [ { provider: ant, model: "*" } ] }');
}

async function send(url: string): Promise<Array<{ event: string | undefined; data: string }>> {
  const res = await fetch(`${url}/v1/messages${recorded.query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'cc-key', ...recorded.headers },
    body: JSON.stringify(recorded.body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const parser = new SseParser();
  return [...parser.push(await res.text()), ...parser.end()];
}

test('a Claude Code turn passes untouched to an Anthropic upstream, beta flags and all', async (t) => {
  const { gateway, mock } = await startStack(t, { yaml: (url) => yaml(url).replace('THINK', 'claude-any') });
  const events = await send(gateway.url);
  assert.equal(events.at(-1)?.event, 'message_stop');
  const upstream = mock.stats.last.at(-1)!;
  assert.equal(upstream.path, '/v1/messages?beta=true');
  assert.deepEqual(upstream.body, recorded.body);
  assert.equal(upstream.headers['anthropic-beta'], recorded.headers['anthropic-beta']);
  assert.equal(upstream.headers['x-api-key'], 'sk-ant-secret');
});

test('a Claude Code turn translates to an OpenAI upstream without a 400, mapping what has an equivalent', async (t) => {
  // The recorded turn thinks adaptively at effort medium: the default route, here to the OpenAI-protocol model.
  const { gateway, mock } = await startStack(t, { yaml: (url) => yaml(url).replace('default: claude-any, think: THINK', 'default: gpt-mock, think: claude-any') });
  const events = await send(gateway.url);
  assert.equal(events[0]?.event, 'message_start');
  assert.equal(events.at(-1)?.event, 'message_stop');
  const text = events
    .filter((e) => e.event === 'content_block_delta')
    .map((e) => (JSON.parse(e.data) as { delta: { text?: string } }).delta.text ?? '')
    .join('');
  assert.match(text, /passthrough/, 'the reply follows the tool result');
  const sent = mock.stats.last.at(-1)!.body as {
    messages: Array<{ role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string }>;
    reasoning_effort?: string;
    context_management?: unknown;
    output_config?: unknown;
    tools: unknown[];
  };
  assert.equal(mock.stats.last.at(-1)!.path, '/v1/chat/completions');
  assert.equal(sent.reasoning_effort, 'medium', 'effort maps to reasoning effort');
  assert.equal(sent.context_management, undefined, 'no equivalent: dropped deliberately');
  assert.equal(sent.output_config, undefined);
  assert.equal(sent.tools.length, 3);
  const roles = sent.messages.map((m) => m.role);
  assert.deepEqual(roles, ['system', 'user', 'system', 'assistant', 'tool']);
  assert.equal(sent.messages[3]!.tool_calls!.length, 1);
  assert.equal(sent.messages[4]!.tool_call_id, 'toolu_mock_2_0');
});

test('thinking that a translated answer carried without a signature is dropped when the conversation reaches an Anthropic upstream', async (t) => {
  const { gateway, mock } = await startStack(t);
  const post = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const res = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    return mock.stats.last.at(-1)!.body as Record<string, unknown>;
  };
  // First a turn translated from an OpenAI-protocol provider: its thinking has an empty signature.
  const translated = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-mock', max_tokens: 256, stream: true, thinking: { type: 'adaptive' }, messages: [{ role: 'user', content: 'Think first' }] }),
  });
  assert.match(await translated.text(), /"signature":""/);

  const unsigned = { type: 'thinking', thinking: 'Reasoned elsewhere.', signature: '' };
  const signed = { type: 'thinking', thinking: 'Reasoned here.', signature: 'c2lnbmVk' };
  // Adaptive thinking (Claude Code): the unsigned block goes, a signed one stays, the rest is as sent.
  const adaptive = await post({
    model: 'claude-mock',
    max_tokens: 256,
    thinking: { type: 'adaptive' },
    messages: [
      { role: 'user', content: 'Think first' },
      { role: 'assistant', content: [unsigned, { type: 'text', text: 'Hello.' }] },
      { role: 'user', content: 'And again' },
      { role: 'assistant', content: [signed, { type: 'text', text: 'Hi.' }] },
      { role: 'user', content: 'Once more' },
    ],
  });
  const messages = adaptive.messages as Array<{ content: unknown }>;
  assert.deepEqual(messages[1]?.content, [{ type: 'text', text: 'Hello.' }]);
  assert.deepEqual(messages[3]?.content, [signed, { type: 'text', text: 'Hi.' }]);
  assert.deepEqual(adaptive.thinking, { type: 'adaptive' });
  assert.equal(adaptive.model, 'upstream-claude');

  // A fixed budget in a tool loop whose assistant turn lost its thinking: thinking goes for that request.
  const looped = await post({
    model: 'claude-mock',
    max_tokens: 4096,
    thinking: { type: 'enabled', budget_tokens: 2048 },
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }],
    messages: [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: [unsigned, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }] },
    ],
  });
  assert.equal(looped.thinking, undefined);
  assert.deepEqual((looped.messages as Array<{ content: unknown }>)[1]?.content, [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }]);
});
