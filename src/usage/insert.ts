/**
 * Writes one batch of usage events in one transaction. SQLite: one prepared
 * INSERT run per row inside the transaction (node:sqlite is synchronous, so a
 * row costs microseconds). PostgreSQL: one multi-row INSERT that reads the
 * whole batch from a single JSON parameter (`json_populate_recordset`), so a
 * batch is one round trip, and that skips ids already written: a batch retried
 * after a commit whose answer was lost (a dropped connection) lands once.
 */
import type { Db, SqlValue } from '../store/db.ts';
import type { UsageEvent } from './event.ts';

const COLUMNS = [
  'id',
  'at',
  'tenant_id',
  'tenant_name',
  'key_id',
  'surface',
  'stream',
  'rule',
  'model',
  'deployment',
  'provider',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_usd',
  'latency_ms',
  'ttft_ms',
  'status',
  'error',
  'attempts',
  'client_aborted',
  'request_id',
] as const;

const COLUMN_LIST = COLUMNS.join(', ');

const SQLITE_INSERT = `INSERT INTO usage_events (${COLUMN_LIST}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

const POSTGRES_INSERT =
  `INSERT INTO usage_events (${COLUMN_LIST}) ` +
  `SELECT ${COLUMN_LIST} FROM json_populate_recordset(NULL::usage_events, ?::json) ON CONFLICT (id) DO NOTHING`;

function rowOf(e: UsageEvent): SqlValue[] {
  return [
    e.id,
    e.at,
    e.tenantId,
    e.tenantName,
    e.keyId,
    e.surface,
    e.stream ? 1 : 0,
    e.rule,
    e.model,
    e.deployment,
    e.provider,
    e.inputTokens,
    e.outputTokens,
    e.cacheReadTokens,
    e.cacheWriteTokens,
    e.costUsd,
    e.latencyMs,
    e.ttftMs,
    e.status,
    e.error,
    e.attempts,
    e.clientAborted ? 1 : 0,
    e.requestId,
  ];
}

/** JSON keys are the column names, which `json_populate_recordset` maps onto the table's row type. */
function jsonRows(events: readonly UsageEvent[]): string {
  const rows = events.map((e) => ({
    id: e.id,
    at: e.at,
    tenant_id: e.tenantId,
    tenant_name: e.tenantName,
    key_id: e.keyId,
    surface: e.surface,
    stream: e.stream ? 1 : 0,
    rule: e.rule,
    model: e.model,
    deployment: e.deployment,
    provider: e.provider,
    input_tokens: e.inputTokens,
    output_tokens: e.outputTokens,
    cache_read_tokens: e.cacheReadTokens,
    cache_write_tokens: e.cacheWriteTokens,
    cost_usd: e.costUsd,
    latency_ms: e.latencyMs,
    ttft_ms: e.ttftMs,
    status: e.status,
    error: e.error,
    attempts: e.attempts,
    client_aborted: e.clientAborted ? 1 : 0,
    request_id: e.requestId,
  }));
  return JSON.stringify(rows);
}

/** Writes `events` in one transaction; returns how many rows were new. */
export async function insertEvents(db: Db, events: readonly UsageEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  if (db.dialect === 'postgres') {
    // One statement is one implicit transaction: the batch commits or fails whole.
    return (await db.run(POSTGRES_INSERT, [jsonRows(events)])).changes;
  }
  // node:sqlite is synchronous: the whole batch runs in one step, one transaction, no promise per row.
  if (db.runEach !== undefined) return db.runEach(SQLITE_INSERT, events.map(rowOf));
  return db.transaction(async (tx) => {
    let written = 0;
    for (const e of events) written += (await tx.run(SQLITE_INSERT, rowOf(e))).changes;
    return written;
  });
}
