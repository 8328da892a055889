/**
 * Anthropic Messages request -> internal ChatRequest
 * (https://docs.anthropic.com/en/api/messages).
 *
 * Validation covers what translation relies on and names the JSON path of the
 * first problem. Fields with no internal equivalent (context_management,
 * service_tier, container, mcp_servers, …) are ignored, never an error: the
 * upstream of another protocol could not honour them anyway.
 */
import { GatewayError } from '../../errors.ts';
import type {
  ChatRequest,
  Message,
  Reasoning,
  ReasoningEffort,
  TextPart,
  Tool,
  ToolChoice,
} from '../../model/types.ts';
import { decodeContent } from './blocks.ts';
import {
  decodeCacheControl,
  fail,
  isObject,
  optBoolean,
  optNumber,
  optPositiveInt,
  optString,
  reqString,
} from './shape.ts';
import type { JsonObject } from './shape.ts';

export { encodeAnthropicRequest } from './request-encode.ts';
export type { EncodeAnthropicRequestOptions } from './request-encode.ts';

const C = 'SWY_ERR_INVALID_REQUEST';

/**
 * Decodes and validates a client's Messages request body.
 *
 * @example
 * decodeAnthropicRequest({ model: 'sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })
 * // → { model: 'sonnet', maxTokens: 100, system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], stream: false }
 */
export function decodeAnthropicRequest(body: unknown): ChatRequest {
  if (!isObject(body)) throw new GatewayError(C, 'request body must be a JSON object');
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) fail(C, 'model', 'must be a non-empty string');
  const rawMessages = body.messages;
  if (!Array.isArray(rawMessages)) fail(C, 'messages', 'must be an array');

  const messages: Message[] = new Array<Message>(rawMessages.length);
  for (let i = 0; i < rawMessages.length; i++) messages[i] = decodeMessage(rawMessages[i], i);

  const req: ChatRequest = { model, system: decodeSystem(body.system), messages, stream: false };
  const maxTokens = optPositiveInt(C, body, 'max_tokens', '');
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  const temperature = optNumber(C, body, 'temperature', '');
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optNumber(C, body, 'top_p', '');
  if (topP !== undefined) req.topP = topP;
  const topK = optNumber(C, body, 'top_k', '');
  if (topK !== undefined) req.topK = topK;
  const stop = decodeStopSequences(body.stop_sequences);
  if (stop !== undefined) req.stopSequences = stop;
  req.stream = optBoolean(C, body, 'stream', '') ?? false;

  const metadata = body.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isObject(metadata)) fail(C, 'metadata', 'must be an object');
    const user = optString(C, metadata, 'user_id', 'metadata');
    if (user !== undefined) req.user = user;
  }

  if (body.tools !== undefined && body.tools !== null) req.tools = decodeTools(body.tools);
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null) {
    req.toolChoice = decodeToolChoice(choice);
    // Only an explicit opt-out is meaningful: parallel calls are the default.
    if (isObject(choice) && optBoolean(C, choice, 'disable_parallel_tool_use', 'tool_choice') === true) {
      req.parallelToolCalls = false;
    }
  }
  const reasoning = decodeReasoning(body.thinking, body.output_config);
  if (reasoning !== undefined) req.reasoning = reasoning;
  return req;
}

const roles: ReadonlySet<unknown> = new Set(['user', 'assistant', 'system']);

function decodeMessage(raw: unknown, i: number): Message {
  const path = `messages.${i}`;
  if (!isObject(raw)) fail(C, path, 'must be an object');
  const role = raw.role;
  if (!roles.has(role)) fail(C, `${path}.role`, 'must be "user", "assistant" or "system"');
  return { role: role as Message['role'], content: decodeContent(C, raw.content, `${path}.content`) };
}

function decodeSystem(system: unknown): TextPart[] {
  if (system === undefined || system === null) return [];
  if (typeof system === 'string') return system.length === 0 ? [] : [{ type: 'text', text: system }];
  if (!Array.isArray(system)) fail(C, 'system', 'must be a string or an array of text blocks');
  const parts: TextPart[] = [];
  for (let i = 0; i < system.length; i++) {
    const block: unknown = system[i];
    const path = `system.${i}`;
    if (!isObject(block)) fail(C, path, 'must be an object');
    if (block.type !== 'text') fail(C, `${path}.type`, 'must be "text"');
    const text = reqString(C, block, 'text', path);
    const cacheControl = decodeCacheControl(C, block, path);
    parts.push(cacheControl ? { type: 'text', text, cacheControl } : { type: 'text', text });
  }
  return parts;
}

