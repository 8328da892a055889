/** Shared test helpers for the Anthropic codec: fixtures, SSE parsing, a stream grammar check, the official SDK as an oracle. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import type { StreamEvent } from '../../../src/model/types.ts';
import { createAnthropicStreamDecoder } from '../../../src/protocols/anthropic/stream.ts';
import { SseParser } from '../../../src/protocols/sse.ts';

const fixturesDir = new URL('../../fixtures/anthropic/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(`${name}.sse`, fixturesDir), 'utf8');
}

/** Feeds `text` to parser + decoder in chunks of `chunkSize` bytes (bytes, so UTF-8 characters get split too). */
export function decodeAnthropicSse(text: string, chunkSize = Infinity): StreamEvent[] {
  const parser = new SseParser();
  const decoder = createAnthropicStreamDecoder();
  const events: StreamEvent[] = [];
  const bytes = new TextEncoder().encode(text);
  const step = Number.isFinite(chunkSize) ? chunkSize : bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) {
    for (const msg of parser.pushBytes(bytes.subarray(i, i + step))) events.push(...decoder.push(msg));
  }
  for (const msg of parser.end()) events.push(...decoder.push(msg));
  events.push(...decoder.end());
  return events;
}

export interface WireEvent {
  event: string | undefined;
  data: Record<string, unknown>;
}

/** Parses SSE text into (event name, JSON data) pairs; fails the test on invalid JSON. */
export function parseSse(text: string): WireEvent[] {
  const parser = new SseParser();
  const msgs = [...parser.push(text), ...parser.end()];
  return msgs.map((m) => ({ event: m.event, data: JSON.parse(m.data) as Record<string, unknown> }));
}

/**
 * Checks the Anthropic stream grammar: message_start first; blocks one at a
 * time, numbered 0,1,2…, each start → deltas of its kind → stop; then one
 * message_delta with a stop reason and message_stop; or an error event last.
 * `event:` names match the data's type. Returns the wire events.
 */
export function assertWellFormedAnthropic(text: string): WireEvent[] {
  const events = parseSse(text);
  assert.ok(events.length > 0, 'stream is empty');
  let state: 'init' | 'started' | 'block' | 'delta' | 'stopped' | 'error' = 'init';
  let nextIndex = 0;
  let blockType = '';
  for (const [i, { event, data }] of events.entries()) {
    const where = `event ${i} (${event})`;
    assert.equal(event, data.type, `${where}: event name matches data.type`);
    assert.notEqual(state, 'stopped', `${where}: nothing after message_stop`);
    assert.notEqual(state, 'error', `${where}: nothing after error`);
    switch (data.type) {
      case 'ping':
        break;
      case 'error':
        assert.equal(typeof (data.error as { type: unknown }).type, 'string');
        assert.equal(typeof (data.error as { message: unknown }).message, 'string');
        state = 'error';
        break;
      case 'message_start': {
        assert.equal(state, 'init', `${where}: message_start comes first`);
        const message = data.message as Record<string, unknown>;
        assert.equal(message.type, 'message');
        assert.equal(message.role, 'assistant');
        assert.equal(typeof message.id, 'string');
        assert.ok((message.id as string).length > 0);
        assert.equal(typeof message.model, 'string');
        const usage = message.usage as Record<string, unknown>;
        assert.equal(typeof usage.input_tokens, 'number');
        assert.equal(typeof usage.output_tokens, 'number');
        state = 'started';
        break;
      }
      case 'content_block_start': {
        assert.equal(state, 'started', `${where}: block starts after the previous one stopped`);
        assert.equal(data.index, nextIndex, `${where}: block indexes are contiguous`);
        blockType = (data.content_block as { type: string }).type;
        if (blockType === 'tool_use') {
          const block = data.content_block as Record<string, unknown>;
          assert.match(block.id as string, /.+/);
          assert.deepEqual(block.input, {});
        }
        state = 'block';
        break;
      }
      case 'content_block_delta': {
        assert.equal(state, 'block', `${where}: delta inside a block`);
        assert.equal(data.index, nextIndex, `${where}: delta for the open block`);
        const deltaType = (data.delta as { type: string }).type;
        const allowed: Record<string, string[]> = {
          text: ['text_delta'],
          thinking: ['thinking_delta', 'signature_delta'],
          tool_use: ['input_json_delta'],
          redacted_thinking: [],
        };
        assert.ok(allowed[blockType]?.includes(deltaType), `${where}: ${deltaType} fits a ${blockType} block`);
        break;
      }
      case 'content_block_stop':
        assert.equal(state, 'block', `${where}: stop closes an open block`);
        assert.equal(data.index, nextIndex);
        nextIndex++;
        state = 'started';
        break;
      case 'message_delta': {
        assert.equal(state, 'started', `${where}: message_delta after all blocks closed`);
        const delta = data.delta as Record<string, unknown>;
        assert.equal(typeof delta.stop_reason, 'string', `${where}: has a stop reason`);
        assert.equal(typeof (data.usage as { output_tokens: unknown }).output_tokens, 'number');
        state = 'delta';
        break;
      }
      case 'message_stop':
        assert.equal(state, 'delta', `${where}: message_stop after message_delta`);
        state = 'stopped';
        break;
      default:
        assert.fail(`${where}: unknown event type ${String(data.type)}`);
    }
  }
  assert.ok(state === 'stopped' || state === 'error', `stream ends with message_stop or error, not ${state}`);
  return events;
}

/** Lets the official Anthropic SDK consume `sse` as if it came from the API; returns its accumulated message. */
export async function sdkFinalMessage(sse: string): Promise<Anthropic.Message> {
  const client = new Anthropic({
    apiKey: 'test-key',
    baseURL: 'http://127.0.0.1:1',
    maxRetries: 0,
    fetch: async () => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }),
  });
  const stream = client.messages.stream({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
  return await stream.finalMessage();
}
