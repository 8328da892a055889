/** The stream translator itself: what it records, how it ends, how it bounds memory. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Usage } from '../../src/model/types.ts';
import { createStreamDecoder, createStreamEncoder, createStreamTranslator, observeUsage } from '../../src/translate/index.ts';
import { assertWellFormedAnthropic } from '../protocols/anthropic/helpers.ts';
import { fixture, openaiChunks } from './helpers.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('firstContentSeen turns true with the first content block, not with message_start or pings', () => {
  const t = createStreamTranslator('anthropic', 'openai', { includeUsage: false });
  const text = fixture('anthropic', 'max-tokens');
  const [head, rest] = [text.slice(0, text.indexOf('event: content_block_start')), text.slice(text.indexOf('event: content_block_start'))];
  t.pushBytes(bytes(head));
  assert.equal(t.firstContentSeen, false);
  assert.equal(t.usage.inputTokens, 19);
  t.pushBytes(bytes(rest));
  assert.equal(t.firstContentSeen, true);
});

test('usage is recorded event by event as the stream passes, before end()', () => {
  const t = createStreamTranslator('openai', 'anthropic', { includeUsage: false });
  t.pushBytes(bytes(fixture('openai', 'text-with-usage')));
  assert.deepEqual(t.usage, { inputTokens: 176, outputTokens: 4, cacheReadTokens: 1024 });
  assert.equal(t.stopReason, 'end_turn');
});

test('nothing is written after end(), and end() twice writes nothing more', () => {
  const t = createStreamTranslator('anthropic', 'openai', { includeUsage: false });
  const text = fixture('anthropic', 'text');
  t.pushBytes(bytes(text.slice(0, text.indexOf('event: message_stop'))));
  assert.ok(t.end().endsWith('data: [DONE]\n\n'));
  assert.equal(t.end(), '');
  assert.equal(t.pushBytes(bytes(fixture('anthropic', 'text'))), '');
});

test('a stream cut before its terminator ends with an error, not a clean finish', () => {
  const t = createStreamTranslator('anthropic', 'openai', { includeUsage: false });
  const text = fixture('anthropic', 'text');
  t.pushBytes(bytes(text.slice(0, text.indexOf('event: message_delta'))));
  const tail = t.end();
  assert.ok(!tail.includes('[DONE]'));
  assert.match(tail, /"error":\{"message":"the upstream stream ended before the answer was complete"/);
});

test('an SSE line longer than the bound ends the stream with an error instead of growing a buffer', () => {
  const t = createStreamTranslator('openai', 'anthropic', { includeUsage: false, maxPendingChars: 1024 });
  let out = t.pushBytes(bytes('data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'));
  out += t.pushBytes(bytes(`data: ${'x'.repeat(2000)}`));
  out += t.pushBytes(bytes('more'));
  out += t.end();
  const events = assertWellFormedAnthropic(out);
  assert.deepEqual(events.at(-1)?.data, { type: 'error', error: { type: 'api_error', message: 'upstream SSE line exceeds 1024 characters' } });
  assert.deepEqual(t.error, { kind: 'api_error', message: 'upstream SSE line exceeds 1024 characters' });
});

test('the OpenAI side of the bound ends with an error chunk and no [DONE]', () => {
  const t = createStreamTranslator('anthropic', 'openai', { includeUsage: true, maxPendingChars: 100 });
  const out = t.pushBytes(bytes(`event: ping\ndata: ${'y'.repeat(500)}`)) + t.end();
  const chunks = openaiChunks(out);
  assert.ok(!chunks.includes('[DONE]'));
  assert.deepEqual(chunks.at(-1), { error: { message: 'upstream SSE line exceeds 100 characters', type: 'api_error', param: null, code: null } });
});

test('a final event without its blank line is still delivered at end()', () => {
  const t = createStreamTranslator('anthropic', 'openai', { includeUsage: false });
  const text = fixture('anthropic', 'text').trimEnd();
  const out = t.pushBytes(bytes(text)) + t.end();
  assert.equal(t.stopReason, 'end_turn');
  assert.equal(openaiChunks(out).at(-1), '[DONE]');
});

test('observeUsage copies only the counts present, latest value winning', () => {
  const usage: Usage = { inputTokens: 10, outputTokens: 1 };
  observeUsage(usage, { outputTokens: 5 });
  observeUsage(usage, { outputTokens: 7, cacheReadTokens: 3 });
  observeUsage(usage, undefined);
  assert.deepEqual(usage, { inputTokens: 10, outputTokens: 7, cacheReadTokens: 3 });
});

test('stream decoders and encoders of both protocols are available by name', () => {
  for (const protocol of ['anthropic', 'openai'] as const) {
    const decoder = createStreamDecoder(protocol);
    assert.equal(typeof decoder.push, 'function');
    const encoder = createStreamEncoder(protocol, { includeUsage: false });
    assert.ok(encoder.end().length > 0, `${protocol} encoder closes an empty stream`);
  }
});
