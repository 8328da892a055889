import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicText, parseSse, post, sseData, startMock, userAsks } from './helpers.ts';

const ask = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'm', max_tokens: 100, messages: userAsks(text), ...extra });

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object',
    properties: {
      city: { type: 'string' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      days: { type: 'integer' },
      detailed: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' } },
      where: { type: 'object', properties: { lat: { type: 'number' }, note: { type: 'string' } }, required: ['lat'] },
      optional: { type: 'string' },
    },
    required: ['city', 'unit', 'days', 'detailed', 'tags', 'where'],
  },
};
const weatherArgs = { city: 'mock', unit: 'celsius', days: 1, detailed: true, tags: [], where: { lat: 1 } };
const timeTool = { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } };

test('streams a text reply in the exact Anthropic event order', async (t) => {
  const mock = await startMock(t, { outputTokens: 6 });
  const res = await post(`${mock.url}/v1/messages`, ask('hello there world', { stream: true }));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const messages = parseSse(res.text);
  assert.deepEqual(
    messages.map((m) => m.event),
    ['message_start', 'ping', 'content_block_start', ...Array(6).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop'],
  );
  for (const m of messages) assert.equal((JSON.parse(m.data) as { type: string }).type, m.event);
  const events = sseData(res.text);
  assert.deepEqual(events[0], {
    type: 'message_start',
    message: {
      id: 'msg_mock_1',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    },
  });
  assert.deepEqual(events[2], { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  assert.deepEqual(events[3], { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Mock ' } });
  assert.equal(anthropicText(res.text), 'Mock reply from m: hello there');
  assert.deepEqual(events.at(-2), {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 6 },
  });
});

test('answers a non-streaming request in the Messages response shape', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, { ...ask('hi'), system: 'Be brief and kind.' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('request-id') ?? '', /^req_mock_/);
  assert.deepEqual(res.json, {
    id: 'msg_mock_1',
    type: 'message',
    role: 'assistant',
    model: 'm',
    content: [{ type: 'text', text: 'Mock reply from m: hi lorem ipsum dolor sit amet consectetur adipiscing' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    // ceil(("Be brief and kind." + "hi").length / 4) = ceil(20 / 4)
    usage: { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 12 },
  });
});

test('accepts the beta query string on /v1/messages', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages?beta=true`, ask('hi'));
  assert.equal(res.status, 200);
  assert.equal(mock.stats.byPath['/v1/messages'], 1);
  assert.equal(mock.stats.last.at(-1)?.path, '/v1/messages?beta=true');
});

test('splits the streamed text into chunkCount deltas', async (t) => {
  const mock = await startMock(t, { outputTokens: 10, chunkCount: 3 });
  const res = await post(`${mock.url}/v1/messages`, ask('a b c d e f', { stream: true }));
  const deltas = sseData(res.text).filter((e) => e['type'] === 'content_block_delta');
  assert.deepEqual(
    deltas.map((e) => (e['delta'] as { text: string }).text),
    ['Mock reply from ', 'm: a b ', 'c d e f'],
  );
});

test('truncates at max_tokens with stop_reason max_tokens', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, ask('hello', { max_tokens: 3 }));
  const body = res.json as { content: Array<{ text: string }>; stop_reason: string; usage: { output_tokens: number } };
  assert.equal(body.content[0]?.text, 'Mock reply from ');
  assert.equal(body.stop_reason, 'max_tokens');
  assert.equal(body.usage.output_tokens, 3);
});

test('cuts the reply at a stop sequence and names it', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, ask('hello world', { stream: true, stop_sequences: ['zzz', 'world'] }));
  assert.equal(anthropicText(res.text), 'Mock reply from m: hello ');
  const delta = sseData(res.text).find((e) => e['type'] === 'message_delta');
  assert.deepEqual(delta?.['delta'], { stop_reason: 'stop_sequence', stop_sequence: 'world' });
});

test('calls the first tool with arguments generated from its schema', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, ask('weather?', { tools: [weatherTool, timeTool] }));
  const body = res.json as { content: unknown[]; stop_reason: string };
  assert.equal(body.stop_reason, 'tool_use');
  assert.deepEqual(body.content, [{ type: 'tool_use', id: 'toolu_mock_1_0', name: 'get_weather', input: weatherArgs }]);
});

test('streams tool arguments in several input_json_delta events', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, ask('weather?', { stream: true, tools: [weatherTool] }));
  const events = sseData(res.text);
  assert.deepEqual(events.find((e) => e['type'] === 'content_block_start')?.['content_block'], {
    type: 'tool_use',
    id: 'toolu_mock_1_0',
    name: 'get_weather',
    input: {},
  });
  const parts = events
    .filter((e) => e['type'] === 'content_block_delta')
    .map((e) => e['delta'] as { type: string; partial_json: string });
  assert.ok(parts.length >= 2, `${parts.length} deltas`);
  assert.ok(parts.every((p) => p.type === 'input_json_delta'));
  assert.deepEqual(JSON.parse(parts.map((p) => p.partial_json).join('')), weatherArgs);
  assert.equal((events.find((e) => e['type'] === 'message_delta')?.['delta'] as { stop_reason: string }).stop_reason, 'tool_use');
});

test('calls the tool named by x-mock-tool, or by a forced tool_choice', async (t) => {
  const mock = await startMock(t);
  const byHeader = await post(`${mock.url}/v1/messages`, ask('time?', { tools: [weatherTool, timeTool] }), { 'x-mock-tool': 'get_time' });
  assert.deepEqual((byHeader.json as { content: unknown[] }).content, [
    { type: 'tool_use', id: 'toolu_mock_1_0', name: 'get_time', input: { zone: 'mock' } },
  ]);
  const forced = await post(
    `${mock.url}/v1/messages`,
    ask('time?', { tools: [weatherTool, timeTool], tool_choice: { type: 'tool', name: 'get_time' } }),
  );
  assert.equal((forced.json as { content: Array<{ name: string }> }).content[0]?.name, 'get_time');
  const unknown = await post(`${mock.url}/v1/messages`, ask('x', { tools: [timeTool] }), { 'x-mock-tool': 'nope' });
  assert.equal(unknown.status, 400);
  assert.equal((unknown.json as { error: { type: string } }).error.type, 'invalid_request_error');
});

test('replies with text when tool_choice is none', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, ask('hi', { tools: [timeTool], tool_choice: { type: 'none' } }));
  assert.equal((res.json as { stop_reason: string }).stop_reason, 'end_turn');
});

test('calls Bash with the command that follows run:', async (t) => {
  const mock = await startMock(t);
  const bash = { name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } };
  const res = await post(`${mock.url}/v1/messages`, ask('please run: ls -la /tmp\nthanks', { tools: [timeTool, bash] }));
  assert.deepEqual((res.json as { content: Array<{ input: unknown }> }).content[0]?.input, {
    command: 'ls -la /tmp',
    description: 'Run ls -la /tmp',
  });
});

test('with toolCalls on-request (the built-in example), it answers with text unless a tool is asked for', async (t) => {
  const mock = await startMock(t, { toolCalls: 'on-request' });
  const tools = [{ name: 'Agent', input_schema: { type: 'object', properties: { prompt: { type: 'string' } } } }, weatherTool, timeTool];
  const plain = await post(`${mock.url}/v1/messages`, ask('Say hello', { tools }));
  assert.equal((plain.json as { stop_reason: string }).stop_reason, 'end_turn');
  const forced = await post(`${mock.url}/v1/messages`, ask('time?', { tools, tool_choice: { type: 'tool', name: 'get_time' } }));
  assert.equal((forced.json as { content: Array<{ name: string }> }).content[0]?.name, 'get_time');
  const any = await post(`${mock.url}/v1/messages`, ask('anything', { tools, tool_choice: { type: 'any' } }));
  assert.equal((any.json as { stop_reason: string }).stop_reason, 'tool_use');
  const byHeader = await post(`${mock.url}/v1/messages`, ask('weather?', { tools }), { 'x-mock-tool': 'get_weather' });
  assert.equal((byHeader.json as { content: Array<{ name: string }> }).content[0]?.name, 'get_weather');
  const bash = { name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } };
  const run = await post(`${mock.url}/v1/messages`, ask('run: echo hi', { tools: [...tools, bash] }));
  assert.deepEqual((run.json as { content: Array<{ input: unknown }> }).content[0]?.input, { command: 'echo hi', description: 'Run echo hi' });
});

test('never calls a defer_loading placeholder unasked: the first real tool instead', async (t) => {
  const mock = await startMock(t);
  const placeholder = { name: 'DeferredToolPlaceholder', defer_loading: true, input_schema: { type: 'object', properties: {} } };
  const res = await post(`${mock.url}/v1/messages`, ask('weather?', { tools: [placeholder, weatherTool] }));
  assert.equal((res.json as { content: Array<{ name: string }> }).content[0]?.name, 'get_weather');
  const only = await post(`${mock.url}/v1/messages`, ask('hi', { tools: [placeholder] }));
  assert.equal((only.json as { stop_reason: string }).stop_reason, 'end_turn');
  // Asked for by name, a placeholder is called like any tool.
  const asked = await post(`${mock.url}/v1/messages`, ask('hi', { tools: [placeholder] }), { 'x-mock-tool': 'DeferredToolPlaceholder' });
  assert.equal((asked.json as { content: Array<{ name: string }> }).content[0]?.name, 'DeferredToolPlaceholder');
});

test('x-mock-parallel-tools calls the first N tools in one turn', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages`, ask('both', { stream: true, tools: [weatherTool, timeTool] }), {
    'x-mock-parallel-tools': '2',
  });
  const starts = sseData(res.text).filter((e) => e['type'] === 'content_block_start');
  assert.deepEqual(
    starts.map((e) => [e['index'], (e['content_block'] as { name: string }).name]),
    [
      [0, 'get_weather'],
      [1, 'get_time'],
    ],
  );
});

test('answers a tool result with text that quotes it', async (t) => {
  const mock = await startMock(t);
  const messages = [
    { role: 'user', content: 'weather?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny, 21C today' }] }] },
  ];
  const res = await post(`${mock.url}/v1/messages`, { model: 'm', max_tokens: 100, tools: [weatherTool], messages });
  const body = res.json as { content: Array<{ type: string; text: string }>; stop_reason: string };
  assert.equal(body.stop_reason, 'end_turn');
  assert.equal(body.content[0]?.text, 'Mock reply from m: tool result: Sunny, 21C today lorem ipsum dolor');
});

