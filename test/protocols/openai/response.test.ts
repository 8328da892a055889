import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.ts';
import type { ChatResponse } from '../../../src/model/types.ts';
import { encodeAnthropicResponse } from '../../../src/protocols/anthropic/response.ts';
import { decodeOpenAIResponse, encodeOpenAIResponse } from '../../../src/protocols/openai/response.ts';

function completion(message: Record<string, unknown>, finish: string | null, usage?: Record<string, unknown>): Record<string, unknown> {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1735689600,
    model: 'gpt-4o-2024-08-06',
    choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, logprobs: null, finish_reason: finish }],
    usage,
  };
}

describe('OpenAI response decode', () => {
  test('decodes text, tool calls and usage with cached tokens taken out of the input', () => {
    const res = decodeOpenAIResponse(
      completion(
        {
          content: 'Checking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'now', arguments: '' } },
          ],
        },
        'tool_calls',
        {
          prompt_tokens: 2000,
          completion_tokens: 50,
          total_tokens: 2050,
          prompt_tokens_details: { cached_tokens: 1920 },
          completion_tokens_details: { reasoning_tokens: 30 },
        },
      ),
    );
    assert.deepEqual(res, {
      id: 'chatcmpl-1',
      model: 'gpt-4o-2024-08-06',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_call', id: 'call_2', name: 'now', input: {} },
      ],
      stopReason: 'tool_use',
      usage: { inputTokens: 80, outputTokens: 50, cacheReadTokens: 1920, reasoningTokens: 30 },
    });
  });

  test('maps every finish reason', () => {
    const stop = (finish: string | null, message: Record<string, unknown> = { content: 'x' }) =>
      decodeOpenAIResponse(completion(message, finish)).stopReason;
    assert.equal(stop('stop'), 'end_turn');
    assert.equal(stop('length'), 'max_tokens');
    assert.equal(stop('tool_calls'), 'tool_use');
    assert.equal(stop('function_call'), 'tool_use');
    assert.equal(stop('content_filter'), 'refusal');
    assert.equal(stop(null), 'end_turn');
    assert.equal(stop('something_new'), 'end_turn');
    // Some servers say "stop" even though the turn ends in tool calls.
    assert.equal(stop('stop', { content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }), 'tool_use');
  });

  test('decodes DeepSeek reasoning_content and prompt_cache_hit_tokens', () => {
    const res = decodeOpenAIResponse(
      completion({ content: '4', reasoning_content: '2+2' }, 'stop', {
        prompt_tokens: 30,
        completion_tokens: 9,
        prompt_cache_hit_tokens: 24,
        prompt_cache_miss_tokens: 6,
      }),
    );
    assert.deepEqual(res.content, [
      { type: 'thinking', text: '2+2' },
      { type: 'text', text: '4' },
    ]);
    assert.deepEqual(res.usage, { inputTokens: 6, outputTokens: 9, cacheReadTokens: 24 });
  });

  test('decodes OpenRouter reasoning_details with signatures in preference to the plain reasoning text', () => {
    const res = decodeOpenAIResponse(
      completion(
        {
          content: 'Hi',
          reasoning: 'hmm',
          reasoning_details: [{ type: 'reasoning.text', text: 'hmm', signature: 'sig', format: 'anthropic-claude-v1', index: 0 }],
        },
        'stop',
      ),
    );
    assert.deepEqual(res.content, [
      { type: 'thinking', text: 'hmm', signature: 'sig' },
      { type: 'text', text: 'Hi' },
    ]);
  });

  test('turns a refusal into text and reports zero usage when the upstream sent none', () => {
    const res = decodeOpenAIResponse(completion({ content: null, refusal: 'I can’t help with that.' }, 'stop'));
    assert.deepEqual(res.content, [{ type: 'text', text: 'I can’t help with that.' }]);
    assert.deepEqual(res.usage, { inputTokens: 0, outputTokens: 0 });
  });

  test('gives tool calls without an id a generated one', () => {
    const res = decodeOpenAIResponse(completion({ content: null, tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }, 'tool_calls'));
    assert.match((res.content[0] as { id: string }).id, /^call_[0-9a-f]{24}$/);
  });

  test('fails with an upstream error on a body that is not a chat completion', () => {
    for (const body of [null, {}, { choices: [] }, { choices: [{ index: 0 }] }]) {
      assert.throws(
        () => decodeOpenAIResponse(body),
        (err: unknown) => err instanceof GatewayError && err.code === 'SWY_ERR_UPSTREAM_BAD_RESPONSE',
      );
    }
  });

  test('fails with an upstream error when tool call arguments are not a JSON object', () => {
    assert.throws(
      () => decodeOpenAIResponse(completion({ content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }, 'tool_calls')),
      (err: unknown) =>
        err instanceof GatewayError &&
        err.code === 'SWY_ERR_UPSTREAM_BAD_RESPONSE' &&
        err.message.includes('choices[0].message.tool_calls[0].function.arguments'),
    );
  });
});

