/**
 * OpenAI `chat.completion.chunk` SSE → internal stream events: a small state
 * machine fed one parsed SSE message at a time, no promises, no buffering of
 * text. Internal blocks are sequential (one open at a time), so the one thing
 * it may hold back is a tool call's arguments while another tool's block is
 * still open (see #advanceTools).
 */
import type { ErrorKind, StreamEvent, Usage } from '../../model/types.ts';
import type { SseMessage } from '../sse.ts';
import { kindFromOpenAIError } from './errors.ts';
import { decodeOpenAIUsage, isRecord, stopReasonFromFinish, syntheticToolCallId } from './shared.ts';

export interface OpenAIStreamDecoder {
  push(msg: SseMessage): StreamEvent[];
  end(): StreamEvent[];
  /** The upstream ended the answer itself: `[DONE]`, a finish reason, or an error. */
  readonly finished: boolean;
}

interface ToolState {
  /** The decoder's own sequence number (a provider's index can be reused by a later call). */
  key: number;
  id: string | undefined;
  name: string | undefined;
  /** Internal block index, -1 until the block starts. */
  block: number;
  closed: boolean;
  /** Arguments received but not yet emitted (the block is not open yet). */
  pending: string;
  /** Whether any non-whitespace argument text arrived. */
  hasArgs: boolean;
  // A tiny JSON scanner: once the top-level value closes, no legal argument
  // text can follow, so it is safe to close this tool's block.
  depth: number;
  inString: boolean;
  escape: boolean;
  complete: boolean;
}

/** Bytes of an `error` message we keep from upstream; it ends up in a client-visible error. */
const MAX_ERROR_MESSAGE = 1000;

export function createOpenAIStreamDecoder(): OpenAIStreamDecoder {
  return new Decoder();
}

class Decoder implements OpenAIStreamDecoder {
  #started = false;
  /** A chunk arrived that could not start the message yet (see push). */
  #sawChunk = false;
  #done = false;
  #nextBlock = 0;
  #openKind: 'text' | 'thinking' | 'tool' | undefined = undefined;
  #openIndex = -1;
  #openTool: ToolState | undefined = undefined;
  /** The provider's `index` → the call it currently names. */
  #byIndex = new Map<number, ToolState>();
  /** Tools in order of first appearance; blocks start in this order. */
  #order: ToolState[] = [];
  #waiting = 0;
  #finishReason: unknown = undefined;
  #usage: Usage | undefined = undefined;
  #sawTerminator = false;

  get finished(): boolean {
    return this.#sawTerminator || this.#finishReason !== undefined;
  }

  push(msg: SseMessage): StreamEvent[] {
    if (this.#done) return [];
    const data = msg.data;
    if (data === '[DONE]' || (data.length < 16 && data.trim() === '[DONE]')) {
      this.#sawTerminator = true;
      return this.#finish([]);
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return this.#fail([], 'api_error', 'upstream sent malformed SSE: a data line is not valid JSON');
    }
    if (!isRecord(chunk)) return this.#fail([], 'api_error', 'upstream sent malformed SSE: a data line is not a JSON object');
    if (chunk.error !== undefined || msg.event === 'error') return this.#upstreamError(chunk);
    const out: StreamEvent[] = [];
    if (!this.#started) {
      // Azure opens with a prompt-filter chunk that has no id, model or choices:
      // the message starts with the first chunk that says what it is.
      const id = typeof chunk.id === 'string' ? chunk.id : '';
      const model = typeof chunk.model === 'string' ? chunk.model : '';
      const choices = Array.isArray(chunk.choices) ? chunk.choices.length : 0;
      if (id === '' && model === '' && choices === 0 && chunk.usage === undefined) {
        this.#sawChunk = true;
        return out;
      }
      this.#start(out, id, model);
    }
    // Usage may ride on any chunk; the last one wins (it is cumulative).
    if (isRecord(chunk.usage)) this.#usage = decodeOpenAIUsage(chunk.usage);
    else if (isRecord(chunk.x_groq) && isRecord(chunk.x_groq.usage)) this.#usage = decodeOpenAIUsage(chunk.x_groq.usage);
    if (Array.isArray(chunk.choices)) {
      for (const choice of chunk.choices as unknown[]) {
        // The gateway never asks for n > 1: only choice 0 is read.
        if (!isRecord(choice) || (choice.index ?? 0) !== 0) continue;
        if (isRecord(choice.delta) && !this.#delta(choice.delta, out)) return out;
        if (typeof choice.finish_reason === 'string') this.#finishReason = choice.finish_reason;
      }
    }
    return out;
  }

  end(): StreamEvent[] {
    return this.#done ? [] : this.#finish([]);
  }

  /** false when the stream had to be failed (the error is already in `out`). */
  #delta(delta: Record<string, unknown>, out: StreamEvent[]): boolean {
    const reasoning =
      typeof delta.reasoning_content === 'string' ? delta.reasoning_content
      : typeof delta.reasoning === 'string' ? delta.reasoning
      : '';
    if (reasoning.length > 0) this.#append('thinking', reasoning, out);
    if (Array.isArray(delta.reasoning_details)) this.#details(delta.reasoning_details as unknown[], reasoning.length > 0, out);
    if (typeof delta.content === 'string' && delta.content.length > 0) this.#append('text', delta.content, out);
    if (typeof delta.refusal === 'string' && delta.refusal.length > 0) this.#append('text', delta.refusal, out);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as unknown[]) if (!this.#toolDelta(call, out)) return false;
    }
    return true;
  }

