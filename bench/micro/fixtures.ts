/**
 * Inputs of the micro-benchmarks, all realistic and deterministic: an
 * agent-like request with tools, the recorded Claude Code request, stream
 * bytes exactly as the mock provider (src/mock) writes them, and long prose
 * for the tokenizer.
 */
import { readFileSync } from 'node:fs';
import { anthropicWire } from '../../src/mock/anthropic-wire.ts';
import { openaiWire } from '../../src/mock/openai-wire.ts';
import { buildReply, type ReplySettings } from '../../src/mock/reply.ts';
import { parseAnthropicRequest, parseOpenAIRequest } from '../../src/mock/request.ts';
import type { ProtocolName } from '../../src/model/types.ts';
import { SseParser } from '../../src/protocols/sse.ts';
import { decodeRequest, encodeRequest } from '../../src/translate/index.ts';

type Json = Record<string, unknown>;

const tools = [
  {
    name: 'get_weather',
    description: 'Current weather for a city.',
    input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city', 'unit'] },
  },
  {
    name: 'search_docs',
    description: 'Full-text search over the project documentation.',
    input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
];

/**
 * A short agent turn in Anthropic Messages form, about 1.3 KB of JSON: system
 * prompt, two tools, a tool call and its result in the history, three user turns.
 */
export function agentRequest(options: { stream?: boolean; tools?: boolean } = {}): Json {
  const body: Json = {
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    system:
      'You are a careful assistant working in a software repository. Answer briefly, cite file paths, ' +
      'and prefer small, reviewable changes. When a tool would help, call it instead of guessing.',
    messages: [
      { role: 'user', content: 'The gateway adds latency under load. Where should I look first?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check what the docs say about it.' },
          { type: 'tool_use', id: 'toolu_01', name: 'search_docs', input: { query: 'latency under load' } },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'docs/performance.md: logging off the hot path; passthrough reads only what it needs.' }],
      },
      { role: 'assistant', content: 'Start with the request path: body parsing, routing and the upstream pool. Measure before changing.' },
      { role: 'user', content: 'Please look up the weather in Lisbon, then summarise what a rail switchyard does in two sentences.' },
    ],
  };
  if (options.tools !== false) body.tools = tools;
  if (options.stream === true) body.stream = true;
  return body;
}

/** The same turn as an OpenAI Chat Completions request (as our own encoder writes it). */
export function agentRequestOpenAI(options: { stream?: boolean; tools?: boolean } = {}): Json {
  const body = encodeRequest('openai', decodeRequest('anthropic', agentRequest(options)), 'gpt-4o');
  if (options.stream === true) body.stream_options = { include_usage: true };
  return body;
}

/** The request body Claude Code sent in an agent turn (recorded: system blocks, three tools, thinking, a tool result). */
export function claudeCodeRequest(): Json {
  const recorded = JSON.parse(readFileSync(new URL('../../test/fixtures/claude-code/agent-turn.json', import.meta.url), 'utf8')) as { body: Json };
  return recorded.body;
}

export interface StreamBytes {
  protocol: ProtocolName;
  /** The upstream's writes, one SSE frame each, as the mock provider sends them. */
  chunks: Uint8Array[];
  /** SSE messages in the stream. */
  events: number;
  bytes: number;
}

/** The stream the mock provider answers `body` with: text of `outputTokens` tokens (one per delta), or tool calls. */
export function mockStream(protocol: ProtocolName, body: Json, settings: Partial<ReplySettings> = {}): StreamBytes {
  const raw = JSON.stringify(body);
  const request = protocol === 'anthropic' ? parseAnthropicRequest(body, raw) : parseOpenAIRequest(body, raw);
  if (typeof request === 'string') throw new Error(`mock rejected the bench request: ${request}`);
  const reply = buildReply(request, { outputTokens: 100, chunkCount: undefined, tool: undefined, parallelTools: undefined, toolCalls: 'first', ...settings }, 1);
  if (typeof reply === 'string') throw new Error(`mock rejected the bench request: ${reply}`);
  const wire = protocol === 'anthropic' ? anthropicWire : openaiWire;
  const chunks = wire.script(reply, request.includeUsage).frames.map((f) => (typeof f.data === 'string' ? Buffer.from(f.data) : f.data));
  const parser = new SseParser();
  let events = 0;
  for (const chunk of chunks) events += parser.pushBytes(chunk).length;
  events += parser.end().length;
  return { protocol, chunks, events, bytes: chunks.reduce((n, c) => n + c.length, 0) };
}

/** A text answer of 100 tokens, one per delta. */
export function textStream(protocol: ProtocolName): StreamBytes {
  const body = protocol === 'anthropic' ? agentRequest({ stream: true, tools: false }) : agentRequestOpenAI({ stream: true, tools: false });
  return mockStream(protocol, body, { outputTokens: 100 });
}

/** Two parallel tool calls, their arguments streamed as JSON deltas. */
export function toolStream(protocol: ProtocolName): StreamBytes {
  const body = protocol === 'anthropic' ? agentRequest({ stream: true }) : agentRequestOpenAI({ stream: true });
  return mockStream(protocol, body, { parallelTools: 2 });
}

const vocabulary = (
  'the a of to and in is for on that with as by this from be it or are an was at not but can which have when each ' +
  'request response stream token model provider route gateway upstream client event chunk tool call result error ' +
  'latency throughput config deployment retry timeout breaker cache usage budget limit tenant key header body ' +
  'function const return await async import export interface type string number boolean undefined null true false ' +
  'if else for while switch case break continue new class extends implements private readonly static ' +
  'src/pipeline/chat.ts src/routing/index.ts test/e2e/claude-code.test.ts 42 127.0.0.1 3456 200 429 503 ' +
  '{ } ( ) [ ] ; , . : => === !== && || ?? += `${value}` "quoted" \'single\' # - * _'
).split(' ');

/** Deterministic prose-and-code text of roughly `words` words (about 1.3 o200k tokens per word). */
export function longText(words: number, seed = 7): string {
  let state = seed >>> 0;
  const next = (): number => {
    // xorshift32: fixed output for a fixed seed, so every run tokenizes the same text.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(vocabulary[Math.floor(next() * vocabulary.length)] as string);
    if (i % 17 === 16) out.push('\n');
  }
  return out.join(' ');
}
