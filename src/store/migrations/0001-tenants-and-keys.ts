/**
 * Tenants and their API keys (issue 4). A key is stored only as the SHA-256
 * of its secret, with a short visible prefix to recognise it by. Limits are
 * nullable columns: NULL means no limit. Scopes (models, routes) are JSON
 * arrays in text; NULL means all.
 */
import type { Migration } from '../migrate.ts';

const limitColumns = `
  rpm BIGINT,
  input_tpm BIGINT,
  output_tpm BIGINT,
  concurrency BIGINT,
  budget_day_usd NUMERIC,
  budget_month_usd NUMERIC`;

const tables = [
  `CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,${limitColumns}
)`,
  `CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  name TEXT,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  models TEXT,
  routes TEXT,
  admin INTEGER NOT NULL DEFAULT 0,
  expires_at BIGINT,
  revoked_at BIGINT,
  created_at BIGINT NOT NULL,
  rotated_at BIGINT,${limitColumns}
)`,
  'CREATE INDEX api_keys_tenant ON api_keys (tenant_id)',
];

export const tenantsAndKeys: Migration = {
  id: 1,
  name: 'tenants-and-keys',
  sqlite: tables,
  postgres: tables,
};