  /** OpenRouter `reasoning_details`: signatures and redacted thinking; text only when not already sent as `reasoning`. */
  #details(items: unknown[], hadText: boolean, out: StreamEvent[]): void {
    for (const item of items) {
      if (!isRecord(item)) continue;
      if (item.type === 'reasoning.text' || item.type === 'reasoning.summary') {
        const text = item.type === 'reasoning.text' ? item.text : item.summary;
        if (!hadText && typeof text === 'string' && text.length > 0) this.#append('thinking', text, out);
        // A signature belongs to the thinking block it ends; with none open
        // there is nothing it could validate, so it is dropped.
        if (typeof item.signature === 'string' && item.signature.length > 0 && this.#openKind === 'thinking') {
          out.push({ type: 'block_delta', index: this.#openIndex, delta: { type: 'signature', signature: item.signature } });
        }
      } else if (item.type === 'reasoning.encrypted' && typeof item.data === 'string') {
        this.#closeOpen(out);
        const index = this.#nextBlock++;
        out.push({ type: 'block_start', index, block: { type: 'redacted_thinking', data: item.data } });
        out.push({ type: 'block_stop', index });
      }
    }
  }

  #append(kind: 'text' | 'thinking', text: string, out: StreamEvent[]): void {
    if (this.#openKind !== kind) {
      this.#closeOpen(out);
      this.#openKind = kind;
      this.#openIndex = this.#nextBlock++;
      out.push({ type: 'block_start', index: this.#openIndex, block: { type: kind } });
    }
    out.push({ type: 'block_delta', index: this.#openIndex, delta: { type: kind, text } });
  }

  #toolDelta(raw: unknown, out: StreamEvent[]): boolean {
    if (!isRecord(raw)) return true;
    const id = typeof raw.id === 'string' && raw.id.length > 0 ? raw.id : undefined;
    const fn = isRecord(raw.function) ? raw.function : undefined;
    const name = typeof fn?.name === 'string' && fn.name.length > 0 ? fn.name : undefined;
    const args = typeof fn?.arguments === 'string' ? fn.arguments : '';
    const tool = this.#toolFor(raw.index, id, name, args);
    if (id !== undefined && tool.id === undefined) tool.id = id;
    // Only the first name counts: some servers repeat it in every delta.
    if (tool.name === undefined && name !== undefined) {
      tool.name = name;
      if (tool.block === -1) this.#waiting++;
    }
    if (tool.closed) {
      if (args.trim().length === 0) return true;
      // Its block is gone and blocks can't reopen: fail loudly rather than
      // hand the client a tool call with half its arguments.
      this.#fail(out, 'api_error', `upstream sent arguments for tool call ${tool.id ?? tool.key} after it ended`);
      return false;
    }
    if (args.length > 0) {
      tool.pending += args;
      scan(tool, args);
    }
    this.#advanceTools(out);
    return true;
  }

  #toolFor(index: unknown, id: string | undefined, name: string | undefined, args: string): ToolState {
    if (typeof index === 'number') {
      const known = this.#byIndex.get(index);
      if (known !== undefined && !startsAnotherCall(known, id, name, args)) return known;
      // Ollama gives every call index 0: a new id (or a new whole call) is a new tool.
      const tool = this.#newTool();
      this.#byIndex.set(index, tool);
      return tool;
    }
    // No index (rare servers): match by id; else continue the latest call
    // unless this delta plainly starts another.
    if (id !== undefined) return this.#order.find((t) => t.id === id) ?? this.#newTool();
    const last = this.#order[this.#order.length - 1];
    return last !== undefined && !startsAnotherCall(last, id, name, args) ? last : this.#newTool();
  }

  #newTool(): ToolState {
    const tool: ToolState = { key: this.#order.length, id: undefined, name: undefined, block: -1, closed: false, pending: '', hasArgs: false, depth: 0, inString: false, escape: false, complete: false };
    this.#order.push(tool);
    return tool;
  }

  /**
   * Streams the open tool's arguments as they come. A tool that appears while
   * another is open waits (its arguments buffered) until the open one's JSON is
   * complete: then nothing more can legally arrive for it, so closing it loses
   * nothing even when a provider interleaves two tools' deltas. Without that
   * proof, waiting tools start at the end of the stream.
   */
  #advanceTools(out: StreamEvent[]): void {
    for (let guard = this.#order.length + 1; guard > 0; guard--) {
      const open = this.#openTool;
      if (open !== undefined) this.#flush(open, out);
      if (this.#waiting === 0 || (open !== undefined && !open.complete)) return;
      const next = this.#order.find((t) => t.block === -1 && t.name !== undefined);
      if (next === undefined) return;
      this.#closeOpen(out);
      this.#startTool(next, out);
    }
  }

  #startTool(tool: ToolState, out: StreamEvent[]): void {
    if (tool.name !== undefined) this.#waiting--;
    tool.block = this.#nextBlock++;
    tool.id ??= syntheticToolCallId();
    out.push({ type: 'block_start', index: tool.block, block: { type: 'tool_call', id: tool.id, name: tool.name ?? '' } });
    this.#openKind = 'tool';
    this.#openIndex = tool.block;
    this.#openTool = tool;
  }

  #flush(tool: ToolState, out: StreamEvent[]): void {
    if (tool.pending.length === 0) return;
    out.push({ type: 'block_delta', index: tool.block, delta: { type: 'tool_args', json: tool.pending } });
    tool.pending = '';
  }

