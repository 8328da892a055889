/**
 * Usage queries over the ledger: totals and a breakdown by time (day or hour,
 * UTC) or by tenant, key, model or deployment, between `from` (inclusive) and
 * `to` (exclusive), optionally within one tenant or one key. Answers are cached
 * for a few seconds (`usage.queryCacheMs`): dashboards poll, and an event
 * takes up to a flush interval to land anyway.
 *
 * @example
 * const queries = new UsageQueries(db, { cacheMs: 5000 });
 * const report = await queries.report({ tenantId: 't_1', by: 'day', from: Date.parse('2026-11-01') });
 * report.totals.costUsd;
 */
import { LRUCache } from 'lru-cache';
import type { Db, SqlValue } from '../store/db.ts';

export const usageGroupings = ['day', 'hour', 'model', 'key', 'deployment', 'tenant'] as const;
export type UsageGrouping = (typeof usageGroupings)[number];

export interface UsageQuery {
  readonly tenantId?: string;
  readonly keyId?: string;
  readonly by?: UsageGrouping;
  /** Epoch ms, inclusive; default 30 days before `to`. */
  readonly from?: number;
  /** Epoch ms, exclusive; default now. */
  readonly to?: number;
}

export interface UsageTotals {
  requests: number;
  /** Requests answered with a status of 400 or more (refused ones included). */
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export interface UsageRow extends UsageTotals {
  /** The bucket's start (ISO 8601, UTC) for day/hour; the tenant id, key id, model or deployment otherwise (null when the events had none). */
  group: string | null;
  /** The tenant's name, when grouped by tenant. */
  name?: string | null;
}

export interface UsageReport {
  from: string;
  to: string;
  by: UsageGrouping | null;
  tenantId: string | null;
  keyId: string | null;
  totals: UsageTotals;
  rows: UsageRow[];
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
export const DEFAULT_RANGE_MS = 30 * DAY_MS;
/** A breakdown never returns more rows than this (the ones that cost most, for names). */
export const MAX_ROWS = 10_000;

const SUMS = `COUNT(*) AS requests,
  SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors,
  SUM(input_tokens) AS input_tokens,
  SUM(output_tokens) AS output_tokens,
  SUM(cache_read_tokens) AS cache_read_tokens,
  SUM(cache_write_tokens) AS cache_write_tokens,
  SUM(cost_usd) AS cost_usd`;

const GROUP_EXPRESSIONS: Record<UsageGrouping, string> = {
  day: `at - (at % ${DAY_MS})`,
  hour: `at - (at % ${HOUR_MS})`,
  model: 'model',
  key: 'key_id',
  deployment: 'deployment',
  tenant: 'tenant_id',
};

interface SumsRow {
  requests: unknown;
  errors: unknown;
  input_tokens: unknown;
  output_tokens: unknown;
  cache_read_tokens: unknown;
  cache_write_tokens: unknown;
  cost_usd: unknown;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function totalsOf(row: SumsRow | undefined): UsageTotals {
  return {
    requests: num(row?.requests),
    errors: num(row?.errors),
    inputTokens: num(row?.input_tokens),
    outputTokens: num(row?.output_tokens),
    cacheReadTokens: num(row?.cache_read_tokens),
    cacheWriteTokens: num(row?.cache_write_tokens),
    // Sums of many small floats: rounded to a millionth of a dollar.
    costUsd: Math.round(num(row?.cost_usd) * 1e6) / 1e6,
  };
}

export class UsageQueries {
  readonly #db: Db;
  readonly #cacheMs: number;
  readonly #cache: LRUCache<string, Promise<UsageReport>> | undefined;

  constructor(db: Db, options: { cacheMs?: number } = {}) {
    this.#db = db;
    this.#cacheMs = options.cacheMs ?? 5000;
    this.#cache = this.#cacheMs > 0 ? new LRUCache({ max: 500, ttl: this.#cacheMs }) : undefined;
  }

