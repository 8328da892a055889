/**
 * Random valid internal requests survive encodeOpenAIRequest → decodeOpenAIRequest
 * for everything the OpenAI wire format can carry.
 *
 * What it cannot carry, so the generators leave it out (each is tested as a
 * documented loss in request-encode.test.ts):
 * - server tools, and a forced tool_choice naming one;
 * - `isError` on tool results; images inside tool results (moved to a user message);
 * - several text parts in system / tool content (joined with "\n\n") or assistant content (concatenated)
 *   unless a cache marker forces parts; a user message with no parts ("" comes back as one empty text);
 * - cache markers and top_k without the cacheControl / topK quirks; cache markers on images and tool calls;
 * - thinking without sendReasoningBack; several unsigned thinking parts (joined);
 * - reasoning budgets (sent as an effort level), `disabled`, `adaptive`, effort `max`;
 * - includeUsage false (the upstream is always asked for usage when it can give it);
 * - empty system text, empty assistant text; leading `system` messages become `system` parts;
 * - a user message right after tool results (merged into the tool results' user message).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ChatRequest, Message, Part, TextPart, Tool } from '../../../src/model/types.ts';
import { openAIPresets } from '../../../src/protocols/openai/quirks.ts';
import type { OpenAIQuirks } from '../../../src/protocols/openai/quirks.ts';
import { decodeOpenAIRequest, encodeOpenAIRequest } from '../../../src/protocols/openai/request.ts';

interface Options {
  quirks: Readonly<OpenAIQuirks>;
}

/** JSON-normalised (no -0, plain prototypes), as any object that crossed the wire is. */
const jsonObject = fc
  .dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

const nonEmpty = fc.string({ minLength: 1, maxLength: 20 });
const cacheControl = fc.option(fc.constantFrom({ type: 'ephemeral' as const }, { type: 'ephemeral' as const, ttl: '1h' }), {
  nil: undefined,
});

function text(opts: Options, content: fc.Arbitrary<string> = fc.string({ maxLength: 20 })): fc.Arbitrary<TextPart> {
  if (!opts.quirks.cacheControl) return content.map((t) => ({ type: 'text' as const, text: t }));
  return fc.tuple(content, cacheControl).map(([t, cc]) => (cc === undefined ? { type: 'text' as const, text: t } : { type: 'text' as const, text: t, cacheControl: cc }));
}

const image = fc.oneof(
  fc.record({ mediaType: fc.constantFrom('image/png', 'image/jpeg'), data: fc.base64String({ minLength: 4, maxLength: 16 }) }).map(({ mediaType, data }) => ({
    type: 'image' as const,
    source: { type: 'base64' as const, mediaType, data },
  })),
  fc.webUrl().map((url) => ({ type: 'image' as const, source: { type: 'url' as const, url } })),
).chain((img) => fc.option(fc.constantFrom('low', 'high', 'auto'), { nil: undefined }).map((detail) => (detail === undefined ? img : { ...img, detail })));

function userParts(opts: Options): fc.Arbitrary<Part[]> {
  return fc.array(fc.oneof(text(opts), image), { minLength: 1, maxLength: 3 });
}

const toolCall = fc.record({ id: nonEmpty, name: nonEmpty, input: jsonObject }).map((c) => ({ type: 'tool_call' as const, ...c }));

function thinking(opts: Options): fc.Arbitrary<Part[]> {
  const none = fc.constant<Part[]>([]);
  if (!opts.quirks.sendReasoningBack) return none;
  const signed = fc.array(
    fc.oneof(
      fc.record({ text: nonEmpty, signature: nonEmpty }).map((t) => ({ type: 'thinking' as const, ...t })),
      nonEmpty.map((data) => ({ type: 'redacted_thinking' as const, data })),
    ),
    { minLength: 1, maxLength: 3 },
  ).filter((parts) => parts.some((p) => p.type === 'thinking'));
  const unsigned = nonEmpty.map((t): Part[] => [{ type: 'thinking', text: t }]);
  return fc.oneof(none, unsigned, signed as fc.Arbitrary<Part[]>);
}

function assistant(opts: Options): fc.Arbitrary<Message> {
  return fc
    .tuple(thinking(opts), fc.option(text(opts, nonEmpty), { nil: undefined }), fc.array(toolCall, { maxLength: 3 }))
    .map(([think, t, calls]) => ({ role: 'assistant' as const, content: [...think, ...(t === undefined ? [] : [t]), ...calls] }));
}

