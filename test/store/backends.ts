/**
 * The store backends a contract test runs against: SQLite always (a temp
 * file), PostgreSQL when reachable, each in its own schema so concurrent
 * test runs never see each other. Under CI=true PostgreSQL must be there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { openDb, type Db } from '../../src/store/db.ts';

export const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

let postgresReachable: Promise<boolean> | undefined;

/** True when PostgreSQL answers; under CI=true a missing server throws instead of skipping. */
export function postgresAvailable(): Promise<boolean> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      if (process.env.CI === 'true') throw new Error(`CI=true but PostgreSQL is not reachable at ${POSTGRES_URL}: ${(err as Error).message}`);
      console.warn(`\n!!! PostgreSQL not reachable at ${POSTGRES_URL}: PostgreSQL tests are SKIPPED (${(err as Error).message}) !!!\n`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresReachable;
}

/** A fresh, unique PostgreSQL URL (`?schema=`) whose schema is dropped after the test. */
export function freshPostgresUrl(t: TestContext): string {
  const schema = `swy_test_${randomBytes(6).toString('hex')}`;
  t.after(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** A fresh SQLite file URL in a temp directory removed after the test. */
export function freshSqliteUrl(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'swy-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'switchyard.db')}`;
}

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty store URL of this backend, cleaned up after the test. */
  url(t: TestContext): string;
}

/** The backends to run a contract suite against (PostgreSQL only when available). */
export async function backends(): Promise<Backend[]> {
  const list: Backend[] = [{ name: 'sqlite', url: freshSqliteUrl }];
  if (await postgresAvailable()) list.push({ name: 'postgres', url: freshPostgresUrl });
  return list;
}

/** Opens a fresh store of `backend`, closed after the test. */
export async function freshDb(t: TestContext, backend: Backend): Promise<Db> {
  const db = await openDb(backend.url(t));
  t.after(() => db.close());
  return db;
}
