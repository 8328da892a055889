/**
 * The batch writer's contract on every store backend: batches by size and by
 * interval, one transaction each, everything written on close, a retried
 * batch lands once (PostgreSQL), a failing store keeps events queued (retried, logged,
 * counted) and holds new requests back instead of dropping anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertEvents } from '../../src/usage/insert.ts';
import { UsageWriter } from '../../src/usage/writer.ts';
import { backends } from '../store/backends.ts';
import { captureLogger, countEvents, ledgerDb, makeEvent, waitFor } from './helpers.ts';

for (const backend of await backends()) {
  test(`${backend.name}: full batches are written at once, in batches of at most batchSize`, async (t) => {
    const db = await ledgerDb(t, backend);
    const { logger } = captureLogger();
    const writer = new UsageWriter(db, { batchSize: 50, flushIntervalMs: 60_000, maxQueue: 10_000, logger });
    t.after(() => writer.close());
    for (let i = 0; i < 120; i++) writer.push(makeEvent());
    // Two full batches go without waiting for the (one-minute) interval.
    await waitFor(async () => (await countEvents(db)) >= 100, 5000, '100 events written');
    await writer.flush();
    assert.equal(await countEvents(db), 120);
    const stats = writer.stats();
    assert.equal(stats.written, 120);
    assert.equal(stats.queued, 0);
    assert.equal(stats.lagMs, 0);
    assert.ok(stats.batches >= 3, `at least 3 batches, got ${stats.batches}`);
    assert.ok(stats.lastBatchSize <= 50);
  });

  test(`${backend.name}: a partial batch is written after the flush interval`, async (t) => {
    const db = await ledgerDb(t, backend);
    const { logger } = captureLogger();
    const writer = new UsageWriter(db, { batchSize: 1000, flushIntervalMs: 50, maxQueue: 10_000, logger });
    t.after(() => writer.close());
    writer.push(makeEvent());
    writer.push(makeEvent());
    assert.equal(writer.stats().queued, 2);
    await waitFor(async () => (await countEvents(db)) === 2, 5000, 'the interval flush');
    assert.equal(writer.stats().lastBatchSize, 2);
  });

  test(`${backend.name}: every field of an event is stored as given`, async (t) => {
    const db = await ledgerDb(t, backend);
    const event = makeEvent({ tenantId: null, tenantName: null, keyId: null, ttftMs: null, error: 'SWY_ERR_UNAUTHORIZED', status: 401, stream: true, clientAborted: true, cacheReadTokens: 7, cacheWriteTokens: 9, costUsd: 0.125 });
    assert.equal(await insertEvents(db, [event]), 1);
    const row = await db.get<Record<string, unknown>>('SELECT * FROM usage_events WHERE id = ?', [event.id]);
    assert.deepEqual(
      { ...row },
      {
        id: event.id,
        at: event.at,
        tenant_id: null,
        tenant_name: null,
        key_id: null,
        surface: 'anthropic',
        stream: 1,
        rule: 'default',
        model: 'sonnet',
        deployment: 'ant/claude-sonnet',
        provider: 'ant',
        input_tokens: 10,
        output_tokens: 20,
        cache_read_tokens: 7,
        cache_write_tokens: 9,
        cost_usd: 0.125,
        latency_ms: 12.5,
        ttft_ms: null,
        status: 401,
        error: 'SWY_ERR_UNAUTHORIZED',
        attempts: 1,
        client_aborted: 1,
        request_id: event.requestId,
      },
    );
  });

  // A SQLite commit is never ambiguous (no connection to lose it on), so only PostgreSQL needs this.
  if (backend.name === 'postgres') test(`${backend.name}: a batch written twice (a retry after a lost commit) lands once`, async (t) => {
    const db = await ledgerDb(t, backend);
    const batch = Array.from({ length: 30 }, () => makeEvent());
    assert.equal(await insertEvents(db, batch), 30);
    assert.equal(await insertEvents(db, [...batch, makeEvent()]), 1);
    assert.equal(await countEvents(db), 31);
  });

  test(`${backend.name}: close writes every queued event`, async (t) => {
    const db = await ledgerDb(t, backend);
    const { logger } = captureLogger();
    const writer = new UsageWriter(db, { batchSize: 100, flushIntervalMs: 60_000, maxQueue: 100_000, logger });
    for (let i = 0; i < 1234; i++) writer.push(makeEvent());
    assert.equal(await writer.close(), 0);
    assert.equal(await countEvents(db), 1234);
    assert.equal(writer.stats().written, 1234);
  });

  test(`${backend.name}: while the store fails, events stay queued, are retried, logged and counted, and new requests are held back`, async (t) => {
    const db = await ledgerDb(t, backend);
    const { logger, lines } = captureLogger();
    const writer = new UsageWriter(db, { batchSize: 10, flushIntervalMs: 20, maxQueue: 25, logger, retryMinMs: 10, retryMaxMs: 40 });
    t.after(() => writer.close(0));
    // The table disappears (a dropped schema, a broken migration, a read-only file).
    await db.run('ALTER TABLE usage_events RENAME TO usage_events_away');
    for (let i = 0; i < 30; i++) writer.push(makeEvent());
    await waitFor(() => writer.stats().failures >= 3, 5000, 'three failed attempts');
    const failing = writer.stats();
    assert.equal(failing.queued, 30, 'nothing is dropped');
    assert.ok(failing.failingFor >= 3);
    assert.ok(failing.lagMs >= 0);
    assert.ok(lines.some((l) => l.level === 50 && String(l.msg).includes('writing a batch failed')), 'the failure is logged as an error');

    // The queue is over its bound: a new request waits, and gives up when no room comes.
    assert.equal(writer.hasRoom(), false);
    assert.equal(await writer.waitForRoom(30), false);
    const waiting = writer.waitForRoom(5000);
    assert.equal(writer.stats().waiting, 1);

    await db.run('ALTER TABLE usage_events_away RENAME TO usage_events');
    assert.equal(await waiting, true, 'room comes once the store is back');
    await writer.flush();
    assert.equal(await countEvents(db), 30);
    const recovered = writer.stats();
    assert.equal(recovered.written, 30);
    assert.equal(recovered.failingFor, 0);
    assert.ok(lines.some((l) => String(l.msg).includes('accepts writes again')));
  });

  test(`${backend.name}: close gives up on a dead store only after its deadline, and reports what it could not write`, async (t) => {
    const db = await ledgerDb(t, backend);
    const { logger, lines } = captureLogger();
    const writer = new UsageWriter(db, { batchSize: 10, flushIntervalMs: 60_000, maxQueue: 100, logger, retryMinMs: 10, retryMaxMs: 20 });
    await db.run('ALTER TABLE usage_events RENAME TO usage_events_away');
    for (let i = 0; i < 15; i++) writer.push(makeEvent());
    const started = Date.now();
    assert.equal(await writer.close(200), 15);
    assert.ok(Date.now() - started >= 150, 'it kept retrying until the deadline');
    const report = lines.find((l) => String(l.msg).includes('NOT written'));
    assert.equal(report?.unwritten, 15);
  });
}
