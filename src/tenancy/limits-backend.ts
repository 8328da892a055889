/**
 * What a limits backend does, and the one that keeps its counters in this
 * process. The Redis backend (limits-redis.ts) does the same in Lua scripts so
 * gateways that share it share the counts.
 *
 * - Requests and tokens per minute: a sliding window estimated from two fixed
 *   one-minute windows (the previous one weighted by how much of it still
 *   overlaps the last minute), so a burst at a minute boundary cannot pass
 *   twice the limit. A request is refused before it is counted: refusals never
 *   use up a limit.
 * - Input tokens are admitted on an estimate and corrected by the real count
 *   when the request ends, in the window where the estimate was charged.
 *   Output tokens are counted when the request ends; a window that is full
 *   refuses new requests.
 * - Concurrency: a slot per request in flight, released when it ends.
 * - Budgets: a request reserves its estimated cost; it is admitted only if
 *   spent + reserved + estimate stays within the budget. When it ends the
 *   reservation is released and the actual cost added to what was spent, in
 *   the day and month it was admitted in.
 * Money is counted in integer nano-USD, so sums never drift by rounding.
 */

export const WINDOW_MS = 60_000;
/** Retry-after when a budget is held by reservations of requests in flight, which may free it. */
export const IN_FLIGHT_RETRY_MS = 5_000;
/** Retry-after when every concurrency slot is taken. */
export const CONCURRENCY_RETRY_MS = 1_000;

export type LimitName = 'requestsPerMinute' | 'inputTokensPerMinute' | 'outputTokensPerMinute' | 'concurrency' | 'budgetDayUsd' | 'budgetMonthUsd';

/** One counted party of a request (its key, its tenant, or the open principal) and its limits; absent means none. */
export interface ScopePlan {
  /** `key:ID`, `tenant:ID` or `open`. */
  readonly id: string;
  /** Keys of one request hash to the same Redis slot: the tenant's. */
  readonly slot: string;
  readonly rpm?: number | undefined;
  readonly itpm?: number | undefined;
  readonly otpm?: number | undefined;
  readonly concurrency?: number | undefined;
  readonly dayNanos?: number | undefined;
  readonly monthNanos?: number | undefined;
}

/** Everything one admission needs, computed once by the caller. */
export interface Admission {
  /** Unique per admission (request ids come from clients and may repeat). */
  readonly id: string;
  readonly now: number;
  /** Index of the one-minute window `now` is in. */
  readonly window: number;
  readonly inputTokens: number;
  /** Reserved against budgets. */
  readonly costNanos: number;
  /** `2026-11-23` and `2026-11` in UTC. */
  readonly day: string;
  readonly month: string;
  /** `d:2026-11-23` and `m:2026-11`: the budget periods as the in-process counters key them. */
  readonly dayKey: string;
  readonly monthKey: string;
  readonly dayEndsAt: number;
  readonly monthEndsAt: number;
  /** A slot or reservation left behind by a crashed instance is freed after this (epoch ms). */
  readonly leaseUntil: number;
  readonly scopes: readonly ScopePlan[];
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly limit: LimitName; readonly scope: ScopePlan; readonly retryAfterMs: number };

/** What the request really used, when it ended. */
export interface Settlement {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costNanos: number;
  readonly now: number;
}

export interface LimitBackend {
  admit(admission: Admission): Promise<Verdict>;
  /** Releases what `admit` took and counts what was used; at most once per admitted request. */
  settle(admission: Admission, settlement: Settlement): Promise<void>;
  close(): Promise<void>;
}

export const toNanos = (usd: number): number => Math.round(usd * 1e9);
export const fromNanos = (nanos: number): number => nanos / 1e9;

/** The sliding count over the last minute: the previous window weighted by its overlap. */
export function slidingCount(previous: number, current: number, elapsedMs: number): number {
  return previous * (1 - elapsedMs / WINDOW_MS) + current;
}

/** How long until `cost` more fits under `limit`, if nothing else is counted meanwhile. */
export function windowRetryMs(limit: number, cost: number, previous: number, current: number, elapsedMs: number): number {
  const room = limit - cost;
  if (room < 0) return WINDOW_MS;
  if (current <= room) {
    // The previous window's share must fade enough.
    if (previous <= 0) return 1;
    return Math.max(1, Math.ceil(WINDOW_MS * (1 - (room - current) / previous) - elapsedMs));
  }
  // Wait into the next window, where this window becomes the fading one.
  return Math.max(1, Math.ceil(WINDOW_MS - elapsedMs + WINDOW_MS * (1 - room / current)));
}

