/**
 * The learned first-byte latency distribution of one deployment (issue 3,
 * hedging and "tightened by the learned latency distribution"): the last
 * SAMPLES latencies in a fixed ring, and percentiles read from a sorted copy
 * that is rebuilt at most once every REFRESH new samples.
 *
 * "First byte" is the first byte the client would get from an attempt: for a
 * stream its first content event (the relay holds everything before it), for
 * a JSON answer the complete body. Recording is one array write; only
 * requests of groups that hedge or learn timeouts ever read a percentile.
 */
const SAMPLES = 128;
/** New samples before the sorted copy is rebuilt. */
const REFRESH = 8;

export class LatencyDigest {
  readonly #ring = new Float32Array(SAMPLES);
  #count = 0;
  #sorted: Float32Array | undefined;
  /** `#count` when `#sorted` was built. */
  #sortedAt = -1;

  /** Samples recorded so far (all time, not only those still in the ring). */
  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (!(ms >= 0)) return;
    this.#ring[this.#count % SAMPLES] = ms;
    this.#count++;
  }

  /**
   * The `p` quantile (0..1) of the samples in the ring, by nearest rank;
   * undefined before `minSamples` samples.
   *
   * @example digest.percentile(0.95, 20) // the p95 once 20 samples exist
   */
  percentile(p: number, minSamples = 1): number | undefined {
    const n = Math.min(this.#count, SAMPLES);
    if (n === 0 || this.#count < minSamples) return undefined;
    if (this.#sorted === undefined || this.#count - this.#sortedAt >= REFRESH || this.#sorted.length !== n) {
      this.#sorted = this.#ring.slice(0, n).sort();
      this.#sortedAt = this.#count;
    }
    const rank = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
    return this.#sorted[rank]!;
  }
}
