/**
 * Watches a passthrough stream without changing a byte: it learns the usage,
 * the stop reason and whether the stream really finished, so a stream that
 * dies early is never passed on as a clean end. Only the few events that
 * carry usage are JSON-parsed.
 */
import type { ProtocolName, StopReason, Usage } from '../model/types.ts';
import { SseParser } from '../protocols/sse.ts';

export interface StreamObservation {
  readonly usage: Usage;
  readonly stopReason: StopReason | string | null;
  /** The upstream ended the answer itself: a stop reason, its terminator (`message_stop`, `[DONE]`) or an error event. */
  readonly finished: boolean;
  readonly errored: boolean;
}

const USAGE_OBJECT = /"usage"\s*:\s*\{/;

export class PassthroughTap implements StreamObservation {
  readonly usage: Usage = { inputTokens: 0, outputTokens: 0 };
  stopReason: StopReason | string | null = null;
  finished = false;
  errored = false;
  #parser = new SseParser();
  #protocol: ProtocolName;

  constructor(protocol: ProtocolName) {
    this.#protocol = protocol;
  }

  push(chunk: Uint8Array): void {
    const messages = this.#parser.pushBytes(chunk);
    for (const m of messages) {
      if (this.#protocol === 'anthropic') this.#anthropic(m.event, m.data);
      else this.#openai(m.data);
    }
  }

  end(): void {
    for (const m of this.#parser.end()) {
      if (this.#protocol === 'anthropic') this.#anthropic(m.event, m.data);
      else this.#openai(m.data);
    }
  }

  #anthropic(event: string | undefined, data: string): void {
    switch (event) {
      case 'message_start': {
        const parsed = safeParse(data) as { message?: { usage?: Record<string, unknown> } } | undefined;
        applyAnthropicUsage(this.usage, parsed?.message?.usage);
        break;
      }
      case 'message_delta': {
        const parsed = safeParse(data) as { delta?: { stop_reason?: string }; usage?: Record<string, unknown> } | undefined;
        if (parsed?.delta?.stop_reason) {
          this.stopReason = parsed.delta.stop_reason;
          // A stop reason completes the answer even if message_stop is lost.
          this.finished = true;
        }
        applyAnthropicUsage(this.usage, parsed?.usage);
        break;
      }
      case 'message_stop':
        this.finished = true;
        break;
      case 'error':
        this.finished = true;
        this.errored = true;
        break;
      default:
    }
  }

  #openai(data: string): void {
    if (data === '[DONE]') {
      this.finished = true;
      return;
    }
    const hasFinish = data.includes('"finish_reason":"');
    const hasUsage = USAGE_OBJECT.test(data);
    const hasError = data.startsWith('{"error"');
    if (!hasFinish && !hasUsage && !hasError) return;
    const parsed = safeParse(data) as
      | { choices?: Array<{ finish_reason?: string | null }>; usage?: Record<string, unknown> | null; error?: unknown }
      | undefined;
    if (parsed === undefined) return;
    if (parsed.error !== undefined) {
      this.finished = true;
      this.errored = true;
      return;
    }
    const finish = parsed.choices?.[0]?.finish_reason;
    if (finish) {
      this.stopReason = finish;
      this.finished = true;
    }
    const u = parsed.usage;
    if (u) {
      const details = u.prompt_tokens_details as { cached_tokens?: number } | undefined;
      const cached = num(details?.cached_tokens);
      this.usage.inputTokens = Math.max(0, num(u.prompt_tokens) - cached);
      this.usage.outputTokens = num(u.completion_tokens);
      if (cached > 0) this.usage.cacheReadTokens = cached;
    }
  }
}

function applyAnthropicUsage(usage: Usage, u: Record<string, unknown> | undefined): void {
  if (u === undefined) return;
  if (typeof u.input_tokens === 'number') usage.inputTokens = u.input_tokens;
  if (typeof u.output_tokens === 'number') usage.outputTokens = u.output_tokens;
  if (typeof u.cache_read_input_tokens === 'number') usage.cacheReadTokens = u.cache_read_input_tokens;
  if (typeof u.cache_creation_input_tokens === 'number') usage.cacheWriteTokens = u.cache_creation_input_tokens;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function safeParse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Usage from a complete (non-streaming) response body of either protocol. */
export function usageFromResponse(protocol: ProtocolName, body: unknown): Usage | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const u = (body as { usage?: Record<string, unknown> }).usage;
  if (typeof u !== 'object' || u === null) return undefined;
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  if (protocol === 'anthropic') {
    applyAnthropicUsage(usage, u);
  } else {
    const cached = num((u.prompt_tokens_details as { cached_tokens?: number } | undefined)?.cached_tokens);
    usage.inputTokens = Math.max(0, num(u.prompt_tokens) - cached);
    usage.outputTokens = num(u.completion_tokens);
    if (cached > 0) usage.cacheReadTokens = cached;
  }
  return usage;
}

/**
 * Usage from a complete response body without parsing all of it: both
 * protocols put `usage` near the end, so only that object is parsed. Falls
 * back to a full parse when the shape is unexpected.
 */
export function usageFromResponseText(protocol: ProtocolName, text: string): Usage | undefined {
  const at = text.lastIndexOf('"usage"');
  if (at !== -1) {
    const start = text.indexOf('{', at + 7);
    const end = start === -1 ? -1 : matchingBrace(text, start);
    if (end !== -1) {
      const usage = safeParse(text.slice(start, end + 1));
      if (usage !== undefined) return usageFromResponse(protocol, { usage });
    }
  }
  return usageFromResponse(protocol, safeParse(text));
}

/** Index of the `}` closing the object that opens at `start`, skipping strings; -1 if none. */
function matchingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
    } else if (c === 123 /* { */) {
      depth++;
    } else if (c === 125 /* } */) {
      if (--depth === 0) return i;
    }
  }
  return -1;
}