function toolResults(opts: Options, ids: string[]): fc.Arbitrary<Message> {
  const results = fc.tuple(
    ...ids.map((id) =>
      fc.option(text(opts, nonEmpty), { nil: undefined }).map((t) => ({ type: 'tool_result' as const, toolCallId: id, content: t === undefined ? [] : [t] })),
    ),
  );
  return fc.tuple(results, fc.option(userParts(opts), { nil: undefined })).map(([r, extra]) => ({
    role: 'user' as const,
    content: [...r, ...(extra ?? [])],
  }));
}

/** user, then (assistant, optional mid-conversation system, next user or tool results)*. */
function conversation(opts: Options): fc.Arbitrary<Message[]> {
  const turn = fc.tuple(assistant(opts), fc.option(text(opts, nonEmpty), { nil: undefined }), userParts(opts));
  return fc.tuple(userParts(opts), fc.array(turn, { maxLength: 4 })).chain(([first, turns]) => {
    const parts: Array<fc.Arbitrary<Message[]>> = [fc.constant([{ role: 'user', content: first }])];
    for (const [a, sys, next] of turns) {
      const ids = a.content.flatMap((p) => (p.type === 'tool_call' ? [p.id] : []));
      if (ids.length > 0) parts.push(toolResults(opts, ids).map((m) => [a, m]));
      else {
        const between: Message[] = sys === undefined ? [] : [{ role: 'system', content: [sys] }];
        parts.push(fc.constant([a, ...between, { role: 'user', content: next }]));
      }
    }
    return fc.tuple(...parts).map((chunks) => chunks.flat());
  });
}

const functionTool = fc
  .record(
    { name: nonEmpty, description: fc.string({ maxLength: 20 }), inputSchema: jsonObject, strict: fc.boolean() },
    { requiredKeys: ['name', 'inputSchema'] },
  )
  .map((t): Tool => ({ kind: 'function', ...t }));

function chatRequest(opts: Options): fc.Arbitrary<ChatRequest> {
  const params = fc.record(
    {
      maxTokens: fc.nat(),
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      topP: fc.double({ min: 0, max: 1, noNaN: true }),
      stopSequences: fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      user: fc.string({ maxLength: 20 }),
      ...(opts.quirks.topK ? { topK: fc.nat({ max: 100 }) } : {}),
      ...(opts.quirks.reasoningEffort
        ? { reasoning: fc.constantFrom('minimal', 'low', 'medium', 'high').map((effort) => ({ mode: 'enabled' as const, effort })) }
        : {}),
    },
    { requiredKeys: [] },
  );
  const tools = fc.option(fc.uniqueArray(functionTool, { minLength: 1, maxLength: 3, selector: (t) => t.name }), { nil: undefined });
  const toolOptions = tools.chain((ts) => {
    if (ts === undefined) return fc.constant({});
    const names = ts.map((t) => t.name);
    return fc.record(
      {
        tools: fc.constant(ts),
        toolChoice: fc.oneof(
          fc.constantFrom({ type: 'auto' as const }, { type: 'none' as const }, { type: 'any' as const }),
          fc.constantFrom(...names).map((name) => ({ type: 'tool' as const, name })),
        ),
        parallelToolCalls: fc.boolean(),
      },
      { requiredKeys: ['tools'] },
    );
  });
  const system = fc.option(text(opts, nonEmpty), { nil: undefined }).map((t) => (t === undefined ? [] : [t]));
  return fc
    .tuple(nonEmpty, system, conversation(opts), fc.boolean(), params, toolOptions)
    .map(([model, sys, messages, stream, p, t]) => {
      const req: ChatRequest = { model, system: sys, messages, stream, ...p, ...t };
      if (stream && opts.quirks.streamUsage) req.includeUsage = true;
      return req;
    });
}

function roundTrip(opts: Options, runs: number): void {
  fc.assert(
    fc.property(chatRequest(opts), (req) => {
      const wire = JSON.parse(JSON.stringify(encodeOpenAIRequest(req, req.model, opts.quirks))) as unknown;
      assert.deepEqual(decodeOpenAIRequest(wire), req);
    }),
    { numRuns: runs },
  );
}

test('random requests survive encode then decode with a generic provider', () => {
  roundTrip({ quirks: openAIPresets.generic.quirks }, 300);
});

test('random requests with signed thinking, cache markers, top_k and effort survive with OpenRouter quirks', () => {
  roundTrip({ quirks: openAIPresets.openrouter.quirks }, 300);
});

test('random requests with reasoning text sent back survive with DeepSeek quirks', () => {
  roundTrip({ quirks: openAIPresets.deepseek.quirks }, 200);
});