test('a tool call the token limit cut off is left out; the text and the max_tokens stop stay', () => {
  const cut = { id: 'c', type: 'function', function: { name: 'write', arguments: '{"path":"a.txt","content":"hello wor' } };
  const res = decodeOpenAIResponse(completion({ content: 'Writing the file now.', tool_calls: [cut] }, 'length'));
  assert.deepEqual(res.content, [{ type: 'text', text: 'Writing the file now.' }]);
  assert.equal(res.stopReason, 'max_tokens');
});

test('an answer without an id gets one in either protocol', () => {
  const res = decodeOpenAIResponse({ ...completion({ content: 'Hi' }, 'stop'), id: undefined });
  assert.equal(res.id, '');
  assert.match(encodeAnthropicResponse(res).id as string, /^msg_[0-9a-f]{32}$/);
  assert.match(encodeOpenAIResponse(res).id as string, /^chatcmpl-[0-9a-f]{32}$/);
});

describe('OpenAI response encode', () => {
  const res: ChatResponse = {
    id: 'msg_01',
    model: 'claude-sonnet-4',
    content: [
      { type: 'thinking', text: 'Need the weather.', signature: 'sig==' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
    ],
    stopReason: 'tool_use',
    usage: { inputTokens: 10, outputTokens: 40, cacheReadTokens: 100, cacheWriteTokens: 5 },
  };

  test('encodes the full chat.completion shape, thinking both as text and as signed reasoning_details', () => {
    assert.deepEqual(encodeOpenAIResponse(res, { created: 1735689600 }), {
      id: 'msg_01',
      object: 'chat.completion',
      created: 1735689600,
      model: 'claude-sonnet-4',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
            reasoning_content: 'Need the weather.',
            reasoning_details: [
              { type: 'reasoning.text', text: 'Need the weather.', signature: 'sig==', format: 'anthropic-claude-v1', index: 0 },
              { type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 },
            ],
            refusal: null,
          },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 115,
        completion_tokens: 40,
        total_tokens: 155,
        prompt_tokens_details: { cached_tokens: 100 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  test('concatenates text blocks the way the stream does, without a separator', () => {
    const out = encodeOpenAIResponse({ ...res, content: [{ type: 'text', text: 'Oslo is ' }, { type: 'text', text: 'cold.' }] });
    assert.equal((out.choices as Array<{ message: { content: string } }>)[0]?.message.content, 'Oslo is cold.');
  });

  test('maps stop reasons to finish reasons', () => {
    const finish = (stopReason: ChatResponse['stopReason']) =>
      (encodeOpenAIResponse({ ...res, content: [{ type: 'text', text: 'x' }], stopReason }).choices as Array<{ finish_reason: string }>)[0]
        ?.finish_reason;
    assert.equal(finish('end_turn'), 'stop');
    assert.equal(finish('stop_sequence'), 'stop');
    assert.equal(finish('pause_turn'), 'stop');
    assert.equal(finish('max_tokens'), 'length');
    assert.equal(finish('tool_use'), 'tool_calls');
    assert.equal(finish('refusal'), 'content_filter');
    assert.equal(finish(null), 'stop');
  });

  test('encodes a response without text as null content and no reasoning fields', () => {
    const out = encodeOpenAIResponse({ ...res, content: [] });
    const message = (out.choices as Array<{ message: Record<string, unknown> }>)[0]?.message;
    assert.deepEqual(message, { role: 'assistant', content: null, refusal: null });
    assert.equal(typeof out.created, 'number');
  });

  test('survives a round trip through decode, signatures included', () => {
    const back = decodeOpenAIResponse(encodeOpenAIResponse(res));
    // cacheWriteTokens has no OpenAI field: it folds into the input count.
    assert.deepEqual(back, { ...res, usage: { inputTokens: 15, outputTokens: 40, cacheReadTokens: 100 } });
  });
});
