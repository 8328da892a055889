/**
 * The one small SQL interface every store backend speaks: SQLite through
 * `node:sqlite` (the embedded default) and PostgreSQL through a `pg` pool.
 * Repositories (tenants and keys, the usage ledger) write plain SQL with `?`
 * placeholders in both dialects and branch on `dialect` only where the SQL differs.
 *
 * Conventions both dialects share: times are epoch milliseconds in BIGINT/INTEGER
 * columns, booleans are 0/1 integers, ids are text. PostgreSQL BIGINT and
 * NUMERIC come back as JS numbers, as they do from SQLite.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';
export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, unknown>;

export interface Db {
  readonly dialect: Dialect;
  /** Where it points, with any password masked: safe to log. */
  readonly description: string;
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * SQLite only: runs one statement once per row of parameters, all in one
   * transaction, synchronously (no promise per row); returns the rows changed.
   */
  runEach?(sql: string, rows: ReadonlyArray<readonly SqlValue[]>): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_STORE_URL = 'sqlite:./data/switchyard.db';

/** The store URL: the config's, else DATABASE_URL, else the embedded SQLite file. */
export function resolveStoreUrl(configured: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return configured ?? (env.DATABASE_URL || DEFAULT_STORE_URL);
}

export interface OpenDbOptions {
  /** PostgreSQL: the schema to use (created if missing); also read from the URL's `?schema=` parameter. */
  schema?: string;
  /** PostgreSQL: pool size. */
  maxConnections?: number;
}

/** Opens `sqlite:PATH` (`sqlite::memory:` for a throwaway database) or a `postgres://` URL. */
export async function openDb(url: string, options: OpenDbOptions = {}): Promise<Db> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, options);
  throw new Error(`Unsupported store URL '${maskUrl(url)}': use sqlite:PATH or postgres://…`);
}

export function maskUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@/]*)@/, '//$1:***@');
}

// ---------------------------------------------------------------------------
// SQLite

function openSqlite(path: string): Db {
  const memory = path === ':memory:' || path === '';
  const file = memory ? ':memory:' : resolve(path);
  if (!memory) mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  // WAL lets readers (usage queries) run beside the ledger's writer; NORMAL sync
  // is durable across a process crash, which is what the ledger promises.
  // The busy timeout comes first: several processes share one file (the workers of
  // `start --workers N`, the CLI), and switching a new file to WAL takes a lock too.
  // A wait blocks this process's event loop, for as long as another's batch holds the lock (milliseconds).
  db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  return new SqliteDb(db, memory ? 'sqlite::memory:' : `sqlite:${file}`);
}

/**
 * One synchronous connection. While a transaction awaits between statements,
 * statements from other requests wait for it to end: otherwise they would run
 * inside it and commit or roll back with it.
 */
class SqliteDb implements Db {
  readonly dialect = 'sqlite';
  readonly description: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #busy: Promise<void> | undefined;

  constructor(db: DatabaseSync, description: string) {
    this.#db = db;
    this.description = description;
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all<T>(sql: string, params: readonly SqlValue[]): T[] {
    return this.#statement(sql).all(...params) as T[];
  }

  #run(sql: string, params: readonly SqlValue[]): { changes: number } {
    return { changes: Number(this.#statement(sql).run(...params).changes) };
  }

  // Each method checks for an open transaction in the same synchronous step
  // that runs its statement: a check followed by an await would race.
  async all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    while (this.#busy !== undefined) await this.#busy;
    return this.#all<T>(sql, params);
  }

  async get<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    while (this.#busy !== undefined) await this.#busy;
    return this.#run(sql, params);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    while (this.#busy !== undefined) await this.#busy;
    let done!: () => void;
    this.#busy = new Promise((resolve) => (done = resolve));
    const tx: Db = {
      dialect: 'sqlite',
      description: this.description,
      all: async <R>(sql: string, params: readonly SqlValue[] = []) => this.#all<R>(sql, params),
      get: async <R>(sql: string, params: readonly SqlValue[] = []) => this.#all<R>(sql, params)[0],
      run: async (sql: string, params: readonly SqlValue[] = []) => this.#run(sql, params),
      transaction: () => Promise.reject(new Error('nested transactions are not supported')),
      close: () => Promise.reject(new Error('close the store, not a transaction')),
    };
    try {
      // IMMEDIATE takes the write lock up front, so two processes on one file
      // wait for each other (busy_timeout) instead of failing on upgrade.
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.#busy = undefined;
      done();
    }
  }

  async runEach(sql: string, rows: ReadonlyArray<readonly SqlValue[]>): Promise<number> {
    while (this.#busy !== undefined) await this.#busy;
    const statement = this.#statement(sql);
    // Nothing awaits between BEGIN and COMMIT: no other call can interleave.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      let changes = 0;
      for (const params of rows) changes += Number(statement.run(...params).changes);
      this.#db.exec('COMMIT');
      return changes;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    while (this.#busy !== undefined) await this.#busy;
    if (this.#db.isOpen) this.#db.close();
  }
}

// ---------------------------------------------------------------------------
// PostgreSQL

/** BIGINT (20) and NUMERIC (1700) as numbers: counts and epoch milliseconds fit, and both dialects then agree. */
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

async function openPostgres(url: string, options: OpenDbOptions): Promise<Db> {
  const parsed = new URL(url);
  const schema = options.schema ?? parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/i.test(schema)) throw new Error(`Invalid PostgreSQL schema name '${schema}'.`);
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: options.maxConnections ?? 10,
    types: pgTypes,
    // Every connection works in the schema, so repositories write unqualified names.
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // A broken idle connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  if (schema !== undefined) {
    // Two instances starting at once both pass IF NOT EXISTS; the loser's duplicate error means the schema is there.
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((err: { code?: string }) => {
      if (err.code !== '23505' && err.code !== '42P06') throw err;
    });
  }
  else await pool.query('SELECT 1');
  return new PostgresDb(pool, maskUrl(url));
}

const placeholderCache = new Map<string, string>();

/** `?` → `$1, $2, …`, outside quoted strings; cached per statement text. */
export function toPostgresPlaceholders(sql: string): string {
  let converted = placeholderCache.get(sql);
  if (converted !== undefined) return converted;
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  converted = out;
  if (placeholderCache.size < 10_000) placeholderCache.set(sql, converted);
  return converted;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

class PostgresDb implements Db {
  readonly dialect = 'postgres';
  readonly description: string;
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool, description: string) {
    this.#pool = pool;
    this.description = description;
  }

  static async all<T>(on: Queryable, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    const result = await on.query(toPostgresPlaceholders(sql), params as unknown[]);
    return result.rows as T[];
  }

  static async run(on: Queryable, sql: string, params: readonly SqlValue[]): Promise<{ changes: number }> {
    const result = await on.query(toPostgresPlaceholders(sql), params as unknown[]);
    return { changes: result.rowCount ?? 0 };
  }

  all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return PostgresDb.all<T>(this.#pool, sql, params);
  }

  async get<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return PostgresDb.run(this.#pool, sql, params);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx: Db = {
      dialect: 'postgres',
      description: this.description,
      all: <R>(sql: string, params: readonly SqlValue[] = []) => PostgresDb.all<R>(client, sql, params),
      get: async <R>(sql: string, params: readonly SqlValue[] = []) => (await PostgresDb.all<R>(client, sql, params))[0],
      run: (sql: string, params: readonly SqlValue[] = []) => PostgresDb.run(client, sql, params),
      transaction: () => Promise.reject(new Error('nested transactions are not supported')),
      close: () => Promise.reject(new Error('close the store, not a transaction')),
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
