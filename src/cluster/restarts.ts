/**
 * When to fork a crashed worker again: after a delay that doubles with each
 * crash of its slot within the window (250 ms, 500 ms, 1 s … capped), and not
 * at all once the slot crashed more than `maxCrashes` times in the window — a
 * worker that dies at once every time is a crash loop, and restarting it
 * forever would hide that from whoever supervises the gateway.
 */
export interface RestartPolicyOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly windowMs: number;
  readonly maxCrashes: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { baseMs: 250, maxMs: 10_000, windowMs: 60_000, maxCrashes: 5 };

export type RestartDecision = { readonly restartInMs: number; readonly crashesInWindow: number } | { readonly giveUp: true; readonly crashesInWindow: number };

export class RestartPolicy {
  readonly #options: RestartPolicyOptions;
  #crashes: number[] = [];

  constructor(options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {
    this.#options = options;
  }

  /** Records a crash at `now` and says what to do about it. */
  crashed(now: number): RestartDecision {
    const { baseMs, maxMs, windowMs, maxCrashes } = this.#options;
    this.#crashes = this.#crashes.filter((t) => now - t < windowMs);
    this.#crashes.push(now);
    const n = this.#crashes.length;
    if (n > maxCrashes) return { giveUp: true, crashesInWindow: n };
    return { restartInMs: Math.min(maxMs, baseMs * 2 ** (n - 1)), crashesInWindow: n };
  }
}
