/**
 * The official SDKs against the mock: if their stream helpers accumulate the
 * mock's events into the right message, the wire format is what real clients expect.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startMock } from './helpers.ts';

const anthropicTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
    required: ['city', 'days'],
  },
};
const openaiTool = {
  type: 'function' as const,
  function: { name: anthropicTool.name, description: anthropicTool.description, parameters: anthropicTool.input_schema },
};

test('the Anthropic SDK streams a text reply with usage', async (t) => {
  const mock = await startMock(t, { outputTokens: 8 });
  const client = new Anthropic({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
  const stream = client.messages.stream({ model: 'claude-mock', max_tokens: 64, messages: [{ role: 'user', content: 'Tell me about trains' }] });
  let streamed = '';
  stream.on('text', (delta) => {
    streamed += delta;
  });
  const message = await stream.finalMessage();
  assert.equal(streamed, 'Mock reply from claude-mock: Tell me about trains');
  assert.deepEqual(message.content, [{ type: 'text', text: streamed }]);
  assert.equal(message.stop_reason, 'end_turn');
  assert.equal(message.usage.output_tokens, 8);
  assert.equal(message.usage.input_tokens, 5);
});

test('the Anthropic SDK completes a tool call round trip', async (t) => {
  const mock = await startMock(t);
  const client = new Anthropic({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
  const first = await client.messages.stream({ model: 'claude-mock', max_tokens: 256, tools: [anthropicTool], messages }).finalMessage();
  assert.equal(first.stop_reason, 'tool_use');
  const call = first.content.find((block) => block.type === 'tool_use');
  assert.ok(call !== undefined && call.type === 'tool_use');
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(call.input, { city: 'mock', days: 1 });
  messages.push({ role: 'assistant', content: first.content });
  messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 21C' }] });
  const second = await client.messages.create({ model: 'claude-mock', max_tokens: 256, tools: [anthropicTool], messages });
  assert.equal(second.stop_reason, 'end_turn');
  const text = second.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
  assert.match(text, /tool result: Sunny, 21C/);
});

test('the Anthropic SDK receives thinking with its signature', async (t) => {
  const mock = await startMock(t);
  const client = new Anthropic({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
  const message = await client.messages
    .stream({
      model: 'claude-mock',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'Think first' }],
    })
    .finalMessage();
  assert.deepEqual(
    message.content.map((block) => block.type),
    ['thinking', 'text'],
  );
  const thinking = message.content[0];
  assert.ok(thinking !== undefined && thinking.type === 'thinking');
  assert.equal(thinking.thinking, 'Considering the request: Think first so a mock answer will do.');
  assert.ok(thinking.signature.length > 0);
});

test('the OpenAI SDK streams a text reply with usage', async (t) => {
  const mock = await startMock(t, { outputTokens: 7 });
  const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const stream = client.chat.completions.stream({
    model: 'gpt-mock',
    messages: [{ role: 'user', content: 'Tell me about trains' }],
    stream_options: { include_usage: true },
  });
  const completion = await stream.finalChatCompletion();
  const choice = completion.choices[0];
  assert.equal(choice?.message.content, 'Mock reply from gpt-mock: Tell me about');
  assert.equal(choice?.finish_reason, 'stop');
  assert.equal(completion.usage?.completion_tokens, 7);
  assert.equal(completion.usage?.prompt_tokens, 5);
});

test('the OpenAI SDK completes a tool call round trip', async (t) => {
  const mock = await startMock(t);
  const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
  const first = await client.chat.completions.stream({ model: 'gpt-mock', tools: [openaiTool], messages }).finalChatCompletion();
  const choice = first.choices[0];
  assert.equal(choice?.finish_reason, 'tool_calls');
  const call = choice?.message.tool_calls?.[0];
  assert.ok(call !== undefined && call.type === 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'mock', days: 1 });
  messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  messages.push({ role: 'tool', tool_call_id: call.id, content: 'Sunny, 21C' });
  const second = await client.chat.completions.create({ model: 'gpt-mock', tools: [openaiTool], messages });
  assert.equal(second.choices[0]?.finish_reason, 'stop');
  assert.match(second.choices[0]?.message.content ?? '', /tool result: Sunny, 21C/);
});

test('the OpenAI SDK receives reasoning_content before the answer', async (t) => {
  const mock = await startMock(t, { outputTokens: 4 });
  const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'gpt-mock',
    reasoning_effort: 'low',
    stream: true,
    messages: [{ role: 'user', content: 'Think first' }],
  });
  let reasoning = '';
  let content = '';
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
    if (delta?.reasoning_content !== undefined) {
      assert.equal(content, '', 'reasoning comes before content');
      reasoning += delta.reasoning_content;
    }
    content += delta?.content ?? '';
  }
  assert.equal(reasoning, 'Considering the request: Think first so a mock answer will do.');
  assert.equal(content, 'Mock reply from gpt-mock:');
});
