/**
 * The request shapes the bench measures. Each is one request body sent to
 * three targets: the mock directly, the floor proxy (which forwards to the
 * mock) and Switchyard. Direct and floor calls use the client's protocol on
 * the mock (it speaks both), so for translated shapes the ratio includes the
 * whole cost of translation.
 */
import { SseParser } from '../../src/protocols/sse.ts';

export type TargetName = 'direct' | 'floor' | 'switchyard';
export const targetNames: readonly TargetName[] = ['direct', 'floor', 'switchyard'];

export interface Shape {
  id: string;
  title: string;
  passthrough: boolean;
  client: 'openai' | 'anthropic';
  stream: boolean;
  path: '/v1/chat/completions' | '/v1/messages';
  /** Body for a target: Switchyard gets the public model name, the others the upstream one. */
  body(target: TargetName): string;
  headers: Record<string, string>;
  /**
   * Cheap check run on every response body during load (autocannon's
   * verifyBody): that the response ended the way a complete one does.
   */
  looksComplete(body: string): boolean;
  /** Full check of one response before the load: undefined when it is right, else what is wrong. */
  validate(status: number, body: string): string | undefined;
}

// A short agent-like conversation (system prompt, a few turns): about 1.3 KB of JSON.
const system =
  'You are a careful assistant working in a software repository. Answer briefly, cite file paths, ' +
  'and prefer small, reviewable changes. When a tool would help, call it instead of guessing.';
const turns = [
  { role: 'user', content: 'The gateway adds latency under load. Where should I look first?' },
  { role: 'assistant', content: 'Start with the request path: body parsing, routing and the upstream pool. Measure before changing.' },
  { role: 'user', content: 'Please look up the weather in Lisbon, then summarise what a rail switchyard does in two sentences.' },
];
const anthropicTools = [
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

function openaiBody(model: string, stream: boolean): string {
  const body: Record<string, unknown> = { model, max_tokens: 512, messages: [{ role: 'system', content: system }, ...turns] };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return JSON.stringify(body);
}

function anthropicBody(model: string, stream: boolean, tools: boolean): string {
  const body: Record<string, unknown> = { model, max_tokens: 512, system, messages: turns };
  if (stream) body.stream = true;
  if (tools) body.tools = anthropicTools;
  return JSON.stringify(body);
}

const openaiHeaders = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };
const anthropicHeaders = { 'content-type': 'application/json', 'x-api-key': 'sk-bench', 'anthropic-version': '2023-06-01' };

type Json = Record<string, unknown>;

function parseObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function validateOpenAIJson(status: number, body: string): string | undefined {
  if (status !== 200) return `status ${status}: ${body.slice(0, 300)}`;
  const json = parseObject(body);
  if (json === undefined) return `not a JSON object: ${body.slice(0, 300)}`;
  const choices = json.choices;
  if (json.object !== 'chat.completion' || !Array.isArray(choices) || choices.length === 0) return `not a chat.completion: ${body.slice(0, 300)}`;
  return undefined;
}

function validateAnthropicJson(status: number, body: string): string | undefined {
  if (status !== 200) return `status ${status}: ${body.slice(0, 300)}`;
  const json = parseObject(body);
  if (json === undefined) return `not a JSON object: ${body.slice(0, 300)}`;
  if (json.type !== 'message' || !Array.isArray(json.content) || json.content.length === 0) return `not an Anthropic message: ${body.slice(0, 300)}`;
  return undefined;
}

function sse(body: string): Array<{ event: string | undefined; data: string }> {
  const parser = new SseParser();
  const out = parser.push(body);
  out.push(...parser.end());
  return out;
}

function validateOpenAIStream(status: number, body: string): string | undefined {
  if (status !== 200) return `status ${status}: ${body.slice(0, 300)}`;
  const events = sse(body);
  if (events.at(-1)?.data !== '[DONE]') return 'stream does not end with data: [DONE]';
  let finished = false;
  for (const event of events.slice(0, -1)) {
    const chunk = parseObject(event.data);
    if (chunk === undefined || chunk.object !== 'chat.completion.chunk') return `not a chat.completion.chunk: ${event.data.slice(0, 200)}`;
    const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as Json | undefined) : undefined;
    if (choice !== undefined && typeof choice.finish_reason === 'string') finished = true;
  }
  return finished ? undefined : 'no chunk carries a finish_reason';
}

