/**
 * The admin API: global admin keys see everything, a tenant admin key only its
 * own tenant (another tenant's data is 404, not 403, so its existence is not
 * revealed), plain keys and missing keys are refused, and /openapi.json
 * describes the routes from the schemas that validate them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, startAuthStack } from '../tenancy/helpers.ts';
import { postJson } from './stack.ts';

test('the admin API refuses no key (401), a wrong key (401) and a client key without the admin scope (403)', async (t) => {
  const { admin, repo } = await startAuthStack(t, { before: async (repo) => void (await repo.createTenant('acme')) });
  const tenant = (await repo.findTenant('acme'))!;
  const plain = await repo.createKey({ tenantId: tenant.id });
  const noKey = await admin('GET', '/admin/v1/tenants', undefined, '');
  assert.equal(noKey.status, 401);
  assert.equal((noKey.json.error as Record<string, unknown>).type, 'authentication_error');
  assert.ok(noKey.headers.get('x-request-id'));
  const wrong = await admin('GET', '/admin/v1/tenants', undefined, `${ADMIN_KEY}x`);
  assert.equal(wrong.status, 401);
  assert.ok(!wrong.text.includes(ADMIN_KEY));
  const client = await admin('GET', '/admin/v1/tenants', undefined, plain.secret);
  assert.equal(client.status, 403);
  assert.equal((client.json.error as Record<string, unknown>).type, 'permission_error');
  const unknownPath = await admin('GET', '/admin/v1/nothing-here', undefined, '');
  assert.equal(unknownPath.status, 401, 'unauthenticated probes learn nothing about which admin paths exist');
});

test("a tenant admin key sees and manages only its own tenant; another tenant's data is 404", async (t) => {
  const { admin, gateway, logs } = await startAuthStack(t);
  await admin('POST', '/admin/v1/tenants', { name: 'acme' });
  await admin('POST', '/admin/v1/tenants', { name: 'globex' });
  const acmeCreated = await admin('POST', '/admin/v1/keys', { tenant: 'acme', admin: true });
  const acmeAdmin = String(acmeCreated.json.key);
  const acmeKeyId = String((acmeCreated.json.record as Record<string, unknown>).id);
  const globexKey = await admin('POST', '/admin/v1/keys', { tenant: 'globex', name: 'globex-ci' });
  const globexId = String((globexKey.json.record as Record<string, unknown>).id);
  const as = (method: string, path: string, body?: unknown) => admin(method, path, body, acmeAdmin);

  const tenants = await as('GET', '/admin/v1/tenants');
  assert.equal(tenants.status, 200);
  assert.deepEqual((tenants.json.tenants as Array<{ name: string }>).map((x) => x.name), ['acme']);
  const keys = await as('GET', '/admin/v1/keys');
  assert.equal(keys.status, 200);
  assert.ok((keys.json.keys as Array<{ id: string }>).every((k) => k.id !== globexId));
  assert.ok(!keys.text.includes('globex'));

  for (const [method, path, body] of [
    ['GET', '/admin/v1/tenants/globex', undefined],
    ['GET', '/admin/v1/keys?tenant=globex', undefined],
    ['GET', `/admin/v1/keys/${globexId}`, undefined],
    ['POST', `/admin/v1/keys/${globexId}/revoke`, undefined],
    ['POST', `/admin/v1/keys/${globexId}/rotate`, undefined],
    ['POST', '/admin/v1/keys', { tenant: 'globex' }],
  ] as const) {
    const res = await as(method, path, body);
    assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    assert.ok(!res.text.includes('globex-ci'));
  }
  // The same answer as for a tenant that does not exist at all.
  assert.equal((await as('GET', '/admin/v1/tenants/nobody')).status, 404);
  assert.equal((await as('POST', '/admin/v1/tenants', { name: 'mine' })).status, 403);
  assert.equal((await as('GET', '/admin/v1/health')).status, 403);
  // Within its tenant it may create keys.
  assert.equal((await as('POST', '/admin/v1/keys', { tenant: 'acme', models: ['gpt-mock'] })).status, 201);
  // Every change has one audit line naming who did it, and no secret.
  const audit = logs.filter((l) => String(l.msg).startsWith('admin: '));
  assert.deepEqual(audit.map((l) => l.msg), ['admin: tenant created', 'admin: tenant created', 'admin: key created', 'admin: key created', 'admin: key created']);
  assert.equal(audit.at(-1)?.admin, acmeKeyId);
  assert.ok(!JSON.stringify(logs).includes(acmeAdmin.slice(13)));
  // The globex key still works: nothing the acme admin tried touched it.
  const call = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${String(globexKey.json.key)}` } });
  assert.equal(call.status, 200);
});

test('admin requests are validated against their schema, and errors are OpenAI-shaped with a request id', async (t) => {
  const { admin } = await startAuthStack(t);
  const bad = await admin('POST', '/admin/v1/tenants', { name: 'has space' });
  assert.equal(bad.status, 400);
  assert.equal((bad.json.error as Record<string, unknown>).type, 'invalid_request_error');
  assert.ok(bad.headers.get('x-request-id'));
  assert.equal((await admin('POST', '/admin/v1/tenants', { name: 'ok', extra: 1 })).status, 400);
  assert.equal((await admin('POST', '/admin/v1/tenants', { name: 'acme' })).status, 201);
  assert.equal((await admin('POST', '/admin/v1/tenants', { name: 'acme' })).status, 409);
  assert.equal((await admin('POST', '/admin/v1/keys', { tenant: 'acme', expiresAt: 'not a date' })).status, 400);
  assert.equal((await admin('POST', '/admin/v1/keys', { tenant: 'acme', limits: { requestsPerMinute: -1 } })).status, 400);
  assert.equal((await admin('POST', '/admin/v1/keys/nope/revoke')).status, 404);
  const health = await admin('GET', '/admin/v1/health');
  assert.equal(health.status, 200);
  assert.ok((health.json.deployments as Array<{ id: string }>).some((d) => d.id === 'oai/upstream-gpt'));
  // Started without a config file: nothing to reload, and it says so.
  assert.equal((await admin('POST', '/admin/v1/config/reload')).status, 409);
});

test('/openapi.json describes the admin routes with the schemas that validate them', async (t) => {
  const { gateway } = await startAuthStack(t);
  const res = await fetch(`${gateway.url}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
  assert.equal(doc.openapi, '3.1.0');
  for (const path of ['/admin/v1/tenants', '/admin/v1/keys', '/admin/v1/keys/{id}/revoke', '/admin/v1/keys/{id}/rotate', '/admin/v1/health', '/admin/v1/config/reload']) {
    assert.ok(doc.paths[path], path);
  }
  const createTenant = doc.paths['/admin/v1/tenants']?.post as { requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown>; required: string[] } } } } };
  const schema = createTenant.requestBody.content['application/json'].schema;
  assert.deepEqual(schema.required, ['name']);
  assert.ok('limits' in schema.properties);
  const revoke = doc.paths['/admin/v1/keys/{id}/revoke']?.post as { parameters: Array<{ name: string; in: string }> };
  assert.deepEqual(revoke.parameters.map((p) => `${p.in}:${p.name}`), ['path:id']);
});

test("changing a key's scopes or disabling its tenant applies at once, though the key was cached", async (t) => {
  const { admin, gateway } = await startAuthStack(t, { extra: 'auth: { cacheTtlMs: 300000 }' });
  await admin('POST', '/admin/v1/tenants', { name: 'acme' });
  await admin('POST', '/admin/v1/tenants', { name: 'globex' });
  const created = await admin('POST', '/admin/v1/keys', { tenant: 'acme' });
  const secret = String(created.json.key);
  const id = String((created.json.record as Record<string, unknown>).id);
  const globexAdmin = String((await admin('POST', '/admin/v1/keys', { tenant: 'globex', admin: true })).json.key);
  const call = () => postJson(`${gateway.url}/v1/messages`, { model: 'claude-mock', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': secret });
  assert.equal((await call()).status, 200);

  const scoped = await admin('PATCH', `/admin/v1/keys/${id}`, { models: ['gpt-mock'], limits: { requestsPerMinute: 100 } });
  assert.equal(scoped.status, 200, scoped.text);
  assert.deepEqual((scoped.json.key as Record<string, unknown>).limits, { requestsPerMinute: 100 });
  assert.equal((await call()).status, 403);
  assert.equal((await admin('PATCH', `/admin/v1/keys/${id}`, { models: null })).status, 200);
  assert.equal((await call()).status, 200);

  assert.equal((await admin('PATCH', '/admin/v1/tenants/acme', { disabled: true })).status, 200);
  assert.equal((await call()).status, 401);
  assert.equal((await admin('PATCH', '/admin/v1/tenants/acme', { disabled: false })).status, 200);
  assert.equal((await call()).status, 200);

  assert.equal((await admin('PATCH', `/admin/v1/keys/${id}`, { models: ['x'] }, globexAdmin)).status, 404, "another tenant's admin cannot touch it");
  assert.equal((await admin('PATCH', '/admin/v1/tenants/globex', { disabled: true }, globexAdmin)).status, 403, 'a tenant admin cannot change its tenant');
  assert.equal((await admin('PATCH', `/admin/v1/keys/${id}`, { secret: 'x' })).status, 400, 'unknown fields are refused');
});
