/**
 * Hedging policy of one model group (issue 3, "Hedging"): when to start a
 * twin of a slow attempt on the next deployment, and how many twins the group
 * may send at all. The race itself runs in src/pipeline/hedged.ts.
 *
 * The cap is a token bucket: every request of the group earns `maxShare` of a
 * hedge, a hedge spends one, and the bucket holds at most `burst`. Over any
 * stretch of traffic, hedges ≤ maxShare × requests + burst, so an outage of
 * the first deployment cannot double the load on the others.
 */
import type { HedgeConfig } from '../config/schema.ts';
import type { LatencyDigest } from './latency.ts';

/** Float sums of shares like 0.1 fall a hair short of whole numbers. */
const EPSILON = 1e-9;

export class HedgeBudget {
  readonly #share: number;
  readonly #burst: number;
  #tokens: number;

  constructor(share: number, burst: number) {
    this.#share = share;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /** One request of the group: it earns its share of a hedge. */
  earn(): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + this.#share);
  }

  /** Spends one hedge if the budget has one. */
  take(): boolean {
    if (this.#tokens + EPSILON < 1) return false;
    this.#tokens = Math.max(0, this.#tokens - 1);
    return true;
  }

  get tokens(): number {
    return this.#tokens;
  }
}

export class HedgePolicy {
  readonly budget: HedgeBudget;
  readonly #delayMs: number | undefined;
  readonly #percentile: number | undefined;
  readonly #minSamples: number;

  constructor(config: HedgeConfig) {
    this.budget = new HedgeBudget(config.maxShare, config.burst);
    this.#delayMs = config.delayMs;
    this.#percentile = config.percentile;
    this.#minSamples = config.minSamples;
  }

  /**
   * How long an attempt on a deployment with this first-byte history may go
   * without a first byte before it is hedged: the learned percentile once
   * there are enough samples, else the fixed delay; undefined (no hedge) when
   * neither is known yet.
   */
  delayMs(firstByte: LatencyDigest): number | undefined {
    if (this.#percentile !== undefined) {
      const learned = firstByte.percentile(this.#percentile, this.#minSamples);
      if (learned !== undefined) return Math.max(1, Math.ceil(learned));
    }
    return this.#delayMs;
  }
}
