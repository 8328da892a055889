/**
 * The usage ledger end to end: requests through a real gateway (and the mock
 * provider) become usage events with the tokens the client was told, the
 * cost, the status it got and who it was (real tenants and keys); a close
 * writes every event; a failing store keeps events queued, says so, and holds
 * new requests back; two gateways on one PostgreSQL write every event exactly
 * once; the admin endpoint answers, and a tenant's admin sees only its tenant.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/index.ts';
import { startMockProvider, type MockProvider } from '../../src/mock/server.ts';
import type { GatewayExtension } from '../../src/pipeline/hooks.ts';
import { startGateway, type ExtensionContext, type Gateway } from '../../src/server/gateway.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { TenancyRepository } from '../../src/tenancy/repository.ts';
import { USAGE_EXTENSION_NAME, type UsageLedger } from '../../src/usage/extension.ts';
import { freshPostgresUrl, freshSqliteUrl, postgresAvailable } from '../store/backends.ts';
import { captureLogger, countEvents, waitFor } from '../usage/helpers.ts';
import { postJson } from './stack.ts';

const ADMIN_KEY = 'admin-secret-for-usage-tests';

function yaml(mockUrl: string, storeUrl: string, usage = ''): string {
  return `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: oai, protocol: openai, baseUrl: "${mockUrl}/v1", apiKey: "sk-oai" }
  - { name: ant, protocol: anthropic, baseUrl: "${mockUrl}", apiKey: "sk-ant" }
  - { name: bad, protocol: anthropic, baseUrl: "${mockUrl}", apiKey: "sk-bad", headers: { "x-mock-fault": "status:400" } }
models:
  - { name: gpt-mock, deployments: [ { provider: oai, model: upstream-gpt } ] }
  - { name: claude-mock, deployments: [ { provider: ant, model: upstream-claude } ] }
  - { name: bad-mock, deployments: [ { provider: bad, model: upstream-bad } ] }
routes: { default: claude-mock }
store: { url: "${storeUrl}" }
admin: { apiKeys: ["${ADMIN_KEY}"] }
pricing: { models: { upstream-claude: { input: 3, output: 15 }, upstream-gpt: { input: 2, output: 8 } } }
usage: { ${usage} }
`;
}

/** A test extension that hands the test the gateway's own store. */
function storeHandle(onStore: (db: Db) => void) {
  return async (context: ExtensionContext): Promise<GatewayExtension> => {
    onStore(await context.store());
    return { name: 'test-store-handle' };
  };
}

/** Two tenants with a key each, and an admin key for the first; created before the gateway starts (auth then requires keys). */
async function seedTenants(storeUrl: string) {
  const db = await openDb(storeUrl);
  try {
    await migrate(db, migrations);
    const repo = new TenancyRepository(db);
    const acme = await repo.createTenant('acme');
    const bolt = await repo.createTenant('bolt');
    const acmeKey = await repo.createKey({ tenantId: acme.id, name: 'acme-app' });
    const boltKey = await repo.createKey({ tenantId: bolt.id, name: 'bolt-app' });
    const acmeAdmin = await repo.createKey({ tenantId: acme.id, name: 'acme-admin', admin: true });
    return { acme, bolt, acmeKey, boltKey, acmeAdmin };
  } finally {
    await db.close();
  }
}

interface Running {
  mock: MockProvider;
  gateway: Gateway;
  ledger: UsageLedger;
  db: Db;
  lines: Array<Record<string, unknown>>;
}

async function start(t: TestContext, storeUrl: string, usage = '', mock?: MockProvider): Promise<Running> {
  if (mock === undefined) {
    mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
    t.after(() => mock!.close());
  }
  let db: Db | undefined;
  const { logger, lines } = captureLogger();
  const gateway = await startGateway({ config: parseConfig(yaml(mock.url, storeUrl, usage), { env: {} }), port: 0, logger, extensions: [storeHandle((d) => (db = d))] });
  let closed = false;
  const close = gateway.close.bind(gateway);
  gateway.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  t.after(() => gateway.close());
  const ledger = gateway.extensions.find((e) => e.name === USAGE_EXTENSION_NAME) as UsageLedger | undefined;
  assert.ok(ledger, 'the usage ledger is on by default');
  return { mock, gateway, ledger, db: db!, lines };
}

