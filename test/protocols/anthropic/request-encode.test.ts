import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest, Message, Reasoning } from '../../../src/model/types.ts';
import { encodeAnthropicRequest } from '../../../src/protocols/anthropic/request.ts';

function request(extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'alias', system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false, ...extra };
}

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] });

test('a minimal request gets the upstream model and the default max_tokens', () => {
  assert.deepEqual(encodeAnthropicRequest(request(), 'claude-sonnet-4-5'), {
    model: 'claude-sonnet-4-5',
    max_tokens: 4096,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  });
  assert.equal(encodeAnthropicRequest(request(), 'm', { defaultMaxTokens: 8192 }).max_tokens, 8192);
  assert.equal(encodeAnthropicRequest(request({ maxTokens: 100 }), 'm', { defaultMaxTokens: 8192 }).max_tokens, 100);
  // OpenAI accepts max_tokens 0; Anthropic needs at least 1.
  assert.equal(encodeAnthropicRequest(request({ maxTokens: 0 }), 'm').max_tokens, 4096);
});

test('sampling, stop sequences, user and stream map to their Anthropic fields', () => {
  const body = encodeAnthropicRequest(request({ topP: 0.8, topK: 20, stopSequences: ['END'], user: 'u-1', stream: true }), 'm');
  assert.equal(body.top_p, 0.8);
  assert.equal(body.top_k, 20);
  assert.deepEqual(body.stop_sequences, ['END']);
  assert.deepEqual(body.metadata, { user_id: 'u-1' });
  assert.equal(body.stream, true);
});

test('temperature wins over top_p: recent Claude models reject both together', () => {
  const body = encodeAnthropicRequest(request({ temperature: 0.3, topP: 0.8 }), 'm');
  assert.equal(body.temperature, 0.3);
  assert.equal(body.top_p, undefined);
});

test('temperature is clamped to Anthropic range [0, 1]', () => {
  assert.equal(encodeAnthropicRequest(request({ temperature: 1.7 }), 'm').temperature, 1);
  assert.equal(encodeAnthropicRequest(request({ temperature: -0.5 }), 'm').temperature, 0);
});

test('an effort-only request becomes a thinking budget, without output_config', () => {
  const thinking = (effort: Reasoning['effort']): unknown => {
    const body = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', effort }, maxTokens: 64000 }), 'm');
    assert.equal(body.output_config, undefined);
    return body.thinking;
  };
  assert.deepEqual(thinking('low'), { type: 'enabled', budget_tokens: 2048 });
  assert.deepEqual(thinking('medium'), { type: 'enabled', budget_tokens: 8192 });
  assert.deepEqual(thinking('high'), { type: 'enabled', budget_tokens: 16384 });
  assert.deepEqual(thinking('max'), { type: 'enabled', budget_tokens: 32000 });
  assert.deepEqual(thinking('minimal'), { type: 'disabled' });
});

test("a deployment's maxTokens caps max_tokens with the thinking budget in it; the budget shrinks to fit", () => {
  const encode = (req: Partial<ChatRequest>, limit: number) => encodeAnthropicRequest(request(req), 'm', { maxTokensLimit: limit });
  const medium = encode({ reasoning: { mode: 'enabled', effort: 'medium' } }, 8000);
  assert.equal(medium.max_tokens, 8000);
  assert.deepEqual(medium.thinking, { type: 'enabled', budget_tokens: 4000 });
  const high = encode({ reasoning: { mode: 'enabled', effort: 'high' }, maxTokens: 8000 }, 8000);
  assert.equal(high.max_tokens, 8000);
  assert.deepEqual(high.thinking, { type: 'enabled', budget_tokens: 4000 });
  // A budget that already fits stays as asked.
  const fits = encode({ reasoning: { mode: 'enabled', budgetTokens: 2000 }, maxTokens: 1000 }, 8000);
  assert.equal(fits.max_tokens, 3000);
  assert.deepEqual(fits.thinking, { type: 'enabled', budget_tokens: 2000 });
  // Too small a cap for the least budget: no thinking, and the cap holds.
  const tiny = encode({ reasoning: { mode: 'enabled', effort: 'low' } }, 1500);
  assert.equal(tiny.max_tokens, 1500);
  assert.equal(tiny.thinking, undefined);
});

test('an explicit budget below 1024 is raised to the minimum', () => {
  const body = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', budgetTokens: 100 }, maxTokens: 5000 }), 'm');
  assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 1024 });
});

