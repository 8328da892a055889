/**
 * Requests across protocols: an OpenAI client's request sent to an Anthropic
 * upstream and an Anthropic client's request sent to an OpenAI-compatible one.
 *
 * The property tests generate requests holding only what both protocols can
 * express. What does NOT survive a crossing, by design, and is therefore not
 * generated there (each is covered by a unit test instead):
 * - cache markers (OpenAI only with the `cacheControl` quirk), top_k (only with `topK`);
 * - images inside tool results (an OpenAI tool message is text: they move to a user message);
 * - `is_error` on tool results, server tools, `strict` (not sent to Anthropic);
 * - redacted thinking and signatures (OpenAI only via OpenRouter `reasoning_details`);
 * - several text parts in a system prompt or an assistant turn (OpenAI joins them);
 * - reasoning: OpenAI has effort levels, Anthropic budgets (mapped both ways), no adaptive mode;
 * - `parallel_tool_calls: false` without a tool choice (Anthropic needs one to carry it);
 * - tool ids outside ^[a-zA-Z0-9_-]+$ (rewritten for Anthropic);
 * - top_p next to temperature (recent Claude models reject the pair: temperature is kept);
 * - mid-conversation system messages (Anthropic has no system role: they become `<system>` user text).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ChatRequest, Part, Reasoning } from '../../src/model/types.ts';
import type { OpenAIQuirks } from '../../src/protocols/openai/quirks.ts';
import { decodeRequest, encodeRequest } from '../../src/translate/index.ts';
import { chatRequest } from '../protocols/anthropic/arbitraries.ts';

/** An OpenAI client that can express everything OpenAI-shaped requests carry (OpenRouter-like). */
const fullOpenAI: Partial<OpenAIQuirks> = {
  maxTokensField: 'max_completion_tokens',
  sendReasoningBack: true,
  reasoningEffort: true,
  streamUsage: true,
};

function wire(body: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(body));
}

function canon(part: Part): unknown {
  switch (part.type) {
    case 'text':
      return { text: part.text };
    case 'image':
      return { image: part.source };
    case 'tool_call':
      return { call: [part.id, part.name, part.input] };
    case 'tool_result':
      return { result: [part.toolCallId, part.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n\n')] };
    case 'thinking':
      return { thinking: [part.text, part.signature] };
    case 'redacted_thinking':
      return { redacted: part.data };
  }
}

/** The meaning of a request, as far as both protocols can carry it. */
function view(req: ChatRequest, reasoning: Reasoning | undefined = req.reasoning): unknown {
  return JSON.parse(
    JSON.stringify({
      model: req.model,
      system: req.system.map((p) => p.text).join('\n\n'),
      messages: req.messages.map((m) => ({ role: m.role, content: m.content.map(canon) })),
      maxTokens: req.maxTokens,
      temperature: req.temperature,
      topP: req.topP,
      stopSequences: req.stopSequences,
      stream: req.stream,
      user: req.user,
      tools: req.tools?.map((t) => (t.kind === 'function' ? [t.name, t.description, t.inputSchema] : t.name)),
      toolChoice: req.toolChoice,
      parallelToolCalls: req.parallelToolCalls,
      reasoning,
    }),
  ) as unknown;
}

const budgetFor = { low: 2048, medium: 8192, high: 16384 } as const;

test('an OpenAI client request reaches an Anthropic upstream with its meaning intact', () => {
  fc.assert(
    fc.property(chatRequest(false), (req) => {
      const client = wire(encodeRequest('openai', req, req.model, { quirks: fullOpenAI }));
      const upstream = wire(encodeRequest('anthropic', decodeRequest('openai', client), req.model));
      const seen = decodeRequest('anthropic', upstream);
      // reasoning_effort becomes a thinking budget.
      const effort = req.reasoning?.effort;
      const expected: Reasoning | undefined =
        effort === undefined ? undefined : { mode: 'enabled', budgetTokens: budgetFor[effort as keyof typeof budgetFor] };
      assert.deepEqual(view(seen), view(req, expected));
    }),
    { numRuns: 200 },
  );
});

test('an Anthropic client request reaches an OpenAI-compatible upstream with its meaning intact', () => {
  fc.assert(
    fc.property(chatRequest(false), (req) => {
      const client = wire(encodeRequest('anthropic', req, req.model));
      const upstream = wire(encodeRequest('openai', decodeRequest('anthropic', client), req.model, { quirks: fullOpenAI }));
      const seen = decodeRequest('openai', upstream);
      // effort → Anthropic budget → OpenAI effort comes back to the same level.
      assert.deepEqual(view(seen), view(req));
    }),
    { numRuns: 200 },
  );
});

test('a realistic OpenAI agent request becomes the exact Anthropic request', () => {
  const internal = decodeRequest('openai', {
    model: 'claude',
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: [{ type: 'text', text: 'What is in this screenshot?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call:1', type: 'function', function: { name: 'ocr', arguments: '{"region":"top"}' } },
          { id: 'call:2', type: 'function', function: { name: 'ocr', arguments: '{"region":"bottom"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call:1', content: 'Error 404' },
      { role: 'tool', tool_call_id: 'call:2', content: 'Not found' },
      { role: 'developer', content: 'Answer in one sentence.' },
      { role: 'user', content: 'So?' },
    ],
    tools: [{ type: 'function', function: { name: 'ocr', description: 'Reads text', parameters: { type: 'object' }, strict: true } }],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning_effort: 'medium',
    temperature: 0.7,
    max_completion_tokens: 1000,
    stream: true,
    stream_options: { include_usage: true },
    user: 'end-user-7',
  });
  assert.deepEqual(encodeRequest('anthropic', internal, 'claude-sonnet-4-5', { defaultMaxTokens: 8192 }), {
    model: 'claude-sonnet-4-5',
    max_tokens: 1000,
    system: [{ type: 'text', text: 'You are a coding agent.' }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this screenshot?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'ocr', input: { region: 'top' } },
          { type: 'tool_use', id: 'call_2', name: 'ocr', input: { region: 'bottom' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'Error 404' }] },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'Not found' }] },
          { type: 'text', text: '<system>\nAnswer in one sentence.\n</system>' },
          { type: 'text', text: 'So?' },
        ],
      },
    ],
    // The current tool turn has no (signed) thinking to send back, so thinking
    // (medium effort) is off for this request: no budget, temperature allowed.
    temperature: 0.7,
    stream: true,
    metadata: { user_id: 'end-user-7' },
    tools: [{ name: 'ocr', description: 'Reads text', input_schema: { type: 'object' } }],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
  });
});

