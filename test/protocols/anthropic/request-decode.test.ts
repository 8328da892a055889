import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../../src/errors.ts';
import type { ChatRequest } from '../../../src/model/types.ts';
import { decodeAnthropicRequest } from '../../../src/protocols/anthropic/request.ts';

test('a Claude Code style request decodes every field into the internal model', () => {
  const req = decodeAnthropicRequest({
    model: 'claude-sonnet-4-5',
    max_tokens: 32000,
    system: [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: 'text', text: 'Project rules…', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ],
    messages: [
      { role: 'user', content: 'Fix the bug' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Look at the file first.', signature: 'sig-1' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'text', text: 'Reading it.' },
          { type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: '/a.ts' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01', content: 'line 1' },
          { type: 'text', text: '<system-reminder>todo list empty</system-reminder>', cache_control: { type: 'ephemeral' } },
        ],
      },
      { role: 'system', content: 'Mid-conversation instruction' },
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          {
            type: 'tool_result',
            tool_use_id: 'toolu_02',
            is_error: true,
            content: [
              { type: 'text', text: 'failed' },
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } },
              { type: 'search_result', source: 'x', title: 't', content: [] },
            ],
          },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
        ],
      },
    ],
    tools: [
      {
        name: 'Read',
        description: 'Reads a file',
        input_schema: { type: 'object', properties: { file_path: { type: 'string' } } },
        cache_control: { type: 'ephemeral' },
      },
      { type: 'custom', name: 'Strict', input_schema: { type: 'object' }, strict: true },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
    ],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    thinking: { type: 'enabled', budget_tokens: 10000 },
    output_config: { effort: 'high' },
    temperature: 1,
    top_p: 0.9,
    top_k: 40,
    stop_sequences: ['\n\nHuman:'],
    metadata: { user_id: 'user_abc' },
    stream: true,
    // No internal equivalent: ignored, never an error.
    context_management: { edits: [] },
    service_tier: 'auto',
    container: 'container_1',
    mcp_servers: [{ type: 'url', url: 'https://mcp.example', name: 'x' }],
  });
  assert.deepEqual(req, {
    model: 'claude-sonnet-4-5',
    maxTokens: 32000,
    system: [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: 'text', text: 'Project rules…', cacheControl: { type: 'ephemeral', ttl: '1h' } },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Fix the bug' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', text: 'Look at the file first.', signature: 'sig-1' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'text', text: 'Reading it.' },
          { type: 'tool_call', id: 'toolu_01', name: 'Read', input: { file_path: '/a.ts' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', toolCallId: 'toolu_01', content: [{ type: 'text', text: 'line 1' }] },
          { type: 'text', text: '<system-reminder>todo list empty</system-reminder>', cacheControl: { type: 'ephemeral' } },
        ],
      },
      { role: 'system', content: [{ type: 'text', text: 'Mid-conversation instruction' }] },
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          {
            type: 'tool_result',
            toolCallId: 'toolu_02',
            isError: true,
            content: [
              { type: 'text', text: 'failed' },
              { type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/' } },
            ],
          },
        ],
      },
    ],
    tools: [
      {
        kind: 'function',
        name: 'Read',
        description: 'Reads a file',
        inputSchema: { type: 'object', properties: { file_path: { type: 'string' } } },
        cacheControl: { type: 'ephemeral' },
      },
      { kind: 'function', name: 'Strict', inputSchema: { type: 'object' }, strict: true },
      {
        kind: 'server',
        type: 'web_search_20250305',
        name: 'web_search',
        raw: { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
      },
    ],
    toolChoice: { type: 'auto' },
    parallelToolCalls: false,
    reasoning: { mode: 'enabled', budgetTokens: 10000, effort: 'high' },
    temperature: 1,
    topP: 0.9,
    topK: 40,
    stopSequences: ['\n\nHuman:'],
    user: 'user_abc',
    stream: true,
  } satisfies ChatRequest);
});

test('a minimal request decodes with defaults: no system, not streaming', () => {
  assert.deepEqual(decodeAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), {
    model: 'm',
    system: [],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    stream: false,
  });
});

