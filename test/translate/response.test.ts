/** Complete (non-streaming) responses across protocols. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ChatResponse, OutputPart } from '../../src/model/types.ts';
import { decodeResponse, encodeResponse } from '../../src/translate/index.ts';

const anthropicBody = {
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'Need the weather.', signature: 'sig' },
    { type: 'text', text: 'Checking.' },
    { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 50, output_tokens: 70, cache_creation_input_tokens: 10, cache_read_input_tokens: 2000 },
};

test('an Anthropic response reaches an OpenAI client with reasoning, tool calls and cache-inclusive prompt tokens', () => {
  const out = encodeResponse('openai', decodeResponse('anthropic', anthropicBody));
  assert.equal(typeof out.created, 'number');
  assert.deepEqual({ ...out, created: 0 }, {
    id: 'msg_01',
    object: 'chat.completion',
    created: 0,
    model: 'claude-sonnet-4-5-20250929',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
          reasoning_content: 'Need the weather.',
          reasoning_details: [{ type: 'reasoning.text', text: 'Need the weather.', signature: 'sig', format: 'anthropic-claude-v1', index: 0 }],
          refusal: null,
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 2060,
      completion_tokens: 70,
      total_tokens: 2130,
      prompt_tokens_details: { cached_tokens: 2000 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  });
});

test('an OpenAI response reaches an Anthropic client with cached tokens taken out of input_tokens', () => {
  const out = encodeResponse(
    'anthropic',
    decodeResponse('openai', {
      id: 'chatcmpl-9',
      object: 'chat.completion',
      created: 1735689600,
      model: 'gpt-4o',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me look.',
            tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 1500, completion_tokens: 30, total_tokens: 1530, prompt_tokens_details: { cached_tokens: 1200 } },
    }),
  );
  assert.deepEqual(out, {
    id: 'chatcmpl-9',
    type: 'message',
    role: 'assistant',
    model: 'gpt-4o',
    content: [
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: 'call_a', name: 'search', input: { q: 'x' } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 300, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 1200 },
  });
});

test('length and content_filter finish reasons become max_tokens and refusal', () => {
  const reason = (finish: string): unknown =>
    encodeResponse(
      'anthropic',
      decodeResponse('openai', { id: 'c', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: finish }] }),
    ).stop_reason;
  assert.equal(reason('length'), 'max_tokens');
  assert.equal(reason('content_filter'), 'refusal');
  assert.equal(reason('stop'), 'end_turn');
});

/**
 * Anthropic → OpenAI → Anthropic keeps one text block, signed thinking, tool
 * calls, the stop reason and usage. Not generated, because OpenAI has one
 * `content` string: several text blocks (they are concatenated), text after
 * tool calls (OpenAI puts content first), and stop_sequence/pause_turn (both
 * become `stop`).
 */
test('a response survives Anthropic → OpenAI → Anthropic where OpenAI can carry it', () => {
  const arb: fc.Arbitrary<ChatResponse> = fc
    .record({
      id: fc.string({ minLength: 1, maxLength: 10 }),
      model: fc.string({ minLength: 1, maxLength: 10 }),
      thinking: fc.option(fc.record({ text: fc.string({ minLength: 1 }), signature: fc.base64String({ minLength: 4, maxLength: 20 }) }), { nil: undefined }),
      text: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
      calls: fc.array(
        fc.record({ id: fc.string({ minLength: 1, maxLength: 8 }), name: fc.string({ minLength: 1, maxLength: 8 }), input: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())) }),
        { maxLength: 3 },
      ),
      reason: fc.constantFrom('end_turn' as const, 'max_tokens' as const, 'refusal' as const),
      usage: fc.record({ inputTokens: fc.nat(100000), outputTokens: fc.nat(100000), cacheReadTokens: fc.integer({ min: 1, max: 100000 }) }),
    })
    .map((g) => {
      const content: OutputPart[] = [];
      if (g.thinking) content.push({ type: 'thinking', text: g.thinking.text, signature: g.thinking.signature });
      if (g.text !== undefined) content.push({ type: 'text', text: g.text });
      for (const c of g.calls) content.push({ type: 'tool_call', ...c });
      return { id: g.id, model: g.model, content, stopReason: g.calls.length > 0 ? 'tool_use' : g.reason, usage: g.usage };
    });
  fc.assert(
    fc.property(arb, (res) => {
      const openai = JSON.parse(JSON.stringify(encodeResponse('openai', decodeResponse('anthropic', JSON.parse(JSON.stringify(encodeResponse('anthropic', res)))))));
      const back = decodeResponse('anthropic', JSON.parse(JSON.stringify(encodeResponse('anthropic', decodeResponse('openai', openai)))));
      assert.deepEqual(back, JSON.parse(JSON.stringify({ ...res, usage: { ...res.usage, cacheWriteTokens: 0 } })));
    }),
    { numRuns: 200 },
  );
});