function decodeStopSequences(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) fail(C, 'stop_sequences', 'must be an array of strings');
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') fail(C, `stop_sequences.${i}`, 'must be a string');
  }
  return value as string[];
}

function decodeTools(value: unknown): Tool[] {
  if (!Array.isArray(value)) fail(C, 'tools', 'must be an array');
  const tools: Tool[] = [];
  for (let i = 0; i < value.length; i++) {
    const raw: unknown = value[i];
    const path = `tools.${i}`;
    if (!isObject(raw)) fail(C, path, 'must be an object');
    const type = raw.type;
    if (type === undefined || type === null || type === 'custom') {
      tools.push(decodeFunctionTool(raw, path));
    } else if (typeof type === 'string') {
      // Typed tools (web_search_20250305, bash_20250124, …) run on Anthropic's
      // side or follow its own schemas: kept verbatim so they can go back out.
      tools.push({ kind: 'server', type, name: typeof raw.name === 'string' ? raw.name : type, raw });
    } else {
      fail(C, `${path}.type`, 'must be a string');
    }
  }
  return tools;
}

function decodeFunctionTool(raw: JsonObject, path: string): Tool {
  const inputSchema = raw.input_schema;
  if (!isObject(inputSchema)) fail(C, `${path}.input_schema`, 'must be an object');
  const tool: Tool = { kind: 'function', name: reqString(C, raw, 'name', path), inputSchema };
  const description = optString(C, raw, 'description', path);
  if (description !== undefined) tool.description = description;
  const strict = optBoolean(C, raw, 'strict', path);
  if (strict !== undefined) tool.strict = strict;
  const cacheControl = decodeCacheControl(C, raw, path);
  if (cacheControl) tool.cacheControl = cacheControl;
  return tool;
}

function decodeToolChoice(value: unknown): ToolChoice {
  if (!isObject(value)) fail(C, 'tool_choice', 'must be an object');
  switch (value.type) {
    case 'auto':
    case 'any':
    case 'none':
      return { type: value.type };
    case 'tool':
      return { type: 'tool', name: reqString(C, value, 'name', 'tool_choice') };
    default:
      return fail(C, 'tool_choice.type', 'must be "auto", "any", "tool" or "none"');
  }
}

const efforts: Readonly<Record<string, ReasoningEffort>> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
  // Between high and max; the internal model has no finer step.
  xhigh: 'max',
  max: 'max',
};

/**
 * `thinking` and `output_config.effort` -> Reasoning. Effort without a
 * `thinking` field means "spend this much effort, no extended thinking":
 * mode 'disabled' with the effort kept for protocols that have only effort.
 */
function decodeReasoning(thinking: unknown, outputConfig: unknown): Reasoning | undefined {
  let reasoning: Reasoning | undefined;
  if (thinking !== undefined && thinking !== null) {
    if (!isObject(thinking)) fail(C, 'thinking', 'must be an object');
    if (thinking.type === 'enabled') {
      reasoning = { mode: 'enabled' };
      const budget = optPositiveInt(C, thinking, 'budget_tokens', 'thinking');
      if (budget !== undefined) reasoning.budgetTokens = budget;
    } else if (thinking.type === 'disabled') {
      reasoning = { mode: 'disabled' };
    } else if (thinking.type === 'adaptive') {
      reasoning = { mode: 'adaptive' };
    } else if (typeof thinking.type !== 'string') {
      fail(C, 'thinking.type', 'must be a string');
    }
    // Newer modes (e.g. `between_tools`) have no internal equivalent: ignored.
  }
  if (isObject(outputConfig) && typeof outputConfig.effort === 'string') {
    const effort = efforts[outputConfig.effort];
    if (effort !== undefined) {
      reasoning ??= { mode: 'disabled' };
      reasoning.effort = effort;
    }
  }
  return reasoning;
}