function validateAnthropicStream(status: number, body: string, wantTool: boolean): string | undefined {
  if (status !== 200) return `status ${status}: ${body.slice(0, 300)}`;
  const events = sse(body);
  const names = events.map((e) => e.event);
  if (names[0] !== 'message_start') return `stream does not start with message_start: ${body.slice(0, 200)}`;
  if (names.at(-1) !== 'message_stop') return 'stream does not end with message_stop';
  if (names.includes('error')) return `stream carries an error event: ${body.slice(0, 300)}`;
  for (const event of events) {
    if (parseObject(event.data) === undefined) return `event data is not JSON: ${event.data.slice(0, 200)}`;
  }
  if (wantTool) {
    const toolStart = events.some((e) => e.event === 'content_block_start' && e.data.includes('"tool_use"'));
    if (!toolStart) return 'no tool_use block in the stream';
  }
  return undefined;
}

// The cheap checks look at the end of the body only: complete responses end this way, cut or errored ones do not.
const endsWithDone = (body: string): boolean => body.endsWith('data: [DONE]\n\n');
const endsWithStop = (body: string): boolean => body.lastIndexOf('event: message_stop', body.length) > body.length - 80;
const endsAsJson = (body: string): boolean => body.charCodeAt(body.length - 1) === 125 /* } */ && !body.startsWith('{"error"');
const endsWithStopAfterTool = (body: string): boolean => endsWithStop(body) && body.includes('"tool_use"');

export const shapes: readonly Shape[] = [
  {
    id: 'openai-json',
    title: 'OpenAI non-stream, passthrough',
    passthrough: true,
    client: 'openai',
    stream: false,
    path: '/v1/chat/completions',
    body: (t) => openaiBody(t === 'switchyard' ? 'gpt-mock' : 'upstream-gpt', false),
    headers: openaiHeaders,
    looksComplete: endsAsJson,
    validate: validateOpenAIJson,
  },
  {
    id: 'openai-stream',
    title: 'OpenAI stream, passthrough',
    passthrough: true,
    client: 'openai',
    stream: true,
    path: '/v1/chat/completions',
    body: (t) => openaiBody(t === 'switchyard' ? 'gpt-mock' : 'upstream-gpt', true),
    headers: openaiHeaders,
    looksComplete: endsWithDone,
    validate: validateOpenAIStream,
  },
  {
    id: 'anthropic-json',
    title: 'Anthropic non-stream, passthrough',
    passthrough: true,
    client: 'anthropic',
    stream: false,
    path: '/v1/messages',
    body: (t) => anthropicBody(t === 'switchyard' ? 'claude-mock' : 'upstream-claude', false, false),
    headers: anthropicHeaders,
    looksComplete: endsAsJson,
    validate: validateAnthropicJson,
  },
  {
    id: 'anthropic-stream',
    title: 'Anthropic stream, passthrough',
    passthrough: true,
    client: 'anthropic',
    stream: true,
    path: '/v1/messages',
    body: (t) => anthropicBody(t === 'switchyard' ? 'claude-mock' : 'upstream-claude', true, false),
    headers: anthropicHeaders,
    looksComplete: endsWithStop,
    validate: (status, body) => validateAnthropicStream(status, body, false),
  },
  {
    id: 'anthropic-to-openai-stream-tools',
    title: 'Anthropic → OpenAI stream with tool calls, translated',
    passthrough: false,
    client: 'anthropic',
    stream: true,
    path: '/v1/messages',
    body: (t) => anthropicBody(t === 'switchyard' ? 'gpt-mock' : 'upstream-gpt', true, true),
    headers: anthropicHeaders,
    looksComplete: endsWithStopAfterTool,
    validate: (status, body) => validateAnthropicStream(status, body, true),
  },
  {
    id: 'openai-to-anthropic-json',
    title: 'OpenAI → Anthropic non-stream, translated',
    passthrough: false,
    client: 'openai',
    stream: false,
    path: '/v1/chat/completions',
    body: (t) => openaiBody(t === 'switchyard' ? 'claude-mock' : 'upstream-claude', false),
    headers: openaiHeaders,
    looksComplete: endsAsJson,
    validate: validateOpenAIJson,
  },
];

export function findShape(id: string): Shape | undefined {
  return shapes.find((s) => s.id === id);
}
