/** Shared pieces of the usage ledger tests: events, a migrated store per backend, a log capture. */
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import type { Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import type { UsageEvent } from '../../src/usage/event.ts';
import { freshDb, type Backend } from '../store/backends.ts';

let counter = 0;

export function makeEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  const n = ++counter;
  return {
    id: `test-${process.pid}-${n}`,
    at: Date.now(),
    tenantId: 't_acme',
    tenantName: 'acme',
    keyId: 'k_1',
    surface: 'anthropic',
    stream: false,
    rule: 'default',
    model: 'sonnet',
    deployment: 'ant/claude-sonnet',
    provider: 'ant',
    inputTokens: 10,
    outputTokens: 20,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0.001,
    latencyMs: 12.5,
    ttftMs: 3.25,
    status: 200,
    error: null,
    attempts: 1,
    clientAborted: false,
    requestId: `req-${n}`,
    ...overrides,
  };
}

export async function ledgerDb(t: TestContext, backend: Backend): Promise<Db> {
  const db = await freshDb(t, backend);
  await migrate(db, migrations);
  return db;
}

export async function countEvents(db: Db, where = '1 = 1', params: Array<string | number> = []): Promise<number> {
  const row = await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM usage_events WHERE ${where}`, params);
  return Number(row?.n ?? 0);
}

export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
