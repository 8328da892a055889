import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassthroughTap, usageFromResponse } from '../../src/pipeline/stream-tap.ts';

test('usage is read from a complete Anthropic body', () => {
  const body = JSON.stringify({
    id: 'msg_1',
    content: [{ type: 'text', text: 'a "usage": { tricky } string' }],
    usage: { input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 5, cache_creation_input_tokens: 2, server_tool_use: { web_search_requests: 0 } },
  });
  assert.deepEqual(usageFromResponse('anthropic', JSON.parse(body)), { inputTokens: 12, outputTokens: 34, cacheReadTokens: 5, cacheWriteTokens: 2 });
});

test('usage is read from a complete OpenAI body, cached tokens taken out of the input', () => {
  const body = JSON.stringify({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 40 } } });
  assert.deepEqual(usageFromResponse('openai', JSON.parse(body)), { inputTokens: 60, outputTokens: 7, cacheReadTokens: 40 });
});

test('a body without usage gives no usage', () => {
  assert.equal(usageFromResponse('openai', { choices: [] }), undefined);
  assert.equal(usageFromResponse('openai', null), undefined);
});

test('the tap follows an Anthropic stream split at every byte', () => {
  const text =
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hé"}}\n\n' +
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n' +
    'event: message_stop\ndata: {"type":"message_stop"}\n\n';
  const tap = new PassthroughTap('anthropic');
  for (const byte of Buffer.from(text)) tap.push(Uint8Array.of(byte));
  tap.end();
  assert.equal(tap.finished, true);
  assert.equal(tap.stopReason, 'end_turn');
  assert.deepEqual(tap.usage, { inputTokens: 9, outputTokens: 3 });
});

test('the tap sees an OpenAI stream cut before its end as unfinished', () => {
  const tap = new PassthroughTap('openai');
  tap.push(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'));
  tap.end();
  assert.equal(tap.finished, false);
  const done = new PassthroughTap('openai');
  done.push(Buffer.from('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\ndata: [DONE]\n\n'));
  done.end();
  assert.equal(done.finished, true);
  assert.equal(done.stopReason, 'stop');
  assert.deepEqual(done.usage, { inputTokens: 5, outputTokens: 2 });
});

test('markers inside generated text do not fool the tap', () => {
  const tap = new PassthroughTap('openai');
  const content = JSON.stringify({ choices: [{ index: 0, delta: { content: 'data: [DONE] and "finish_reason":"stop" and "usage":{"prompt_tokens":9}' }, finish_reason: null }] });
  tap.push(Buffer.from(`data: ${content}\n\n`));
  tap.end();
  assert.equal(tap.finished, false);
  assert.equal(tap.stopReason, null);
  assert.deepEqual(tap.usage, { inputTokens: 0, outputTokens: 0 });
});

test('the tap reads CRLF streams and error events', () => {
  const anthropic = new PassthroughTap('anthropic');
  anthropic.push(Buffer.from('event: message_start\r\ndata: {"type":"message_start","message":{"usage":{"input_tokens":4,"output_tokens":1}}}\r\n\r\nevent: error\r\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\r\n\r\n'));
  anthropic.end();
  assert.equal(anthropic.usage.inputTokens, 4);
  assert.equal(anthropic.errored, true);
  const openai = new PassthroughTap('openai');
  openai.push(Buffer.from('data: {"error": {"message": "boom", "type": "server_error"}}\n\n'));
  openai.end();
  assert.equal(openai.errored, true);
});

test('the tap learns the kind of an upstream error event', () => {
  const anthropic = new PassthroughTap('anthropic');
  anthropic.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}\n\n'));
  assert.equal(anthropic.errorKind, 'rate_limit');
  assert.equal(anthropic.contentStarted, false);
  const openai = new PassthroughTap('openai');
  openai.push(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {"error":{"message":"x","type":"rate_limit_error"}}\n\n'));
  assert.equal(openai.errorKind, 'rate_limit');
  assert.equal(openai.contentStarted, true, 'content came before the error');
});

test('an OpenAI chunk that only names the role is not content yet; text, a tool call or a finish reason is', () => {
  const roleOnly = '{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}';
  const tap = new PassthroughTap('openai');
  tap.push(Buffer.from(`data: ${roleOnly}\n\ndata: ${roleOnly.replace('"content":""', '"content":null')}\n\n`));
  assert.equal(tap.contentStarted, false);
  for (const delta of ['{"content":"Hi"}', '{"reasoning_content":"hmm"}', '{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]}']) {
    const t = new PassthroughTap('openai');
    t.push(Buffer.from(`data: ${roleOnly}\n\ndata: {"choices":[{"index":0,"delta":${delta},"finish_reason":null}]}\n\n`));
    assert.equal(t.contentStarted, true, delta);
  }
  const empty = new PassthroughTap('openai');
  empty.push(Buffer.from(`data: ${roleOnly}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`));
  assert.equal(empty.contentStarted, true, 'an empty answer that finished is an answer');
  assert.equal(empty.finished, true);
});

test('an Anthropic block opened empty is not content yet; its first delta is', () => {
  const start = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":4,"output_tokens":1}}}\n\n';
  const open = 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
  const tap = new PassthroughTap('anthropic');
  tap.push(Buffer.from(start + open + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n\n'));
  assert.equal(tap.contentStarted, false);
  assert.equal(tap.errored, true);
  const flowing = new PassthroughTap('anthropic');
  flowing.push(Buffer.from(start + open + 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'));
  assert.equal(flowing.contentStarted, true);
});
