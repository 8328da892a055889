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
  const { gateway, mock } = await startStack(t, { yaml: (url) => yaml(url).replace('THINK', 'gpt-mock') });
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
