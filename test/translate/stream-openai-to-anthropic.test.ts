/** An Anthropic client (Claude Code, the SDK) in front of an OpenAI-compatible upstream: OpenAI chunks in, Anthropic SSE out. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertWellFormedAnthropic, sdkFinalMessage } from '../protocols/anthropic/helpers.ts';
import { fixture, translate } from './helpers.ts';

const toAnthropic = (name: string, model?: string): ReturnType<typeof translate> =>
  translate('openai', 'anthropic', fixture('openai', name), model === undefined ? { includeUsage: false } : { includeUsage: false, model });

test('a text stream becomes the exact Anthropic event sequence, cached tokens split out of the prompt', () => {
  const { out, translator } = toAnthropic('text-with-usage');
  const events = assertWellFormedAnthropic(out);
  assert.deepEqual(events, [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: 'chatcmpl-text1',
          type: 'message',
          role: 'assistant',
          model: 'gpt-4o-mini-2024-07-18',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        },
      },
    },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ', world!' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        // prompt_tokens 1200 with 1024 cached → 176 uncached input + 1024 cache reads.
        usage: { output_tokens: 4, input_tokens: 176, cache_read_input_tokens: 1024 },
      },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
  assert.deepEqual(translator.usage, { inputTokens: 176, outputTokens: 4, cacheReadTokens: 1024 });
  assert.equal(translator.stopReason, 'end_turn');
});

test('the SDK sees the final usage: input and cache reads from message_delta', async () => {
  const message = await sdkFinalMessage(toAnthropic('text-with-usage').out);
  assert.deepEqual(message.content, [{ type: 'text', text: 'Hello, world!' }]);
  assert.equal(message.usage.input_tokens, 176);
  assert.equal(message.usage.cache_read_input_tokens, 1024);
  assert.equal(message.usage.output_tokens, 4);
});

test('parallel tool calls become tool_use blocks 0 and 1 with their arguments reassembled', async () => {
  const { out, translator } = toAnthropic('parallel-tool-calls', 'gpt');
  const events = assertWellFormedAnthropic(out);
  assert.deepEqual(
    events.slice(1, -2).map((e) => e.data),
    [
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_tokyo', name: 'get_weather', input: {} } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": "To' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'kyo"}' } },
      { type: 'content_block_stop', index: 1 },
    ],
  );
  assert.deepEqual(events.at(-2)!.data, {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { output_tokens: 40, input_tokens: 85 },
  });
  assert.equal(translator.stopReason, 'tool_use');
  const message = await sdkFinalMessage(out);
  assert.equal(message.model, 'gpt');
  assert.deepEqual(message.content, [
    { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_tokyo', name: 'get_weather', input: { city: 'Tokyo' } },
  ]);
});

test('interleaved tool deltas, whole arguments in one chunk and empty arguments all parse on the client', async () => {
  const inputs = async (name: string): Promise<unknown[]> => {
    const { out } = toAnthropic(name);
    assertWellFormedAnthropic(out);
    return (await sdkFinalMessage(out)).content.map((b) => (b.type === 'tool_use' ? [b.name, b.input] : b.type));
  };
  assert.deepEqual(await inputs('interleaved-tools'), [
    ['alpha', { x: 1 }],
    ['beta', { y: 2 }],
  ]);
  assert.deepEqual(await inputs('whole-arguments'), ['text', ['search', { query: 'sse "spec" {braces}', limit: 3 }]]);
  assert.deepEqual(await inputs('empty-arguments'), [
    ['get_time', {}],
    ['get_date', {}],
  ]);
});

test('reasoning_content becomes a thinking block before the text; it has no signature to give', async () => {
  const { out } = toAnthropic('deepseek-reasoning');
  const events = assertWellFormedAnthropic(out);
  assert.deepEqual(
    events.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block),
    [
      { type: 'thinking', thinking: '', signature: '' },
      { type: 'text', text: '' },
    ],
  );
  const message = await sdkFinalMessage(out);
  assert.deepEqual(message.content, [
    { type: 'thinking', thinking: 'The user wants 2+2. That is 4.', signature: '' },
    { type: 'text', text: '4' },
  ]);
});

test('OpenRouter reasoning_details give the thinking block its Anthropic signature back', async () => {
  const message = await sdkFinalMessage(toAnthropic('openrouter-claude-thinking').out);
  assert.deepEqual(message.content, [
    { type: 'thinking', thinking: 'Need the weather.', signature: 'EqQBsig==' },
    { type: 'text', text: 'Checking.' },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } },
  ]);
  assert.equal(message.stop_reason, 'tool_use');
  assert.equal(message.usage.cache_read_input_tokens, 400);
  assert.equal(message.usage.input_tokens, 100);
});

test('a stream with no finish_reason still ends well-formed with tool_use', async () => {
  const { out } = toAnthropic('no-finish-reason');
  const events = assertWellFormedAnthropic(out);
  assert.deepEqual(events.at(-2)!.data.delta, { stop_reason: 'tool_use', stop_sequence: null });
  const message = await sdkFinalMessage(out);
  assert.deepEqual(message.content, [
    { type: 'text', text: 'Partial' },
    { type: 'tool_use', id: 'call_cut', name: 'read_file', input: { path: 'a.txt' } },
  ]);
});

test('an upstream error chunk becomes an Anthropic error event, the last thing written', async () => {
  const { out, translator } = toAnthropic('error-chunk');
  const events = assertWellFormedAnthropic(out);
  assert.deepEqual(events.at(-1), {
    event: 'error',
    data: { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for gpt-4o in organization org-x on tokens per min.' } },
  });
  assert.equal(translator.error?.kind, 'rate_limit');
  await assert.rejects(sdkFinalMessage(out));
});

test('a malformed upstream line ends the Anthropic stream with an api_error event', () => {
  const events = assertWellFormedAnthropic(toAnthropic('malformed-line').out);
  const last = events.at(-1)!.data as { type: string; error: { type: string } };
  assert.equal(last.type, 'error');
  assert.equal(last.error.type, 'api_error');
});

test('usage from a provider extension (Groq x_groq) reaches the Anthropic client', async () => {
  const message = await sdkFinalMessage(toAnthropic('whole-arguments').out);
  assert.equal(message.usage.input_tokens, 300);
  assert.equal(message.usage.output_tokens, 25);
});

test('byte-by-byte delivery gives the same Anthropic stream as one chunk', () => {
  for (const name of ['parallel-tool-calls', 'openrouter-claude-thinking', 'interleaved-tools']) {
    const whole = toAnthropic(name).out;
    assert.equal(translate('openai', 'anthropic', fixture('openai', name), { includeUsage: false }, 1).out, whole, name);
  }
});

test('an upstream that sends nothing at all still gives the client a well-formed ending', () => {
  const { out, translator } = translate('openai', 'anthropic', '');
  const events = assertWellFormedAnthropic(out);
  assert.equal(events.at(-1)!.event, 'error');
  assert.equal(translator.firstContentSeen, false);
});
