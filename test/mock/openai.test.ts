import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openaiText, parseSse, post, sseData, startMock, userAsks } from './helpers.ts';

const ask = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'g', messages: userAsks(text), ...extra });

interface Chunk {
  id: string;
  object: string;
  choices: Array<{ index: number; delta: Record<string, unknown>; finish_reason: string | null }>;
  usage?: Record<string, unknown> | null;
}

const fnTool = (name: string, parameters: Record<string, unknown>) => ({ type: 'function', function: { name, parameters } });
const searchTool = fnTool('search', {
  type: 'object',
  properties: { query: { type: 'string' }, limit: { type: 'integer' }, mode: { enum: ['fast', 'deep'] } },
  required: ['query', 'limit', 'mode'],
});
const clockTool = fnTool('clock', { type: 'object', properties: {}, required: [] });

test('streams a role chunk, content deltas, a finish chunk, a usage chunk and [DONE]', async (t) => {
  const mock = await startMock(t, { outputTokens: 5 });
  const res = await post(`${mock.url}/v1/chat/completions`, ask('hello there', { stream: true, stream_options: { include_usage: true } }));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const messages = parseSse(res.text);
  assert.ok(messages.every((m) => m.event === undefined));
  assert.equal(messages.at(-1)?.data, '[DONE]');
  const chunks = sseData(res.text) as unknown as Chunk[];
  assert.equal(chunks.length, 1 + 5 + 1 + 1);
  assert.ok(chunks.every((c) => c.id === 'chatcmpl-mock-1' && c.object === 'chat.completion.chunk'));
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
  assert.equal(openaiText(res.text), 'Mock reply from g: hello');
  assert.deepEqual(chunks[6]?.choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  assert.ok(chunks.slice(0, 7).every((c) => c.usage === null));
  assert.deepEqual(chunks[7]?.choices, []);
  assert.deepEqual(chunks[7]?.usage, {
    prompt_tokens: 3,
    completion_tokens: 5,
    total_tokens: 8,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  });
});

test('leaves out the usage chunk when include_usage is not asked for', async (t) => {
  const mock = await startMock(t, { outputTokens: 2 });
  const res = await post(`${mock.url}/v1/chat/completions`, ask('x', { stream: true }));
  const chunks = sseData(res.text) as unknown as Chunk[];
  assert.equal(chunks.length, 1 + 2 + 1);
  assert.ok(chunks.every((c) => !('usage' in c)));
});

test('answers a non-streaming request in the chat.completion shape', async (t) => {
  const mock = await startMock(t, { outputTokens: 6 });
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'hello' }] },
  ];
  const res = await post(`${mock.url}/v1/chat/completions`, { model: 'g', messages });
  const body = res.json as Record<string, unknown>;
  assert.equal(body['id'], 'chatcmpl-mock-1');
  assert.equal(body['object'], 'chat.completion');
  assert.equal(typeof body['created'], 'number');
  assert.deepEqual(body['choices'], [
    {
      index: 0,
      message: { role: 'assistant', content: 'Mock reply from g: hello lorem', refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: 'stop',
    },
  ]);
  // ceil(("Be brief." + "hello").length / 4) = ceil(14 / 4)
  assert.equal((body['usage'] as { prompt_tokens: number }).prompt_tokens, 4);
  assert.match(res.headers.get('x-request-id') ?? '', /^req_mock_/);
});

test('truncates at max_tokens or max_completion_tokens with finish_reason length', async (t) => {
  const mock = await startMock(t);
  for (const limit of [{ max_tokens: 2 }, { max_completion_tokens: 2 }]) {
    const res = await post(`${mock.url}/v1/chat/completions`, ask('x', limit));
    const choice = (res.json as { choices: Array<{ message: { content: string }; finish_reason: string }> }).choices[0];
    assert.equal(choice?.message.content, 'Mock reply ');
    assert.equal(choice?.finish_reason, 'length');
  }
});

