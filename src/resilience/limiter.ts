/**
 * A concurrency limiter with a bounded FIFO wait queue (issue 3, "Protecting
 * the gateway and its upstreams"): at most `maxConcurrent` holders at once, up
 * to `maxQueue` more waiting at most `maxQueueWaitMs` each; anything past that
 * is shed, so an overload costs the client a fast, retryable error instead of
 * an unbounded wait and the gateway an unbounded queue.
 *
 * Every operation is O(1): the queue is a doubly linked list (a waiter whose
 * client goes away unlinks itself from the middle), and one timer serves the
 * whole queue. Waiters share one `maxQueueWaitMs`, so deadlines are in FIFO
 * order and the head's deadline is always the earliest. No timer runs while
 * nothing waits.
 *
 * @example
 * const limiter = new ConcurrencyLimiter({ maxConcurrent: 64, maxQueue: 1000, maxQueueWaitMs: 30_000 });
 * if (limiter.tryAcquire() || (await limiter.wait(signal)) === 'acquired') {
 *   try { await work(); } finally { limiter.release(); }
 * } // else: shed ('full' or 'timeout') or the caller went away ('aborted')
 */

export interface LimiterOptions {
  /** Holders allowed at once; 0 means unlimited. */
  maxConcurrent: number;
  /** Waiters allowed at once; 0 sheds as soon as every slot is taken. */
  maxQueue: number;
  /** How long one waiter may wait for a slot before it is shed. */
  maxQueueWaitMs: number;
}

/** How a wait ended: a slot, or why not. */
export type WaitOutcome = 'acquired' | 'full' | 'timeout' | 'aborted';

export interface LimiterStats {
  inFlight: number;
  queued: number;
  maxConcurrent: number;
  maxQueue: number;
  /** Requests refused since start: queue full, or waited too long. */
  shedFull: number;
  shedTimeout: number;
}

interface Waiter {
  resolve: (outcome: WaitOutcome) => void;
  deadline: number;
  prev: Waiter | undefined;
  next: Waiter | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Still linked in the queue. */
  queued: boolean;
}

const FULL: Promise<WaitOutcome> = Promise.resolve('full');
const ABORTED: Promise<WaitOutcome> = Promise.resolve('aborted');

export class ConcurrencyLimiter {
  readonly #max: number;
  readonly #maxQueue: number;
  readonly #maxWaitMs: number;
  #inFlight = 0;
  #queued = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
  #timer: NodeJS.Timeout | undefined;
  #shedFull = 0;
  #shedTimeout = 0;

  constructor(options: LimiterOptions) {
    this.#max = options.maxConcurrent;
    this.#maxQueue = options.maxQueue;
    this.#maxWaitMs = options.maxQueueWaitMs;
  }

  /** Takes a slot if one is free, with no promise or allocation; false when the caller must `wait`. */
  tryAcquire(): boolean {
    // Queued waiters come first: a newcomer must not overtake them.
    if (this.#max > 0 && (this.#inFlight >= this.#max || this.#queued > 0)) return false;
    this.#inFlight++;
    return true;
  }

  /**
   * Waits in the queue for a slot. Resolves 'acquired' (the caller now holds a
   * slot and must `release` it), 'full' at once when the queue is full,
   * 'timeout' after `maxQueueWaitMs`, or 'aborted' as soon as `signal` aborts
   * (the waiter leaves the queue at once).
   */
  wait(signal?: AbortSignal): Promise<WaitOutcome> {
    if (signal?.aborted === true) return ABORTED;
    if (this.tryAcquire()) return Promise.resolve('acquired');
    if (this.#queued >= this.#maxQueue) {
      this.#shedFull++;
      return FULL;
    }
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        resolve,
        deadline: performance.now() + this.#maxWaitMs,
        prev: this.#tail,
        next: undefined,
        signal,
        onAbort: undefined,
        queued: true,
      };
      if (this.#tail === undefined) this.#head = waiter;
      else this.#tail.next = waiter;
      this.#tail = waiter;
      this.#queued++;
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (!waiter.queued) return;
          this.#unlink(waiter);
          resolve('aborted');
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (this.#timer === undefined) this.#arm(waiter.deadline);
    });
  }

  /** Gives a slot back; the longest waiter, if any, takes it over directly. */
  release(): void {
    const next = this.#head;
    if (next !== undefined) {
      // The slot changes hands: in flight stays the same.
      this.#unlink(next);
      next.resolve('acquired');
      return;
    }
    if (this.#inFlight > 0) this.#inFlight--;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queued;
  }

  stats(): LimiterStats {
    return {
      inFlight: this.#inFlight,
      queued: this.#queued,
      maxConcurrent: this.#max,
      maxQueue: this.#maxQueue,
      shedFull: this.#shedFull,
      shedTimeout: this.#shedTimeout,
    };
  }

  #unlink(w: Waiter): void {
    w.queued = false;
    if (w.prev === undefined) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = undefined;
    w.next = undefined;
    this.#queued--;
    if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort);
    if (this.#queued === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(deadline: number): void {
    this.#timer = setTimeout(this.#expire, Math.max(0, deadline - performance.now()));
  }

  /** Sheds every waiter past its deadline (they are at the head), then re-arms for the new head. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    // Timers may fire a hair early; within a millisecond counts as due.
    let w = this.#head;
    while (w !== undefined && w.deadline <= now + 1) {
      this.#unlink(w);
      this.#shedTimeout++;
      w.resolve('timeout');
      w = this.#head;
    }
    if (w !== undefined && this.#timer === undefined) this.#arm(w.deadline);
  };
}
