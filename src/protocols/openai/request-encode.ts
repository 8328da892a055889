/**
 * Internal ChatRequest → OpenAI Chat Completions request for an
 * OpenAI-compatible upstream. Provider differences come from OpenAIQuirks.
 *
 * What an OpenAI upstream cannot carry, and is therefore dropped: server
 * tools, `isError` on tool results, thinking (unless `sendReasoningBack`),
 * thinking signatures (unless sent back as `reasoning_details`), cache
 * markers (unless `cacheControl`), top_k (unless `topK`), images inside tool
 * results (moved to a user message after the tool messages), and a reasoning
 * budget (approximated by an effort level).
 */
import type {
  ChatRequest,
  ImagePart,
  Message,
  Reasoning,
  RedactedThinkingPart,
  TextPart,
  ThinkingPart,
} from '../../model/types.ts';
import { resolveOpenAIQuirks } from './quirks.ts';
import type { OpenAIQuirks } from './quirks.ts';
import { encodeOpenAIToolChoice, encodeOpenAITools } from './request-tools.ts';
import { encodeCacheControl, encodeReasoningDetails } from './shared.ts';
import { openAIToolName } from './tool-names.ts';

type Json = Record<string, unknown>;

/**
 * @example
 * encodeOpenAIRequest(req, 'deepseek-chat', openAIPresets.deepseek.quirks)
 * // → { model: 'deepseek-chat', messages: [...], max_tokens: 1024, stream: true, stream_options: { include_usage: true } }
 */
export function encodeOpenAIRequest(req: ChatRequest, upstreamModel: string, quirks?: Partial<OpenAIQuirks>): Json {
  const q = resolveOpenAIQuirks(quirks);
  const messages: Json[] = [];
  if (req.system.length > 0) messages.push({ role: 'system', content: textContent(req.system, q.cacheControl) });
  for (const m of req.messages) {
    if (m.role === 'user') encodeUser(m, q, messages);
    else if (m.role === 'assistant') messages.push(encodeAssistant(m, q));
    else encodeSystem(m, q, messages);
  }

  const body: Json = { model: upstreamModel, messages };
  if (req.maxTokens !== undefined) body[q.maxTokensField] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.topK !== undefined && q.topK) body.top_k = req.topK;
  if (req.stopSequences !== undefined && req.stopSequences.length > 0) body.stop = req.stopSequences.slice(0, q.maxStopSequences);
  if (req.stream) {
    body.stream = true;
    // Asked for even when the client did not: usage accounting needs it.
    if (q.streamUsage) body.stream_options = { include_usage: true };
  }
  const tools = encodeOpenAITools(req.tools ?? []);
  // OpenAI rejects tool_choice / parallel_tool_calls without tools.
  if (tools.length > 0) {
    body.tools = tools;
    const choice = req.toolChoice === undefined ? undefined : encodeOpenAIToolChoice(req.toolChoice, tools);
    if (choice !== undefined) body.tool_choice = choice;
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.user !== undefined) body.user = req.user;
  if (req.reasoning !== undefined && q.reasoningEffort) {
    const effort = effortFor(req.reasoning);
    if (effort !== undefined) body.reasoning_effort = effort;
  }
  return body;
}

/** Budget thresholds follow the usual budget-per-effort presets (low ≈ 1–4k, medium ≈ 8k, high ≥ 16k). */
function effortFor(reasoning: Reasoning): string | undefined {
  // An effort without thinking (Anthropic's `output_config.effort` alone) still sets how hard
  // the model works: on OpenAI that is reasoning_effort, its only such control.
  // OpenAI's top level, `xhigh`, exists on few models; `high` is safe everywhere.
  if (reasoning.effort !== undefined) return reasoning.effort === 'max' ? 'high' : reasoning.effort;
  if (reasoning.mode === 'disabled') return undefined;
  const budget = reasoning.budgetTokens;
  if (budget === undefined) return 'medium';
  return budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high';
}

/**
 * Text for roles that take text only. Joined into one string because several
 * compatible servers reject content arrays outside user messages; parts only
 * when a cache marker must ride on one of them.
 */