interface Window {
  index: number;
  previous: number;
  current: number;
}

interface Budget {
  spent: number;
  reserved: number;
}

interface ScopeState {
  rpm: Window;
  itpm: Window;
  otpm: Window;
  inFlight: number;
  /** By `d:DAY` / `m:MONTH`. */
  budgets: Map<string, Budget>;
  touched: number;
}

function roll(w: Window, index: number): void {
  if (w.index === index) return;
  w.previous = w.index === index - 1 ? w.current : 0;
  w.current = 0;
  w.index = index;
}

/** Adds to the window `index` if it is still counted (current or previous), never below zero. */
function addAt(w: Window, index: number, delta: number): void {
  if (index === w.index) w.current = Math.max(0, w.current + delta);
  else if (index === w.index - 1) w.previous = Math.max(0, w.previous + delta);
}

const ADMITTED: Verdict = Object.freeze({ ok: true });

function refusal(limit: LimitName, scope: ScopePlan, retryAfterMs: number): Verdict {
  return { ok: false, limit, scope, retryAfterMs };
}

/**
 * Undefined when `cost` more fits in a budget of `limit` nano-USD, else how long
 * to wait: a few seconds when reservations of requests in flight hold the room
 * (they may free it), else until the period ends.
 */
function budgetRetryMs(b: Budget | undefined, limit: number, cost: number, untilPeriodEndsMs: number): number | undefined {
  const spent = b?.spent ?? 0;
  const reserved = b?.reserved ?? 0;
  if (spent + reserved + cost <= limit) return undefined;
  return reserved > 0 && spent + cost <= limit ? IN_FLIGHT_RETRY_MS : Math.max(1, untilPeriodEndsMs);
}

/** Releases a reservation and counts what was really spent. */
function settleBudget(b: Budget, reservedNanos: number, spentNanos: number): void {
  b.reserved = Math.max(0, b.reserved - reservedNanos);
  b.spent += spentNanos;
}

/** Counters in this process: for one instance, and while Redis is unreachable. */
export class MemoryLimitBackend implements LimitBackend {
  readonly #scopes = new Map<string, ScopeState>();
  #lastSweep = 0;

  async admit(a: Admission): Promise<Verdict> {
    return this.admitNow(a);
  }

  /** Synchronous: check every scope, then count in every scope, with nothing in between. */
  admitNow(a: Admission): Verdict {
    this.#sweep(a.now);
    const elapsed = a.now - a.window * WINDOW_MS;
    const { scopes } = a;
    const states: ScopeState[] = [];
    for (const plan of scopes) states.push(this.#state(plan.id, a.window, a.now));
    for (let i = 0; i < scopes.length; i++) {
      const refused = this.#refusal(a, scopes[i]!, states[i]!, elapsed);
      if (refused !== undefined) return refused;
    }
    for (let i = 0; i < scopes.length; i++) {
      const plan = scopes[i]!;
      const s = states[i]!;
      if (plan.rpm !== undefined) s.rpm.current += 1;
      if (plan.itpm !== undefined) s.itpm.current += a.inputTokens;
      if (plan.concurrency !== undefined) s.inFlight += 1;
      if (plan.dayNanos !== undefined) this.#budget(s, a.dayKey).reserved += a.costNanos;
      if (plan.monthNanos !== undefined) this.#budget(s, a.monthKey).reserved += a.costNanos;
    }
    return ADMITTED;
  }

  /** Why one scope refuses the admission, or undefined when it has room. */
  #refusal(a: Admission, plan: ScopePlan, s: ScopeState, elapsed: number): Verdict | undefined {
    if (plan.rpm !== undefined && slidingCount(s.rpm.previous, s.rpm.current, elapsed) + 1 > plan.rpm) {
      return refusal('requestsPerMinute', plan, windowRetryMs(plan.rpm, 1, s.rpm.previous, s.rpm.current, elapsed));
    }
    if (plan.itpm !== undefined && slidingCount(s.itpm.previous, s.itpm.current, elapsed) + a.inputTokens > plan.itpm) {
      return refusal('inputTokensPerMinute', plan, windowRetryMs(plan.itpm, a.inputTokens, s.itpm.previous, s.itpm.current, elapsed));
    }
    if (plan.otpm !== undefined && slidingCount(s.otpm.previous, s.otpm.current, elapsed) >= plan.otpm) {
      return refusal('outputTokensPerMinute', plan, windowRetryMs(plan.otpm, 1, s.otpm.previous, s.otpm.current, elapsed));
    }
    if (plan.concurrency !== undefined && s.inFlight >= plan.concurrency) return refusal('concurrency', plan, CONCURRENCY_RETRY_MS);
    if (plan.dayNanos !== undefined) {
      const retryAfterMs = budgetRetryMs(s.budgets.get(a.dayKey), plan.dayNanos, a.costNanos, a.dayEndsAt - a.now);
      if (retryAfterMs !== undefined) return refusal('budgetDayUsd', plan, retryAfterMs);
    }
    if (plan.monthNanos !== undefined) {
      const retryAfterMs = budgetRetryMs(s.budgets.get(a.monthKey), plan.monthNanos, a.costNanos, a.monthEndsAt - a.now);
      if (retryAfterMs !== undefined) return refusal('budgetMonthUsd', plan, retryAfterMs);
    }
    return undefined;
  }