const anthropicBody = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hello there, ledger' }] };

function send(gateway: Gateway, requestId: string, headers: Record<string, string> = {}) {
  return postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-request-id': requestId, ...headers });
}

async function rowFor(db: Db, requestId: string): Promise<Record<string, unknown>> {
  const row = await db.get<Record<string, unknown>>('SELECT * FROM usage_events WHERE request_id = ?', [requestId]);
  assert.ok(row, `an event for ${requestId}`);
  return row;
}

test('every finished chat request becomes a usage event: tokens as the client saw them, cost, status, who, where, timings', async (t) => {
  const url = freshSqliteUrl(t);
  const { acme, acmeKey } = await seedTenants(url);
  const { gateway, ledger, db } = await start(t, url);
  const id = randomBytes(4).toString('hex');
  const asAcme = { 'x-api-key': acmeKey.secret };

  const ok = await send(gateway, `${id}-ok`, asAcme);
  assert.equal(ok.status, 200);
  const streamed = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `${id}-stream`, authorization: `Bearer ${acmeKey.secret}` },
    body: JSON.stringify({ model: 'gpt-mock', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream it' }] }),
  });
  const sse = await streamed.text();
  assert.equal(streamed.status, 200);
  const refused = await send(gateway, `${id}-refused`, { 'x-api-key': 'sk-swy-not-a-real-key' });
  assert.equal(refused.status, 401);
  const failed = await postJson(`${gateway.url}/v1/messages`, { ...anthropicBody, model: 'bad-mock' }, { 'x-request-id': `${id}-failed`, ...asAcme });
  assert.equal(failed.status, 400);
  // Refused before its body was even parsed: still a request, still recorded.
  const malformed = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `${id}-malformed`, ...asAcme },
    body: '{"model":"claude-mock","messages":[',
  });
  assert.equal(malformed.status, 400);
  await malformed.arrayBuffer();
  await ledger.flush();

  const usage = ok.json.usage as { input_tokens: number; output_tokens: number };
  const okRow = await rowFor(db, `${id}-ok`);
  assert.equal(okRow.tenant_id, acme.id);
  assert.equal(okRow.tenant_name, 'acme');
  assert.equal(okRow.key_id, acmeKey.record.id);
  assert.equal(okRow.surface, 'anthropic');
  assert.equal(okRow.stream, 0);
  assert.equal(okRow.rule, 'model');
  assert.equal(okRow.model, 'claude-mock');
  assert.equal(okRow.deployment, 'ant/upstream-claude');
  assert.equal(okRow.provider, 'ant');
  assert.equal(okRow.input_tokens, usage.input_tokens);
  assert.equal(okRow.output_tokens, usage.output_tokens);
  assert.ok(usage.output_tokens > 0);
  // pricing.models: upstream-claude at $3 in / $15 out per million tokens.
  assert.ok(Math.abs(Number(okRow.cost_usd) - (usage.input_tokens * 3 + usage.output_tokens * 15) / 1e6) < 1e-12);
  assert.ok(Number(okRow.cost_usd) > 0);
  assert.equal(okRow.status, 200);
  assert.equal(okRow.error, null);
  assert.equal(okRow.attempts, 1);
  assert.ok(Number(okRow.latency_ms) > 0);
  assert.ok(Math.abs(Number(okRow.at) - Date.now()) < 60_000);
  assert.notEqual(okRow.id, `${id}-ok`, 'the event id is the ledger own, not the client request id');

  // The last SSE chunk with usage is what the client was told.
  const usageChunk = sse
    .split('\n')
    .filter((l) => l.startsWith('data: {'))
    .map((l) => JSON.parse(l.slice(6)) as { usage?: { prompt_tokens: number; completion_tokens: number } })
    .findLast((c) => c.usage);
  const streamRow = await rowFor(db, `${id}-stream`);
  assert.equal(streamRow.surface, 'openai');
  assert.equal(streamRow.stream, 1);
  assert.equal(streamRow.deployment, 'oai/upstream-gpt');
  assert.equal(streamRow.output_tokens, usageChunk?.usage?.completion_tokens);
  assert.equal(streamRow.input_tokens, usageChunk?.usage?.prompt_tokens);
  assert.equal(typeof streamRow.ttft_ms, 'number', 'a stream has a time to first token');
  const u = usageChunk!.usage!;
  assert.ok(Math.abs(Number(streamRow.cost_usd) - (u.prompt_tokens * 2 + u.completion_tokens * 8) / 1e6) < 1e-12);

  const refusedRow = await rowFor(db, `${id}-refused`);
  assert.equal(refusedRow.status, 401);
  assert.equal(refusedRow.error, 'SWY_ERR_UNAUTHORIZED');
  assert.equal(refusedRow.tenant_id, null, 'nobody was authenticated');
  assert.equal(refusedRow.key_id, null);
  assert.equal(refusedRow.model, null);
  assert.equal(refusedRow.input_tokens, 0);
  assert.equal(refusedRow.cost_usd, 0);

  const failedRow = await rowFor(db, `${id}-failed`);
  assert.equal(failedRow.status, 400);
  assert.equal(failedRow.deployment, 'bad/upstream-bad', 'the deployment that was tried');
  assert.equal(failedRow.error, 'SWY_ERR_UPSTREAM_STATUS');
  assert.equal(failedRow.output_tokens, 0);
  assert.equal(failedRow.tenant_id, acme.id);
  const malformedRow = await rowFor(db, `${id}-malformed`);
  assert.equal(malformedRow.status, 400);
  assert.equal(malformedRow.error, 'SWY_ERR_BAD_JSON');
  assert.equal(malformedRow.surface, 'anthropic');
  assert.equal(malformedRow.model, null);
  assert.equal(malformedRow.tenant_id, null, 'refused before authentication');
  assert.equal(malformedRow.attempts, 0);
  assert.equal(await countEvents(db), 5);
  const stored = JSON.stringify(await db.all('SELECT * FROM usage_events'));
  assert.ok(!stored.includes(acmeKey.secret), 'no key secret in the ledger');
});

