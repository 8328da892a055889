import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatResponse, StreamEvent } from '../../../src/model/types.ts';
import { decodeOpenAIRequest } from '../../../src/protocols/openai/request.ts';
import { encodeOpenAIResponse } from '../../../src/protocols/openai/response.ts';
import { createOpenAIStreamEncoder } from '../../../src/protocols/openai/stream-encoder.ts';

const weather = { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };

test('legacy functions, function_call and function messages decode as the tools API they became', () => {
  const req = decodeOpenAIRequest({
    model: 'm',
    functions: [weather],
    function_call: { name: 'get_weather' },
    messages: [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { role: 'function', name: 'get_weather', content: '12 C' },
    ],
  });
  assert.equal(req.legacyFunctions, true);
  assert.deepEqual(req.tools, [{ kind: 'function', name: 'get_weather', description: 'Weather', inputSchema: weather.parameters }]);
  assert.deepEqual(req.toolChoice, { type: 'tool', name: 'get_weather' });
  assert.deepEqual(req.messages[1]?.content, [{ type: 'tool_call', id: 'call_legacy_1', name: 'get_weather', input: { city: 'Oslo' } }]);
  assert.deepEqual(req.messages[2], { role: 'user', content: [{ type: 'tool_result', toolCallId: 'call_legacy_1', content: [{ type: 'text', text: '12 C' }] }] });
  // The tools API is left alone.
  assert.equal(decodeOpenAIRequest({ model: 'm', tools: [{ type: 'function', function: weather }], messages: [{ role: 'user', content: 'x' }] }).legacyFunctions, undefined);
});

const answer: ChatResponse = {
  id: 'msg_1',
  model: 'm',
  content: [
    { type: 'text', text: 'Checking.' },
    { type: 'tool_call', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
  ],
  stopReason: 'tool_use',
  usage: { inputTokens: 3, outputTokens: 4 },
};

test('a legacy client gets its call as function_call, finish_reason function_call', () => {
  const body = encodeOpenAIResponse(answer, { created: 0, legacyFunctions: true }) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> };
  const choice = body.choices[0]!;
  assert.deepEqual(choice.message.function_call, { name: 'get_weather', arguments: '{"city":"Oslo"}' });
  assert.equal(choice.message.tool_calls, undefined);
  assert.equal(choice.finish_reason, 'function_call');
  const modern = encodeOpenAIResponse(answer, { created: 0 }) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> };
  assert.equal(modern.choices[0]!.finish_reason, 'tool_calls');
});

test('a legacy client streams its call as function_call deltas', () => {
  const encoder = createOpenAIStreamEncoder({ includeUsage: false, created: 0, legacyFunctions: true });
  const events: StreamEvent[] = [
    { type: 'message_start', id: 'msg_1', model: 'm' },
    { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'toolu_1', name: 'get_weather' } },
    { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '{"city":' } },
    { type: 'block_delta', index: 0, delta: { type: 'tool_args', json: '"Oslo"}' } },
    { type: 'block_stop', index: 0 },
    { type: 'message_delta', stopReason: 'tool_use' },
    { type: 'message_stop' },
  ];
  const text = events.map((ev) => encoder.push(ev)).join('') + encoder.end();
  const deltas = text
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> }).choices[0]!);
  assert.deepEqual(deltas[1]?.delta, { function_call: { name: 'get_weather', arguments: '' } });
  assert.deepEqual(deltas.slice(2, 4).map((d) => d.delta), [{ function_call: { arguments: '{"city":' } }, { function_call: { arguments: '"Oslo"}' } }]);
  assert.equal(deltas.at(-1)?.finish_reason, 'function_call');
  assert.ok(!text.includes('tool_calls'));
});
