import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamEvent } from '../../../src/model/types.ts';
import { createOpenAIStreamEncoder } from '../../../src/protocols/openai/stream.ts';
import { decodeFixture, decodeSseText, fixtureNames, parseSse } from './helpers.ts';

const CREATED = 1735689600;

function encode(events: StreamEvent[], options: { includeUsage: boolean; model?: string }, end = false): string {
  const encoder = createOpenAIStreamEncoder({ ...options, created: CREATED });
  let out = '';
  for (const ev of events) out += encoder.push(ev);
  if (end) out += encoder.end();
  return out;
}

/** The JSON of every data line, `[DONE]` kept as a string. */
function dataOf(sse: string): unknown[] {
  return parseSse(sse).map((m) => (m.data === '[DONE]' ? m.data : JSON.parse(m.data)));
}

const base = { id: 'msg_1', object: 'chat.completion.chunk', created: CREATED, model: 'claude-x' };
const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({
  ...base,
  choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
});

const textEvents: StreamEvent[] = [
  { type: 'message_start', id: 'msg_1', model: 'claude-x', usage: { inputTokens: 10, outputTokens: 1, cacheReadTokens: 90 } },
  { type: 'ping' },
  { type: 'block_start', index: 0, block: { type: 'text' } },
  { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Hi "there"' } },
  { type: 'block_stop', index: 0 },
  { type: 'message_delta', stopReason: 'end_turn', usage: { outputTokens: 5 } },
  { type: 'message_stop' },
];

describe('OpenAI stream encoder', () => {
  test('writes role chunk, content, finish chunk, usage chunk and [DONE] in that order', () => {
    assert.deepEqual(dataOf(encode(textEvents, { includeUsage: true })), [
      choice({ role: 'assistant', content: '' }),
      choice({ content: 'Hi "there"' }),
      choice({}, 'stop'),
      {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 100,
          completion_tokens: 5,
          total_tokens: 105,
          prompt_tokens_details: { cached_tokens: 90 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      },
      '[DONE]',
    ]);
  });

  test('leaves the usage chunk out when the client did not ask for it', () => {
    const out = dataOf(encode(textEvents, { includeUsage: false }));
    assert.equal(out.length, 4);
    assert.equal(out.at(-1), '[DONE]');
  });

  test('writes SSE text exactly as OpenAI does: data lines, no event names', () => {
    const sse = encode(textEvents.slice(0, 1), { includeUsage: false });
    assert.equal(
      sse,
      `data: {"id":"msg_1","object":"chat.completion.chunk","created":${CREATED},"model":"claude-x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}\n\n`,
    );
  });

  test('shows the client the model name it asked for', () => {
    const first = dataOf(encode(textEvents, { includeUsage: true, model: 'sonnet' }));
    for (const c of first.slice(0, -1)) assert.equal((c as { model: string }).model, 'sonnet');
  });

  test('numbers tool calls 0, 1, … whatever their block index, and maps tool_use to tool_calls', () => {
    const events: StreamEvent[] = [
      { type: 'message_start', id: 'msg_1', model: 'claude-x' },
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'block_delta', index: 0, delta: { type: 'text', text: 'Calling.' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'tool_call', id: 'toolu_a', name: 'f' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '{"a":' } },
      { type: 'block_delta', index: 1, delta: { type: 'tool_args', json: '1}' } },
      { type: 'block_stop', index: 1 },
      { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_b', name: 'g' } },
      { type: 'block_delta', index: 2, delta: { type: 'tool_args', json: '{}' } },
      { type: 'block_stop', index: 2 },
      { type: 'message_delta', stopReason: 'tool_use' },
      { type: 'message_stop' },
    ];
    assert.deepEqual(dataOf(encode(events, { includeUsage: false })), [
      choice({ role: 'assistant', content: '' }),
      choice({ content: 'Calling.' }),
      choice({ tool_calls: [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'f', arguments: '' } }] }),
      choice({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
      choice({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      choice({ tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'g', arguments: '' } }] }),
      choice({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }),
      choice({}, 'tool_calls'),
      '[DONE]',
    ]);
  });

  test('sends thinking as reasoning_content and signatures and redacted thinking as reasoning_details', () => {
    const events: StreamEvent[] = [
      { type: 'message_start', id: 'msg_1', model: 'claude-x' },
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'hmm' } },
      { type: 'block_delta', index: 0, delta: { type: 'signature', signature: 'sig==' } },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'redacted_thinking', data: 'opaque' } },
      { type: 'block_stop', index: 1 },
    ];
    assert.deepEqual(dataOf(encode(events, { includeUsage: false })).slice(1), [
      choice({ reasoning_content: 'hmm', reasoning_details: [{ type: 'reasoning.text', text: 'hmm', index: 0 }] }),
      choice({ reasoning_details: [{ type: 'reasoning.text', signature: 'sig==', format: 'anthropic-claude-v1', index: 0 }] }),
      // Each reasoning block has its own index, as in a non-streamed answer.
      choice({ reasoning_details: [{ type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 }] }),
    ]);
  });

  test('maps max_tokens to length and refusal to content_filter', () => {
    const finish = (stopReason: 'max_tokens' | 'refusal') =>
      dataOf(encode([{ type: 'message_start', id: 'm', model: 'x' }, { type: 'message_delta', stopReason }], { includeUsage: false }))[1];
    assert.equal((finish('max_tokens') as { choices: Array<{ finish_reason: string }> }).choices[0]?.finish_reason, 'length');
    assert.equal((finish('refusal') as { choices: Array<{ finish_reason: string }> }).choices[0]?.finish_reason, 'content_filter');
  });

  test('writes an error as OpenAI error data and nothing after it, not even [DONE]', () => {
    const encoder = createOpenAIStreamEncoder({ includeUsage: true, created: CREATED });
    encoder.push({ type: 'message_start', id: 'm', model: 'x' });
    const err = encoder.push({ type: 'error', error: { kind: 'overloaded', message: 'Overloaded' } });
    assert.equal(err, 'data: {"error":{"message":"Overloaded","type":"service_unavailable","param":null,"code":null}}\n\n');
    assert.equal(encoder.push({ type: 'message_stop' }), '');
    assert.equal(encoder.end(), '');
  });

  test('still finishes with a finish chunk, usage and [DONE] when the events stop early', () => {
    const events: StreamEvent[] = [
      { type: 'message_start', id: 'msg_1', model: 'claude-x', usage: { inputTokens: 3, outputTokens: 0 } },
      { type: 'block_start', index: 0, block: { type: 'tool_call', id: 't', name: 'f' } },
    ];
    const out = dataOf(encode(events, { includeUsage: true }, true));
    assert.deepEqual(out.slice(-3), [
      choice({}, 'tool_calls'),
      {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 3,
          completion_tokens: 0,
          total_tokens: 3,
          prompt_tokens_details: { cached_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      },
      '[DONE]',
    ]);
  });

  test('emits the role chunk first even when message_start never came', () => {
    const out = dataOf(encode([{ type: 'block_delta', index: 0, delta: { type: 'text', text: 'x' } }], { includeUsage: false }, true));
    assert.deepEqual((out[0] as { choices: Array<{ delta: unknown }> }).choices[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(out.length, 4);
  });

  test('returns an empty string for events that have no OpenAI form, and after [DONE]', () => {
    const encoder = createOpenAIStreamEncoder({ includeUsage: false });
    encoder.push({ type: 'message_start', id: 'm', model: 'x' });
    assert.equal(encoder.push({ type: 'ping' }), '');
    assert.equal(encoder.push({ type: 'block_start', index: 0, block: { type: 'text' } }), '');
    assert.equal(encoder.push({ type: 'block_stop', index: 0 }), '');
    assert.notEqual(encoder.push({ type: 'message_stop' }), '');
    assert.equal(encoder.end(), '');
    assert.equal(encoder.push({ type: 'block_delta', index: 0, delta: { type: 'text', text: 'late' } }), '');
  });
});

describe('OpenAI stream round trip', () => {
  const fixtures = fixtureNames;

  test('re-encoding decoded fixtures and decoding again gives the same events', () => {
    for (const name of fixtures) {
      const events = decodeFixture(name);
      const delta = events.find((e) => e.type === 'message_delta');
      const includeUsage = delta?.type === 'message_delta' && delta.usage !== undefined;
      const again = decodeSseText(encode(events, { includeUsage }));
      assert.deepEqual(again, events, name);
    }
  });
});
