import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { StreamEvent } from '../../../src/model/types.ts';
import { createAnthropicStreamEncoder } from '../../../src/protocols/anthropic/stream.ts';
import { assertWellFormedAnthropic, decodeAnthropicSse, fixture, parseSse, sdkFinalMessage } from './helpers.ts';

function encodeAll(events: StreamEvent[], options?: { model?: string }): string {
  const encoder = createAnthropicStreamEncoder(options);
  let out = '';
  for (const ev of events) out += encoder.push(ev);
  return out + encoder.end();
}

/** The parts of an SDK-accumulated message that must survive decode → encode. */
function essentials(m: Awaited<ReturnType<typeof sdkFinalMessage>>): unknown {
  return {
    id: m.id,
    model: m.model,
    content: m.content.map((b) => ({ ...b })),
    stop_reason: m.stop_reason,
    stop_sequence: m.stop_sequence,
    usage: {
      input_tokens: m.usage.input_tokens,
      output_tokens: m.usage.output_tokens,
      cache_creation_input_tokens: m.usage.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: m.usage.cache_read_input_tokens ?? 0,
    },
  };
}

test('re-encoding a decoded fixture gives the official SDK the same message as the original', async () => {
  for (const name of ['text', 'crlf', 'thinking-tool-use', 'parallel-tools', 'empty-tool-input', 'redacted-thinking', 'max-tokens']) {
    const original = fixture(name);
    const reencoded = encodeAll(decodeAnthropicSse(original));
    assertWellFormedAnthropic(reencoded);
    assert.deepEqual(essentials(await sdkFinalMessage(reencoded)), essentials(await sdkFinalMessage(original)), name);
  }
});

test('a plain text stream is written event for event in the documented wire format', () => {
  const sse = encodeAll(decodeAnthropicSse(fixture('text')));
  const expected = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1,"cache_creation_input_tokens":2048,"cache_read_input_tokens":4096}}}\n\n',
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    'event: ping\ndata: {"type":"ping"}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"! How can I help"}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" you today? ✨"}}\n\n',
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15,"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":4096}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  ].join('');
  assert.equal(sse, expected);
});

test('server tool blocks dropped by the decoder leave a contiguous, SDK-readable stream', async () => {
  const sse = encodeAll(decodeAnthropicSse(fixture('server-tools')));
  assertWellFormedAnthropic(sse);
  const message = await sdkFinalMessage(sse);
  assert.deepEqual(
    message.content.map((b) => (b.type === 'text' ? b.text : b.type)),
    ["I'll search for that.", 'It is sunny in New York, with a high of 24°C.'],
  );
  assert.equal(message.usage.input_tokens, 10682);
});

test('an upstream error becomes an error event and nothing is written after it', () => {
  const encoder = createAnthropicStreamEncoder();
  let sse = '';
  for (const ev of decodeAnthropicSse(fixture('error'))) sse += encoder.push(ev);
  assert.equal(encoder.end(), '');
  assert.equal(encoder.push({ type: 'message_stop' }), '');
  const events = assertWellFormedAnthropic(sse);
  assert.deepEqual(events.at(-1), { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
  assert.ok(sse.endsWith('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
});

test('a truncated tool call stream is closed well-formed with stop reason tool_use and its arguments intact', async () => {
  const sse = encodeAll(decodeAnthropicSse(fixture('truncated')));
  const events = assertWellFormedAnthropic(sse);
  assert.deepEqual(events.at(-2)?.data.delta, { stop_reason: 'tool_use', stop_sequence: null });
  const message = await sdkFinalMessage(sse);
  assert.deepEqual(message.content[0], { type: 'tool_use', id: 'toolu_01Q3zV7fWmXK9s2LbN4rT8yE', name: 'run_query', input: { sql: 'SELECT 1' } });
});

test('end() with no events at all still produces a complete, empty message', () => {
  const events = assertWellFormedAnthropic(encodeAll([], { model: 'sonnet' }));
  assert.deepEqual(
    events.map((e) => e.event),
    ['message_start', 'message_delta', 'message_stop'],
  );
  assert.equal((events[0]!.data.message as { model: string }).model, 'sonnet');
  assert.match((events[0]!.data.message as { id: string }).id, /^msg_[0-9a-f]{32}$/);
  assert.deepEqual(events[1]!.data.delta, { stop_reason: 'end_turn', stop_sequence: null });
});

test('a stream without message_start gets one synthesized before its first block', () => {
  const sse = encodeAll([
    { type: 'block_start', index: 0, block: { type: 'text' } },
    { type: 'block_delta', index: 0, delta: { type: 'text', text: 'hi' } },
  ]);
  const events = assertWellFormedAnthropic(sse);
  assert.deepEqual(
    events.map((e) => e.event),
    ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
  );
  assert.deepEqual((events[0]!.data.message as { usage: unknown }).usage, { input_tokens: 0, output_tokens: 0 });
});

test('a tool call that received no arguments is given {} so the client parses an object', async () => {
  const sse = encodeAll([
    { type: 'message_start', id: 'chatcmpl-1', model: 'gpt-4o', usage: { inputTokens: 5 } },
    { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'call_1', name: 'now' } },
    { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '' } },
    { type: 'block_stop', index: 0 },
    { type: 'message_delta', stopReason: 'tool_use', usage: { outputTokens: 7 } },
    { type: 'message_stop' },
  ]);
  const events = assertWellFormedAnthropic(sse);
  const deltas = events.filter((e) => e.event === 'content_block_delta');
  assert.deepEqual(deltas.map((e) => e.data.delta), [{ type: 'input_json_delta', partial_json: '{}' }]);
  const message = await sdkFinalMessage(sse);
  assert.deepEqual(message.content, [{ type: 'tool_use', id: 'call_1', name: 'now', input: {} }]);
});

test('a tool call without an id gets a generated toolu_ id', () => {
  const events = assertWellFormedAnthropic(
    encodeAll([{ type: 'block_start', index: 0, block: { type: 'tool_call', id: '', name: 'f' } }]),
  );
  assert.match((events[1]!.data.content_block as { id: string }).id, /^toolu_[0-9a-f]{32}$/);
});

test('a block start closes the open block, and a delta for a closed block is dropped', () => {
  const sse = encodeAll([
    { type: 'message_start', id: 'x', model: 'm' },
    { type: 'block_start', index: 0, block: { type: 'thinking' } },
    { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'hmm' } },
    { type: 'block_start', index: 1, block: { type: 'text' } },
    { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'late' } },
    { type: 'block_delta', index: 1, delta: { type: 'text', text: 'ok' } },
  ]);
  const events = assertWellFormedAnthropic(sse);
  assert.deepEqual(
    events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta),
    [
      { type: 'thinking_delta', thinking: 'hmm' },
      { type: 'text_delta', text: 'ok' },
    ],
  );
});

