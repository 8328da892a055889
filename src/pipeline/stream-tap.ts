/**
 * Watches a passthrough stream without changing a byte: it learns the usage,
 * the stop reason and whether the stream really finished, so a stream that
 * dies early is never passed on as a clean end. Only the few events that
 * carry usage are JSON-parsed.
 */
import type { ErrorKind, ProtocolName, StopReason, Usage } from '../model/types.ts';
import { kindFromAnthropicType } from '../protocols/anthropic/errors.ts';
import { kindFromOpenAIError } from '../protocols/openai/errors.ts';
import { decodeUsage } from '../protocols/anthropic/wire.ts';
import { decodeOpenAIUsage } from '../protocols/openai/shared.ts';

export interface StreamObservation {
  readonly usage: Usage;
  readonly stopReason: StopReason | string | null;
  /** The upstream ended the answer itself: a stop reason, its terminator (`message_stop`, `[DONE]`) or an error event. */
  readonly finished: boolean;
  readonly errored: boolean;
}

const ANTHROPIC_EVENT = /^event:[ \t]*(message_start|message_delta|message_stop|error)[ \t]*\r?$/gm;
/**
 * The first delta of a content block: an opened block that is still empty (text "")
 * has sent nothing of the answer yet, so a stream cut after it can still fail over.
 */
const ANTHROPIC_CONTENT = /^event:[ \t]*content_block_delta/m;
const ANTHROPIC_ERROR = /^event:[ \t]*error[ \t]*\r?$/m;
/**
 * A chunk with something of the answer: text, reasoning or a refusal that is not
 * empty, a tool call, or a finish reason. The opening chunk that only names the
 * role (`"content":""`) is not: a stream cut after it has sent nothing yet.
 */
const OPENAI_CONTENT = /"(?:content|reasoning_content|reasoning|refusal)"\s*:\s*"(?!")|"tool_calls"\s*:\s*\[|"finish_reason"\s*:\s*"/g;
/** A data line carrying a JSON object: where answer content can start (not in a bare JSON body). */
const OPENAI_DATA = /^data:[ \t]*\{/m;
const OPENAI_DONE = /^data:[ \t]*\[DONE\][ \t]*\r?$/m;
const OPENAI_ERROR = /^(?:data:[ \t]*\{\s*"error"\s*:|event:[ \t]*error[ \t]*\r?$)/m;
// Inside a JSON string quotes are escaped, so these only match real keys.
const OPENAI_FINISH = /"finish_reason"\s*:\s*"([^"]+)"/g;
const USAGE_OBJECT = /"usage"\s*:\s*\{/g;

/**
 * The tap sits on every passthrough stream, so it does not parse every
 * event: it holds back only an incomplete trailing event, searches complete
 * text for the few lines that matter, and JSON-parses just those.
 */
export class PassthroughTap implements StreamObservation {
  readonly usage: Usage = { inputTokens: 0, outputTokens: 0 };
  stopReason: StopReason | string | null = null;
  finished = false;
  errored = false;
  /**
   * A content event came before any error: from then on a failure is
   * mid-stream. (Anthropic: a content block; OpenAI: any chunk that is not an error.)
   */
  contentStarted = false;
  /** What kind of error the upstream reported, when it did. */
  errorKind: ErrorKind | undefined = undefined;
  #carry = '';
  #protocol: ProtocolName;

  constructor(protocol: ProtocolName) {
    this.#protocol = protocol;
  }

  push(chunk: Uint8Array): void {
    const text = this.#carry + asLatin1(chunk);
    const cut = afterLastEvent(text);
    this.#carry = cut === text.length ? '' : text.slice(cut);
    if (cut > 0) this.#scan(cut === text.length ? text : text.slice(0, cut));
  }

  end(): void {
    const text = this.#carry;
    this.#carry = '';
    if (text.length > 0) this.#scan(text);
  }

  #scan(text: string): void {
    if (this.#protocol === 'anthropic') this.#anthropic(text);
    else this.#openai(text);
  }

  #anthropic(text: string): void {
    if (!this.contentStarted && !this.errored) {
      const content = ANTHROPIC_CONTENT.exec(text);
      const error = ANTHROPIC_ERROR.exec(text);
      if (content !== null && (error === null || content.index < error.index)) this.contentStarted = true;
    }
    // Most events are content deltas: a plain substring check rules them out before any regex runs.
    if (!text.includes('message_') && !text.includes('error')) return;
    ANTHROPIC_EVENT.lastIndex = 0;
    for (let m = ANTHROPIC_EVENT.exec(text); m !== null; m = ANTHROPIC_EVENT.exec(text)) {
      const event = m[1];
      if (event === 'message_stop') {
        this.finished = true;
        continue;
      }
      if (event === 'error') {
        this.finished = true;
        this.errored = true;
        const body = safeParse(dataAfter(text, m.index + m[0].length)) as { error?: { type?: unknown } } | undefined;
        this.errorKind = kindFromAnthropicType(body?.error?.type);
        continue;
      }
      const line = dataAfter(text, m.index + m[0].length);
      if (event === 'message_start') {
        // Only the usage object is parsed, not the whole message.
        applyAnthropicUsage(this.usage, usageObject(line));
      } else {
        const data = safeParse(line);
        const delta = data as { delta?: { stop_reason?: string }; usage?: Record<string, unknown> } | undefined;
        if (delta?.delta?.stop_reason) {
          this.stopReason = delta.delta.stop_reason;
          // A stop reason completes the answer even if message_stop is lost.
          this.finished = true;
        }
        applyAnthropicUsage(this.usage, delta?.usage);
      }
    }
  }

  #openai(text: string): void {
    // A substring check first where it is cheaper than the regex: '[DONE]' ends in a rare
    // character, so the search skips ahead fast. 'error' does not (JSON is full of 'r'):
    // searching for it cost twice the line-anchored regex itself.
    if (text.includes('[DONE]') && OPENAI_DONE.test(text)) this.finished = true;
    const error = OPENAI_ERROR.exec(text);
    if (!this.contentStarted && !this.errored) {
      const data = OPENAI_DATA.exec(text);
      if (data !== null) {
        OPENAI_CONTENT.lastIndex = data.index;
        const first = OPENAI_CONTENT.exec(text);
        if (first !== null && (error === null || first.index < error.index)) {
          // The first content must be a chunk that parses (once per stream): a malformed
          // one, with nothing sent yet, fails the attempt like an error event would.
          if (safeParse(dataAfter(text, text.lastIndexOf('data:', first.index))) !== undefined) this.contentStarted = true;
          else {
            this.finished = true;
            this.errored = true;
            this.errorKind = 'api_error';
          }
        }
      }
    }
    if (error !== null) {
      this.finished = true;
      this.errored = true;
      const line = dataAfter(text, error.index);
      const body = safeParse(line) as { error?: { type?: unknown; code?: unknown } } | undefined;
      this.errorKind = kindFromOpenAIError(body?.error?.type ?? body?.error?.code, 'api_error');
    }
    OPENAI_FINISH.lastIndex = 0;
    for (let m = OPENAI_FINISH.exec(text); m !== null; m = OPENAI_FINISH.exec(text)) {
      this.stopReason = m[1] ?? null;
      this.finished = true;
    }
    // Most chunks carry `"usage":null` or nothing: only an object needs the search.
    if (!text.includes('"usage"')) return;
    USAGE_OBJECT.lastIndex = 0;
    for (let m = USAGE_OBJECT.exec(text); m !== null; m = USAGE_OBJECT.exec(text)) {
      const open = m.index + m[0].length - 1;
      const close = matchingBrace(text, open);
      if (close === -1) continue;
      const u = safeParse(text.slice(open, close + 1)) as Record<string, unknown> | undefined;
      if (u !== undefined) {
        const parsed = usageFromResponse('openai', { usage: u });
        if (parsed !== undefined) Object.assign(this.usage, parsed);
      }
    }
  }
}