test('a system string becomes one text part; an empty one none', () => {
  const sys = (system: unknown): unknown => decodeAnthropicRequest({ model: 'm', messages: [], system }).system;
  assert.deepEqual(sys('Be brief.'), [{ type: 'text', text: 'Be brief.' }]);
  assert.deepEqual(sys(''), []);
  assert.deepEqual(sys(null), []);
});

test('thinking modes and effort map to internal reasoning', () => {
  const reasoning = (extra: Record<string, unknown>): unknown =>
    decodeAnthropicRequest({ model: 'm', messages: [], ...extra }).reasoning;
  assert.deepEqual(reasoning({ thinking: { type: 'enabled', budget_tokens: 2048 } }), { mode: 'enabled', budgetTokens: 2048 });
  assert.deepEqual(reasoning({ thinking: { type: 'disabled' } }), { mode: 'disabled' });
  assert.deepEqual(reasoning({ thinking: { type: 'adaptive' }, output_config: { effort: 'max' } }), { mode: 'adaptive', effort: 'max' });
  // Effort alone: no extended thinking, but the effort is kept for effort-only protocols.
  assert.deepEqual(reasoning({ output_config: { effort: 'low' } }), { mode: 'disabled', effort: 'low' });
  assert.deepEqual(reasoning({ output_config: { effort: 'xhigh' } }), { mode: 'disabled', effort: 'max' });
  assert.equal(reasoning({ output_config: { effort: 'galactic' } }), undefined);
  assert.equal(reasoning({ thinking: { type: 'between_tools' } }), undefined);
  assert.equal(reasoning({}), undefined);
});

test('every tool_choice type decodes, and parallel calls are only turned off explicitly', () => {
  const decode = (tool_choice: unknown): ChatRequest =>
    decodeAnthropicRequest({ model: 'm', messages: [], tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice });
  assert.deepEqual(decode({ type: 'auto' }).toolChoice, { type: 'auto' });
  assert.deepEqual(decode({ type: 'any' }).toolChoice, { type: 'any' });
  assert.deepEqual(decode({ type: 'none' }).toolChoice, { type: 'none' });
  assert.deepEqual(decode({ type: 'tool', name: 'f', disable_parallel_tool_use: true }), {
    ...decode({ type: 'tool', name: 'f' }),
    parallelToolCalls: false,
  });
  assert.equal(decode({ type: 'any', disable_parallel_tool_use: false }).parallelToolCalls, undefined);
});

test('a thinking block with an empty signature decodes as unsigned', () => {
  const req = decodeAnthropicRequest({
    model: 'm',
    messages: [{ role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: '' }] }],
  });
  assert.deepEqual(req.messages[0]!.content, [{ type: 'thinking', text: 't' }]);
});

test('a text document becomes titled text, in a message or a tool result; a PDF is dropped', () => {
  const req = decodeAnthropicRequest({
    model: 'm',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'line one' } },
          { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'out' } }] },
        ],
      },
    ],
  });
  assert.deepEqual(req.messages[0]?.content, [
    { type: 'text', text: '<document title="Notes">\nline one\n</document>' },
    { type: 'text', text: '<document>\na\n\nb\n</document>' },
    { type: 'tool_result', toolCallId: 't1', content: [{ type: 'text', text: '<document>\nout\n</document>' }] },
  ]);
});

test('an image from the Files API and unknown block types are dropped, not rejected', () => {
  const req = decodeAnthropicRequest({
    model: 'm',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'file', file_id: 'file_1' } },
          { type: 'container_upload', file_id: 'file_2' },
          { type: 'text', text: 'kept' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
        ],
      },
    ],
  });
  assert.deepEqual(req.messages, [
    { role: 'user', content: [{ type: 'text', text: 'kept' }] },
    { role: 'assistant', content: [] },
  ]);
});

