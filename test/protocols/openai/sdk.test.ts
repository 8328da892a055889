/**
 * The official OpenAI SDK against the codec over a real loopback socket: what
 * the SDK sends decodes, and what the encoders write the SDK accepts,
 * accumulating tool calls, usage and the mid-stream error shape.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import OpenAI from 'openai';
import type { ChatResponse, StreamEvent } from '../../../src/model/types.ts';
import { decodeOpenAIRequest } from '../../../src/protocols/openai/request.ts';
import { encodeOpenAIResponse } from '../../../src/protocols/openai/response.ts';
import { createOpenAIStreamEncoder } from '../../../src/protocols/openai/stream.ts';

const events: StreamEvent[] = [
  { type: 'message_start', id: 'msg_sdk', model: 'claude-x', usage: { inputTokens: 12, outputTokens: 1, cacheReadTokens: 8 } },
  { type: 'block_start', index: 0, block: { type: 'thinking' } },
  { type: 'block_delta', index: 0, delta: { type: 'thinking', text: 'Think.' } },
  { type: 'block_delta', index: 0, delta: { type: 'signature', signature: 'sig' } },
  { type: 'block_stop', index: 0 },
  { type: 'block_start', index: 1, block: { type: 'text' } },
  { type: 'block_delta', index: 1, delta: { type: 'text', text: 'Looking ' } },
  { type: 'block_delta', index: 1, delta: { type: 'text', text: 'it up.' } },
  { type: 'block_stop', index: 1 },
  { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_a', name: 'lookup' } },
  { type: 'block_delta', index: 2, delta: { type: 'tool_args', json: '{"q":' } },
  { type: 'block_delta', index: 2, delta: { type: 'tool_args', json: '"x"}' } },
  { type: 'block_stop', index: 2 },
  { type: 'block_start', index: 3, block: { type: 'tool_call', id: 'toolu_b', name: 'lookup' } },
  { type: 'block_delta', index: 3, delta: { type: 'tool_args', json: '{"q":"y"}' } },
  { type: 'block_stop', index: 3 },
  { type: 'message_delta', stopReason: 'tool_use', usage: { outputTokens: 30 } },
  { type: 'message_stop' },
];

const response: ChatResponse = {
  id: 'msg_sdk',
  model: 'claude-x',
  content: [
    { type: 'text', text: 'Hello.' },
    { type: 'tool_call', id: 'toolu_a', name: 'lookup', input: { q: 'x' } },
  ],
  stopReason: 'tool_use',
  usage: { inputTokens: 5, outputTokens: 7 },
};

interface Seen {
  bodies: unknown[];
  failStream: boolean;
}

async function startServer(t: { after(fn: () => unknown): void }): Promise<{ client: OpenAI; seen: Seen }> {
  const seen: Seen = { bodies: [], failStream: false };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      seen.bodies.push(body);
      let chat: ReturnType<typeof decodeOpenAIRequest>;
      try {
        chat = decodeOpenAIRequest(body);
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: (err as Error).message, type: 'invalid_request_error', param: null, code: null } }));
        return;
      }
      if (!chat.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(encodeOpenAIResponse(response)));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const encoder = createOpenAIStreamEncoder({ includeUsage: chat.includeUsage === true, model: chat.model });
      const list: StreamEvent[] = seen.failStream
        ? [...events.slice(0, 7), { type: 'error', error: { kind: 'overloaded', message: 'Upstream overloaded' } }]
        : events;
      for (const ev of list) res.write(encoder.push(ev));
      res.end(encoder.end());
    });
  });
  server.listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = new OpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, timeout: 5000 });
  return { client, seen };
}

test('the SDK’s own request decodes, images and tools included', async (t) => {
  const { client, seen } = await startServer(t);
  await client.chat.completions.create({
    model: 'sonnet',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
    ],
    tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
    tool_choice: 'required',
    max_completion_tokens: 100,
  });
  const decoded = decodeOpenAIRequest(seen.bodies[0]);
  assert.deepEqual(decoded.system, [{ type: 'text', text: 'Be brief.' }]);
  assert.deepEqual(decoded.toolChoice, { type: 'any' });
  assert.equal(decoded.maxTokens, 100);
  assert.deepEqual(decoded.messages[0]?.content[1], { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'AAAA' } });
  assert.equal(decoded.tools?.[0]?.name, 'lookup');
});

test('the SDK reads a non-streaming response with tool calls', async (t) => {
  const { client } = await startServer(t);
  const completion = await client.chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(completion.choices[0]?.message.content, 'Hello.');
  assert.equal(completion.choices[0]?.finish_reason, 'tool_calls');
  const call = completion.choices[0]?.message.tool_calls?.[0];
  assert.ok(call?.type === 'function');
  assert.deepEqual(JSON.parse(call.function.arguments), { q: 'x' });
  assert.equal(completion.usage?.total_tokens, 12);
});

test('the SDK accumulates a streamed answer: text, two tool calls, finish reason and usage', async (t) => {
  const { client } = await startServer(t);
  const stream = client.chat.completions.stream({
    model: 'sonnet',
    messages: [{ role: 'user', content: 'Hi' }],
    stream_options: { include_usage: true },
  });
  const final = await stream.finalChatCompletion();
  const choice = final.choices[0];
  assert.equal(final.model, 'sonnet');
  assert.equal(choice?.message.content, 'Looking it up.');
  assert.equal(choice?.finish_reason, 'tool_calls');
  const calls = (choice?.message.tool_calls ?? []).map((c) => (c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : []));
  assert.deepEqual(calls, [
    ['toolu_a', 'lookup', { q: 'x' }],
    ['toolu_b', 'lookup', { q: 'y' }],
  ]);
  assert.deepEqual(final.usage?.prompt_tokens, 20);
  assert.deepEqual(final.usage?.completion_tokens, 30);
});

test('the SDK surfaces a mid-stream error chunk as an error', async (t) => {
  const { client, seen } = await startServer(t);
  seen.failStream = true;
  const stream = await client.chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'Hi' }], stream: true });
  let text = '';
  await assert.rejects(async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  }, /Upstream overloaded/);
  assert.equal(text, 'Looking ');
});