/**
 * The bytes as Latin-1: one character per byte, the cheapest decoding there is.
 * Everything the tap looks for (event names, keys, numbers, stop reasons and
 * error types) is ASCII, which reads the same; the bytes of a multi-byte UTF-8
 * character become characters over 0x7f that match none of it, and a
 * character split between two chunks needs no carrying over.
 */
function asLatin1(chunk: Uint8Array): string {
  return (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)).toString('latin1');
}

/** Index just after the last blank line (the end of the last complete event), or 0. */
function afterLastEvent(text: string): number {
  const lf = text.lastIndexOf('\n\n');
  // Usual case: the chunk ends exactly at an event boundary; no need to look for CRLF.
  if (lf !== -1 && lf + 2 === text.length) return lf + 2;
  const crlf = text.includes('\r') ? text.lastIndexOf('\r\n\r\n') : -1;
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
}

/** The `usage` object inside a JSON text, parsed on its own; undefined if absent. */
function usageObject(json: string): Record<string, unknown> | undefined {
  const at = json.lastIndexOf('"usage"');
  if (at === -1) return undefined;
  const open = json.indexOf('{', at + 7);
  const close = open === -1 ? -1 : matchingBrace(json, open);
  return close === -1 ? undefined : (safeParse(json.slice(open, close + 1)) as Record<string, unknown> | undefined);
}

/** The value of the `data:` line that follows position `from`. */
function dataAfter(text: string, from: number): string {
  const at = text.indexOf('data:', from);
  if (at === -1) return '';
  let end = text.indexOf('\n', at);
  if (end === -1) end = text.length;
  return text.slice(at + 5, end).trim();
}

function applyAnthropicUsage(usage: Usage, u: Record<string, unknown> | undefined): void {
  if (u !== undefined) Object.assign(usage, decodeUsage(u));
}

function safeParse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Usage from a complete (non-streaming) response body of either protocol, read by that protocol's codec. */
export function usageFromResponse(protocol: ProtocolName, body: unknown): Usage | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const u = (body as { usage?: unknown }).usage;
  if (typeof u !== 'object' || u === null) return undefined;
  return protocol === 'anthropic' ? { inputTokens: 0, outputTokens: 0, ...decodeUsage(u) } : decodeOpenAIUsage(u);
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