test('cuts the reply at a stop string with finish_reason stop', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/chat/completions`, ask('one two three', { stream: true, stop: 'two' }));
  assert.equal(openaiText(res.text), 'Mock reply from g: one ');
  const finish = (sseData(res.text) as unknown as Chunk[]).at(-1)?.choices[0]?.finish_reason;
  assert.equal(finish, 'stop');
});

test('calls the first tool with schema-generated arguments, streamed in several deltas', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/chat/completions`, ask('find', { stream: true, tools: [searchTool, clockTool] }));
  const chunks = sseData(res.text) as unknown as Chunk[];
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: null });
  const calls = chunks.flatMap((c) => (c.choices[0]?.delta['tool_calls'] as Array<Record<string, unknown>> | undefined) ?? []);
  assert.deepEqual(calls[0], { index: 0, id: 'call_mock_1_0', type: 'function', function: { name: 'search', arguments: '' } });
  const argDeltas = calls.slice(1).map((c) => (c['function'] as { arguments: string }).arguments);
  assert.ok(argDeltas.length >= 2, `${argDeltas.length} deltas`);
  assert.deepEqual(JSON.parse(argDeltas.join('')), { query: 'mock', limit: 1, mode: 'fast' });
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'tool_calls');
});

test('returns tool_calls in a non-streaming response, honouring a forced tool_choice', async (t) => {
  const mock = await startMock(t);
  const res = await post(
    `${mock.url}/v1/chat/completions`,
    ask('time', { tools: [searchTool, clockTool], tool_choice: { type: 'function', function: { name: 'clock' } } }),
  );
  const choice = (res.json as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> }).choices[0];
  assert.equal(choice?.finish_reason, 'tool_calls');
  assert.equal(choice?.message['content'], null);
  assert.deepEqual(choice?.message['tool_calls'], [{ id: 'call_mock_1_0', type: 'function', function: { name: 'clock', arguments: '{}' } }]);
});

test('x-mock-parallel-tools streams several tool calls with distinct indexes', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/chat/completions`, ask('both', { stream: true, tools: [searchTool, clockTool] }), {
    'x-mock-parallel-tools': '2',
  });
  const starts = (sseData(res.text) as unknown as Chunk[])
    .flatMap((c) => (c.choices[0]?.delta['tool_calls'] as Array<{ index: number; id?: string; function: { name?: string } }> | undefined) ?? [])
    .filter((call) => call.id !== undefined);
  assert.deepEqual(
    starts.map((call) => [call.index, call.function.name]),
    [
      [0, 'search'],
      [1, 'clock'],
    ],
  );
});

test('answers a tool message with text that quotes it', async (t) => {
  const mock = await startMock(t);
  const messages = [
    { role: 'user', content: 'find' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'Three results found' },
  ];
  const res = await post(`${mock.url}/v1/chat/completions`, { model: 'g', tools: [searchTool], messages });
  const choice = (res.json as { choices: Array<{ message: { content: string }; finish_reason: string }> }).choices[0];
  assert.equal(choice?.finish_reason, 'stop');
  assert.match(choice?.message.content ?? '', /^Mock reply from g: tool result: Three results found/);
});

test('streams reasoning_content before the content when reasoning_effort is set', async (t) => {
  const mock = await startMock(t, { outputTokens: 3 });
  const res = await post(`${mock.url}/v1/chat/completions`, ask('why', { stream: true, reasoning_effort: 'low', stream_options: { include_usage: true } }));
  const deltas = (sseData(res.text) as unknown as Chunk[]).map((c) => c.choices[0]?.delta ?? {});
  const kinds = deltas.map((d) => ('reasoning_content' in d ? 'r' : 'content' in d && d['content'] !== '' ? 'c' : '-')).join('');
  assert.match(kinds, /^-r+c+-+$/);
  const reasoning = deltas.map((d) => (d['reasoning_content'] as string | undefined) ?? '').join('');
  assert.equal(reasoning, 'Considering the request: why so a mock answer will do.');
  const usage = (sseData(res.text) as unknown as Chunk[]).at(-1)?.usage as { completion_tokens_details: { reasoning_tokens: number } };
  assert.equal(usage.completion_tokens_details.reasoning_tokens, 10);
});

test('reports cached_tokens when the request carries a cache_control marker', async (t) => {
  const mock = await startMock(t);
  const messages = [{ role: 'user', content: [{ type: 'text', text: 'y'.repeat(80), cache_control: { type: 'ephemeral' } }] }];
  const res = await post(`${mock.url}/v1/chat/completions`, { model: 'g', messages });
  const usage = (res.json as { usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } } }).usage;
  assert.equal(usage.prompt_tokens, 20);
  assert.equal(usage.prompt_tokens_details.cached_tokens, 10);
});

test('rejects invalid JSON with an OpenAI-shaped 400', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/chat/completions`, 'nope{');
  assert.equal(res.status, 400);
  const error = (res.json as { error: Record<string, unknown> }).error;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(error['type'], 'invalid_request_error');
});
