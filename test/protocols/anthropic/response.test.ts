import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../../src/errors.ts';
import type { ChatResponse } from '../../../src/model/types.ts';
import { decodeAnthropicResponse, encodeAnthropicResponse } from '../../../src/protocols/anthropic/response.ts';

const wire = {
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'Need the weather.', signature: 'sig' },
    { type: 'redacted_thinking', data: 'opaque' },
    { type: 'text', text: 'Checking.', citations: null },
    { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'x' } },
    { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
    { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  container: null,
  usage: {
    input_tokens: 50,
    output_tokens: 70,
    cache_creation_input_tokens: 10,
    cache_read_input_tokens: 2000,
    service_tier: 'standard',
    server_tool_use: { web_search_requests: 1 },
  },
};

const internal: ChatResponse = {
  id: 'msg_01',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', text: 'Need the weather.', signature: 'sig' },
    { type: 'redacted_thinking', data: 'opaque' },
    { type: 'text', text: 'Checking.' },
    { type: 'tool_call', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
  ],
  stopReason: 'tool_use',
  usage: { inputTokens: 50, outputTokens: 70, cacheWriteTokens: 10, cacheReadTokens: 2000 },
};

test('a response decodes with server tool blocks dropped and cache usage kept', () => {
  assert.deepEqual(decodeAnthropicResponse(wire), internal);
});

test('a response encodes to the documented shape and decodes back unchanged', () => {
  const encoded = encodeAnthropicResponse(internal);
  assert.deepEqual(encoded, {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [
      { type: 'thinking', thinking: 'Need the weather.', signature: 'sig' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 50, output_tokens: 70, cache_creation_input_tokens: 10, cache_read_input_tokens: 2000 },
  });
  assert.deepEqual(decodeAnthropicResponse(encoded), internal);
});

test('a missing stop reason is written as end_turn, or tool_use when tools were called', () => {
  const base: ChatResponse = { id: 'x', model: 'm', content: [{ type: 'text', text: 'a' }], stopReason: null, usage: { inputTokens: 1, outputTokens: 1 } };
  assert.equal(encodeAnthropicResponse(base).stop_reason, 'end_turn');
  const tools = { ...base, content: [{ type: 'tool_call' as const, id: 't', name: 'f', input: {} }] };
  assert.equal(encodeAnthropicResponse(tools).stop_reason, 'tool_use');
});

test('unknown cache counts are written as 0 and thinking without signature gets an empty one', () => {
  const encoded = encodeAnthropicResponse({
    id: 'chatcmpl-1',
    model: 'deepseek-reasoner',
    content: [{ type: 'thinking', text: 'hmm' }],
    stopReason: 'end_turn',
    stopSequence: null,
    usage: { inputTokens: 3, outputTokens: 4, reasoningTokens: 2 },
  });
  assert.deepEqual(encoded.usage, { input_tokens: 3, output_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  assert.deepEqual(encoded.content, [{ type: 'thinking', thinking: 'hmm', signature: '' }]);
});

test('a stop sequence and unknown stop reasons decode', () => {
  const decode = (extra: Record<string, unknown>): ChatResponse =>
    decodeAnthropicResponse({ id: 'x', model: 'm', content: [], usage: { input_tokens: 1, output_tokens: 2 }, ...extra });
  const seq = decode({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
  assert.equal(seq.stopReason, 'stop_sequence');
  assert.equal(seq.stopSequence, 'END');
  assert.equal(decode({ stop_reason: 'model_context_window_exceeded' }).stopReason, 'max_tokens');
  assert.equal(decode({ stop_reason: 'something_new' }).stopReason, 'end_turn');
  assert.equal(decode({ stop_reason: 'refusal' }).stopReason, 'refusal');
  assert.deepEqual(decode({}).usage, { inputTokens: 1, outputTokens: 2 });
});

test('a malformed upstream response is an upstream error naming the path', () => {
  const bad: Array<[unknown, string]> = [
    ['nope', 'upstream response body is not a JSON object'],
    [{ id: 'x', model: 'm' }, 'content: must be an array'],
    [{ model: 'm', content: [] }, 'id: must be a string'],
    [{ id: 'x', model: 'm', content: [{ type: 'text' }] }, 'content.0.text: must be a string'],
    [{ id: 'x', model: 'm', content: [{ type: 'tool_use', id: 't', name: 'f', input: 'x' }] }, 'content.0.input: must be an object'],
  ];
  for (const [body, message] of bad) {
    assert.throws(
      () => decodeAnthropicResponse(body),
      (err: unknown) => err instanceof GatewayError && err.code === 'SWY_ERR_UPSTREAM_BAD_RESPONSE' && err.message === message,
      message,
    );
  }
});
