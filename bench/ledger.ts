/**
 * The usage ledger's write throughput (issue 4: 20,000 events per second
 * sustained into SQLite and into PostgreSQL). For each backend, one producer
 * queues events as fast as the writer's backpressure lets it (push while there
 * is room, else wait for room, as the gateway's admit hook does) for a fixed
 * time; the writer batches them into transactions with the gateway's defaults.
 * Reports events written per second, batches, flush time, and checks that
 * every event produced is in the table exactly once.
 *
 *   npm run bench:ledger [-- --seconds S] [--batch N] [--backends sqlite,postgres]
 *
 * SQLite is a file in a temporary directory (WAL, as the gateway opens it);
 * PostgreSQL is DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 * in a schema of its own, dropped at the end. Bounded: each backend runs for
 * `--seconds`, plus the final flush.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { flagsOrExit, numberFlag } from './lib/harness.ts';
import { createLogger } from '../src/observability/logger.ts';
import { openDb, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { migrations } from '../src/store/migrations/index.ts';
import { eventIdGenerator, type UsageEvent } from '../src/usage/event.ts';
import { UsageWriter } from '../src/usage/writer.ts';

const GOAL = 20_000;
const usage = `Usage: npm run bench:ledger -- [options]     (or: node bench/ledger.ts [options])

  --seconds S          how long events are produced per backend (default 10, at most 120)
  --batch N            events per transaction (default 1000, as the gateway)
  --max-queue N        queue bound before producers wait (default 100000)
  --backends a,b       sqlite, postgres (default both; PostgreSQL is DATABASE_URL)
  -h, --help
`;
const { seconds, batchSize, maxQueue, backends } = flagsOrExit(usage, () => {
  const { values } = parseArgs({
    strict: true,
    options: {
      seconds: { type: 'string' },
      batch: { type: 'string' },
      'max-queue': { type: 'string' },
      backends: { type: 'string', default: 'sqlite,postgres' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const backends = values.backends.split(',').map((b) => b.trim());
  for (const b of backends) if (b !== 'sqlite' && b !== 'postgres') throw new Error(`--backends: unknown backend '${b}' (sqlite, postgres)`);
  return {
    help: values.help,
    seconds: numberFlag('seconds', values.seconds, 10, { max: 120 }),
    batchSize: numberFlag('batch', values.batch, 1000, { max: 50_000, integer: true }),
    maxQueue: numberFlag('max-queue', values['max-queue'], 100_000, { max: 10_000_000, integer: true }),
    backends,
  };
});
const log = (line: string): void => void process.stdout.write(`${line}\n`);

interface Result {
  backend: string;
  produced: number;
  written: number;
  inTable: number;
  seconds: number;
  eventsPerSecond: number;
  batches: number;
  lastFlushMs: number;
  waitedForRoom: number;
}

function event(id: string, i: number): UsageEvent {
  return {
    id,
    at: Date.now(),
    tenantId: `t_${i % 50}`,
    tenantName: `tenant-${i % 50}`,
    keyId: `k_${i % 500}`,
    surface: i % 2 === 0 ? 'anthropic' : 'openai',
    stream: i % 3 === 0,
    rule: 'default',
    model: i % 2 === 0 ? 'sonnet' : 'gpt-4o',
    deployment: i % 2 === 0 ? 'anthropic/claude-sonnet-4-5' : 'openai/gpt-4o',
    provider: i % 2 === 0 ? 'anthropic' : 'openai',
    inputTokens: 1000 + (i % 977),
    outputTokens: 200 + (i % 311),
    cacheReadTokens: i % 5 === 0 ? 800 : 0,
    cacheWriteTokens: 0,
    costUsd: 0.004512,
    latencyMs: 812.25,
    ttftMs: 143.5,
    status: i % 50 === 0 ? 429 : 200,
    error: i % 50 === 0 ? 'SWY_ERR_RATE_LIMITED' : null,
    attempts: 1,
    clientAborted: false,
    requestId: `req_${i.toString(36)}`,
  };
}

async function measure(backend: string, db: Db): Promise<Result> {
  await migrate(db, migrations);
  const logger = createLogger({ level: 'warn' });
  const writer = new UsageWriter(db, { batchSize, flushIntervalMs: 1000, maxQueue, logger });
  const nextId = eventIdGenerator(randomBytes(6).toString('base64url'));
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  let produced = 0;
  let waited = 0;
  // Produce in slices of 500 and yield, as requests arrive between the writer's batches.
  while (performance.now() < stopAt) {
    if (!writer.hasRoom()) {
      waited++;
      await writer.waitForRoom(5000);
      continue;
    }
    for (let i = 0; i < 500; i++) writer.push(event(nextId(), produced++));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.close(60_000);
  const elapsed = (performance.now() - started) / 1000;
  const stats = writer.stats();
  const row = await db.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM usage_events');
  return {
    backend,
    produced,
    written: stats.written,
    inTable: Number(row?.n ?? 0),
    seconds: Math.round(elapsed * 10) / 10,
    eventsPerSecond: Math.round(stats.written / elapsed),
    batches: stats.batches,
    lastFlushMs: Math.round(stats.lastFlushMs * 10) / 10,
    waitedForRoom: waited,
  };
}

async function runSqlite(): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'swy-bench-ledger-'));
  const db = await openDb(`sqlite:${join(dir, 'ledger.db')}`);
  try {
    return await measure('sqlite (file, WAL)', db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(): Promise<Result> {
  const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `swy_bench_${randomBytes(4).toString('hex')}`;
  const db = await openDb(base, { schema });
  try {
    return await measure('postgres', db);
  } finally {
    await db.run(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await db.close();
  }
}

const results: Result[] = [];
for (const backend of backends) {
  log(`${backend}: producing for ${seconds} s (batch ${batchSize}, queue bound ${maxQueue})…`);
  const result = backend === 'postgres' ? await runPostgres() : await runSqlite();
  results.push(result);
  const ok = result.inTable === result.produced && result.written === result.produced;
  log(
    `  ${result.eventsPerSecond.toLocaleString('en-US')} events/s  (${result.written.toLocaleString('en-US')} in ${result.seconds} s, ` +
      `${result.batches} batches, last flush ${result.lastFlushMs} ms, waited for room ${result.waitedForRoom}×)  ` +
      `${result.eventsPerSecond >= GOAL ? 'meets' : 'BELOW'} the ${GOAL.toLocaleString('en-US')}/s goal; ` +
      `${ok ? 'every event in the table once' : `!!! produced ${result.produced}, written ${result.written}, in table ${result.inTable}`}`,
  );
}
log(JSON.stringify({ bench: 'ledger', batchSize, maxQueue, seconds, results }));
