/**
 * OpenAI Chat Completions request → internal ChatRequest
 * (https://platform.openai.com/docs/api-reference/chat/create).
 *
 * Validation is hand-written rather than schema-driven because this runs on
 * every request: one pass over the body, each failure a 400 whose message
 * starts with the field path (`messages[2].tool_calls[0].function.arguments: …`).
 * Parameters without an internal equivalent (response_format, seed, n,
 * logprobs, penalties, logit_bias, service_tier, store, modalities,
 * prediction, web_search_options, metadata…) are ignored on purpose, never
 * rejected: clients send them by default.
 */
import type {
  ChatRequest,
  ImagePart,
  Message,
  Part,
  TextPart,
  ThinkingPart,
  RedactedThinkingPart,
  ToolCallPart,
  ToolResultPart,
} from '../../model/types.ts';
import { decodeReasoningEffort, decodeStop, optionalBoolean, optionalCount, optionalNumber } from './request-params.ts';
import { decodeOpenAITools, decodeOpenAIToolChoice } from './request-tools.ts';
import { modernizeLegacyFunctions } from './legacy-functions.ts';
import {
  decodeCacheControl,
  decodeReasoningDetails,
  invalidField,
  invalidValue,
  isRecord,
  parseToolArguments,
} from './shared.ts';
import { signedThinkingText } from './signed-thinking.ts';

export { encodeOpenAIRequest } from './request-encode.ts';

/**
 * @example
 * decodeOpenAIRequest({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
 * // → { model: 'gpt-4o', system: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], stream: false }
 */
export function decodeOpenAIRequest(raw: unknown): ChatRequest {
  if (!isRecord(raw)) throw invalidValue('body', 'must be a JSON object', raw);
  const { body, legacy } = modernizeLegacyFunctions(raw);
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) throw invalidValue('model', 'must be a non-empty string', model);
  const req: ChatRequest = { model, system: [], messages: [], stream: false };
  decodeMessages(body.messages, req);

  const maxCompletion = optionalCount(body, 'max_completion_tokens');
  const maxTokens = optionalCount(body, 'max_tokens');
  if (maxCompletion !== undefined || maxTokens !== undefined) req.maxTokens = maxCompletion ?? maxTokens;
  const temperature = optionalNumber(body, 'temperature');
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optionalNumber(body, 'top_p');
  if (topP !== undefined) req.topP = topP;
  // top_k is not OpenAI's, but clients of OpenRouter / vLLM send it.
  const topK = optionalCount(body, 'top_k');
  if (topK !== undefined) req.topK = topK;
  const stop = decodeStop(body.stop);
  if (stop !== undefined) req.stopSequences = stop;
  if (body.user !== undefined && body.user !== null) {
    if (typeof body.user !== 'string') throw invalidValue('user', 'must be a string', body.user);
    req.user = body.user;
  }
  const stream = optionalBoolean(body, 'stream');
  if (stream !== undefined) req.stream = stream;
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isRecord(streamOptions)) throw invalidValue('stream_options', 'must be an object', streamOptions);
    const includeUsage = optionalBoolean(streamOptions, 'include_usage', 'stream_options.');
    if (includeUsage !== undefined) req.includeUsage = includeUsage;
  }
  const tools = decodeOpenAITools(body.tools);
  if (tools !== undefined) req.tools = tools;
  const toolChoice = decodeOpenAIToolChoice(body.tool_choice);
  if (toolChoice !== undefined) req.toolChoice = toolChoice;
  const parallel = optionalBoolean(body, 'parallel_tool_calls');
  if (parallel !== undefined) req.parallelToolCalls = parallel;
  const reasoning = decodeReasoningEffort(body.reasoning_effort);
  if (reasoning !== undefined) req.reasoning = reasoning;
  if (legacy) req.legacyFunctions = true;
  return req;
}

