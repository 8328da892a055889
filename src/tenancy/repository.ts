/**
 * Tenants and API keys over the store's `Db` (migration 0001). Plain SQL with
 * `?` placeholders, the same on SQLite and PostgreSQL. Secrets never enter or
 * leave this module except once, in the result of `createKey` / `rotateKey`.
 */
import type { Db } from '../store/db.ts';
import type { Limits } from './principal.ts';
import { newId, newSecret } from './secrets.ts';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly disabled: boolean;
  readonly limits: Limits;
}

export interface ApiKey {
  readonly id: string;
  readonly tenantId: string;
  readonly name?: string;
  /** The visible start of the key, e.g. `swy_Ab3dE6gH`. */
  readonly prefix: string;
  /** Allowed public model names; absent means all. */
  readonly models?: readonly string[];
  /** Allowed route rules; absent means all. */
  readonly routes?: readonly string[];
  /** A tenant admin key: opens the admin API for its own tenant. */
  readonly admin: boolean;
  readonly expiresAt?: number;
  readonly revokedAt?: number;
  readonly createdAt: number;
  readonly rotatedAt?: number;
  readonly limits: Limits;
}

export interface NewKey {
  readonly tenantId: string;
  readonly name?: string;
  readonly models?: readonly string[];
  readonly routes?: readonly string[];
  readonly admin?: boolean;
  readonly expiresAt?: number;
  readonly limits?: Limits;
}

/** The key itself, shown once; the record never holds it. */
export interface IssuedKey {
  readonly record: ApiKey;
  readonly secret: string;
}

export type TenancyErrorReason = 'not_found' | 'conflict' | 'invalid';

export class TenancyError extends Error {
  readonly reason: TenancyErrorReason;
  constructor(reason: TenancyErrorReason, message: string) {
    super(message);
    this.name = 'TenancyError';
    this.reason = reason;
  }
}

const LIMIT_COLUMNS = ['rpm', 'input_tpm', 'output_tpm', 'concurrency', 'budget_day_usd', 'budget_month_usd'] as const;
const LIMIT_FIELDS = [
  'requestsPerMinute',
  'inputTokensPerMinute',
  'outputTokensPerMinute',
  'concurrency',
  'budgetDayUsd',
  'budgetMonthUsd',
] as const satisfies ReadonlyArray<keyof Limits>;

type Row = Record<string, unknown>;

function limitValues(limits: Limits | undefined): Array<number | null> {
  return LIMIT_FIELDS.map((field) => limits?.[field] ?? null);
}

