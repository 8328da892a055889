import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeAnthropicRequest, encodeAnthropicRequest } from '../../../src/protocols/anthropic/request.ts';
import { decodeAnthropicResponse, encodeAnthropicResponse } from '../../../src/protocols/anthropic/response.ts';
import type { ChatResponse, OutputPart } from '../../../src/model/types.ts';
import { chatRequest } from './arbitraries.ts';

/** What travels over the wire: JSON text, so nothing survives by object identity. */
function overTheWire(body: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(body));
}

/** fast-check builds some records with a null prototype; compare against plain objects. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

test('any valid internal request survives encode → JSON → decode through Anthropic exactly', () => {
  fc.assert(
    fc.property(chatRequest(true), (req) => {
      const back = decodeAnthropicRequest(overTheWire(encodeAnthropicRequest(req, req.model)));
      assert.deepEqual(back, plain(req));
    }),
    { numRuns: 300 },
  );
});

const outputPart: fc.Arbitrary<OutputPart> = fc.oneof(
  fc.record({ type: fc.constant('text' as const), text: fc.string() }),
  fc.record({ type: fc.constant('thinking' as const), text: fc.string(), signature: fc.base64String({ minLength: 4, maxLength: 20 }) }),
  fc.record({ type: fc.constant('redacted_thinking' as const), data: fc.base64String({ minLength: 4, maxLength: 20 }) }),
  fc.record({
    type: fc.constant('tool_call' as const),
    id: fc.string({ minLength: 1 }),
    name: fc.string({ minLength: 1 }),
    input: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean()), { maxKeys: 3 }),
  }),
);

test('any response with a stop reason survives encode → JSON → decode through Anthropic exactly', () => {
  const response: fc.Arbitrary<ChatResponse> = fc.record({
    id: fc.string({ minLength: 1 }),
    model: fc.string({ minLength: 1 }),
    content: fc.array(outputPart, { maxLength: 5 }),
    stopReason: fc.constantFrom('end_turn' as const, 'max_tokens' as const, 'tool_use' as const, 'stop_sequence' as const, 'pause_turn' as const, 'refusal' as const),
    usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat(), cacheReadTokens: fc.nat(), cacheWriteTokens: fc.nat() }),
  });
  fc.assert(
    fc.property(response, (res) => {
      assert.deepEqual(decodeAnthropicResponse(overTheWire(encodeAnthropicResponse(res))), plain(res));
    }),
    { numRuns: 300 },
  );
});
