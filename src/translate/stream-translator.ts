/**
 * Translates a streaming response from one protocol to another, event by
 * event: bytes -> SSE messages -> internal events -> client SSE text. Nothing
 * is buffered beyond one incomplete SSE line, and that is bounded.
 *
 * It also records what the gateway logs and bills as the events pass: usage,
 * the upstream's stop reason and error, and whether content has started.
 */
import type { ErrorBody, ProtocolName, StopReason, StreamEvent, Usage } from '../model/types.ts';
import { SseParser } from '../protocols/sse.ts';
import type { SseMessage } from '../protocols/sse.ts';
import { createStreamDecoder, createStreamEncoder } from './codecs.ts';
import type { StreamDecoder, StreamEncoder } from './codecs.ts';
import { observeUsage } from './usage.ts';

export interface StreamTranslatorOptions {
  /** OpenAI clients: send a final usage chunk. */
  includeUsage: boolean;
  /** The model name the client asked for, shown instead of the upstream's. */
  model?: string;
  /** OpenAI clients of the legacy `functions` API. */
  legacyFunctions?: boolean;
  /** Tool names the upstream knows shortened → the client's names (see protocols/openai/tool-names.ts). */
  toolNames?: ReadonlyMap<string, string>;
  /**
   * Longest incomplete SSE line held while waiting for its end (characters).
   * Beyond it the upstream is misbehaving: the client gets an error event.
   * Default 8 MiB.
   */
  maxPendingChars?: number;
}

export interface StreamTranslator {
  /** Feed upstream bytes; returns the client's SSE text ('' when nothing is ready yet). */
  pushBytes(chunk: Uint8Array): string;
  /**
   * Upstream ended: returns the rest, always closing the client stream
   * well-formed — with an error event if the upstream never finished its answer.
   */
  end(): string;
  /** Usage as last reported by the upstream (Anthropic semantics). */
  readonly usage: Usage;
  /** The upstream's own stop reason; null if it never sent one (truncated or errored). */
  readonly stopReason: StopReason | null;
  /** Content has come: a delta, a tool call or redacted thinking (time to first token). */
  readonly firstContentSeen: boolean;
  /** The upstream's error event, if any. */
  readonly error: ErrorBody | undefined;
  /** `end()` found the upstream's stream cut before the protocol's own end. */
  readonly truncated: boolean;
}

const DEFAULT_MAX_PENDING = 8 * 1024 * 1024;

class Translator implements StreamTranslator {
  readonly usage: Usage = { inputTokens: 0, outputTokens: 0 };
  #stopReason: StopReason | null = null;
  #firstContentSeen = false;
  #error: ErrorBody | undefined = undefined;
  #ended = false;
  #truncated = false;
  #parser = new SseParser();
  #decoder: StreamDecoder;
  #encoder: StreamEncoder;
  #maxPending: number;
  #toolNames: ReadonlyMap<string, string> | undefined;

  constructor(decoder: StreamDecoder, encoder: StreamEncoder, maxPending: number, toolNames?: ReadonlyMap<string, string>) {
    this.#decoder = decoder;
    this.#encoder = encoder;
    this.#maxPending = maxPending;
    this.#toolNames = toolNames;
  }

  get stopReason(): StopReason | null {
    return this.#stopReason;
  }

  get firstContentSeen(): boolean {
    return this.#firstContentSeen;
  }

  get error(): ErrorBody | undefined {
    return this.#error;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  pushBytes(chunk: Uint8Array): string {
    if (this.#ended) return '';
    const out = this.#messages(this.#parser.pushBytes(chunk));
    if (this.#parser.pendingLength > this.#maxPending) {
      return out + this.#fail(`upstream SSE line exceeds ${this.#maxPending} characters`);
    }
    return out;
  }

  end(): string {
    if (this.#ended) return '';
    let out = this.#messages(this.#parser.end());
    // A transport-level end without the protocol's own end is a truncated
    // answer: the client must learn that, not receive a clean finish.
    if (!this.#decoder.finished) {
      this.#truncated = true;
      return out + this.#fail('the upstream stream ended before the answer was complete');
    }
    out += this.#events(this.#decoder.end());
    this.#ended = true;
    return out + this.#encoder.end();
  }

  #messages(messages: SseMessage[]): string {
    let out = '';
    for (const msg of messages) out += this.#events(this.#decoder.push(msg));
    return out;
  }

  #events(events: StreamEvent[]): string {
    let out = '';
    for (let ev of events) {
      if (ev.type === 'block_start' && ev.block.type === 'tool_call' && this.#toolNames !== undefined) {
        const name = this.#toolNames.get(ev.block.name);
        if (name !== undefined) ev = { ...ev, block: { ...ev.block, name } };
      }
      this.#observe(ev);
      out += this.#encoder.push(ev);
    }
    return out;
  }

  #observe(ev: StreamEvent): void {
    switch (ev.type) {
      // An opened text or thinking block is nothing yet; a tool call (its name) or redacted thinking is.
      case 'block_start':
        if (ev.block.type === 'tool_call' || ev.block.type === 'redacted_thinking') this.#firstContentSeen = true;
        break;
      case 'block_delta':
        this.#firstContentSeen = true;
        break;
      case 'message_start':
        observeUsage(this.usage, ev.usage);
        break;
      case 'message_delta':
        if (ev.stopReason !== null) this.#stopReason = ev.stopReason;
        observeUsage(this.usage, ev.usage);
        break;
      case 'error':
        this.#error = ev.error;
        break;
      default:
    }
  }

  /** Ends the stream with an error event of our own. */
  #fail(message: string): string {
    const error: ErrorBody = { kind: 'api_error', message };
    const out = this.#events([{ type: 'error', error }]);
    this.#ended = true;
    return out;
  }
}

/**
 * @example
 * const t = createStreamTranslator('openai', 'anthropic', { includeUsage: false, model: 'sonnet' });
 * for await (const chunk of upstreamBody) res.write(t.pushBytes(chunk));
 * res.end(t.end());
 */
export function createStreamTranslator(from: ProtocolName, to: ProtocolName, options: StreamTranslatorOptions): StreamTranslator {
  const decoder = createStreamDecoder(from);
  const encoder = createStreamEncoder(to, { includeUsage: options.includeUsage, model: options.model, legacyFunctions: options.legacyFunctions === true });
  return new Translator(decoder, encoder, options.maxPendingChars ?? DEFAULT_MAX_PENDING, options.toolNames);
}