  #closeOpen(out: StreamEvent[]): void {
    if (this.#openKind === undefined) return;
    const tool = this.#openTool;
    if (tool !== undefined) {
      this.#flush(tool, out);
      // Consumers parse the concatenated deltas: no arguments means `{}`.
      if (!tool.hasArgs) out.push({ type: 'block_delta', index: tool.block, delta: { type: 'tool_args', json: '{}' } });
      tool.closed = true;
      this.#openTool = undefined;
    }
    out.push({ type: 'block_stop', index: this.#openIndex });
    this.#openKind = undefined;
  }

  #start(out: StreamEvent[], id: string, model: string): void {
    this.#started = true;
    out.push({ type: 'message_start', id, model, usage: { inputTokens: 0, outputTokens: 0 } });
  }

  #finish(out: StreamEvent[]): StreamEvent[] {
    if (!this.#started) {
      if (!this.#sawChunk) return this.#fail(out, 'api_error', 'upstream stream ended before sending any chunk');
      this.#start(out, '', '');
    }
    this.#closeOpen(out);
    for (const tool of this.#order) {
      if (tool.block !== -1) continue;
      this.#startTool(tool, out);
      this.#closeOpen(out);
    }
    const delta: StreamEvent = { type: 'message_delta', stopReason: stopReasonFromFinish(this.#finishReason, this.#order.length > 0) };
    if (this.#usage !== undefined) delta.usage = this.#usage;
    out.push(delta, { type: 'message_stop' });
    this.#done = true;
    return out;
  }

  #upstreamError(chunk: Record<string, unknown>): StreamEvent[] {
    const err = isRecord(chunk.error) ? chunk.error : chunk;
    const message = typeof err.message === 'string' && err.message.length > 0 ? err.message.slice(0, MAX_ERROR_MESSAGE) : 'upstream reported an error mid-stream';
    return this.#fail([], kindFromOpenAIError(err.type ?? err.code, 'api_error'), message);
  }

  #fail(out: StreamEvent[], kind: ErrorKind, message: string): StreamEvent[] {
    this.#done = true;
    this.#sawTerminator = true;
    out.push({ type: 'error', error: { kind, message } });
    return out;
  }
}

/**
 * Whether a delta that the provider addressed to `tool` (same index, or no
 * index at all) is really the first delta of another call: it carries a
 * different id, or a name and arguments after this call's JSON already closed
 * (servers that send each call whole under one index and no id).
 */
function startsAnotherCall(tool: ToolState, id: string | undefined, name: string | undefined, args: string): boolean {
  if (id !== undefined && tool.id !== undefined) return id !== tool.id;
  return name !== undefined && tool.name !== undefined && tool.complete && args.trim().length > 0;
}

function scan(tool: ToolState, text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (tool.inString) {
      if (tool.escape) tool.escape = false;
      else if (c === 92 /* \ */) tool.escape = true;
      else if (c === 34 /* " */) tool.inString = false;
      continue;
    }
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    tool.hasArgs = true;
    if (c === 34) tool.inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) tool.depth++;
    else if ((c === 125 /* } */ || c === 93) /* ] */ && --tool.depth === 0) tool.complete = true;
  }
}