test('max_tokens is raised above the thinking budget when it would not exceed it', () => {
  const body = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', effort: 'high' }, maxTokens: 1000 }), 'm');
  assert.equal(body.max_tokens, 16384 + 1000);
  const dflt = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', budgetTokens: 4096 } }), 'm');
  assert.equal(dflt.max_tokens, 4096 + 4096);
  const roomy = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', budgetTokens: 4096 }, maxTokens: 20000 }), 'm');
  assert.equal(roomy.max_tokens, 20000);
});

test('thinking drops temperature, top_p and top_k, which Anthropic rejects with it', () => {
  const body = encodeAnthropicRequest(
    request({ reasoning: { mode: 'enabled', budgetTokens: 2048 }, maxTokens: 8000, temperature: 0.2, topP: 0.5, topK: 5 }),
    'm',
  );
  assert.equal(body.temperature, undefined);
  assert.equal(body.top_p, undefined);
  assert.equal(body.top_k, undefined);
  const adaptive = encodeAnthropicRequest(request({ reasoning: { mode: 'adaptive' }, temperature: 0.2 }), 'm');
  assert.equal(adaptive.temperature, undefined);
  const off = encodeAnthropicRequest(request({ reasoning: { mode: 'disabled' }, temperature: 0.2 }), 'm');
  assert.equal(off.temperature, 0.2);
});

test('Anthropic-native reasoning goes back as thinking plus output_config.effort', () => {
  const body = encodeAnthropicRequest(request({ reasoning: { mode: 'adaptive', effort: 'max' } }), 'm');
  assert.deepEqual(body.thinking, { type: 'adaptive' });
  assert.deepEqual(body.output_config, { effort: 'max' });
  const off = encodeAnthropicRequest(request({ reasoning: { mode: 'disabled', effort: 'low' } }), 'm');
  assert.deepEqual(off.thinking, { type: 'disabled' });
  assert.deepEqual(off.output_config, { effort: 'low' });
});

test('leading system messages join `system`; later ones become <system> text in the adjacent user turn', () => {
  const body = encodeAnthropicRequest(
    request({
      system: [{ type: 'text', text: 'Base', cacheControl: { type: 'ephemeral' } }],
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Developer rules' }] },
        user('Q1'),
        assistant('A1'),
        { role: 'system', content: [{ type: 'text', text: 'Now answer in French' }] },
        user('Q2'),
      ],
    }),
    'm',
  );
  assert.deepEqual(body.system, [
    { type: 'text', text: 'Base', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Developer rules' },
  ]);
  assert.deepEqual(body.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Q1' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'A1' }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: '<system>\nNow answer in French\n</system>' },
        { type: 'text', text: 'Q2' },
      ],
    },
  ]);
});

test('consecutive same-role messages are merged and empty ones dropped', () => {
  const body = encodeAnthropicRequest(
    request({ messages: [user('a'), user(''), user('b'), assistant('c'), { role: 'assistant', content: [] }, assistant('d')] }),
    'm',
  );
  assert.deepEqual(body.messages, [
    { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'c' }, { type: 'text', text: 'd' }] },
  ]);
});

test('tool results come first in a merged user message', () => {
  const body = encodeAnthropicRequest(
    request({
      messages: [
        user('go'),
        { role: 'assistant', content: [{ type: 'tool_call', id: 'call_1', name: 'f', input: {} }] },
        { role: 'system', content: [{ type: 'text', text: 'note' }] },
        { role: 'user', content: [{ type: 'tool_result', toolCallId: 'call_1', content: [{ type: 'text', text: 'ok' }] }] },
      ],
    }),
    'm',
  );
  const last = (body.messages as Array<{ content: Array<{ type: string }> }>)[2]!;
  assert.deepEqual(
    last.content.map((b) => b.type),
    ['tool_result', 'text'],
  );
});