test('a Claude Code request reaches an OpenAI upstream as plain chat messages', () => {
  const internal = decodeRequest('anthropic', {
    model: 'claude-sonnet-4-5',
    max_tokens: 32000,
    system: [
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Be concise.' },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'List files' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Use ls.', signature: 'sig' },
          { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.ts\nb.ts' }], is_error: false },
          { type: 'text', text: '<system-reminder>ok</system-reminder>' },
        ],
      },
    ],
    tools: [
      { name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
      { type: 'web_search_20250305', name: 'web_search' },
    ],
    thinking: { type: 'enabled', budget_tokens: 10000 },
    metadata: { user_id: 'session_1' },
    stream: true,
  });
  assert.deepEqual(encodeRequest('openai', internal, 'gpt-5', { quirks: { maxTokensField: 'max_completion_tokens', reasoningEffort: true } }), {
    model: 'gpt-5',
    messages: [
      { role: 'system', content: 'You are Claude Code.\n\nBe concise.' },
      { role: 'user', content: 'List files' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'Bash', arguments: '{"command":"ls"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'a.ts\nb.ts' },
      { role: 'user', content: '<system-reminder>ok</system-reminder>' },
    ],
    max_completion_tokens: 32000,
    stream: true,
    stream_options: { include_usage: true },
    // The web search server tool has no OpenAI equivalent and is dropped.
    tools: [{ type: 'function', function: { name: 'Bash', parameters: { type: 'object', properties: { command: { type: 'string' } } } } }],
    user: 'session_1',
    reasoning_effort: 'medium',
  });
});

test('the facade rejects an invalid request in the client protocol with a path', () => {
  assert.throws(() => decodeRequest('anthropic', { model: 'm', messages: [{ role: 'user', content: [{ type: 5 }] }] }), {
    code: 'SWY_ERR_INVALID_REQUEST',
    message: 'messages.0.content.0.type: must be a string',
  });
  assert.throws(() => decodeRequest('openai', { model: 'm' }), { code: 'SWY_ERR_INVALID_REQUEST' });
});
