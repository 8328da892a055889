/**
 * Reads the little the mock needs from an Anthropic Messages or OpenAI Chat
 * Completions request body, validating the shape as it goes. It is not a
 * full decoder (that lives in src/protocols): the mock only needs the model,
 * the last user text or tool result, tools, thinking, limits and a size.
 */
import type { ProtocolName } from '../model/types.ts';

export interface MockTool {
  name: string;
  schema: Record<string, unknown>;
  /** Anthropic `defer_loading`: a placeholder, never called unasked. */
  deferred?: boolean;
}

/** `any`: Anthropic `{type: "any"}`, OpenAI `"required"`. */
export type MockToolChoice = { type: 'auto' } | { type: 'none' } | { type: 'any' } | { type: 'tool'; name: string };

export interface MockRequest {
  protocol: ProtocolName;
  model: string;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  maxTokens: number | undefined;
  stopSequences: string[];
  thinking: boolean;
  tools: MockTool[];
  toolChoice: MockToolChoice;
  /** Text of the last user message that has text ('' when none). */
  lastUserText: string;
  /** Set when the last message is a tool result: the text of the first result. */
  toolResult: string | undefined;
  /** Characters of system + messages, for the input token estimate. */
  inputChars: number;
  /** A `cache_control` marker appears somewhere in the body. */
  cacheMarked: boolean;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request, or the message of a 400 error. */
export type ParseResult = MockRequest | string;

export function parseAnthropicRequest(body: unknown, raw: string): ParseResult {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const common = commonFields(body);
  if (typeof common === 'string') return common;
  const { model, messages, stream } = common;
  const maxTokens = body['max_tokens'];
  if (maxTokens !== undefined && !isPositiveInteger(maxTokens)) return 'max_tokens: must be a positive integer';
  const stops = body['stop_sequences'];
  if (stops !== undefined && !isStringArray(stops)) return 'stop_sequences: must be an array of strings';
  const thinking = body['thinking'];
  const tools = body['tools'];
  if (tools !== undefined && !Array.isArray(tools)) return 'tools: must be an array';
  const mockTools: MockTool[] = [];
  for (const tool of tools ?? []) {
    if (!isRecord(tool) || typeof tool['name'] !== 'string') return 'tools: each tool needs a name';
    const schema = tool['input_schema'];
    mockTools.push({ name: tool['name'], schema: isRecord(schema) ? schema : {}, deferred: tool['defer_loading'] === true });
  }
  const choice = body['tool_choice'];
  let toolChoice: MockToolChoice = { type: 'auto' };
  if (isRecord(choice)) {
    if (choice['type'] === 'none') toolChoice = { type: 'none' };
    else if (choice['type'] === 'any') toolChoice = { type: 'any' };
    else if (choice['type'] === 'tool' && typeof choice['name'] === 'string') toolChoice = { type: 'tool', name: choice['name'] };
  }

  let inputChars = systemChars(body['system']);
  let lastUserText = '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    // Claude Code sends `system`-role messages mid-conversation; the real API accepts them.
    const role = isRecord(message) ? message['role'] : undefined;
    if (!isRecord(message) || (role !== 'user' && role !== 'assistant' && role !== 'system')) {
      return `messages.${i}: role must be "user", "assistant" or "system"`;
    }
    const content = message['content'];
    if (typeof content !== 'string' && !Array.isArray(content)) return `messages.${i}.content: must be a string or an array`;
    inputChars += valueChars(content, 0);
    if (lastUserText === '' && message['role'] === 'user') lastUserText = textOf(content);
  }
  const last = messages[messages.length - 1] as Json | undefined;
  let toolResult: string | undefined;
  const lastContent = last?.['content'];
  if (last?.['role'] === 'user' && Array.isArray(lastContent) && lastContent.length > 0 && lastContent.every(isToolResult)) {
    toolResult = textOf((lastContent[0] as Json)['content']);
  }
  return {
    protocol: 'anthropic',
    model,
    stream,
    includeUsage: false,
    maxTokens: maxTokens as number | undefined,
    stopSequences: (stops as string[] | undefined) ?? [],
    thinking: isRecord(thinking) && (thinking['type'] === 'enabled' || thinking['type'] === 'adaptive'),
    tools: mockTools,
    toolChoice,
    lastUserText,
    toolResult,
    inputChars,
    cacheMarked: raw.includes('"cache_control"'),
  };
}