const invalid: Array<[string, unknown, string]> = [
  ['a body that is not an object', [], 'request body must be a JSON object'],
  ['a missing model', { messages: [] }, 'model: must be a non-empty string'],
  ['an empty model', { model: '', messages: [] }, 'model: must be a non-empty string'],
  ['missing messages', { model: 'm' }, 'messages: must be an array'],
  ['a message that is not an object', { model: 'm', messages: ['hi'] }, 'messages.0: must be an object'],
  ['an unknown role', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role: must be "user", "assistant" or "system"'],
  ['content of the wrong type', { model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages.0.content: must be a string or an array of content blocks'],
  ['missing content', { model: 'm', messages: [{ role: 'user' }] }, 'messages.0.content: must be a string or an array of content blocks'],
  [
    'a block without a type',
    { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'user', content: [{ text: 'x' }] }] },
    'messages.3.content.0.type: must be a string',
  ],
  ['a text block without text', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text: must be a string'],
  ['an image without source', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages.0.content.0.source: must be an object'],
  [
    'a base64 image without data',
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }] }] },
    'messages.0.content.0.source.data: must be a string',
  ],
  [
    'a tool_use with non-object input',
    { model: 'm', messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: '{}' }] }] },
    'messages.0.content.0.input: must be an object',
  ],
  [
    'a tool_use without id',
    { model: 'm', messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }] },
    'messages.0.content.0.id: must be a string',
  ],
  [
    'a tool_result without tool_use_id',
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] },
    'messages.0.content.0.tool_use_id: must be a string',
  ],
  [
    'a tool_result with a non-boolean is_error',
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', is_error: 'yes' }] }] },
    'messages.0.content.0.is_error: must be a boolean',
  ],
  [
    'a tool_result block inside a tool_result without type',
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ text: 'x' }] }] }] },
    'messages.0.content.0.content.0.type: must be a string',
  ],
  [
    'a thinking block without thinking text',
    { model: 'm', messages: [{ role: 'assistant', content: [{ type: 'thinking', signature: 's' }] }] },
    'messages.0.content.0.thinking: must be a string',
  ],
  [
    'a bad cache_control',
    { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'forever' } }] }] },
    'messages.0.content.0.cache_control: must be {"type":"ephemeral"}',
  ],
  ['a zero max_tokens', { model: 'm', messages: [], max_tokens: 0 }, 'max_tokens: must be a positive integer'],
  ['a fractional max_tokens', { model: 'm', messages: [], max_tokens: 1.5 }, 'max_tokens: must be a positive integer'],
  ['a string temperature', { model: 'm', messages: [], temperature: '0.5' }, 'temperature: must be a number'],
  ['a system block that is not text', { model: 'm', messages: [], system: [{ type: 'image' }] }, 'system.0.type: must be "text"'],
  ['a system of the wrong type', { model: 'm', messages: [], system: 5 }, 'system: must be a string or an array of text blocks'],
  ['stop_sequences with a number', { model: 'm', messages: [], stop_sequences: ['a', 1] }, 'stop_sequences.1: must be a string'],
  ['tools that are not an array', { model: 'm', messages: [], tools: {} }, 'tools: must be an array'],
  ['a tool without input_schema', { model: 'm', messages: [], tools: [{ name: 'f' }] }, 'tools.0.input_schema: must be an object'],
  ['a tool without name', { model: 'm', messages: [], tools: [{ input_schema: {} }] }, 'tools.0.name: must be a string'],
  ['a tool_choice of unknown type', { model: 'm', messages: [], tool_choice: { type: 'required' } }, 'tool_choice.type: must be "auto", "any", "tool" or "none"'],
  ['a tool_choice tool without name', { model: 'm', messages: [], tool_choice: { type: 'tool' } }, 'tool_choice.name: must be a string'],
  ['a thinking budget that is not a positive integer', { model: 'm', messages: [], thinking: { type: 'enabled', budget_tokens: -5 } }, 'thinking.budget_tokens: must be a positive integer'],
  ['thinking that is not an object', { model: 'm', messages: [], thinking: true }, 'thinking: must be an object'],
  ['metadata.user_id that is not a string', { model: 'm', messages: [], metadata: { user_id: 7 } }, 'metadata.user_id: must be a string'],
  ['a non-boolean stream', { model: 'm', messages: [], stream: 'yes' }, 'stream: must be a boolean'],
];

for (const [what, body, message] of invalid) {
  test(`${what} is rejected with a 400 naming the path`, () => {
    assert.throws(
      () => decodeAnthropicRequest(body),
      (err: unknown) => {
        assert.ok(err instanceof GatewayError);
        assert.equal(err.code, 'SWY_ERR_INVALID_REQUEST');
        assert.equal(err.status, 400);
        assert.equal(err.message, message);
        return true;
      },
    );
  });
}
