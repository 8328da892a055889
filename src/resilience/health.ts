/**
 * Health of one deployment, shared by every request (issue 3, "When a
 * deployment fails"): in-flight count, a peak-EWMA of the time to response
 * headers, a sliding-window error rate and a circuit breaker.
 *
 * Everything is O(1) per request and bounded in memory: the window is a fixed
 * ring of buckets, and time only moves when a request reads or records (no
 * timers). The clock is monotonic (`performance.now()`) and injectable.
 */

import { LatencyDigest } from './latency.ts';

export type Clock = () => number;
export const monotonicClock: Clock = () => performance.now();

export interface BreakerOptions {
  /** Opens after this many failures in a row. */
  consecutiveFailures: number;
  /** Opens when failures / requests in the window reach this share (0..1)… */
  errorRate: number;
  windowMs: number;
  /** …and the window holds at least this many requests. */
  minRequests: number;
  /** How long it stays open before letting probes through. */
  cooldownMs: number;
  /** Probe requests allowed at once while half-open. */
  halfOpenProbes: number;
}

export const defaultBreakerOptions: Readonly<BreakerOptions> = Object.freeze({
  consecutiveFailures: 5,
  errorRate: 0.5,
  windowMs: 30_000,
  minRequests: 10,
  cooldownMs: 30_000,
  halfOpenProbes: 1,
});

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * What `acquire` granted; handed back to `succeed`/`fail`/`release` so the
 * outcome of a probe (or of a forced try while open) can move the breaker.
 * An attempt is: `acquire`, at most one of `succeed`/`fail` when its outcome
 * is known (the response head), then `release` when it is over (the body
 * relayed, or the client gone): in flight spans the whole exchange.
 */
export const DENIED = 0;
export const NORMAL = 1;
export const PROBE = 2;
export const FORCED = 3;
export type Ticket = typeof DENIED | typeof NORMAL | typeof PROBE | typeof FORCED;

/** A `retry-after` longer than this is taken as this: one odd header must not bench a deployment for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

const BUCKETS = 10;
/** Time constant of the latency EWMA's decay. */
const EWMA_TAU_MS = 10_000;

export interface HealthSnapshot {
  state: BreakerState;
  inFlight: number;
  latencyMs: number;
  windowRequests: number;
  windowFailures: number;
  consecutiveFailures: number;
  /** First-byte latencies recorded (see `firstByte`), and their percentiles over the last 128; null before any. */
  firstByteSamples: number;
  firstByteP50Ms: number | null;
  firstByteP95Ms: number | null;
  firstByteP99Ms: number | null;
}

export class DeploymentHealth {
  readonly id: string;
  /** Learned time to first byte (first content of a stream, whole JSON body), for hedging and learned timeouts. */
  readonly firstByte = new LatencyDigest();
  #opts: BreakerOptions;
  readonly #now: Clock;

  #inFlight = 0;
  /** Attempts allowed in flight at once (deployment `maxConcurrent`); 0 means no cap. */
  #maxConcurrent = 0;
  #latency = 0;
  #latencyAt = 0;
  #sampled = false;

  #state: BreakerState = 'closed';
  #openUntil = 0;
  #probes = 0;
  #consecutive = 0;

  // Sliding window: BUCKETS buckets of windowMs / BUCKETS each, as a ring.
  readonly #total = new Uint32Array(BUCKETS);
  readonly #failed = new Uint32Array(BUCKETS);
  #bucketMs: number;
  /** Index (time / bucketMs) of the newest bucket. */
  #head = 0;
  #windowTotal = 0;
  #windowFailed = 0;

  constructor(id: string, options: BreakerOptions = defaultBreakerOptions, clock: Clock = monotonicClock) {
    this.id = id;
    this.#opts = options;
    this.#now = clock;
    this.#bucketMs = Math.max(1, options.windowMs / BUCKETS);
    this.#head = Math.floor(clock() / this.#bucketMs);
  }

  /** New breaker settings after a config reload; counts are kept, the window restarts if its span changed. */
  configure(options: BreakerOptions): void {
    if (options.windowMs !== this.#opts.windowMs) {
      this.#bucketMs = Math.max(1, options.windowMs / BUCKETS);
      this.#clearWindow(this.#now());
    }
    this.#opts = options;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get maxConcurrent(): number {
    return this.#maxConcurrent;
  }

  /** Sets the cap (0 = none); attempts already in flight over a lowered cap finish normally. */
  set maxConcurrent(cap: number) {
    this.#maxConcurrent = cap > 0 ? Math.floor(cap) : 0;
  }

  /** At its concurrency cap: skipped like an open breaker until an attempt ends. */
  get atCapacity(): boolean {
    return this.#maxConcurrent > 0 && this.#inFlight >= this.#maxConcurrent;
  }

