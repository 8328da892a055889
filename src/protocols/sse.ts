/**
 * Server-sent events, parsed incrementally and written by one writer
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 */

export interface SseMessage {
  /** The `event:` field, or undefined when absent (OpenAI sends none). */
  event: string | undefined;
  data: string;
}

/**
 * Incremental SSE parser: feed it decoded text in arbitrary chunks, it returns
 * the complete messages so far. Handles LF, CRLF and CR line endings, comments,
 * multi-line data and events split across chunks.
 */
export class SseParser {
  #buffer = '';
  #event: string | undefined = undefined;
  #data: string[] = [];
  #decoder = new TextDecoder('utf-8');

  /** Feed raw bytes; multi-byte characters split across chunks are kept whole. */
  pushBytes(chunk: Uint8Array): SseMessage[] {
    return this.push(this.#decoder.decode(chunk, { stream: true }));
  }

  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    let buffer = this.#buffer + text;
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF: wait for more.
        if (cr === buffer.length - 1) break;
        end = cr;
        next = buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(buffer.slice(start, end), out);
      start = next;
    }
    buffer = buffer.slice(start);
    this.#buffer = buffer;
    return out;
  }

  /** Call at end of input: a final message without its blank line is still delivered. */
  end(): SseMessage[] {
    const out: SseMessage[] = [];
    const rest = this.#buffer + this.#decoder.decode();
    this.#buffer = '';
    if (rest.length > 0) this.#line(rest.replace(/\r$/, ''), out);
    this.#dispatch(out);
    return out;
  }

  /** Bytes held while waiting for a line end; lets callers bound memory. */
  get pendingLength(): number {
    return this.#buffer.length;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line.length === 0) {
      this.#dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    // `id` and `retry` are not used by the LLM APIs we speak.
  }

  #dispatch(out: SseMessage[]): void {
    if (this.#data.length > 0) {
      out.push({ event: this.#event, data: this.#data.join('\n') });
    }
    this.#event = undefined;
    this.#data = [];
  }
}

/** Serialise one SSE message. `data` must be a single line (JSON is). */
export function formatSse(event: string | undefined, data: string): string {
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}