function decodeMessages(raw: unknown, req: ChatRequest): void {
  if (!Array.isArray(raw)) throw invalidValue('messages', 'must be an array', raw);
  if (raw.length === 0) throw invalidField('messages', 'must contain at least one message');
  const out = req.messages;
  // System messages before the first other message are "the" system prompt;
  // later ones stay where the client put them.
  let leading = true;
  // The user message collecting consecutive `tool` messages. A user message
  // right after them joins it, so the results and the user's words form one
  // turn, as Anthropic requires.
  let toolTurn: Message | undefined;
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i];
    const path = `messages[${i}]`;
    if (!isRecord(m)) throw invalidValue(path, 'must be an object', m);
    switch (m.role) {
      case 'system':
      case 'developer': {
        const parts = decodeTextContent(m.content, `${path}.content`, false).filter((p) => p.text.length > 0);
        toolTurn = undefined;
        if (leading) req.system.push(...parts);
        else if (parts.length > 0) out.push({ role: 'system', content: parts });
        break;
      }
      case 'user': {
        leading = false;
        const parts = decodeUserContent(m.content, `${path}.content`);
        if (toolTurn !== undefined) {
          toolTurn.content.push(...parts);
          toolTurn = undefined;
        } else {
          out.push({ role: 'user', content: parts });
        }
        break;
      }
      case 'assistant':
        leading = false;
        toolTurn = undefined;
        out.push({ role: 'assistant', content: decodeAssistant(m, path) });
        break;
      case 'tool': {
        leading = false;
        const id = m.tool_call_id;
        if (typeof id !== 'string' || id.length === 0) {
          throw invalidValue(`${path}.tool_call_id`, 'must be a non-empty string', id);
        }
        const result: ToolResultPart = {
          type: 'tool_result',
          toolCallId: id,
          content: decodeTextContent(m.content, `${path}.content`, true).filter((p) => p.text.length > 0),
        };
        if (toolTurn === undefined) {
          toolTurn = { role: 'user', content: [] };
          out.push(toolTurn);
        }
        toolTurn.content.push(result);
        break;
      }
      default:
        throw invalidValue(`${path}.role`, 'must be one of system, developer, user, assistant, tool', m.role);
    }
  }
}

/** Content that may only hold text (system, developer, tool): a string or text parts. */
function decodeTextContent(raw: unknown, path: string, nullable: boolean): TextPart[] {
  if (typeof raw === 'string') return [{ type: 'text', text: raw }];
  if (raw === null || raw === undefined) {
    if (nullable) return [];
    throw invalidValue(path, 'must be a string or an array of content parts', raw);
  }
  if (!Array.isArray(raw)) throw invalidValue(path, 'must be a string or an array of content parts', raw);
  const out: TextPart[] = [];
  for (let i = 0; i < raw.length; i++) {
    const part = checkPart(raw[i], `${path}[${i}]`);
    if (part.type === 'text') out.push(decodeTextPart(part, `${path}[${i}]`));
    // Other part kinds have no meaning in these roles: dropped.
  }
  return out;
}

function checkPart(raw: unknown, path: string): Record<string, unknown> & { type: string } {
  if (!isRecord(raw)) throw invalidValue(path, 'must be an object', raw);
  if (typeof raw.type !== 'string') throw invalidValue(`${path}.type`, 'must be a string', raw.type);
  return raw as Record<string, unknown> & { type: string };
}

function decodeTextPart(part: Record<string, unknown>, path: string): TextPart {
  if (typeof part.text !== 'string') throw invalidValue(`${path}.text`, 'must be a string', part.text);
  const out: TextPart = { type: 'text', text: part.text };
  const cc = decodeCacheControl(part.cache_control);
  if (cc !== undefined) out.cacheControl = cc;
  return out;
}

function decodeUserContent(raw: unknown, path: string): Part[] {
  if (typeof raw === 'string') return [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) throw invalidValue(path, 'must be a string or an array of content parts', raw);
  const out: Part[] = [];
  for (let i = 0; i < raw.length; i++) {
    const partPath = `${path}[${i}]`;
    const part = checkPart(raw[i], partPath);
    if (part.type === 'text') out.push(decodeTextPart(part, partPath));
    else if (part.type === 'image_url') out.push(decodeImage(part, partPath));
    // input_audio, file and future kinds have no internal equivalent: dropped
    // deliberately rather than rejected, so the rest of the turn still works.
  }
  return out;
}

function decodeImage(part: Record<string, unknown>, path: string): ImagePart {
  const raw = part.image_url;
  // Some clients send the URL string directly instead of `{ url }`.
  const url = typeof raw === 'string' ? raw : isRecord(raw) ? raw.url : undefined;
  if (typeof url !== 'string' || url.length === 0) {
    if (isRecord(raw)) throw invalidValue(`${path}.image_url.url`, 'must be a non-empty URL string', url);
    throw invalidValue(`${path}.image_url`, 'must be an object with a url', raw);
  }
  const image: ImagePart = { type: 'image', source: imageSource(url) };
  if (isRecord(raw) && typeof raw.detail === 'string') image.detail = raw.detail;
  const cc = decodeCacheControl(part.cache_control);
  if (cc !== undefined) image.cacheControl = cc;
  return image;
}

