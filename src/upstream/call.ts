/**
 * One upstream HTTP exchange driven through undici's dispatch handler API:
 * no Readable body and no promise per chunk, just callbacks. The caller
 * learns the status first (and can still fail over), then either collects the
 * body or relays it chunk by chunk with backpressure: when the client is
 * slow, `pause()` stops reading from the upstream socket.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { AttemptTimer } from '../resilience/timeouts.ts';

export interface ResponseHead {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

export class UpstreamCall implements Dispatcher.DispatchHandler {
  /** Settles when the response status and headers arrive (or the exchange fails before). */
  readonly head: Promise<ResponseHead>;
  #resolveHead!: (head: ResponseHead) => void;
  #rejectHead!: (err: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #signal: AbortSignal | undefined;
  #started = false;
  /** Chunks that arrived before a consumer was attached. */
  #pending: Buffer[] = [];
  #onData: ((chunk: Buffer) => void) | undefined;
  #ended = false;
  #error: Error | undefined;
  #settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** First-byte and idle timeouts of this attempt (src/resilience/timeouts.ts). */
  #timer: AttemptTimer | undefined;
  /** Aborted before undici handed over a controller (still queued for a connection). */
  #abortedEarly: Error | undefined;
  #onAbort = (): void => this.abort(this.#signal?.reason ?? new Error('aborted'));

  constructor(signal?: AbortSignal, timer?: AttemptTimer) {
    this.#signal = signal;
    this.#timer = timer;
    this.head = new Promise<ResponseHead>((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
    // Nobody may await `head` after an early failure: keep that from being an unhandled rejection.
    this.head.catch(() => {});
    timer?.start();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortedEarly !== undefined) controller.abort(this.#abortedEarly);
    else if (this.#signal?.aborted) this.#onAbort();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // undici's controller keeps the raw response headers (Buffers that slice the socket's first
    // read) until the exchange ends; they are parsed into `headers` already, and on a long stream
    // they would be held for minutes.
    if ('rawHeaders' in controller) (controller as { rawHeaders: unknown }).rawHeaders = null;
    if (statusCode < 200) return; // 1xx informational
    this.#started = true;
    this.#timer?.headers();
    this.#resolveHead({ statusCode, headers });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#timer?.chunk();
    if (this.#onData !== undefined) this.#onData(chunk);
    else this.#pending.push(chunk);
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#cleanup();
    this.#settle?.resolve();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fail(err);
  }

  #fail(err: Error): void {
    // An exchange aborted while queued fails at once, and again when undici gets to it.
    if (this.#error !== undefined) return;
    this.#error = err;
    this.#cleanup();
    if (!this.#started) this.#rejectHead(err);
    this.#settle?.reject(err);
  }

  /** Stop reading from the upstream (the client is not keeping up). */
  pause(): void {
    this.#timer?.pause();
    this.#controller?.pause();
  }

  resume(): void {
    this.#timer?.resume();
    this.#controller?.resume();
  }

  /** Ends the exchange; `head` or `relay` reject with `reason`. */
  abort(reason: Error): void {
    if (this.#controller !== undefined) {
      this.#controller.abort(reason);
      return;
    }
    // Still queued in the pool: fail now, and abort once undici starts it.
    if (this.#abortedEarly !== undefined || this.#ended || this.#error !== undefined) return;
    this.#abortedEarly = reason;
    this.#fail(reason);
  }

  /**
   * Hands every body chunk to `onData`, those already received first.
   * Resolves when the body ends, rejects if the exchange fails.
   */
  relay(onData: (chunk: Buffer) => void): Promise<void> {
    const pending = this.#pending;
    this.#pending = [];
    for (const chunk of pending) onData(chunk);
    this.#onData = onData;
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  /** The whole body; beyond `limit` bytes the rest is read and dropped. */
  async collect(limit = Infinity): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    await this.relay((chunk) => {
      if (size < limit) chunks.push(size + chunk.length > limit ? chunk.subarray(0, limit - size) : chunk);
      size += chunk.length;
    });
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  #cleanup(): void {
    this.#timer?.clear();
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
