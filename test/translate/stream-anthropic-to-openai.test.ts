/** An OpenAI client in front of an Anthropic upstream: Anthropic SSE in, OpenAI chunks out. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, openaiChunks, sdkChatCompletion, translate } from './helpers.ts';

const chunk = (id: string, model: string, delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> => ({
  id,
  object: 'chat.completion.chunk',
  created: 0,
  model,
  choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
});

test('a text stream becomes the exact OpenAI chunk sequence, with cached tokens in the usage chunk', () => {
  const { out, translator } = translate('anthropic', 'openai', fixture('anthropic', 'text'));
  const id = 'msg_01XFDUDYJgAACzvnptvVoYEL';
  const model = 'claude-sonnet-4-5-20250929';
  assert.deepEqual(openaiChunks(out), [
    chunk(id, model, { role: 'assistant', content: '' }),
    chunk(id, model, { content: 'Hello' }),
    chunk(id, model, { content: '! How can I help' }),
    chunk(id, model, { content: ' you today? ✨' }),
    chunk(id, model, {}, 'stop'),
    {
      id,
      object: 'chat.completion.chunk',
      created: 0,
      model,
      choices: [],
      // OpenAI's prompt_tokens includes cache reads and writes: 12 + 4096 + 2048.
      usage: {
        prompt_tokens: 6156,
        completion_tokens: 15,
        total_tokens: 6171,
        prompt_tokens_details: { cached_tokens: 4096 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    },
    '[DONE]',
  ]);
  assert.deepEqual(translator.usage, { inputTokens: 12, outputTokens: 15, cacheReadTokens: 4096, cacheWriteTokens: 2048 });
  assert.equal(translator.stopReason, 'end_turn');
  assert.equal(translator.firstContentSeen, true);
  assert.equal(translator.error, undefined);
});

test('without include_usage there is no usage chunk, and the model option renames the model', () => {
  const { out } = translate('anthropic', 'openai', fixture('anthropic', 'text'), { includeUsage: false, model: 'my-claude' });
  const chunks = openaiChunks(out);
  assert.equal(chunks.length, 6);
  for (const c of chunks.slice(0, -1)) {
    assert.notEqual(c, '[DONE]');
    if (c !== '[DONE]') {
      assert.equal(c.model, 'my-claude');
      assert.equal(c.usage, undefined);
    }
  }
});

test('CRLF input and any chunking give byte-identical output', () => {
  const whole = translate('anthropic', 'openai', fixture('anthropic', 'text')).out;
  const crlf = translate('anthropic', 'openai', fixture('anthropic', 'crlf')).out;
  const stripCreated = (s: string): string => s.replaceAll(/"created":\d+/g, '"created":0');
  assert.equal(stripCreated(crlf), stripCreated(whole));
  for (const size of [1, 3, 17]) {
    assert.equal(stripCreated(translate('anthropic', 'openai', fixture('anthropic', 'crlf'), { includeUsage: true }, size).out), stripCreated(whole));
  }
});

test('parallel tool calls get OpenAI tool indexes 0 and 1 and their arguments reassemble', async () => {
  const { out, translator } = translate('anthropic', 'openai', fixture('anthropic', 'parallel-tools'));
  const chunks = openaiChunks(out);
  const id = 'msg_014p7gG3wDgGV9EUtLvnow3U';
  const model = 'claude-opus-4-1-20250805';
  assert.deepEqual(chunks.slice(0, 9), [
    chunk(id, model, { role: 'assistant', content: '' }),
    chunk(id, model, { content: "I'll look up both cities." }),
    chunk(id, model, { tool_calls: [{ index: 0, id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    chunk(id, model, { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
    chunk(id, model, { tool_calls: [{ index: 0, function: { arguments: ' "Paris"}' } }] }),
    chunk(id, model, { tool_calls: [{ index: 1, id: 'toolu_01B7vX3nMqw2kR8sJ5dL4pYz', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    chunk(id, model, { tool_calls: [{ index: 1, function: { arguments: '{"ci' } }] }),
    chunk(id, model, { tool_calls: [{ index: 1, function: { arguments: 'ty": "Tōkyō"}' } }] }),
    chunk(id, model, {}, 'tool_calls'),
  ]);
  assert.equal(translator.stopReason, 'tool_use');
  const completion = await sdkChatCompletion(out);
  const calls = completion.choices[0]!.message.tool_calls!;
  assert.deepEqual(
    calls.map((c) => (c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : c.type)),
    [
      ['toolu_01A09q90qw90lq917835lq9', 'get_weather', { city: 'Paris' }],
      ['toolu_01B7vX3nMqw2kR8sJ5dL4pYz', 'get_weather', { city: 'Tōkyō' }],
    ],
  );
  assert.equal(completion.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(completion.usage?.prompt_tokens, 610 + 1500);
});

test('thinking becomes reasoning_content with the signature in reasoning_details, then text and the tool call', async () => {
  const { out } = translate('anthropic', 'openai', fixture('anthropic', 'thinking-tool-use'));
  const deltas = openaiChunks(out)
    .filter((c): c is Record<string, unknown> => c !== '[DONE]')
    .map((c) => (c.choices as Array<{ delta: Record<string, unknown> }>)[0]?.delta);
  assert.deepEqual(deltas.slice(1, 5), [
    { reasoning_content: 'The user wants the weather in Paris.', reasoning_details: [{ type: 'reasoning.text', text: 'The user wants the weather in Paris.', index: 0 }] },
    {
      reasoning_content: ' I should call get_weather with the city.',
      reasoning_details: [{ type: 'reasoning.text', text: ' I should call get_weather with the city.', index: 0 }],
    },
    {
      reasoning_details: [
        {
          type: 'reasoning.text',
          signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds4vsMUjjkPaT7ld0MQBPd4KlMNBjnEQ0lAvmVZI7hcDwW5ZTjTLdBVBDGfiCNWNF',
          format: 'anthropic-claude-v1',
          index: 0,
        },
      ],
    },
    { content: 'Let me check the weather.' },
  ]);
  const message = (await sdkChatCompletion(out)).choices[0]!.message;
  assert.equal(message.content, 'Let me check the weather.');
  const call = message.tool_calls![0]!;
  assert.ok(call.type === 'function');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
});

test('server tool blocks never reach an OpenAI client: only the text remains', async () => {
  const { out } = translate('anthropic', 'openai', fixture('anthropic', 'server-tools'));
  assert.ok(!out.includes('tool_calls'));
  assert.ok(!out.includes('srvtoolu'));
  const completion = await sdkChatCompletion(out);
  assert.equal(completion.choices[0]!.message.content, "I'll search for that.It is sunny in New York, with a high of 24°C.");
  assert.equal(completion.choices[0]!.finish_reason, 'stop');
});

test('an upstream error event becomes an OpenAI error chunk and the stream ends without [DONE]', () => {
  const { out, translator } = translate('anthropic', 'openai', fixture('anthropic', 'error'));
  const chunks = openaiChunks(out);
  assert.deepEqual(chunks.at(-1), { error: { message: 'Overloaded', type: 'service_unavailable', param: null, code: null } });
  assert.ok(!chunks.includes('[DONE]'));
  assert.deepEqual(translator.error, { kind: 'overloaded', message: 'Overloaded' });
  assert.equal(translator.stopReason, null);
});

test('a truncated upstream stream ends with an error chunk, never a clean finish', async () => {
  const { out, translator } = translate('anthropic', 'openai', fixture('anthropic', 'truncated'));
  const chunks = openaiChunks(out);
  assert.notEqual(chunks.at(-1), '[DONE]');
  assert.deepEqual(chunks.at(-1), {
    error: { message: 'the upstream stream ended before the answer was complete', type: 'api_error', param: null, code: null },
  });
  await assert.rejects(sdkChatCompletion(out), /ended before the answer was complete/);
  assert.equal(translator.stopReason, null);
  assert.deepEqual(translator.usage, { inputTokens: 88, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 });
});

test('stop reasons map: max_tokens → length, stop_sequence → stop', async () => {
  assert.equal((await sdkChatCompletion(translate('anthropic', 'openai', fixture('anthropic', 'max-tokens')).out)).choices[0]!.finish_reason, 'length');
  assert.equal((await sdkChatCompletion(translate('anthropic', 'openai', fixture('anthropic', 'redacted-thinking')).out)).choices[0]!.finish_reason, 'stop');
});

test('a tool call without arguments reaches the OpenAI client as "{}"', async () => {
  const completion = await sdkChatCompletion(translate('anthropic', 'openai', fixture('anthropic', 'empty-tool-input')).out);
  const call = completion.choices[0]!.message.tool_calls![0]!;
  assert.ok(call.type === 'function');
  assert.equal(call.function.arguments, '{}');
});

test('every Anthropic fixture translates into a stream the OpenAI SDK accepts, or ends with an error chunk', async () => {
  for (const name of ['text', 'crlf', 'thinking-tool-use', 'parallel-tools', 'server-tools', 'empty-tool-input', 'redacted-thinking', 'max-tokens']) {
    const completion = await sdkChatCompletion(translate('anthropic', 'openai', fixture('anthropic', name)).out);
    assert.equal(completion.choices.length, 1, name);
  }
  await assert.rejects(sdkChatCompletion(translate('anthropic', 'openai', fixture('anthropic', 'error')).out), /Overloaded/);
  await assert.rejects(sdkChatCompletion(translate('anthropic', 'openai', fixture('anthropic', 'truncated')).out), /ended before/);
});

test('an opened, empty text block is not content yet: an error after it came before any content', () => {
  const upstream =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n\n';
  const { translator } = translate('anthropic', 'openai', upstream);
  assert.equal(translator.firstContentSeen, false);
  assert.equal(translator.error?.kind, 'overloaded');
});