test('streams a thinking block with a signature before the text when thinking is enabled', async (t) => {
  const mock = await startMock(t, { outputTokens: 4 });
  const res = await post(`${mock.url}/v1/messages`, ask('why?', { stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } }));
  const events = sseData(res.text);
  const starts = events.filter((e) => e['type'] === 'content_block_start').map((e) => e['content_block'] as { type: string });
  assert.deepEqual(starts.map((b) => b.type), ['thinking', 'text']);
  const thinkingDeltas = events
    .filter((e) => e['type'] === 'content_block_delta' && e['index'] === 0)
    .map((e) => e['delta'] as { type: string; thinking?: string; signature?: string });
  assert.ok(thinkingDeltas.filter((d) => d.type === 'thinking_delta').length >= 2);
  assert.equal(thinkingDeltas.at(-1)?.type, 'signature_delta');
  assert.match(thinkingDeltas.at(-1)?.signature ?? '', /^[A-Za-z0-9+/]+=*$/);
  const thinking = thinkingDeltas.map((d) => d.thinking ?? '').join('');
  assert.equal(thinking, 'Considering the request: why? so a mock answer will do.');
  const adaptive = await post(`${mock.url}/v1/messages`, ask('why?', { thinking: { type: 'adaptive' } }));
  assert.equal((adaptive.json as { content: Array<{ type: string }> }).content[0]?.type, 'thinking');
});

