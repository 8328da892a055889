import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamEvent } from '../../../src/model/types.ts';
import { createAnthropicStreamDecoder } from '../../../src/protocols/anthropic/stream.ts';
import { decodeAnthropicSse, fixture } from './helpers.ts';

const allFixtures = [
  'text',
  'crlf',
  'thinking-tool-use',
  'parallel-tools',
  'error',
  'server-tools',
  'truncated',
  'empty-tool-input',
  'redacted-thinking',
  'max-tokens',
];

test('a plain text stream decodes to the exact internal events, pings included', () => {
  assert.deepEqual(decodeAnthropicSse(fixture('text')), [
    {
      type: 'message_start',
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      model: 'claude-sonnet-4-5-20250929',
      usage: { inputTokens: 12, outputTokens: 1, cacheWriteTokens: 2048, cacheReadTokens: 4096 },
    },
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'ping' },
    { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Hello' } },
    { type: 'block_delta', index: 0, delta: { type: 'text', text: '! How can I help' } },
    { type: 'block_delta', index: 0, delta: { type: 'text', text: ' you today? ✨' } },
    { type: 'block_stop', index: 0 },
    {
      type: 'message_delta',
      stopReason: 'end_turn',
      usage: { inputTokens: 12, outputTokens: 15, cacheWriteTokens: 2048, cacheReadTokens: 4096 },
    },
    { type: 'message_stop' },
  ] satisfies StreamEvent[]);
});

test('CRLF line endings decode exactly like LF', () => {
  assert.deepEqual(decodeAnthropicSse(fixture('crlf')), decodeAnthropicSse(fixture('text')));
});

test('every fixture decodes the same whatever the chunk boundaries', () => {
  for (const name of allFixtures) {
    const whole = decodeAnthropicSse(fixture(name));
    for (const size of [1, 2, 7, 64]) {
      assert.deepEqual(decodeAnthropicSse(fixture(name), size), whole, `${name} in ${size}-byte chunks`);
    }
  }
});

test('thinking with its signature, then text, then a tool call keep their order and content', () => {
  assert.deepEqual(decodeAnthropicSse(fixture('thinking-tool-use')).slice(1), [
    { type: 'block_start', index: 0, block: { type: 'thinking' } },
    { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'The user wants the weather in Paris.' } },
    { type: 'block_delta', index: 0, delta: { type: 'thinking', text: ' I should call get_weather with the city.' } },
    {
      type: 'block_delta',
      index: 0,
      delta: {
        type: 'signature',
        signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds4vsMUjjkPaT7ld0MQBPd4KlMNBjnEQ0lAvmVZI7hcDwW5ZTjTLdBVBDGfiCNWNF',
      },
    },
    { type: 'block_stop', index: 0 },
    { type: 'block_start', index: 1, block: { type: 'text' } },
    { type: 'block_delta', index: 1, delta: { type: 'text', text: 'Let me check the weather.' } },
    { type: 'block_stop', index: 1 },
    { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather' } },
    // The empty partial_json Anthropic sends first carries nothing and is skipped.
    { type: 'block_delta', index: 2, delta: { type: 'tool_args', json: '{"city": "Pa' } },
    { type: 'block_delta', index: 2, delta: { type: 'tool_args', json: 'ris", "unit": "celsius"}' } },
    { type: 'block_stop', index: 2 },
    { type: 'message_delta', stopReason: 'tool_use', usage: { outputTokens: 89 } },
    { type: 'message_stop' },
  ] satisfies StreamEvent[]);
});