test('tool call ids are rewritten to Anthropic pattern, consistently for tool_use and tool_result', () => {
  const body = encodeAnthropicRequest(
    request({
      messages: [
        user('go'),
        {
          role: 'assistant',
          content: [
            { type: 'tool_call', id: 'functions.get:0', name: 'get', input: { a: 1 } },
            { type: 'tool_call', id: 'functions_get_0', name: 'get', input: { a: 2 } },
            { type: 'tool_call', id: 'call_ok-1', name: 'get', input: { a: 3 } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', toolCallId: 'functions.get:0', content: [{ type: 'text', text: '1' }] },
            { type: 'tool_result', toolCallId: 'functions_get_0', content: [{ type: 'text', text: '2' }] },
            { type: 'tool_result', toolCallId: 'call_ok-1', content: [] },
          ],
        },
      ],
    }),
    'm',
  );
  const [, a, u] = body.messages as Array<{ content: Array<Record<string, unknown>> }>;
  const useIds = a!.content.map((b) => b.id);
  const resultIds = u!.content.map((b) => b.tool_use_id);
  assert.deepEqual(useIds, ['functions_get_0', 'functions_get_0_1', 'call_ok-1']);
  assert.deepEqual(resultIds, useIds);
  for (const id of useIds) assert.match(id as string, /^[a-zA-Z0-9_-]+$/);
});

test('tool results become blocks: text and images, is_error kept, empty content omitted', () => {
  const body = encodeAnthropicRequest(
    request({
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              toolCallId: 't1',
              isError: true,
              content: [
                { type: 'text', text: 'see image' },
                { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'AAAA' } },
                { type: 'text', text: '' },
              ],
            },
            { type: 'tool_result', toolCallId: 't2', content: [] },
          ],
        },
      ],
    }),
    'm',
  );
  assert.deepEqual((body.messages as Array<{ content: unknown }>)[0]!.content, [
    {
      type: 'tool_result',
      tool_use_id: 't1',
      content: [
        { type: 'text', text: 'see image' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
      ],
      is_error: true,
    },
    { type: 'tool_result', tool_use_id: 't2' },
  ]);
});

test('thinking without a signature is dropped; signed thinking and redacted thinking are kept', () => {
  const body = encodeAnthropicRequest(
    request({
      messages: [
        user('q'),
        {
          role: 'assistant',
          content: [
            { type: 'thinking', text: 'deepseek reasoning' },
            { type: 'thinking', text: 'claude thinking', signature: 'sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'text', text: 'answer' },
          ],
        },
        user('next'),
      ],
    }),
    'm',
  );
  assert.deepEqual((body.messages as Array<{ content: unknown }>)[1]!.content, [
    { type: 'thinking', thinking: 'claude thinking', signature: 'sig' },
    { type: 'redacted_thinking', data: 'opaque' },
    { type: 'text', text: 'answer' },
  ]);
});

function toolLoop(first: Message['content']): Message[] {
  return [
    user('What is the weather?'),
    { role: 'assistant', content: [...first, { type: 'tool_call', id: 'toolu_1', name: 'weather', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', toolCallId: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] }] },
  ];
}

test('thinking is disabled when the current tool turn lost its thinking block', () => {
  const reasoning: Reasoning = { mode: 'enabled', budgetTokens: 2048 };
  const lost = encodeAnthropicRequest(request({ reasoning, messages: toolLoop([{ type: 'thinking', text: 'unsigned' }]) }), 'm');
  assert.equal(lost.thinking, undefined);
  const kept = encodeAnthropicRequest(request({ reasoning, messages: toolLoop([{ type: 'thinking', text: 't', signature: 's' }]) }), 'm');
  assert.deepEqual(kept.thinking, { type: 'enabled', budget_tokens: 2048 });
  const redacted = encodeAnthropicRequest(request({ reasoning, messages: toolLoop([{ type: 'redacted_thinking', data: 'x' }]) }), 'm');
  assert.deepEqual(redacted.thinking, { type: 'enabled', budget_tokens: 2048 });
});

test('a later step of a tool loop needs no thinking block of its own', () => {
  const messages: Message[] = [
    ...toolLoop([{ type: 'thinking', text: 't', signature: 's' }]),
    { role: 'assistant', content: [{ type: 'tool_call', id: 'toolu_2', name: 'weather', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', toolCallId: 'toolu_2', content: [{ type: 'text', text: 'rain' }] }] },
  ];
  const body = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', budgetTokens: 2048 }, messages }), 'm');
  assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 2048 });
});

test('an earlier, finished tool turn without thinking does not disable thinking', () => {
  const messages: Message[] = [...toolLoop([]), assistant('It is sunny.'), user('Thanks! And tomorrow?')];
  const body = encodeAnthropicRequest(request({ reasoning: { mode: 'enabled', budgetTokens: 2048 }, messages }), 'm');
  assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 2048 });
});

test('a forced tool choice disables thinking, which Anthropic does not allow with it', () => {
  const tools: ChatRequest['tools'] = [{ kind: 'function', name: 'f', inputSchema: { type: 'object' } }];
  const body = encodeAnthropicRequest(
    request({ tools, toolChoice: { type: 'tool', name: 'f' }, reasoning: { mode: 'enabled', effort: 'low' }, temperature: 0.5 }),
    'm',
  );
  assert.equal(body.thinking, undefined);
  assert.equal(body.temperature, 0.5);
  assert.equal(body.max_tokens, 4096);
});

test('a prefilled answer (final assistant message) disables thinking, which cannot be combined with it', () => {
  const messages = [user('Write JSON'), assistant('{')];
  assert.equal(encodeAnthropicRequest(request({ messages, reasoning: { mode: 'enabled', budgetTokens: 2048 } }), 'm').thinking, undefined);
  assert.equal(encodeAnthropicRequest(request({ messages, reasoning: { mode: 'adaptive' } }), 'm').thinking, undefined);
  const asked = encodeAnthropicRequest(request({ messages: [user('Write JSON')], reasoning: { mode: 'adaptive' } }), 'm');
  assert.deepEqual(asked.thinking, { type: 'adaptive' });
});

test('tools: functions without strict, server tools verbatim, tool_choice and parallel calls', () => {
  const raw = { type: 'web_search_20250305', name: 'web_search', max_uses: 3 };
  const body = encodeAnthropicRequest(
    request({
      tools: [
        { kind: 'function', name: 'f', description: 'does f', inputSchema: { type: 'object' }, strict: true, cacheControl: { type: 'ephemeral' } },
        { kind: 'server', type: 'web_search_20250305', name: 'web_search', raw },
      ],
      toolChoice: { type: 'any' },
      parallelToolCalls: false,
    }),
    'm',
  );
  assert.deepEqual(body.tools, [
    { name: 'f', description: 'does f', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
    raw,
  ]);
  assert.deepEqual(body.tool_choice, { type: 'any', disable_parallel_tool_use: true });
});

test('tool_choice variants, and no tool_choice without tools', () => {
  const tools: ChatRequest['tools'] = [{ kind: 'function', name: 'f', inputSchema: {} }];
  const choice = (extra: Partial<ChatRequest>): unknown => encodeAnthropicRequest(request({ tools, ...extra }), 'm').tool_choice;
  assert.deepEqual(choice({ toolChoice: { type: 'auto' } }), { type: 'auto' });
  assert.deepEqual(choice({ toolChoice: { type: 'none' }, parallelToolCalls: false }), { type: 'none' });
  assert.deepEqual(choice({ toolChoice: { type: 'tool', name: 'f' } }), { type: 'tool', name: 'f' });
  assert.deepEqual(choice({ parallelToolCalls: false }), { type: 'auto', disable_parallel_tool_use: true });
  assert.equal(choice({}), undefined);
  const none = encodeAnthropicRequest(request({ tools: [], toolChoice: { type: 'any' } }), 'm');
  assert.equal(none.tools, undefined);
  assert.equal(none.tool_choice, undefined);
});

test('images and cache markers are written in Anthropic shape; OpenAI detail is dropped', () => {
  const body = encodeAnthropicRequest(
    request({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'url', url: 'https://x/y.png' }, detail: 'high' },
            { type: 'image', source: { type: 'base64', mediaType: 'image/webp', data: 'UklG' }, cacheControl: { type: 'ephemeral', ttl: '5m' } },
          ],
        },
      ],
    }),
    'm',
  );
  assert.deepEqual((body.messages as Array<{ content: unknown }>)[0]!.content, [
    { type: 'image', source: { type: 'url', url: 'https://x/y.png' } },
    { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklG' }, cache_control: { type: 'ephemeral', ttl: '5m' } },
  ]);
});