  /** Totals and the breakdown asked for; cached for `cacheMs`. */
  report(query: UsageQuery): Promise<UsageReport> {
    // An open-ended range ends at the next cache boundary, so repeated calls share one answer.
    const period = Math.max(this.#cacheMs, 1);
    const to = query.to ?? Math.ceil((Date.now() + 1) / period) * period;
    const from = query.from ?? to - DEFAULT_RANGE_MS;
    const normalized = { tenantId: query.tenantId, keyId: query.keyId, by: query.by, from, to };
    if (this.#cache === undefined) return this.#run(normalized);
    const key = JSON.stringify(normalized);
    let answer = this.#cache.get(key);
    if (answer === undefined) {
      answer = this.#run(normalized);
      this.#cache.set(key, answer);
      // A failed query is not remembered.
      answer.catch(() => this.#cache?.delete(key));
    }
    return answer;
  }

  async #run(q: UsageQuery & { from: number; to: number }): Promise<UsageReport> {
    const where = ['at >= ?', 'at < ?'];
    const params: SqlValue[] = [q.from, q.to];
    if (q.tenantId !== undefined) {
      where.push('tenant_id = ?');
      params.push(q.tenantId);
    }
    if (q.keyId !== undefined) {
      where.push('key_id = ?');
      params.push(q.keyId);
    }
    const filter = where.join(' AND ');
    const totals = totalsOf(await this.#db.get<SumsRow>(`SELECT ${SUMS} FROM usage_events WHERE ${filter}`, params));
    const rows: UsageRow[] = [];
    if (q.by !== undefined) {
      const grouping = q.by;
      const timed = grouping === 'day' || grouping === 'hour';
      const name = grouping === 'tenant' ? ', MAX(tenant_name) AS name' : '';
      const order = timed ? 'grp' : 'cost_usd DESC, requests DESC, grp';
      const sql = `SELECT ${GROUP_EXPRESSIONS[grouping]} AS grp${name}, ${SUMS} FROM usage_events WHERE ${filter} GROUP BY grp ORDER BY ${order} LIMIT ${MAX_ROWS}`;
      for (const row of await this.#db.all<SumsRow & { grp: unknown; name?: unknown }>(sql, params)) {
        const group = row.grp === null || row.grp === undefined ? null : timed ? new Date(Number(row.grp)).toISOString() : String(row.grp);
        rows.push({ group, ...(grouping === 'tenant' ? { name: (row.name as string | null) ?? null } : {}), ...totalsOf(row) });
      }
    }
    return {
      from: new Date(q.from).toISOString(),
      to: new Date(q.to).toISOString(),
      by: q.by ?? null,
      tenantId: q.tenantId ?? null,
      keyId: q.keyId ?? null,
      totals,
      rows,
    };
  }
}

/**
 * Reads a `from`/`to` bound: epoch milliseconds, or an ISO 8601 date or time.
 * A bare date (`2026-11-23`) means that day's midnight UTC; as an `end` it
 * includes the whole day. Undefined for an empty value; throws on nonsense.
 */
export function parseTimeBound(value: string | undefined, end: boolean): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d{10,}$/.test(text)) return Number(text);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new RangeError(`'${value}' is not a time: use an ISO 8601 date or time (2026-11-23, 2026-11-23T10:00:00Z) or epoch milliseconds.`);
  return end && /^\d{4}-\d{2}-\d{2}$/.test(text) ? ms + DAY_MS : ms;
}

/**
 * The tenant id for a name or id given on the command line or in the admin
 * API: looked up in the tenants table when there is one, else taken as an id.
 */
export async function resolveTenantId(db: Db, nameOrId: string): Promise<string> {
  try {
    const row = await db.get<{ id: unknown }>('SELECT id FROM tenants WHERE name = ?', [nameOrId]);
    if (row !== undefined) return String(row.id);
  } catch {
    // No tenants table (tenancy not set up in this store): ids only.
  }
  return nameOrId;
}
