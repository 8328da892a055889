/**
 * The official SDKs, unmodified, through the gateway against the mock
 * provider: streaming, tool round trips and thinking, in both translation
 * directions and on passthrough.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startStack } from './stack.ts';

const weatherToolAnthropic = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};
const weatherToolOpenAI = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherToolAnthropic.input_schema },
};

for (const model of ['claude-mock', 'gpt-mock']) {
  const how = model === 'claude-mock' ? 'passthrough' : 'translated to OpenAI';
  test(`Anthropic SDK streams text (${how})`, async (t) => {
    const { gateway } = await startStack(t);
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
    const stream = client.messages.stream({ model, max_tokens: 128, messages: [{ role: 'user', content: 'Hello there' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    assert.match(text, /Mock reply/);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0);
  });

  test(`Anthropic SDK completes a tool round trip (${how})`, async (t) => {
    const { gateway } = await startStack(t);
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.messages.stream({ model, max_tokens: 256, tools: [weatherToolAnthropic], messages }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const call = first.content.find((b) => b.type === 'tool_use');
    assert.ok(call && call.type === 'tool_use');
    assert.equal(call.name, 'get_weather');
    assert.equal(typeof (call.input as { city: unknown }).city, 'string');
    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 21C' }] });
    const second = await client.messages.create({ model, max_tokens: 256, tools: [weatherToolAnthropic], messages });
    assert.equal(second.stop_reason, 'end_turn');
    const text = second.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    assert.match(text, /Sunny/);
  });

  test(`Anthropic SDK gets thinking with its signature (${how})`, async (t) => {
    const { gateway } = await startStack(t);
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
    const final = await client.messages
      .stream({ model, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'Think first' }] })
      .finalMessage();
    const thinking = final.content.find((b) => b.type === 'thinking');
    assert.ok(thinking && thinking.type === 'thinking', JSON.stringify(final.content));
    assert.ok(thinking.thinking.length > 0);
    if (model === 'claude-mock') assert.ok(thinking.signature.length > 0);
    assert.ok(final.content.some((b) => b.type === 'text'));
  });
}

for (const model of ['gpt-mock', 'claude-mock']) {
  const how = model === 'gpt-mock' ? 'passthrough' : 'translated to Anthropic';
  test(`OpenAI SDK streams text with usage (${how})`, async (t) => {
    const { gateway } = await startStack(t);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Hello there' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.match(text, /Mock reply/);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0);
  });

  test(`OpenAI SDK completes a streamed tool round trip (${how})`, async (t) => {
    const { gateway } = await startStack(t);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const runner = client.chat.completions.stream({ model, tools: [weatherToolOpenAI], messages });
    const first = await runner.finalChatCompletion();
    const choice = first.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof (JSON.parse(call.function.arguments) as { city: unknown }).city, 'string');
    messages.push(choice.message as OpenAI.ChatCompletionMessageParam);
    messages.push({ role: 'tool', tool_call_id: call.id, content: 'Sunny, 21C' });
    const second = await client.chat.completions.create({ model, tools: [weatherToolOpenAI], messages });
    assert.equal(second.choices[0]!.finish_reason, 'stop');
    assert.match(second.choices[0]!.message.content ?? '', /Sunny/);
  });

  test(`OpenAI SDK gets parallel tool calls with distinct indexes (${how})`, async (t) => {
    const { gateway } = await startStack(t, { providerHeaders: { 'x-mock-parallel-tools': '2' } });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const second = { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } } };
    const done = await client.chat.completions
      .stream({ model, tools: [weatherToolOpenAI, second], messages: [{ role: 'user', content: 'Both please' }] })
      .finalChatCompletion();
    const calls = done.choices[0]!.message.tool_calls ?? [];
    assert.deepEqual(
      calls.map((c) => (c.type === 'function' ? c.function.name : '')),
      ['get_weather', 'get_time'],
    );
    for (const c of calls) if (c.type === 'function') JSON.parse(c.function.arguments);
  });
}

test('Anthropic SDK gets parallel tool_use blocks with correct indexes when translated', async (t) => {
  const { gateway } = await startStack(t, { providerHeaders: { 'x-mock-parallel-tools': '2' } });
  const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
  const final = await client.messages
    .stream({
      model: 'gpt-mock',
      max_tokens: 256,
      tools: [weatherToolAnthropic, { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } }],
      messages: [{ role: 'user', content: 'Both please' }],
    })
    .finalMessage();
  const uses = final.content.filter((b) => b.type === 'tool_use');
  assert.deepEqual(uses.map((u) => (u.type === 'tool_use' ? u.name : '')), ['get_weather', 'get_time']);
  assert.equal(final.stop_reason, 'tool_use');
});

test('an MCP tool name longer than OpenAI allows keeps working when translated: forced, streamed or not, and in the history', async (t) => {
  const { gateway } = await startStack(t);
  const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
  // Anthropic accepts up to 128 characters; OpenAI's limit (which the mock holds to) is 64.
  const name = 'mcp__company-knowledge-base-server__search_documents_by_semantic_similarity';
  const other = 'mcp__company-knowledge-base-server__search_documents_by_semantic_similarity_v2';
  const tools = [
    { name, input_schema: { type: 'object' as const, properties: { query: { type: 'string' } }, required: ['query'] } },
    { name: other, input_schema: { type: 'object' as const, properties: {} } },
  ];
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Find the onboarding doc' }];
  const streamed = await client.messages.stream({ model: 'gpt-mock', max_tokens: 256, tools, tool_choice: { type: 'tool', name }, messages }).finalMessage();
  const call = streamed.content.find((b) => b.type === 'tool_use');
  assert.ok(call?.type === 'tool_use');
  assert.equal(call.name, name);
  const whole = await client.messages.create({ model: 'gpt-mock', max_tokens: 256, tools, tool_choice: { type: 'tool', name: other }, messages });
  assert.deepEqual(whole.content.filter((b) => b.type === 'tool_use').map((b) => (b.type === 'tool_use' ? b.name : '')), [other]);
  messages.push({ role: 'assistant', content: streamed.content });
  messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'onboarding.md' }] });
  const last = await client.messages.create({ model: 'gpt-mock', max_tokens: 256, tools, messages });
  assert.equal(last.stop_reason, 'end_turn');
});

test('more stop sequences than OpenAI allows keep the first four when translated, instead of a 400', async (t) => {
  const { gateway } = await startStack(t);
  const client = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
  const res = await client.messages.create({
    model: 'gpt-mock',
    max_tokens: 64,
    stop_sequences: ['\n\nHuman:', 'END', 'STOP', '###', '</answer>'],
    messages: [{ role: 'user', content: 'Hello' }],
  });
  assert.equal(res.type, 'message');
});

test('both SDKs list the models and retrieve one; an unknown one is their NotFoundError', async (t) => {
  const { gateway } = await startStack(t);
  const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });

  const anthropicIds: string[] = [];
  for await (const model of anthropic.models.list()) anthropicIds.push(model.id);
  const openaiIds: string[] = [];
  for await (const model of openai.models.list()) openaiIds.push(model.id);
  assert.deepEqual(anthropicIds.sort(), ['claude-mock', 'gpt-mock']);
  assert.deepEqual(openaiIds.sort(), ['claude-mock', 'gpt-mock']);

  const claude = await anthropic.models.retrieve('claude-mock');
  assert.equal(claude.id, 'claude-mock');
  assert.equal(claude.type, 'model');
  assert.equal(typeof claude.created_at, 'string');
  const gpt = await openai.models.retrieve('gpt-mock');
  assert.equal(gpt.id, 'gpt-mock');
  assert.equal(gpt.object, 'model');

  await assert.rejects(anthropic.models.retrieve('no-such-model'), (err: unknown) => {
    assert.ok(err instanceof Anthropic.NotFoundError, String(err));
    assert.match(err.message, /no-such-model/);
    assert.equal((err.error as { type?: string }).type, 'error', 'the Anthropic error shape');
    return true;
  });
  await assert.rejects(openai.models.retrieve('no-such-model'), (err: unknown) => {
    assert.ok(err instanceof OpenAI.NotFoundError, String(err));
    assert.match(err.message, /no-such-model/);
    return true;
  });
});

test('an OpenAI client of the legacy functions API gets function_call back from an Anthropic model, streaming or not, and its answer', async (t) => {
  const { gateway } = await startStack(t);
  const functions = [{ name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
  const post = async (body: Record<string, unknown>): Promise<Response> =>
    fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const ask = { model: 'claude-mock', functions, messages: [{ role: 'user', content: 'Weather in Oslo?' }] };

  const whole = (await (await post(ask)).json()) as { choices: Array<{ message: { function_call?: { name: string; arguments: string }; tool_calls?: unknown }; finish_reason: string }> };
  const call = whole.choices[0]!.message.function_call;
  assert.equal(call?.name, 'get_weather');
  assert.equal(typeof (JSON.parse(call!.arguments) as { city: unknown }).city, 'string');
  assert.equal(whole.choices[0]!.message.tool_calls, undefined);
  assert.equal(whole.choices[0]!.finish_reason, 'function_call');

  // Streamed, the OpenAI SDK's own accumulator rebuilds the function_call.
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' });
  const streamed = await client.chat.completions
    .stream({ model: 'claude-mock', functions, messages: [{ role: 'user', content: 'Weather in Oslo?' }] } as unknown as Parameters<typeof client.chat.completions.stream>[0])
    .finalChatCompletion();
  const message = streamed.choices[0]!.message as { function_call?: { name: string; arguments: string } };
  assert.equal(message.function_call?.name, 'get_weather');
  assert.equal(streamed.choices[0]!.finish_reason, 'function_call');

  // The result goes back as a function message; the model answers.
  const followUp = await post({ ...ask, messages: [...ask.messages, { role: 'assistant', content: null, function_call: call }, { role: 'function', name: 'get_weather', content: '12 C and clear' }] });
  assert.equal(followUp.status, 200, await followUp.clone().text());
  const final = (await followUp.json()) as { choices: Array<{ message: { content: string | null }; finish_reason: string }> };
  assert.equal(final.choices[0]!.finish_reason, 'stop');
  assert.ok((final.choices[0]!.message.content ?? '').length > 0);
});