test('two parallel tool calls get their own indexes and arguments', () => {
  const events = decodeAnthropicSse(fixture('parallel-tools'));
  const starts = events.filter((e) => e.type === 'block_start');
  assert.deepEqual(starts, [
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather' } },
    { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_01B7vX3nMqw2kR8sJ5dL4pYz', name: 'get_weather' } },
  ]);
  const args = (index: number): string =>
    events
      .map((e) => (e.type === 'block_delta' && e.index === index && e.delta.type === 'tool_args' ? e.delta.json : ''))
      .join('');
  assert.deepEqual(JSON.parse(args(1)), { city: 'Paris' });
  assert.deepEqual(JSON.parse(args(2)), { city: 'Tōkyō' });
  assert.ok(events.some((e) => e.type === 'ping'));
});

test('an error event becomes an internal error with its kind, and nothing follows it', () => {
  const events = decodeAnthropicSse(fixture('error'));
  assert.deepEqual(events.slice(-2), [
    { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Once upon a' } },
    { type: 'error', error: { kind: 'overloaded', message: 'Overloaded' } },
  ]);
  const decoder = createAnthropicStreamDecoder();
  decoder.push({ event: 'error', data: '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}' });
  assert.deepEqual(decoder.push({ event: 'message_stop', data: '{"type":"message_stop"}' }), []);
});

test('server tool blocks and citation deltas are dropped and the remaining blocks renumbered', () => {
  assert.deepEqual(decodeAnthropicSse(fixture('server-tools')).slice(1), [
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'block_delta', index: 0, delta: { type: 'text', text: "I'll search for that." } },
    { type: 'block_stop', index: 0 },
    // upstream index 3 -> internal index 1
    { type: 'block_start', index: 1, block: { type: 'text' } },
    { type: 'block_delta', index: 1, delta: { type: 'text', text: 'It is sunny in New York' } },
    { type: 'block_delta', index: 1, delta: { type: 'text', text: ', with a high of 24°C.' } },
    { type: 'block_stop', index: 1 },
    {
      type: 'message_delta',
      stopReason: 'end_turn',
      usage: { inputTokens: 10682, outputTokens: 510, cacheWriteTokens: 0, cacheReadTokens: 0 },
    },
    { type: 'message_stop' },
  ] satisfies StreamEvent[]);
});

test('a truncated stream is not completed by the decoder: no stop reason is invented', () => {
  const events = decodeAnthropicSse(fixture('truncated'));
  assert.deepEqual(events.at(-1), { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{"sql": "SELECT 1"}' } });
  assert.ok(!events.some((e) => e.type === 'message_delta' || e.type === 'message_stop'));
});

test('a tool call with no arguments gets one {} tool_args delta, so its arguments always parse', () => {
  assert.deepEqual(decodeAnthropicSse(fixture('empty-tool-input')).slice(1, 4), [
    { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'toolu_01Ld2NpQ8sRt4vWx6yZa1bCd', name: 'get_time' } },
    { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{}' } },
    { type: 'block_stop', index: 0 },
  ]);
});

test('a stream cut while a tool call waits for its arguments ends that call with {}', () => {
  const events = decodeAnthropicSse(fixture('empty-tool-input').split('event: content_block_delta')[0]!);
  assert.deepEqual(events.at(-1), { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{}' } });
});

test('redacted thinking keeps its data and a stop sequence is reported', () => {
  const events = decodeAnthropicSse(fixture('redacted-thinking'));
  assert.deepEqual(events[1], {
    type: 'block_start',
    index: 0,
    block: { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB8URj2pLmN' },
  });
  assert.deepEqual(events.at(-2), { type: 'message_delta', stopReason: 'stop_sequence', stopSequence: '\n\nHuman:', usage: { outputTokens: 55 } });
});

test('max_tokens is reported as the stop reason', () => {
  const events = decodeAnthropicSse(fixture('max-tokens'));
  assert.equal(events.filter((e) => e.type === 'ping').length, 4);
  assert.deepEqual(events.at(-2), { type: 'message_delta', stopReason: 'max_tokens', usage: { outputTokens: 16 } });
});

test('malformed JSON in a data line becomes an api_error event instead of a throw', () => {
  const decoder = createAnthropicStreamDecoder();
  assert.deepEqual(decoder.push({ event: 'content_block_delta', data: '{"type":"content_block_delta",' }), [
    { type: 'error', error: { kind: 'api_error', message: 'upstream sent malformed SSE data (invalid JSON)' } },
  ]);
});

test('unknown event types and deltas for unknown blocks are ignored', () => {
  const decoder = createAnthropicStreamDecoder();
  assert.deepEqual(decoder.push({ event: 'future_event', data: '{"type":"future_event"}' }), []);
  assert.deepEqual(decoder.push({ event: 'content_block_delta', data: '{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}' }), []);
  assert.deepEqual(decoder.push({ event: 'content_block_stop', data: '{"type":"content_block_stop","index":5}' }), []);
});

test('model_context_window_exceeded reads as max_tokens', () => {
  const decoder = createAnthropicStreamDecoder();
  const events = decoder.push({
    event: 'message_delta',
    data: '{"type":"message_delta","delta":{"stop_reason":"model_context_window_exceeded","stop_sequence":null},"usage":{"output_tokens":3}}',
  });
  assert.deepEqual(events, [{ type: 'message_delta', stopReason: 'max_tokens', usage: { outputTokens: 3 } }]);
});