  async settle(a: Admission, used: Settlement): Promise<void> {
    this.settleNow(a, used);
  }

  settleNow(a: Admission, used: Settlement): void {
    const window = Math.floor(used.now / WINDOW_MS);
    for (const plan of a.scopes) {
      const s = this.#state(plan.id, window, used.now);
      if (plan.itpm !== undefined) addAt(s.itpm, a.window, used.inputTokens - a.inputTokens);
      if (plan.otpm !== undefined) s.otpm.current += used.outputTokens;
      if (plan.concurrency !== undefined) s.inFlight = Math.max(0, s.inFlight - 1);
      if (plan.dayNanos !== undefined) settleBudget(this.#budget(s, a.dayKey), a.costNanos, used.costNanos);
      if (plan.monthNanos !== undefined) settleBudget(this.#budget(s, a.monthKey), a.costNanos, used.costNanos);
    }
  }

  /** Adds spend recorded elsewhere (the usage ledger, after a restart) to one scope's period (`d:DAY` or `m:MONTH`). */
  addSpent(scopeId: string, period: string, nanos: number, now: number): void {
    const s = this.#state(scopeId, Math.floor(now / WINDOW_MS), now);
    this.#budget(s, period).spent += nanos;
  }

  /** Spent and reserved nano-USD of one scope in one period (`d:DAY` or `m:MONTH`), for tests and stats. */
  budget(scopeId: string, period: string): { spent: number; reserved: number } {
    const b = this.#scopes.get(scopeId)?.budgets.get(period);
    return { spent: b?.spent ?? 0, reserved: b?.reserved ?? 0 };
  }

  get scopeCount(): number {
    return this.#scopes.size;
  }

  async close(): Promise<void> {
    this.#scopes.clear();
  }

  #state(id: string, window: number, now: number): ScopeState {
    let s = this.#scopes.get(id);
    if (s === undefined) {
      s = {
        rpm: { index: window, previous: 0, current: 0 },
        itpm: { index: window, previous: 0, current: 0 },
        otpm: { index: window, previous: 0, current: 0 },
        inFlight: 0,
        budgets: new Map(),
        touched: now,
      };
      this.#scopes.set(id, s);
    }
    roll(s.rpm, window);
    roll(s.itpm, window);
    roll(s.otpm, window);
    s.touched = now;
    return s;
  }

  #budget(s: ScopeState, key: string): Budget {
    let b = s.budgets.get(key);
    if (b === undefined) {
      b = { spent: 0, reserved: 0 };
      s.budgets.set(key, b);
    }
    return b;
  }

  /**
   * Once a minute, forgets scopes idle for two windows with nothing in flight,
   * and budget periods that are over with nothing reserved (the ledger keeps the history).
   */
  #sweep(now: number): void {
    if (now - this.#lastSweep < WINDOW_MS) return;
    this.#lastSweep = now;
    const date = new Date(now).toISOString();
    const day = `d:${date.slice(0, 10)}`;
    const month = `m:${date.slice(0, 7)}`;
    for (const [id, s] of this.#scopes) {
      for (const [key, b] of s.budgets) if (key !== day && key !== month && b.reserved === 0) s.budgets.delete(key);
      if (s.inFlight === 0 && s.budgets.size === 0 && now - s.touched > 2 * WINDOW_MS) this.#scopes.delete(id);
    }
  }
}
