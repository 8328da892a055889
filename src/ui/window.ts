/**
 * A rolling window of request outcomes for the dashboard's charts: a fixed
 * ring of time buckets (5 s each, 15 minutes by default), each holding a
 * request count, an error count and a log-scale latency histogram, so the
 * percentiles of any run of buckets come from summed histograms. Memory is
 * fixed at start (buckets × bins counters); recording is O(1); time only moves
 * when something records or reads (no timers).
 */

/** Latency bins grow by this factor: percentiles are within about ±6 % of the truth. */
const GROWTH = 1.12;
const MIN_MS = 1;
/** Bin 0 holds everything under MIN_MS; the last bin everything over about 20 minutes. */
const BINS = 2 + Math.ceil(Math.log(20 * 60_000 / MIN_MS) / Math.log(GROWTH));

export type WallClock = () => number;

export interface WindowOptions {
  bucketMs?: number;
  buckets?: number;
  clock?: WallClock;
}

export interface BucketView {
  /** Start of the bucket, epoch ms. */
  readonly t: number;
  readonly requests: number;
  readonly errors: number;
  /** Percentiles in ms; null for an empty bucket. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

export interface SpanStats {
  readonly requests: number;
  readonly errors: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

function binOf(ms: number): number {
  if (!(ms >= MIN_MS)) return 0;
  return Math.min(BINS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / Math.log(GROWTH)));
}

/** A representative latency for a bin: its geometric middle. */
function binValue(bin: number): number {
  if (bin === 0) return MIN_MS / 2;
  return MIN_MS * GROWTH ** (bin - 0.5);
}

export class RollingWindow {
  readonly bucketMs: number;
  readonly size: number;
  readonly #clock: WallClock;
  readonly #requests: Uint32Array;
  readonly #errors: Uint32Array;
  /** size × BINS counters, one row per bucket. */
  readonly #latency: Uint32Array;
  /** Absolute index (time / bucketMs) of the newest bucket. */
  #head: number;

  constructor(options: WindowOptions = {}) {
    this.bucketMs = options.bucketMs ?? 5_000;
    this.size = options.buckets ?? 180;
    this.#clock = options.clock ?? Date.now;
    this.#requests = new Uint32Array(this.size);
    this.#errors = new Uint32Array(this.size);
    this.#latency = new Uint32Array(this.size * BINS);
    this.#head = Math.floor(this.#clock() / this.bucketMs);
  }

  record(latencyMs: number, failed: boolean): void {
    this.#advance();
    const slot = this.#slot(this.#head);
    this.#requests[slot]!++;
    if (failed) this.#errors[slot]!++;
    this.#latency[slot * BINS + binOf(latencyMs)]!++;
  }

  /** Every bucket of the window, oldest first, ending with the current (partial) one. */
  buckets(): BucketView[] {
    this.#advance();
    const out: BucketView[] = [];
    for (let age = this.size - 1; age >= 0; age--) {
      const index = this.#head - age;
      const slot = this.#slot(index);
      const [p50, p90, p99] = this.#percentiles([slot], [0.5, 0.9, 0.99]);
      out.push({ t: index * this.bucketMs, requests: this.#requests[slot]!, errors: this.#errors[slot]!, p50: p50!, p90: p90!, p99: p99! });
    }
    return out;
  }

  /** Totals and percentiles over the newest buckets covering `spanMs` (the whole window by default). */
  span(spanMs: number = this.size * this.bucketMs): SpanStats {
    this.#advance();
    const count = Math.max(1, Math.min(this.size, Math.ceil(spanMs / this.bucketMs)));
    const slots: number[] = [];
    let requests = 0;
    let errors = 0;
    for (let age = 0; age < count; age++) {
      const slot = this.#slot(this.#head - age);
      slots.push(slot);
      requests += this.#requests[slot]!;
      errors += this.#errors[slot]!;
    }
    const [p50, p90, p99] = this.#percentiles(slots, [0.5, 0.9, 0.99]);
    return { requests, errors, p50: p50!, p90: p90!, p99: p99! };
  }

  #percentiles(slots: readonly number[], quantiles: readonly number[]): Array<number | null> {
    let total = 0;
    for (const slot of slots) total += this.#requests[slot]!;
    if (total === 0) return quantiles.map(() => null);
    const result: Array<number | null> = [];
    let q = 0;
    let seen = 0;
    for (let bin = 0; bin < BINS && q < quantiles.length; bin++) {
      for (const slot of slots) seen += this.#latency[slot * BINS + bin]!;
      // The smallest bin whose cumulative count reaches the quantile's rank.
      while (q < quantiles.length && seen >= Math.ceil(quantiles[q]! * total)) {
        result.push(Math.round(binValue(bin) * 10) / 10);
        q++;
      }
    }
    return result;
  }

  /** Ring position of an absolute bucket index (also for indices before the epoch, as a test clock may give). */
  #slot(index: number): number {
    return ((index % this.size) + this.size) % this.size;
  }

  /** Clears buckets that slid out of the window; at most `size` steps. */
  #advance(): void {
    const index = Math.floor(this.#clock() / this.bucketMs);
    const steps = index - this.#head;
    if (steps <= 0) return;
    for (let s = 1; s <= Math.min(steps, this.size); s++) {
      const slot = this.#slot(this.#head + s);
      this.#requests[slot] = 0;
      this.#errors[slot] = 0;
      this.#latency.fill(0, slot * BINS, (slot + 1) * BINS);
    }
    this.#head = index;
  }
}