test('a text delta with no block_start opens a text block', () => {
  const events = assertWellFormedAnthropic(encodeAll([{ type: 'block_delta', index: 3, delta: { type: 'text', text: 'x' } }]));
  assert.deepEqual(events[1]!.data, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
});

test('message_delta carries output tokens, and input and cache tokens once known', () => {
  const events = parseSse(
    encodeAll([
      { type: 'message_start', id: 'x', model: 'm' },
      { type: 'message_delta', stopReason: 'end_turn', usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 900 } },
      { type: 'message_stop' },
    ]),
  );
  assert.deepEqual(events[0]!.data.message && (events[0]!.data.message as { usage: unknown }).usage, { input_tokens: 0, output_tokens: 0 });
  assert.deepEqual(events[1]!.data.usage, { output_tokens: 20, input_tokens: 100, cache_read_input_tokens: 900 });
});

test('the model option replaces the upstream model name', () => {
  const events = parseSse(encodeAll([{ type: 'message_start', id: 'x', model: 'gpt-4o-2024-08-06' }], { model: 'my-alias' }));
  assert.equal((events[0]!.data.message as { model: string }).model, 'my-alias');
});

const arbEvent: fc.Arbitrary<StreamEvent> = fc.oneof(
  fc.record({ type: fc.constant('message_start' as const), id: fc.string(), model: fc.string() }),
  fc.record({
    type: fc.constant('block_start' as const),
    index: fc.nat(4),
    block: fc.oneof(
      fc.constant({ type: 'text' as const }),
      fc.constant({ type: 'thinking' as const }),
      fc.record({ type: fc.constant('redacted_thinking' as const), data: fc.string() }),
      fc.record({ type: fc.constant('tool_call' as const), id: fc.string(), name: fc.string() }),
    ),
  }),
  fc.record({
    type: fc.constant('block_delta' as const),
    index: fc.nat(4),
    delta: fc.oneof(
      fc.record({ type: fc.constant('text' as const), text: fc.string() }),
      fc.record({ type: fc.constant('thinking' as const), text: fc.string() }),
      fc.record({ type: fc.constant('signature' as const), signature: fc.string() }),
      fc.record({ type: fc.constant('tool_args' as const), json: fc.string() }),
    ),
  }),
  fc.record({ type: fc.constant('block_stop' as const), index: fc.nat(4) }),
  fc.record({
    type: fc.constant('message_delta' as const),
    stopReason: fc.constantFrom('end_turn' as const, 'tool_use' as const, null),
    usage: fc.record({ outputTokens: fc.nat() }),
  }),
  fc.constant({ type: 'message_stop' as const }),
  fc.constant({ type: 'ping' as const }),
  fc.constant({ type: 'error' as const, error: { kind: 'overloaded' as const, message: 'busy' } }),
);

test('any sequence of internal events, however disordered, yields a well-formed Anthropic stream', () => {
  fc.assert(
    fc.property(fc.array(arbEvent, { maxLength: 30 }), (events) => {
      assertWellFormedAnthropic(encodeAll(events));
    }),
    { numRuns: 500 },
  );
});
