/**
 * Retention: deletes usage events older than a cut-off in small chunks, each
 * its own short statement, so the batch writer's transactions run between
 * them and are never held up for long.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../store/db.ts';

export interface PruneProgress {
  readonly deleted: number;
  /** How many events were older than the cut-off when pruning began. */
  readonly total: number;
}

export interface PruneOptions {
  /** Events with `at` before this (epoch ms) are deleted. */
  readonly before: number;
  readonly chunkSize?: number;
  /** Pause between chunks, so writers get the database in between. */
  readonly pauseMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PruneProgress) => void;
}

const DELETE_CHUNK = 'DELETE FROM usage_events WHERE id IN (SELECT id FROM usage_events WHERE at < ? ORDER BY at LIMIT ?)';

/** Deletes events older than `before`; returns how many. Stops early (between chunks) when `signal` aborts. */
export async function pruneUsage(db: Db, options: PruneOptions): Promise<number> {
  const chunkSize = options.chunkSize ?? 5000;
  const row = await db.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM usage_events WHERE at < ?', [options.before]);
  const total = Number(row?.n ?? 0);
  let deleted = 0;
  options.onProgress?.({ deleted, total });
  // Bounded: never more rounds than the chunks counted at the start, plus one for rows that arrive late.
  for (let round = 0; round <= Math.ceil(total / chunkSize) && !options.signal?.aborted; round++) {
    const { changes } = await db.run(DELETE_CHUNK, [options.before, chunkSize]);
    deleted += changes;
    options.onProgress?.({ deleted, total: Math.max(total, deleted) });
    if (changes < chunkSize) break;
    await sleep(options.pauseMs ?? 5, undefined, { signal: options.signal }).catch(() => {});
  }
  return deleted;
}

/** The cut-off for keeping `days` days, from `now`. */
export function retentionCutoff(days: number, now = Date.now()): number {
  return now - days * 86_400_000;
}
