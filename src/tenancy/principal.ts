/**
 * Who is calling: what authentication attaches to a request, and what limits,
 * budgets, the usage ledger and metrics read from it. Authentication (issue 4)
 * fills it in; with no auth configured on loopback the request runs as the
 * built-in open principal.
 */

/** Limits of one key or tenant; an absent field means no limit. */
export interface Limits {
  readonly requestsPerMinute?: number;
  readonly inputTokensPerMinute?: number;
  readonly outputTokensPerMinute?: number;
  /** Requests in flight at once. */
  readonly concurrency?: number;
  readonly budgetDayUsd?: number;
  readonly budgetMonthUsd?: number;
}

export interface Principal {
  /** How the caller proved who it is. */
  readonly kind: 'open' | 'key' | 'jwt';
  readonly tenantId: string;
  readonly tenantName: string;
  /** The key's id (never its secret); absent for `open` and JWT callers. */
  readonly keyId?: string;
  /** A JWT's `sub`, when it has one. */
  readonly subject?: string;
  /** Public model names (and `provider,model` references) this caller may use; absent means all. */
  readonly models?: readonly string[];
  /** Route rules this caller may be decided into; absent means all. */
  readonly routes?: readonly string[];
  readonly keyLimits?: Limits;
  readonly tenantLimits?: Limits;
}

/** The caller when the gateway runs open for one person (loopback, no auth configured). */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ kind: 'open', tenantId: 'local', tenantName: 'local' });
