/**
 * Usage queries and retention on every store backend: totals, breakdowns by
 * time and by name, tenant and key filters, the time range, the short cache;
 * retention deletes only what is past the cut-off, chunk by chunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenancyRepository } from '../../src/tenancy/repository.ts';
import { insertEvents } from '../../src/usage/insert.ts';
import { parseTimeBound, resolveTenantId, UsageQueries } from '../../src/usage/queries.ts';
import { pruneUsage } from '../../src/usage/retention.ts';
import { backends } from '../store/backends.ts';
import { countEvents, ledgerDb, makeEvent } from './helpers.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const day1 = Date.parse('2026-11-01T00:00:00Z');

/** Six events over two days, two tenants, three keys, two models; one refused. */
function sample() {
  return [
    makeEvent({ at: day1 + 1 * HOUR, tenantId: 't_a', tenantName: 'alpha', keyId: 'k_a1', model: 'sonnet', deployment: 'ant/sonnet', inputTokens: 100, outputTokens: 10, costUsd: 0.5 }),
    makeEvent({ at: day1 + 1 * HOUR + 5, tenantId: 't_a', tenantName: 'alpha', keyId: 'k_a2', model: 'sonnet', deployment: 'ant/sonnet', inputTokens: 200, outputTokens: 20, cacheReadTokens: 50, costUsd: 1 }),
    makeEvent({ at: day1 + 3 * HOUR, tenantId: 't_a', tenantName: 'alpha', keyId: 'k_a1', model: 'gpt', deployment: 'oai/gpt', inputTokens: 300, outputTokens: 30, cacheWriteTokens: 5, costUsd: 0.25 }),
    makeEvent({ at: day1 + DAY + 2 * HOUR, tenantId: 't_b', tenantName: 'beta', keyId: 'k_b1', model: 'gpt', deployment: 'oai/gpt', inputTokens: 400, outputTokens: 40, costUsd: 2 }),
    makeEvent({ at: day1 + DAY + 2 * HOUR + 1, tenantId: 't_b', tenantName: 'beta', keyId: 'k_b1', model: null, deployment: null, provider: null, inputTokens: 0, outputTokens: 0, costUsd: 0, status: 429, error: 'SWY_ERR_RATE_LIMITED' }),
    makeEvent({ at: day1 + 2 * DAY, tenantId: 't_a', tenantName: 'alpha', keyId: 'k_a1', model: 'sonnet', inputTokens: 1, outputTokens: 1, costUsd: 9 }),
  ];
}

const twoDays = { from: day1, to: day1 + 2 * DAY };