export function parseOpenAIRequest(body: unknown, raw: string): ParseResult {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const common = commonFields(body);
  if (typeof common === 'string') return common;
  const { model, messages, stream } = common;
  const maxTokens = body['max_completion_tokens'] ?? body['max_tokens'];
  if (maxTokens !== undefined && maxTokens !== null && !isPositiveInteger(maxTokens)) {
    return 'max_tokens: must be a positive integer';
  }
  const stop = body['stop'];
  let stopSequences: string[] = [];
  if (typeof stop === 'string') stopSequences = [stop];
  else if (isStringArray(stop) && stop.length <= 4) stopSequences = stop;
  else if (isStringArray(stop)) return 'stop: array too long, expected at most 4 sequences';
  else if (stop !== undefined && stop !== null) return 'stop: must be a string or an array of strings';
  const tools = body['tools'];
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) return 'tools: must be an array';
  const mockTools: MockTool[] = [];
  for (const [i, tool] of (tools ?? []).entries()) {
    const fn = isRecord(tool) ? tool['function'] : undefined;
    if (!isRecord(fn) || typeof fn['name'] !== 'string') return 'tools: each tool needs function.name';
    // OpenAI's own limits, which an upstream holds a translating gateway to.
    if (fn['name'].length > 64) return `tools[${i}].function.name: string too long, expected at most 64 characters`;
    const schema = fn['parameters'];
    mockTools.push({ name: fn['name'], schema: isRecord(schema) ? schema : {} });
  }
  const choice = body['tool_choice'];
  let toolChoice: MockToolChoice = { type: 'auto' };
  if (choice === 'none') toolChoice = { type: 'none' };
  else if (choice === 'required') toolChoice = { type: 'any' };
  else if (isRecord(choice) && isRecord(choice['function']) && typeof choice['function']['name'] === 'string') {
    toolChoice = { type: 'tool', name: choice['function']['name'] };
  }
  const effort = body['reasoning_effort'];
  const streamOptions = body['stream_options'];

  let inputChars = 0;
  let lastUserText = '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!isRecord(message) || typeof message['role'] !== 'string') return `messages.${i}: needs a role`;
    const content = message['content'];
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      return `messages.${i}.content: must be a string, an array or null`;
    }
    inputChars += valueChars(content, 0) + valueChars(message['tool_calls'], 0);
    if (lastUserText === '' && message['role'] === 'user') lastUserText = textOf(content);
  }
  const last = messages[messages.length - 1] as Json | undefined;
  return {
    protocol: 'openai',
    model,
    stream,
    includeUsage: isRecord(streamOptions) && streamOptions['include_usage'] === true,
    maxTokens: (maxTokens ?? undefined) as number | undefined,
    stopSequences,
    thinking: typeof effort === 'string' && effort !== 'none',
    tools: mockTools,
    toolChoice,
    lastUserText,
    toolResult: last?.['role'] === 'tool' ? textOf(last['content']) : undefined,
    inputChars,
    cacheMarked: raw.includes('"cache_control"'),
  };
}

function commonFields(body: Json): { model: string; messages: unknown[]; stream: boolean } | string {
  const model = body['model'];
  if (typeof model !== 'string' || model === '') return 'model: must be a non-empty string';
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: must be a non-empty array';
  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') return 'stream: must be a boolean';
  return { model, messages, stream: stream === true };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isToolResult(block: unknown): boolean {
  return isRecord(block) && block['type'] === 'tool_result';
}

/** Text of a message content: the string, or its text blocks joined by a space. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const block of content) {
    if (isRecord(block) && typeof block['text'] === 'string') text = text === '' ? block['text'] : `${text} ${block['text']}`;
  }
  return text;
}

function systemChars(system: unknown): number {
  return typeof system === 'string' || Array.isArray(system) ? valueChars(system, 0) : 0;
}

/** Framing (type tags, ids) is not content, and images are not counted (their base64 would dwarf the text). */
const skippedKeys: ReadonlySet<string> = new Set(['type', 'id', 'tool_use_id', 'cache_control', 'source', 'image_url']);

/**
 * A cheap size estimate: characters of every string inside a value (text,
 * tool arguments, tool results). Depth-bounded so hostile nesting cannot
 * recurse without end; no JSON re-serialisation.
 */
function valueChars(value: unknown, depth: number): number {
  if (typeof value === 'string') return value.length;
  if (depth > 8 || typeof value !== 'object' || value === null) return 0;
  let chars = 0;
  if (Array.isArray(value)) {
    for (const item of value) chars += valueChars(item, depth + 1);
    return chars;
  }
  for (const key in value) {
    if (skippedKeys.has(key)) continue;
    chars += valueChars((value as Json)[key], depth + 1);
  }
  return chars;
}