/** `data:<mime>;base64,<data>` becomes inline base64; any other URL stays a URL. */
function imageSource(url: string): ImagePart['source'] {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    if (comma !== -1) {
      const header = url.slice(5, comma);
      if (header.endsWith(';base64')) {
        const semi = header.indexOf(';');
        const mediaType = header.slice(0, semi).toLowerCase();
        // `image/jpg` is common and not a registered type; providers accept only image/jpeg.
        return { type: 'base64', mediaType: mediaType === 'image/jpg' ? 'image/jpeg' : mediaType, data: url.slice(comma + 1) };
      }
    }
  }
  return { type: 'url', url };
}

function decodeAssistant(m: Record<string, unknown>, path: string): Part[] {
  const out: Part[] = [];
  // Reasoning first: it preceded the answer. `reasoning_details` (OpenRouter)
  // carries signatures, so it wins over the plain-text fields, which repeat it.
  const details: Array<ThinkingPart | RedactedThinkingPart> = decodeReasoningDetails(m.reasoning_details);
  const plain = typeof m.reasoning_content === 'string' ? m.reasoning_content : m.reasoning;
  if (details.length > 0) {
    // A client that kept a streamed answer's details but not their text sends a
    // signature alone, and the signature only verifies with the text it signed:
    // the text this process streamed with it, else (one thinking block) all of
    // reasoning_content, for clients that gathered that field whole.
    const thinking = details.filter((d): d is ThinkingPart => d.type === 'thinking');
    for (const part of thinking) {
      if (part.text.length === 0 && part.signature !== undefined) part.text = signedThinkingText(part.signature) ?? '';
    }
    const only = thinking.length === 1 ? thinking[0] : undefined;
    if (only !== undefined && only.text.length === 0 && typeof plain === 'string') only.text = plain;
    out.push(...details);
  } else if (typeof plain === 'string' && plain.length > 0) {
    out.push({ type: 'thinking', text: plain });
  }
  const content = m.content;
  if (typeof content === 'string') {
    // `""` next to tool calls is how many clients say "no text".
    if (content.length > 0) out.push({ type: 'text', text: content });
  } else if (Array.isArray(content)) {
    for (let i = 0; i < content.length; i++) {
      const part = checkPart(content[i], `${path}.content[${i}]`);
      if (part.type === 'text') out.push(decodeTextPart(part, `${path}.content[${i}]`));
      else if (part.type === 'refusal' && typeof part.refusal === 'string') out.push({ type: 'text', text: part.refusal });
    }
  } else if (content !== null && content !== undefined) {
    throw invalidValue(`${path}.content`, 'must be a string, null or an array of content parts', content);
  }
  const calls = m.tool_calls;
  if (calls === undefined || calls === null) return out;
  if (!Array.isArray(calls)) throw invalidValue(`${path}.tool_calls`, 'must be an array', calls);
  for (let i = 0; i < calls.length; i++) out.push(decodeToolCall(calls[i], `${path}.tool_calls[${i}]`));
  return out;
}

function decodeToolCall(raw: unknown, path: string): ToolCallPart {
  if (!isRecord(raw)) throw invalidValue(path, 'must be an object', raw);
  if (raw.type !== undefined && raw.type !== 'function') {
    throw invalidValue(`${path}.type`, 'only "function" tool calls are supported', raw.type);
  }
  if (typeof raw.id !== 'string' || raw.id.length === 0) throw invalidValue(`${path}.id`, 'must be a non-empty string', raw.id);
  const fn = raw.function;
  if (!isRecord(fn)) throw invalidValue(`${path}.function`, 'must be an object', fn);
  if (typeof fn.name !== 'string' || fn.name.length === 0) {
    throw invalidValue(`${path}.function.name`, 'must be a non-empty string', fn.name);
  }
  // Invalid JSON is rejected, not smuggled through: see parseToolArguments.
  const input = parseToolArguments(fn.arguments);
  if (input === undefined) {
    throw invalidValue(`${path}.function.arguments`, 'must be a JSON object encoded as a string', fn.arguments);
  }
  return { type: 'tool_call', id: raw.id, name: fn.name, input };
}
