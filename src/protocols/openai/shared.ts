/**
 * Pieces the OpenAI request, response and stream codecs share: field checks
 * that name the path, stop-reason and usage mapping, and the OpenRouter
 * `reasoning_details` format that carries Anthropic thinking signatures.
 */
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors.ts';
import type { CacheControl, RedactedThinkingPart, StopReason, ThinkingPart, Usage } from '../../model/types.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a bad value for an error message (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}…"` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

/** The 400 every request-validation failure becomes: the message starts with the field path. */
export function invalidField(path: string, problem: string): GatewayError {
  return new GatewayError('SWY_ERR_INVALID_REQUEST', `${path}: ${problem}`);
}

/** Like invalidField, quoting (a short form of) the offending value. */
export function invalidValue(path: string, problem: string, value: unknown): GatewayError {
  return invalidField(path, `${problem} (got ${describe(value)})`);
}

/**
 * Tool call `arguments` as the internal model wants them: a parsed object.
 * An empty string means "no arguments" (several providers send `""` for
 * argument-less tools). Anything else that is not a JSON object returns
 * undefined and the caller reports it: the internal model only carries parsed
 * objects, and inventing a wrapper key would hand the next model an argument
 * it never produced.
 */
export function parseToolArguments(raw: unknown): Record<string, unknown> | undefined {
  if (isRecord(raw)) return raw; // some clients send the object itself
  if (typeof raw !== 'string') return raw === undefined || raw === null ? {} : undefined;
  if (raw.trim().length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return isRecord(parsed) ? parsed : undefined;
}

/**
 * For the few servers that omit tool call ids: unique, because Anthropic
 * rejects a conversation that reuses one.
 */
export function syntheticToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** OpenAI `finish_reason` → internal stop reason. */
export function stopReasonFromFinish(finish: unknown, sawToolCalls: boolean): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      // Some servers (Ollama, older vLLM) say "stop" after tool calls; the
      // turn still ends because the model wants its tools run.
      return sawToolCalls ? 'tool_use' : 'end_turn';
  }
}

/** Internal stop reason → OpenAI `finish_reason`. */
export function finishFromStopReason(reason: StopReason | null, sawToolCalls: boolean): string {
  switch (reason) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case null:
      return sawToolCalls ? 'tool_calls' : 'stop';
    default:
      return 'stop';
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * OpenAI usage → internal usage (Anthropic semantics: input excludes cache
 * reads). DeepSeek reports cache hits as `prompt_cache_hit_tokens`.
 */
export function decodeOpenAIUsage(raw: unknown): Usage | undefined {
  if (!isRecord(raw)) return undefined;
  const prompt = count(raw.prompt_tokens);
  const promptDetails = isRecord(raw.prompt_tokens_details) ? raw.prompt_tokens_details : undefined;
  const cached = Math.min(prompt, count(promptDetails?.cached_tokens) || count(raw.prompt_cache_hit_tokens));
  const usage: Usage = { inputTokens: prompt - cached, outputTokens: count(raw.completion_tokens) };
  if (cached > 0) usage.cacheReadTokens = cached;
  const completionDetails = isRecord(raw.completion_tokens_details) ? raw.completion_tokens_details : undefined;
  const reasoning = count(completionDetails?.reasoning_tokens);
  if (reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

/** Internal usage → OpenAI usage; `prompt_tokens` includes cache reads and writes. */
export function encodeOpenAIUsage(usage: Partial<Usage>): Record<string, unknown> {
  const cached = usage.cacheReadTokens ?? 0;
  const prompt = (usage.inputTokens ?? 0) + cached + (usage.cacheWriteTokens ?? 0);
  const completion = usage.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

/** OpenRouter's name for the Anthropic signature scheme. */
export const ANTHROPIC_REASONING_FORMAT = 'anthropic-claude-v1';

/**
 * OpenRouter `reasoning_details` → thinking parts. `reasoning.text` carries
 * the Anthropic signature, `reasoning.encrypted` is redacted thinking,
 * `reasoning.summary` is unsigned text; unknown kinds are skipped.
 */
export function decodeReasoningDetails(raw: unknown): Array<ThinkingPart | RedactedThinkingPart> {
  const out: Array<ThinkingPart | RedactedThinkingPart> = [];
  if (!Array.isArray(raw)) return out;
  for (const item of raw) {
    if (!isRecord(item)) continue;
    if (item.type === 'reasoning.text') {
      const part: ThinkingPart = { type: 'thinking', text: typeof item.text === 'string' ? item.text : '' };
      if (typeof item.signature === 'string' && item.signature.length > 0) part.signature = item.signature;
      out.push(part);
    } else if (item.type === 'reasoning.summary' && typeof item.summary === 'string') {
      out.push({ type: 'thinking', text: item.summary });
    } else if (item.type === 'reasoning.encrypted' && typeof item.data === 'string') {
      out.push({ type: 'redacted_thinking', data: item.data });
    }
  }
  return out;
}

/** Thinking parts → OpenRouter `reasoning_details`, so a client echoing them back keeps signatures. */
export function encodeReasoningDetails(parts: ReadonlyArray<ThinkingPart | RedactedThinkingPart>): unknown[] {
  const out: unknown[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]!;
    if (part.type === 'thinking') {
      const detail: Record<string, unknown> = { type: 'reasoning.text', text: part.text };
      if (part.signature !== undefined) {
        detail.signature = part.signature;
        detail.format = ANTHROPIC_REASONING_FORMAT;
      }
      detail.index = index;
      out.push(detail);
    } else {
      out.push({ type: 'reasoning.encrypted', data: part.data, format: ANTHROPIC_REASONING_FORMAT, index });
    }
  }
  return out;
}

/** Non-standard `cache_control` on a content part (OpenRouter); anything malformed is ignored. */
export function decodeCacheControl(raw: unknown): CacheControl | undefined {
  if (!isRecord(raw) || raw.type !== 'ephemeral') return undefined;
  return typeof raw.ttl === 'string' ? { type: 'ephemeral', ttl: raw.ttl } : { type: 'ephemeral' };
}

export function encodeCacheControl(cc: CacheControl): Record<string, unknown> {
  return cc.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: cc.ttl };
}