test('what Anthropic would reject from an OpenAI client is mended: system-only, a prefill ending in whitespace, blank stop sequences', () => {
  const systemOnly = encodeAnthropicRequest(request({ messages: [{ role: 'system', content: [{ type: 'text', text: 'You are X' }] }] }), 'm');
  assert.deepEqual(systemOnly.messages, [{ role: 'user', content: [{ type: 'text', text: 'You are X' }] }]);
  assert.equal(systemOnly.system, undefined);
  const prefill = encodeAnthropicRequest(request({ messages: [user('Hi'), assistant('Sure: ')] }), 'm');
  assert.deepEqual((prefill.messages as Array<{ content: unknown }>)[1]?.content, [{ type: 'text', text: 'Sure:' }]);
  const blank = encodeAnthropicRequest(request({ messages: [user('Hi'), assistant(' \n')] }), 'm');
  assert.equal((blank.messages as unknown[]).length, 1, 'a prefill of whitespace alone goes');
  // Only the final assistant message is a prefill.
  const earlier = encodeAnthropicRequest(request({ messages: [user('Hi'), assistant('Sure: '), user('Go')] }), 'm');
  assert.deepEqual((earlier.messages as Array<{ content: unknown }>)[1]?.content, [{ type: 'text', text: 'Sure: ' }]);
  assert.deepEqual(encodeAnthropicRequest(request({ stopSequences: ['\n\n', ' ', 'END'] }), 'm').stop_sequences, ['END']);
  assert.equal(encodeAnthropicRequest(request({ stopSequences: [''] }), 'm').stop_sequences, undefined);
});