for (const backend of await backends()) {
  test(`${backend.name}: totals over a time range (from inclusive, to exclusive)`, async (t) => {
    const db = await ledgerDb(t, backend);
    await insertEvents(db, sample());
    const queries = new UsageQueries(db, { cacheMs: 0 });
    const report = await queries.report(twoDays);
    assert.deepEqual(report.totals, { requests: 5, errors: 1, inputTokens: 1000, outputTokens: 100, cacheReadTokens: 50, cacheWriteTokens: 5, costUsd: 3.75 });
    assert.equal(report.from, '2026-11-01T00:00:00.000Z');
    assert.equal(report.to, '2026-11-03T00:00:00.000Z');
    assert.deepEqual(report.rows, []);
  });

  test(`${backend.name}: a time series by day and by hour, in UTC buckets`, async (t) => {
    const db = await ledgerDb(t, backend);
    await insertEvents(db, sample());
    const queries = new UsageQueries(db, { cacheMs: 0 });
    const byDay = await queries.report({ ...twoDays, by: 'day' });
    assert.deepEqual(
      byDay.rows.map((r) => [r.group, r.requests, r.inputTokens, r.costUsd]),
      [
        ['2026-11-01T00:00:00.000Z', 3, 600, 1.75],
        ['2026-11-02T00:00:00.000Z', 2, 400, 2],
      ],
    );
    const byHour = await queries.report({ ...twoDays, by: 'hour', tenantId: 't_a' });
    assert.deepEqual(
      byHour.rows.map((r) => [r.group, r.requests]),
      [
        ['2026-11-01T01:00:00.000Z', 2],
        ['2026-11-01T03:00:00.000Z', 1],
      ],
    );
  });

  test(`${backend.name}: breakdowns by tenant, key, model and deployment, costliest first`, async (t) => {
    const db = await ledgerDb(t, backend);
    await insertEvents(db, sample());
    const queries = new UsageQueries(db, { cacheMs: 0 });
    const byTenant = await queries.report({ ...twoDays, by: 'tenant' });
    assert.deepEqual(
      byTenant.rows.map((r) => [r.group, r.name, r.requests, r.costUsd]),
      [
        ['t_b', 'beta', 2, 2],
        ['t_a', 'alpha', 3, 1.75],
      ],
    );
    const byKey = await queries.report({ ...twoDays, by: 'key', tenantId: 't_a' });
    assert.deepEqual(
      byKey.rows.map((r) => [r.group, r.requests, r.costUsd]),
      [
        ['k_a2', 1, 1],
        ['k_a1', 2, 0.75],
      ],
    );
    const byModel = await queries.report({ ...twoDays, by: 'model' });
    assert.deepEqual(
      byModel.rows.map((r) => [r.group, r.requests, r.errors]),
      [
        ['gpt', 2, 0],
        ['sonnet', 2, 0],
        [null, 1, 1],
      ],
    );
    const byDeployment = await queries.report({ ...twoDays, by: 'deployment', keyId: 'k_a1' });
    assert.deepEqual(
      byDeployment.rows.map((r) => [r.group, r.requests, r.cacheWriteTokens]),
      [
        ['ant/sonnet', 1, 0],
        ['oai/gpt', 1, 5],
      ],
    );
  });

  test(`${backend.name}: answers are cached briefly, and not at all with cacheMs 0`, async (t) => {
    const db = await ledgerDb(t, backend);
    await insertEvents(db, sample());
    const cached = new UsageQueries(db, { cacheMs: 60_000 });
    const uncached = new UsageQueries(db, { cacheMs: 0 });
    assert.equal((await cached.report(twoDays)).totals.requests, 5);
    await insertEvents(db, [makeEvent({ at: day1 + 5 * HOUR, tenantId: 't_a' })]);
    assert.equal((await cached.report(twoDays)).totals.requests, 5, 'the cached answer');
    assert.equal((await uncached.report(twoDays)).totals.requests, 6);
    assert.equal((await cached.report({ ...twoDays, tenantId: 't_a' })).totals.requests, 4, 'another query is not served from the cache');
  });

  test(`${backend.name}: retention deletes events older than the cut-off in chunks, with progress`, async (t) => {
    const db = await ledgerDb(t, backend);
    const now = Date.now();
    const old = Array.from({ length: 23 }, (_, i) => makeEvent({ at: now - 40 * DAY - i }));
    const recent = Array.from({ length: 5 }, () => makeEvent({ at: now - DAY }));
    await insertEvents(db, [...old, ...recent]);
    const progress: Array<[number, number]> = [];
    const deleted = await pruneUsage(db, { before: now - 30 * DAY, chunkSize: 5, pauseMs: 0, onProgress: (p) => progress.push([p.deleted, p.total]) });
    assert.equal(deleted, 23);
    assert.equal(await countEvents(db), 5);
    assert.deepEqual(progress, [
      [0, 23],
      [5, 23],
      [10, 23],
      [15, 23],
      [20, 23],
      [23, 23],
    ]);
    assert.equal(await pruneUsage(db, { before: now - 30 * DAY }), 0);
  });

  test(`${backend.name}: a tenant given by name resolves to its id; anything else is taken as an id`, async (t) => {
    const db = await ledgerDb(t, backend);
    assert.equal(await resolveTenantId(db, 'acme'), 'acme', 'no such tenant: the value is the id');
    const acme = await new TenancyRepository(db).createTenant('acme');
    assert.equal(await resolveTenantId(db, 'acme'), acme.id);
    assert.equal(await resolveTenantId(db, acme.id), acme.id);
  });
}

test('time bounds: dates, times and epoch milliseconds; a bare end date includes its day', () => {
  assert.equal(parseTimeBound('2026-11-01', false), day1);
  assert.equal(parseTimeBound('2026-11-01', true), day1 + DAY);
  assert.equal(parseTimeBound('2026-11-01T05:00:00Z', true), day1 + 5 * HOUR);
  assert.equal(parseTimeBound(String(day1), false), day1);
  assert.equal(parseTimeBound(undefined, false), undefined);
  assert.equal(parseTimeBound(' ', true), undefined);
  assert.throws(() => parseTimeBound('yesterday', false), /not a time/);
});
