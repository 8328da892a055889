/**
 * The gateway's store: the configured database, migrated to the current
 * schema before anything uses it.
 */
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { openDb, resolveStoreUrl, type Db } from './db.ts';
import { migrate } from './migrate.ts';
import { migrations } from './migrations/index.ts';

export type { Db } from './db.ts';

export async function openStore(config: Config, logger: Logger, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Db> {
  const db = await openDb(resolveStoreUrl(config.store.url, env));
  try {
    const applied = await migrate(db, migrations, ({ migration, index, total }) =>
      logger.info({ store: db.description, migration: migration.name, step: `${index + 1}/${total}` }, 'applying a store migration'),
    );
    logger.info({ store: db.description, applied: applied.length }, 'store ready');
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