  /** Peak-EWMA latency in ms (0 before the first sample), decayed to now. */
  get latencyMs(): number {
    if (!this.#sampled) return 0;
    const dt = this.#now() - this.#latencyAt;
    return dt <= 0 ? this.#latency : this.#latency * Math.exp(-dt / EWMA_TAU_MS);
  }

  /** The breaker state as of now (an open breaker past its cooldown reads half-open). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() >= this.#openUntil) return 'half-open';
    return this.#state;
  }

  /** Whether a request may go here now: under its cap, and closed or with a probe slot free. */
  available(now: number = this.#now()): boolean {
    if (this.atCapacity) return false;
    switch (this.#state) {
      case 'closed':
        return true;
      case 'open':
        return now >= this.#openUntil && this.#opts.halfOpenProbes > 0;
      case 'half-open':
        return this.#probes < this.#opts.halfOpenProbes;
    }
  }

  /**
   * Starts an attempt: counts it in flight and returns its ticket, or DENIED
   * when the breaker does not let it through or the deployment is at its
   * concurrency cap. `force` lets it past an open breaker (every deployment of
   * the group is open: try rather than fail untried), never past the cap.
   */
  acquire(force = false): Ticket {
    // A cap is a hard limit, forced or not; checked first so it never uses up a probe slot.
    if (this.atCapacity) return DENIED;
    const now = this.#now();
    let ticket: Ticket = NORMAL;
    if (this.#state === 'open' && now >= this.#openUntil) {
      this.#state = 'half-open';
      this.#probes = 0;
    }
    if (this.#state === 'half-open') {
      if (this.#probes < this.#opts.halfOpenProbes) {
        this.#probes++;
        ticket = PROBE;
      } else {
        ticket = FORCED;
      }
    } else if (this.#state === 'open') {
      ticket = FORCED;
    }
    if (ticket === FORCED && !force) return DENIED;
    this.#inFlight++;
    return ticket;
  }

  /**
   * The deployment answered without a deployment failure (a client error such
   * as 400 counts here too: the deployment is up). `latencyMs` is the time to
   * response headers; pass undefined to skip the latency sample.
   */
  succeed(ticket: Ticket, latencyMs: number | undefined): void {
    const now = this.#now();
    this.#probeDone(ticket);
    if (latencyMs !== undefined) this.#sample(latencyMs, now);
    this.#consecutive = 0;
    this.#count(now, false);
    if (ticket === PROBE || ticket === FORCED) this.#close(now);
  }

  /**
   * A deployment failure: connection error, timeout, 408, 429, 5xx, 529.
   * `retryAfterMs` (from a 429) opens the breaker at once for that long.
   */
  fail(ticket: Ticket, retryAfterMs?: number): void {
    const now = this.#now();
    this.#probeDone(ticket);
    this.#consecutive++;
    this.#count(now, true);
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      this.#open(now, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
      return;
    }
    if (this.#state === 'half-open') {
      // A failed probe re-opens; a non-probe finishing late changes nothing.
      if (ticket === PROBE) this.#open(now, this.#opts.cooldownMs);
      return;
    }
    if (this.#state === 'open') return;
    const o = this.#opts;
    if (this.#consecutive >= o.consecutiveFailures) {
      this.#open(now, o.cooldownMs);
    } else if (this.#windowTotal >= o.minRequests && this.#windowFailed >= o.errorRate * this.#windowTotal) {
      this.#open(now, o.cooldownMs);
    }
  }

  /**
   * The attempt is over. `afterOutcome` says `succeed` or `fail` was called;
   * without it (the client went away first) a probe's slot is freed unused.
   */
  release(ticket: Ticket, afterOutcome: boolean): void {
    if (ticket === DENIED) return;
    if (this.#inFlight > 0) this.#inFlight--;
    if (!afterOutcome) this.#probeDone(ticket);
  }

  snapshot(): HealthSnapshot {
    this.#advance(this.#now());
    return {
      state: this.state,
      inFlight: this.#inFlight,
      latencyMs: this.latencyMs,
      windowRequests: this.#windowTotal,
      windowFailures: this.#windowFailed,
      consecutiveFailures: this.#consecutive,
      firstByteSamples: this.firstByte.count,
      firstByteP50Ms: this.firstByte.percentile(0.5) ?? null,
      firstByteP95Ms: this.firstByte.percentile(0.95) ?? null,
      firstByteP99Ms: this.firstByte.percentile(0.99) ?? null,
    };
  }

  #probeDone(ticket: Ticket): void {
    if (ticket === PROBE && this.#probes > 0) this.#probes--;
  }

  #open(now: number, forMs: number): void {
    this.#state = 'open';
    this.#openUntil = now + forMs;
    this.#probes = 0;
  }

  #close(now: number): void {
    this.#state = 'closed';
    this.#probes = 0;
    this.#consecutive = 0;
    // Failures from before the outage must not re-open it on the next blip.
    this.#clearWindow(now);
  }

  /**
   * Peak EWMA (Finagle's load balancer): a slower sample is taken at once, a
   * faster one pulls the average down with a weight that grows with the time
   * since the last sample, so a deployment recovers from one slow answer.
   */
  #sample(ms: number, now: number): void {
    if (!this.#sampled || ms > this.#latency) {
      this.#latency = ms;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#latencyAt) / EWMA_TAU_MS);
      this.#latency = this.#latency * w + ms * (1 - w);
    }
    this.#sampled = true;
    this.#latencyAt = now;
  }

  #count(now: number, failed: boolean): void {
    this.#advance(now);
    const i = this.#head % BUCKETS;
    this.#total[i]!++;
    this.#windowTotal++;
    if (failed) {
      this.#failed[i]!++;
      this.#windowFailed++;
    }
  }

  /** Drops buckets that slid out of the window; at most BUCKETS steps. */
  #advance(now: number): void {
    const index = Math.floor(now / this.#bucketMs);
    const steps = index - this.#head;
    if (steps <= 0) return;
    if (steps >= BUCKETS) {
      this.#clearWindow(now);
      return;
    }
    for (let s = 1; s <= steps; s++) {
      const i = (this.#head + s) % BUCKETS;
      this.#windowTotal -= this.#total[i]!;
      this.#windowFailed -= this.#failed[i]!;
      this.#total[i] = 0;
      this.#failed[i] = 0;
    }
    this.#head = index;
  }

  #clearWindow(now: number): void {
    this.#total.fill(0);
    this.#failed.fill(0);
    this.#windowTotal = 0;
    this.#windowFailed = 0;
    this.#head = Math.floor(now / this.#bucketMs);
  }
}