test('a close that begins while requests are in flight still records every one of them', async (t) => {
  const url = freshSqliteUrl(t);
  const { gateway, mock } = await start(t, url);
  const id = randomBytes(4).toString('hex');
  const n = 12;
  // Slow answers: the close begins once all of them have reached the mock, while they are in flight.
  const answers = Array.from({ length: n }, (_, i) => send(gateway, `${id}-${i}`, { 'x-mock-latency-ms': '400' }));
  await waitFor(() => mock.stats.byPath['/v1/messages'] === n, 5000, 'every request to reach the mock');
  await Promise.all([gateway.close(), ...answers.map(async (answer) => assert.equal((await answer).status, 200))]);

  const db = await openDb(url);
  t.after(() => db.close());
  assert.equal(await countEvents(db, 'request_id LIKE ?', [`${id}-%`]), n);
});

test('GET /admin/v1/usage: totals and breakdowns for a global admin, only its own tenant for a tenant admin, bad input refused in shape', async (t) => {
  const url = freshSqliteUrl(t);
  const { acme, bolt, acmeKey, boltKey, acmeAdmin } = await seedTenants(url);
  const { gateway, ledger } = await start(t, url, 'queryCacheMs: 0');
  for (let i = 0; i < 3; i++) assert.equal((await send(gateway, `adm-a-${i}`, { 'x-api-key': acmeKey.secret })).status, 200);
  assert.equal((await send(gateway, 'adm-b-0', { 'x-api-key': boltKey.secret })).status, 200);
  await ledger.flush();
  const get = (query: string, key = ADMIN_KEY) => fetch(`${gateway.url}/admin/v1/usage${query}`, { headers: { authorization: `Bearer ${key}` } });
  type Report = { totals: { requests: number; outputTokens: number; costUsd: number }; rows: Array<{ group: string; name: string; requests: number }>; by: string; tenantId: string | null };

  assert.equal((await get('', 'not-an-admin-key')).status, 401);
  assert.equal((await get('', acmeKey.secret)).status, 403, 'a tenant key without the admin scope');

  const all = await get('?by=tenant');
  assert.equal(all.status, 200);
  const report = (await all.json()) as Report;
  assert.equal(report.by, 'tenant');
  assert.equal(report.totals.requests, 4);
  assert.ok(report.totals.outputTokens > 0);
  assert.ok(report.totals.costUsd > 0, 'priced by pricing.models');
  assert.deepEqual(
    report.rows.map((r) => [r.group, r.name, r.requests]).sort(),
    [
      [acme.id, 'acme', 3],
      [bolt.id, 'bolt', 1],
    ].sort(),
  );

  const byName = (await (await get('?tenant=acme&by=day')).json()) as Report;
  assert.equal(byName.tenantId, acme.id, 'a tenant by name');
  assert.equal(byName.totals.requests, 3);
  assert.equal(byName.rows.length, 1);
  assert.equal(byName.rows[0]!.group, `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
  assert.equal(((await (await get(`?key=${boltKey.record.id}`)).json()) as Report).totals.requests, 1);

  // A tenant's admin sees its own tenant only, whatever it asks for.
  const own = (await (await get('?by=tenant', acmeAdmin.secret)).json()) as Report;
  assert.equal(own.tenantId, acme.id);
  assert.equal(own.totals.requests, 3);
  assert.deepEqual(own.rows.map((r) => r.group), [acme.id]);
  const otherTenant = await get(`?tenant=${bolt.id}`, acmeAdmin.secret);
  assert.equal(otherTenant.status, 404);
  const otherKey = (await (await get(`?key=${boltKey.record.id}`, acmeAdmin.secret)).json()) as Report;
  assert.equal(otherKey.totals.requests, 0, "another tenant's key shows nothing");

  const badGrouping = await get('?by=week');
  assert.equal(badGrouping.status, 400);
  assert.equal(((await badGrouping.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  const badTime = await get('?from=yesterday');
  assert.equal(badTime.status, 400);
  assert.match(((await badTime.json()) as { error: { message: string } }).error.message, /not a time/);
  const oneDay = await get('?from=2026-11-01&to=2026-11-01');
  assert.equal(oneDay.status, 200, 'a bare end date includes its day, so this range is one day');
  assert.equal(((await oneDay.json()) as { to: string }).to, '2026-11-02T00:00:00.000Z');
  assert.equal((await get('?from=2026-11-03&to=2026-11-01')).status, 400);

  // Described in the OpenAPI document with its query parameters.
  const openapi = (await (await fetch(`${gateway.url}/openapi.json`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as {
    paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }>;
  };
  const params = openapi.paths['/admin/v1/usage']?.get?.parameters?.map((p) => p.name).sort();
  assert.deepEqual(params, ['by', 'from', 'key', 'tenant', 'to']);
});

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`${backend}: closing the gateway writes every event (N requests, close, N rows)`, async (t) => {
    if (backend === 'postgres' && !(await postgresAvailable())) return t.skip('PostgreSQL not reachable');
    const url = backend === 'sqlite' ? freshSqliteUrl(t) : freshPostgresUrl(t);
    // Nothing is written before close: a one-minute interval and batches larger than the run.
    const { gateway, ledger } = await start(t, url, 'flushIntervalMs: 60000, batchSize: 10000');
    const n = 60;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => send(gateway, `close-${i}`)));
    assert.ok(results.every((r) => r.status === 200));
    await waitFor(() => ledger.stats().queued === n, 5000, 'every event queued');
    assert.equal(ledger.stats().written, 0);
    await gateway.close();
    const db = await openDb(url);
    t.after(() => db.close());
    assert.equal(await countEvents(db), n);
    assert.equal(await countEvents(db, "request_id LIKE 'close-%' AND tenant_id = ?", ['local']), n, 'the open principal on loopback');
  });
}

test('postgres: a store that fails mid-run (schema dropped) keeps events queued, reports it, holds new requests back, and writes them all once it is back', async (t) => {
  if (!(await postgresAvailable())) return t.skip('PostgreSQL not reachable');
  const url = freshPostgresUrl(t);
  const { gateway, ledger, lines } = await start(t, url, 'flushIntervalMs: 20, maxQueue: 8, admitWaitMs: 300, retryMaxMs: 100');
  assert.equal((await send(gateway, 'pg-before')).status, 200);
  await waitFor(() => ledger.stats().written === 1, 5000, 'the first event written');

  const admin = await openDb(url);
  t.after(() => admin.close());
  const schema = new URL(url).searchParams.get('schema')!;
  await admin.run(`DROP SCHEMA ${schema} CASCADE`);

  for (let i = 0; i < 8; i++) assert.equal((await send(gateway, `pg-during-${i}`)).status, 200);
  await waitFor(() => ledger.stats().failures >= 2, 5000, 'failed writes');
  assert.equal(ledger.stats().queued, 8, 'no event dropped');
  assert.ok(lines.some((l) => l.level === 50 && String(l.msg).includes('writing a batch failed')), 'the failure is logged as an error');

  // The queue is full: a new request waits admitWaitMs, then is refused as overloaded, in its protocol's shape.
  const held = await send(gateway, 'pg-held');
  assert.equal(held.status, 529);
  assert.equal((held.json.error as { type: string }).type, 'overloaded_error');
  assert.equal(held.headers.get('retry-after'), '1');
  const heldOpenai = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'gpt-mock', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(heldOpenai.status, 503);

  // The schema comes back (restored, re-migrated): everything queued is written, including the refusals.
  await admin.run(`CREATE SCHEMA ${schema}`);
  await migrate(admin, migrations);
  await waitFor(() => ledger.stats().queued === 0, 10_000, 'the backlog written');
  assert.equal(await countEvents(admin, "request_id LIKE 'pg-during-%'"), 8);
  assert.equal(await countEvents(admin, 'request_id = ? AND error = ?', ['pg-held', 'SWY_ERR_LEDGER_BACKLOG']), 1);
  assert.equal((await send(gateway, 'pg-after')).status, 200, 'requests flow again');
});

test('postgres: two gateways writing into one PostgreSQL land every event exactly once', async (t) => {
  if (!(await postgresAvailable())) return t.skip('PostgreSQL not reachable');
  const url = freshPostgresUrl(t);
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  t.after(() => mock.close());
  // Both start at once: migrations take an advisory lock and apply once.
  const [a, b] = await Promise.all([start(t, url, 'flushIntervalMs: 30, batchSize: 7', mock), start(t, url, 'flushIntervalMs: 30, batchSize: 7', mock)]);
  const n = 40;
  const sent: string[] = [];
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      for (const [name, g] of [['a', a.gateway], ['b', b.gateway]] as const) {
        const id = `two-${name}-${i}`;
        sent.push(id);
        assert.equal((await send(g, id)).status, 200);
      }
    }),
  );
  await Promise.all([a.gateway.close(), b.gateway.close()]);
  const db = await openDb(url);
  t.after(() => db.close());
  const rows = await db.all<{ request_id: string; n: unknown }>('SELECT request_id, COUNT(*) AS n FROM usage_events GROUP BY request_id');
  assert.equal(rows.length, 2 * n);
  assert.ok(rows.every((r) => Number(r.n) === 1), 'no event written twice');
  assert.deepEqual(rows.map((r) => r.request_id).sort(), sent.sort());
});