test('reports cache reads when the request carries a cache_control marker', async (t) => {
  const mock = await startMock(t);
  const system = [{ type: 'text', text: 'x'.repeat(400), cache_control: { type: 'ephemeral' } }];
  const res = await post(`${mock.url}/v1/messages`, { ...ask('hi'), system });
  const usage = (res.json as { usage: Record<string, number> }).usage;
  // 402 characters → 101 tokens, half of them (rounded up) read from the cache.
  assert.equal(usage['cache_read_input_tokens'], 51);
  assert.equal(usage['input_tokens'], 50);
});

test('count_tokens answers input_tokens', async (t) => {
  const mock = await startMock(t);
  const res = await post(`${mock.url}/v1/messages/count_tokens`, { model: 'm', messages: userAsks('12345678') });
  assert.deepEqual(res.json, { input_tokens: 2 });
});

test('rejects invalid JSON and invalid requests with Anthropic-shaped 400s', async (t) => {
  const mock = await startMock(t);
  const bad = await post(`${mock.url}/v1/messages`, '{"model":');
  assert.equal(bad.status, 400);
  const body = bad.json as { type: string; error: { type: string; message: string } };
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
  const noMessages = await post(`${mock.url}/v1/messages`, { model: 'm', max_tokens: 5 });
  assert.equal(noMessages.status, 400);
  assert.match((noMessages.json as { error: { message: string } }).error.message, /messages/);
});
