/**
 * Several upstream API keys for one provider, with weights (issue 3). Each
 * key has its own breaker: a key that gets a 429 cools down alone (for its
 * retry-after), a key the provider refuses (401, 403: revoked or disabled)
 * rests for minutes, and the others keep serving; only when every key rests
 * does the provider's own answer reach the deployment's failover and breaker.
 */
export interface PoolKey {
  key: string;
  weight: number;
}

export class KeyPool {
  readonly #keys: readonly PoolKey[];
  /** Monotonic time (ms) until which each key rests. */
  readonly #restUntil: number[];
  readonly #random: () => number;

  constructor(keys: readonly PoolKey[], random: () => number = Math.random) {
    if (keys.length === 0) throw new Error('a key pool needs at least one key');
    this.#keys = keys;
    this.#restUntil = keys.map(() => 0);
    this.#random = random;
  }

  get size(): number {
    return this.#keys.length;
  }

  key(index: number): string {
    return this.#keys[index]!.key;
  }

  /** A key that is not resting, by weight; if all rest, the one that is back first. */
  pick(now = performance.now()): number {
    let total = 0;
    for (let i = 0; i < this.#keys.length; i++) if (this.#restUntil[i]! <= now) total += this.#keys[i]!.weight;
    if (total > 0) {
      let r = this.#random() * total;
      for (let i = 0; i < this.#keys.length; i++) {
        if (this.#restUntil[i]! > now) continue;
        r -= this.#keys[i]!.weight;
        if (r < 0) return i;
      }
    }
    let soonest = 0;
    for (let i = 1; i < this.#keys.length; i++) if (this.#restUntil[i]! < this.#restUntil[soonest]!) soonest = i;
    return soonest;
  }

  /**
   * Takes over the rests of `previous` (the pool of the config being
   * replaced) for every key both pools hold: a reload must not bring a
   * rate-limited or refused key back early.
   */
  adopt(previous: KeyPool): void {
    for (let i = 0; i < this.#keys.length; i++) {
      const j = previous.#keys.findIndex((k) => k.key === this.#keys[i]!.key);
      if (j !== -1) this.#restUntil[i] = Math.max(this.#restUntil[i]!, previous.#restUntil[j]!);
    }
  }

  /** Rests a key for `ms`; true if another key can serve now. */
  rest(index: number, ms: number, now = performance.now()): boolean {
    this.#restUntil[index] = Math.max(this.#restUntil[index]!, now + ms);
    return this.#restUntil.some((until, i) => i !== index && until <= now && this.#keys[i]!.weight > 0);
  }
}