function textContent(parts: readonly TextPart[], cacheControl: boolean, separator = '\n\n'): string | Json[] {
  if (cacheControl && parts.some((p) => p.cacheControl !== undefined)) return parts.map((p) => textPart(p, true));
  if (parts.length === 1) return parts[0]!.text;
  return parts.map((p) => p.text).join(separator);
}

function textPart(part: TextPart, cacheControl: boolean): Json {
  const out: Json = { type: 'text', text: part.text };
  if (cacheControl && part.cacheControl !== undefined) out.cache_control = encodeCacheControl(part.cacheControl);
  return out;
}

function imagePart(part: ImagePart): Json {
  const src = part.source;
  const imageUrl: Json = { url: src.type === 'base64' ? `data:${src.mediaType};base64,${src.data}` : src.url };
  if (part.detail !== undefined) imageUrl.detail = part.detail;
  return { type: 'image_url', image_url: imageUrl };
}

function encodeSystem(m: Message, q: OpenAIQuirks, out: Json[]): void {
  const texts = m.content.filter((p): p is TextPart => p.type === 'text');
  if (texts.length > 0) out.push({ role: 'system', content: textContent(texts, q.cacheControl) });
}

/**
 * Tool results become `tool` messages, which must directly follow the
 * assistant message that called them, so they go first; a tool message takes
 * text only, so images from tool results move into the user message after
 * them, ahead of whatever else the user said.
 */
function encodeUser(m: Message, q: OpenAIQuirks, out: Json[]): void {
  const parts: Json[] = [];
  const rest: Json[] = [];
  let sawToolResult = false;
  for (const part of m.content) {
    switch (part.type) {
      case 'tool_result': {
        sawToolResult = true;
        const texts: TextPart[] = [];
        for (const inner of part.content) {
          if (inner.type === 'text') texts.push(inner);
          else parts.push(imagePart(inner));
        }
        out.push({ role: 'tool', tool_call_id: part.toolCallId, content: textContent(texts, q.cacheControl) });
        break;
      }
      case 'text':
        rest.push(textPart(part, q.cacheControl));
        break;
      case 'image':
        rest.push(imagePart(part));
        break;
      default:
      // tool calls and thinking can't come from a user: ignored.
    }
  }
  parts.push(...rest);
  if (parts.length === 0) {
    if (!sawToolResult) out.push({ role: 'user', content: '' });
    return;
  }
  const only = parts[0]!;
  const simple = parts.length === 1 && only.type === 'text' && only.cache_control === undefined;
  out.push({ role: 'user', content: simple ? only.text : parts });
}

function encodeAssistant(m: Message, q: OpenAIQuirks): Json {
  const texts: TextPart[] = [];
  const calls: Json[] = [];
  const reasoning: Array<ThinkingPart | RedactedThinkingPart> = [];
  for (const part of m.content) {
    if (part.type === 'text') texts.push(part);
    else if (part.type === 'tool_call') {
      calls.push({ id: part.id, type: 'function', function: { name: openAIToolName(part.name), arguments: JSON.stringify(part.input) } });
    } else if (part.type === 'thinking' || part.type === 'redacted_thinking') reasoning.push(part);
  }
  // content may be null only when tool calls carry the turn.
  const msg: Json = {
    role: 'assistant',
    // Assistant text blocks are one answer cut up (citations split it mid-sentence): no separator.
    content: texts.length > 0 ? textContent(texts, q.cacheControl, '') : calls.length > 0 ? null : '',
  };
  if (calls.length > 0) msg.tool_calls = calls;
  if (q.sendReasoningBack && reasoning.length > 0) {
    let text = '';
    let signed = false;
    for (const part of reasoning) {
      if (part.type === 'thinking') {
        text = text.length === 0 ? part.text : `${text}\n\n${part.text}`;
        if (part.signature !== undefined) signed = true;
      } else signed = true;
    }
    if (text.length > 0) msg[q.reasoningField] = text;
    // Signed or redacted thinking only ever comes from Anthropic models; the
    // OpenRouter format is the one place an OpenAI-shaped request carries it.
    if (signed) msg.reasoning_details = encodeReasoningDetails(reasoning);
  }
  return msg;
}
