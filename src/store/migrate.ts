/**
 * Versioned schema migrations, shared by every repository. Each migration is
 * applied once, in its own transaction, in id order, and recorded in
 * `schema_migrations`. Several instances may start at once: PostgreSQL takes
 * an advisory lock per migration, SQLite's write lock does the same.
 */
import type { Db } from './db.ts';

export interface Migration {
  /** Unique and increasing; never renumber one that has shipped. */
  readonly id: number;
  readonly name: string;
  /** Statements for each dialect, run in order. */
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

export interface MigrateProgress {
  readonly migration: Migration;
  readonly index: number;
  readonly total: number;
}

/** Applies the migrations not yet applied; returns the names of those it applied. */
export async function migrate(db: Db, migrations: readonly Migration[], onProgress?: (progress: MigrateProgress) => void): Promise<string[]> {
  const ids = new Set<number>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`Two migrations share id ${m.id}.`);
    ids.add(m.id);
  }
  await ensureMigrationsTable(db);
  const ordered = [...migrations].sort((a, b) => a.id - b.id);
  const applied: string[] = [];
  for (const [index, migration] of ordered.entries()) {
    const didApply = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(?)', [0x5717_0000 + migration.id]);
      const done = await tx.get('SELECT id FROM schema_migrations WHERE id = ?', [migration.id]);
      if (done !== undefined) return false;
      onProgress?.({ migration, index, total: ordered.length });
      for (const statement of tx.dialect === 'sqlite' ? migration.sqlite : migration.postgres) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [migration.id, migration.name, Date.now()]);
      return true;
    });
    if (didApply) applied.push(`${migration.id}-${migration.name}`);
  }
  return applied;
}

/**
 * Two instances starting at once on PostgreSQL would both pass IF NOT EXISTS
 * and one would fail on the catalog's unique index: the lock makes them take turns.
 */
async function ensureMigrationsTable(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(?)', [0x5717_0000]);
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  });
}

/** The ids already applied, in order. */
export async function appliedMigrations(db: Db): Promise<number[]> {
  await ensureMigrationsTable(db);
  const rows = await db.all<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
  return rows.map((r) => Number(r.id));
}
