/**
 * The usage ledger (issue 4): one row per finished chat request. `id` is the
 * gateway's own event id (never the client-supplied request id).
 *
 * Every index costs write throughput (measured with node:sqlite: each
 * secondary index roughly halves inserts per second), so there are two: time
 * (queries over a range, retention) and tenant + time (a tenant's usage, what
 * a tenant admin reads). Queries by key, model or deployment narrow by time.
 * PostgreSQL also makes `id` the primary key, so a batch retried after a
 * commit whose answer was lost lands once (`ON CONFLICT DO NOTHING`); a
 * SQLite commit is never ambiguous, and its table stays a plain rowid table.
 */
import type { Migration } from '../migrate.ts';

const columns = (types: { big: string; real: string; id: string }): string => `(
  id ${types.id},
  at ${types.big} NOT NULL,
  tenant_id TEXT,
  tenant_name TEXT,
  key_id TEXT,
  surface TEXT NOT NULL,
  stream INTEGER NOT NULL DEFAULT 0,
  rule TEXT,
  model TEXT,
  deployment TEXT,
  provider TEXT,
  input_tokens ${types.big} NOT NULL DEFAULT 0,
  output_tokens ${types.big} NOT NULL DEFAULT 0,
  cache_read_tokens ${types.big} NOT NULL DEFAULT 0,
  cache_write_tokens ${types.big} NOT NULL DEFAULT 0,
  cost_usd ${types.real} NOT NULL DEFAULT 0,
  latency_ms ${types.real} NOT NULL,
  ttft_ms ${types.real},
  status INTEGER NOT NULL,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  client_aborted INTEGER NOT NULL DEFAULT 0,
  request_id TEXT NOT NULL
)`;

const indexes = [
  'CREATE INDEX usage_events_at ON usage_events (at)',
  'CREATE INDEX usage_events_tenant_at ON usage_events (tenant_id, at)',
];

export const usageEvents: Migration = {
  id: 100,
  name: 'usage-events',
  sqlite: [`CREATE TABLE usage_events ${columns({ big: 'INTEGER', real: 'REAL', id: 'TEXT NOT NULL' })}`, ...indexes],
  postgres: [`CREATE TABLE usage_events ${columns({ big: 'BIGINT', real: 'DOUBLE PRECISION', id: 'TEXT PRIMARY KEY' })}`, ...indexes],
};
