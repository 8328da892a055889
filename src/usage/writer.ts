/**
 * The ledger's batch writer: usage events wait in a bounded in-memory queue
 * and are written off the request path, one transaction per batch, when a
 * batch is full or the flush interval has passed, and everything on close.
 *
 * Never dropping: `push` always accepts (the request it records was already
 * served). The bound is enforced at admission instead: while the queue is full,
 * new requests wait for room (`waitForRoom`) and are refused as overloaded if
 * none comes in time. A failed write keeps its batch at the head of the queue
 * and is retried with backoff, logged and counted, until it succeeds.
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import type { Db } from '../store/db.ts';
import type { UsageEvent } from './event.ts';
import { insertEvents } from './insert.ts';

export interface WriterOptions {
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** Queue depth at which new requests are held back (see `hasRoom`). */
  readonly maxQueue: number;
  readonly logger: Logger;
  /** Batches written at once (PostgreSQL: several connections; SQLite has one writer, so 1). */
  readonly concurrency?: number;
  /** First retry delay after a failed write, doubled per failure up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

/** What /metrics and the dashboard read. */
export interface LedgerStats {
  /** Events accepted and not yet written (including a batch being written or retried). */
  readonly queued: number;
  /** Requests waiting for room in the queue. */
  readonly waiting: number;
  /** Age of the oldest unwritten event, ms (0 when nothing waits). */
  readonly lagMs: number;
  readonly lastBatchSize: number;
  /** How long the last successful write took, ms. */
  readonly lastFlushMs: number;
  readonly written: number;
  readonly batches: number;
  /** Failed write attempts since start (each is retried). */
  readonly failures: number;
  /** Failed attempts in a row right now; 0 when the store is healthy. */
  readonly failingFor: number;
}

export class UsageWriter {
  readonly #db: Db;
  readonly #options: Required<WriterOptions>;
  #queue: UsageEvent[] = [];
  /** Batches cut from the queue and not being written, oldest first (a failed batch goes back to the head). */
  #batches: UsageEvent[][] = [];
  /** Batches being written now. */
  readonly #inFlight = new Set<UsageEvent[]>();
  /** Events in `#batches` and `#inFlight`. */
  #inBatches = 0;
  #draining: Promise<void> | undefined;
  /** Retries stop at this time (set by close); a retry's wait is cut short when close begins. */
  #deadline = Number.POSITIVE_INFINITY;
  #interrupt = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #waiters: Array<() => void> = [];
  #closing = false;
  #written = 0;
  #batchCount = 0;
  #failures = 0;
  #failingFor = 0;
  #lastBatchSize = 0;
  #lastFlushMs = 0;

  constructor(db: Db, options: WriterOptions) {
    this.#db = db;
    this.#options = { retryMinMs: 100, retryMaxMs: 5000, concurrency: db.dialect === 'postgres' ? 2 : 1, ...options };
    this.#timer = setInterval(() => this.#kick(), options.flushIntervalMs);
    // The gateway's server keeps the process alive; a pending flush alone must not.
    this.#timer.unref();
  }

  /** Events accepted and not yet written. */
  get depth(): number {
    return this.#queue.length + this.#inBatches;
  }