function limitsFrom(row: Row, prefix = ''): Limits {
  const limits: Record<string, number> = {};
  LIMIT_COLUMNS.forEach((column, i) => {
    const value = row[prefix + column];
    if (value !== null && value !== undefined) limits[LIMIT_FIELDS[i] as string] = Number(value);
  });
  return limits;
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function list(value: unknown): string[] | undefined {
  return typeof value === 'string' ? (JSON.parse(value) as string[]) : undefined;
}

function tenantFrom(row: Row, prefix = ''): Tenant {
  return {
    id: String(row[`${prefix}id`]),
    name: String(row[`${prefix}name`]),
    createdAt: Number(row[`${prefix}created_at`]),
    disabled: Number(row[`${prefix}disabled`]) === 1,
    limits: limitsFrom(row, prefix),
  };
}

function keyFrom(row: Row): ApiKey {
  const key: Record<string, unknown> = {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    prefix: String(row.prefix),
    admin: Number(row.admin) === 1,
    createdAt: Number(row.created_at),
    limits: limitsFrom(row),
  };
  if (row.name !== null && row.name !== undefined) key.name = String(row.name);
  const models = list(row.models);
  if (models !== undefined) key.models = models;
  const routes = list(row.routes);
  if (routes !== undefined) key.routes = routes;
  for (const [field, column] of [
    ['expiresAt', 'expires_at'],
    ['revokedAt', 'revoked_at'],
    ['rotatedAt', 'rotated_at'],
  ] as const) {
    const value = optionalNumber(row[column]);
    if (value !== undefined) key[field] = value;
  }
  return key as unknown as ApiKey;
}

/** Whether a key may be used at `now`: not revoked, not expired. */
export function isActive(key: ApiKey, now = Date.now()): boolean {
  return key.revokedAt === undefined && (key.expiresAt === undefined || key.expiresAt > now);
}

const KEY_COLUMNS = `id, tenant_id, name, prefix, models, routes, admin, expires_at, revoked_at, created_at, rotated_at, ${LIMIT_COLUMNS.join(', ')}`;
const TENANT_COLUMNS = `id, name, created_at, disabled, ${LIMIT_COLUMNS.join(', ')}`;

export class TenancyRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async createTenant(name: string, limits?: Limits): Promise<Tenant> {
    const trimmed = name.trim();
    if (!/^[\w.@-]{1,64}$/.test(trimmed)) throw new TenancyError('invalid', 'A tenant name is 1–64 letters, digits, and . _ @ -');
    if (await this.findTenant(trimmed)) throw new TenancyError('conflict', `A tenant named '${trimmed}' already exists.`);
    const tenant: Tenant = { id: newId('tn'), name: trimmed, createdAt: Date.now(), disabled: false, limits: limits ?? {} };
    try {
      await this.#db.run(`INSERT INTO tenants (${TENANT_COLUMNS}) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`, [
        tenant.id,
        tenant.name,
        tenant.createdAt,
        ...limitValues(limits),
      ]);
    } catch (err) {
      // Two creations raced past the check: the UNIQUE constraint decides.
      if (await this.findTenant(trimmed)) throw new TenancyError('conflict', `A tenant named '${trimmed}' already exists.`);
      throw err;
    }
    return tenant;
  }

  /** By id or by name. */
  async findTenant(idOrName: string): Promise<Tenant | undefined> {
    const row = await this.#db.get(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = ? OR name = ?`, [idOrName, idOrName]);
    return row === undefined ? undefined : tenantFrom(row);
  }

  async requireTenant(idOrName: string): Promise<Tenant> {
    const tenant = await this.findTenant(idOrName);
    if (tenant === undefined) throw new TenancyError('not_found', `No tenant '${idOrName}'.`);
    return tenant;
  }

  async listTenants(): Promise<Tenant[]> {
    const rows = await this.#db.all(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY created_at, name`);
    return rows.map((row) => tenantFrom(row));
  }

  /** Replaces a tenant's limits and/or disabled flag (a disabled tenant's keys and tokens are refused). */
  async updateTenant(id: string, change: { limits?: Limits; disabled?: boolean }): Promise<Tenant> {
    const tenant = await this.requireTenant(id);
    if (change.limits !== undefined) {
      await this.#db.run(`UPDATE tenants SET ${LIMIT_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, [...limitValues(change.limits), tenant.id]);
    }
    if (change.disabled !== undefined) await this.#db.run('UPDATE tenants SET disabled = ? WHERE id = ?', [change.disabled ? 1 : 0, tenant.id]);
    return this.requireTenant(tenant.id);
  }

  /** Replaces a key's limits and/or scopes (`null` scopes: all models / routes); the secret stays. */
  async updateKey(id: string, change: { limits?: Limits; models?: readonly string[] | null; routes?: readonly string[] | null }): Promise<ApiKey> {
    const key = await this.requireKey(id);
    if (change.limits !== undefined) {
      await this.#db.run(`UPDATE api_keys SET ${LIMIT_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, [...limitValues(change.limits), key.id]);
    }
    for (const column of ['models', 'routes'] as const) {
      const value = change[column];
      if (value !== undefined) await this.#db.run(`UPDATE api_keys SET ${column} = ? WHERE id = ?`, [value === null ? null : JSON.stringify(value), key.id]);
    }
    return this.requireKey(key.id);
  }

  async createKey(spec: NewKey): Promise<IssuedKey> {
    await this.requireTenant(spec.tenantId);
    const secret = newSecret();
    const record: ApiKey = {
      id: newId('key'),
      tenantId: spec.tenantId,
      prefix: secret.prefix,
      admin: spec.admin === true,
      createdAt: Date.now(),
      limits: spec.limits ?? {},
      ...(spec.name === undefined ? {} : { name: spec.name }),
      ...(spec.models === undefined ? {} : { models: [...spec.models] }),
      ...(spec.routes === undefined ? {} : { routes: [...spec.routes] }),
      ...(spec.expiresAt === undefined ? {} : { expiresAt: spec.expiresAt }),
    };
    await this.#db.run(`INSERT INTO api_keys (id, tenant_id, name, prefix, hash, models, routes, admin, expires_at, created_at, ${LIMIT_COLUMNS.join(', ')})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      record.id,
      record.tenantId,
      record.name ?? null,
      record.prefix,
      secret.hash,
      record.models === undefined ? null : JSON.stringify(record.models),
      record.routes === undefined ? null : JSON.stringify(record.routes),
      record.admin ? 1 : 0,
      record.expiresAt ?? null,
      record.createdAt,
      ...limitValues(spec.limits),
    ]);
    return { record, secret: secret.key };
  }

  async findKey(id: string): Promise<ApiKey | undefined> {
    const row = await this.#db.get(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`, [id]);
    return row === undefined ? undefined : keyFrom(row);
  }

  async requireKey(id: string): Promise<ApiKey> {
    const key = await this.findKey(id);
    if (key === undefined) throw new TenancyError('not_found', `No key '${id}'.`);
    return key;
  }

  async listKeys(tenantId?: string): Promise<ApiKey[]> {
    const rows =
      tenantId === undefined
        ? await this.#db.all(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`)
        : await this.#db.all(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`, [tenantId]);
    return rows.map(keyFrom);
  }

  /** Revokes a key (idempotent: a revoked key keeps its first revocation time). */
  async revokeKey(id: string): Promise<ApiKey> {
    await this.#db.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [Date.now(), id]);
    return this.requireKey(id);
  }

  /**
   * Gives a key a new secret; the old one stops working at once. The id, the
   * scopes and the limits stay, so usage and limits follow the key across rotations.
   */
  async rotateKey(id: string): Promise<IssuedKey> {
    const key = await this.requireKey(id);
    if (!isActive(key)) throw new TenancyError('conflict', `Key '${id}' is revoked or expired; create a new one instead.`);
    const secret = newSecret();
    const rotatedAt = Date.now();
    const { changes } = await this.#db.run('UPDATE api_keys SET hash = ?, prefix = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL', [
      secret.hash,
      secret.prefix,
      rotatedAt,
      id,
    ]);
    if (changes === 0) throw new TenancyError('conflict', `Key '${id}' was revoked meanwhile.`);
    return { record: { ...key, prefix: secret.prefix, rotatedAt }, secret: secret.key };
  }

  /** The key with this hash and its tenant, whatever their state (the caller checks `isActive`). */
  async findByHash(hash: string): Promise<{ key: ApiKey; tenant: Tenant } | undefined> {
    const tenantColumns = TENANT_COLUMNS.split(', ').map((c) => `t.${c} AS t_${c}`).join(', ');
    const keyColumns = KEY_COLUMNS.split(', ').map((c) => `k.${c}`).join(', ');
    const row = await this.#db.get(
      `SELECT ${keyColumns}, ${tenantColumns} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?`,
      [hash],
    );
    if (row === undefined) return undefined;
    return { key: keyFrom(row), tenant: tenantFrom(row, 't_') };
  }

  /** How many keys were ever created, revoked and expired ones included (`auto` mode requires authentication once there is one). */
  async countKeys(): Promise<number> {
    const row = await this.#db.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys');
    return Number(row?.n ?? 0);
  }

  /** How many keys can be used right now. */
  async countActiveKeys(now = Date.now()): Promise<number> {
    const row = await this.#db.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
      [now],
    );
    return Number(row?.n ?? 0);
  }
}