  /** Queues one event; never blocks and never drops. */
  push(event: UsageEvent): void {
    this.#queue.push(event);
    if (this.#queue.length >= this.#options.batchSize) this.#kick();
  }

  /** False while the queue is at its bound: new requests should wait (`waitForRoom`). */
  hasRoom(): boolean {
    return this.depth < this.#options.maxQueue;
  }

  /** Resolves true once there is room, false after `timeoutMs` or when `signal` aborts. */
  waitForRoom(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.hasRoom()) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.#waiters.indexOf(wake);
        if (i !== -1) this.#waiters.splice(i, 1);
        resolve(ok);
      };
      const wake = (): void => done(true);
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }

  /** Writes everything queued so far (tests, the CLI); resolves once it is written or the writer closed. */
  async flush(): Promise<void> {
    while (this.depth > 0) {
      this.#kick();
      await this.#draining;
      if (this.#closing) return;
    }
  }

  /**
   * Stops the timer and writes every queued event, retrying a failing store
   * until `deadlineMs` from now. Resolves with how many events could not be
   * written (0 on a clean shutdown); those are logged, never dropped silently.
   */
  async close(deadlineMs = 10_000): Promise<number> {
    clearInterval(this.#timer);
    this.#deadline = Date.now() + deadlineMs;
    this.#interrupt.abort();
    this.#interrupt = new AbortController();
    await this.#draining;
    while (this.depth > 0 && Date.now() < this.#deadline) {
      this.#draining = this.#drain();
      await this.#draining;
    }
    this.#closing = true;
    this.#draining = undefined;
    const left = this.depth;
    if (left > 0) {
      this.#options.logger.error({ unwritten: left, failures: this.#failures }, 'usage ledger: the store kept failing during shutdown; these usage events were NOT written');
    }
    for (const wake of this.#waiters.splice(0)) wake();
    return left;
  }

  stats(): LedgerStats {
    let oldest = this.#batches[0]?.[0]?.at ?? this.#queue[0]?.at;
    for (const batch of this.#inFlight) if (batch[0] !== undefined && (oldest === undefined || batch[0].at < oldest)) oldest = batch[0].at;
    return {
      queued: this.depth,
      waiting: this.#waiters.length,
      lagMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest),
      lastBatchSize: this.#lastBatchSize,
      lastFlushMs: this.#lastFlushMs,
      written: this.#written,
      batches: this.#batchCount,
      failures: this.#failures,
      failingFor: this.#failingFor,
    };
  }

  /** Starts a drain unless one is running (the timer and a full batch both call this). */
  #kick(): void {
    if (this.#draining !== undefined || this.#closing || this.depth === 0) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Writes batches until the queue is empty, `concurrency` at a time; stops on failure only at the close deadline. */
  async #drain(): Promise<void> {
    await Promise.all(Array.from({ length: this.#options.concurrency }, () => this.#writeLoop()));
  }

  /** Takes the next batch and writes it, until none is left; a failed batch goes back to the head and is retried after a backoff. */
  async #writeLoop(): Promise<void> {
    const { batchSize, logger } = this.#options;
    for (;;) {
      if (this.#batches.length === 0) {
        if (this.#queue.length === 0) return;
        // Take the whole queue at once and cut it: no repeated copying of a long backlog.
        const taken = this.#queue;
        this.#queue = [];
        for (let i = 0; i < taken.length; i += batchSize) this.#batches.push(taken.length <= batchSize ? taken : taken.slice(i, i + batchSize));
        this.#inBatches += taken.length;
      }
      const batch = this.#batches.shift()!;
      this.#inFlight.add(batch);
      const started = performance.now();
      try {
        await insertEvents(this.#db, batch);
      } catch (err) {
        this.#inFlight.delete(batch);
        this.#batches.unshift(batch);
        this.#failures++;
        this.#failingFor++;
        const delay = Math.min(this.#options.retryMaxMs, this.#options.retryMinMs * 2 ** (this.#failingFor - 1));
        logger.error(
          { err, batch: batch.length, queued: this.depth, failingFor: this.#failingFor, retryInMs: delay },
          'usage ledger: writing a batch failed; it stays queued and will be retried',
        );
        const wait = Math.min(delay, this.#deadline - Date.now());
        if (wait <= 0) return;
        // While closing, the wait must keep the process alive until the events are written.
        const closing = this.#deadline !== Number.POSITIVE_INFINITY;
        await sleep(wait, undefined, { ref: closing, signal: this.#interrupt.signal }).catch(() => {});
        continue;
      }
      this.#inFlight.delete(batch);
      if (this.#failingFor > 0) logger.warn({ failedAttempts: this.#failingFor }, 'usage ledger: the store accepts writes again');
      this.#inBatches -= batch.length;
      this.#failingFor = 0;
      this.#written += batch.length;
      this.#batchCount++;
      this.#lastBatchSize = batch.length;
      this.#lastFlushMs = performance.now() - started;
      this.#wakeWaiters();
      // node:sqlite writes synchronously: let requests run between batches.
      await yieldToEventLoop();
    }
  }

  #wakeWaiters(): void {
    let room = this.#options.maxQueue - this.depth;
    while (room-- > 0 && this.#waiters.length > 0) this.#waiters.shift()!();
  }
}
