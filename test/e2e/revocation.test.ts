/**
 * A revoked key stops working at once on every instance: two gateways on one
 * store and one Redis, caches warm, a long cache TTL (so only the pub/sub
 * message can explain the refusal); revoke through instance A's admin API,
 * instance B refuses the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson } from './stack.ts';
import { openaiBody, startAuthStack } from '../tenancy/helpers.ts';
import { REDIS_URL, requireRedis, uniquePrefix, until } from '../tenancy/limits-helpers.ts';
import { freshPostgresUrl, postgresAvailable } from '../store/backends.ts';

test('a key revoked on instance A is refused by instance B at once (Redis pub/sub), and a rotation too', async (t) => {
  if (!(await requireRedis(t))) return;
  const storeUrl = (await postgresAvailable()) ? freshPostgresUrl(t) : undefined;
  const prefix = uniquePrefix(t);
  const extra = `redis: { url: "${REDIS_URL}" }\nlimits: { redisPrefix: "${prefix}" }\nauth: { cacheTtlMs: 300000 }`;
  const a = await startAuthStack(t, { extra, ...(storeUrl === undefined ? {} : { storeUrl }) });
  const b = await startAuthStack(t, { extra, storeUrl: a.storeUrl });
  assert.equal((await a.admin('POST', '/admin/v1/tenants', { name: 'acme' })).status, 201);
  const created = await a.admin('POST', '/admin/v1/keys', { tenant: 'acme' });
  const secret = String(created.json.key);
  const id = String((created.json.record as Record<string, unknown>).id);
  const call = (gateway: typeof a.gateway, key: string) => postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: `Bearer ${key}` });

  // B learns that keys exist (auto mode) and caches this one.
  assert.ok(await until(async () => (await call(b.gateway, 'swy_not_a_key')).status === 401), 'B requires keys once A created one');
  assert.equal((await call(b.gateway, secret)).status, 200);
  assert.equal((await call(a.gateway, secret)).status, 200);

  assert.equal((await a.admin('POST', `/admin/v1/keys/${id}/revoke`)).status, 200);
  assert.equal((await call(a.gateway, secret)).status, 401);
  // The message crosses Redis in about a millisecond; the bound only keeps a broken run from hanging.
  assert.ok(await until(async () => (await call(b.gateway, secret)).status === 401, 2000), 'B refuses the revoked key');

  const second = await a.admin('POST', '/admin/v1/keys', { tenant: 'acme' });
  const secondId = String((second.json.record as Record<string, unknown>).id);
  const oldSecret = String(second.json.key);
  assert.equal((await call(b.gateway, oldSecret)).status, 200);
  const rotated = await b.admin('POST', `/admin/v1/keys/${secondId}/rotate`);
  assert.equal((await call(b.gateway, oldSecret)).status, 401);
  assert.ok(await until(async () => (await call(a.gateway, oldSecret)).status === 401, 2000), 'A refuses the rotated-away secret');
  assert.equal((await call(a.gateway, String(rotated.json.key))).status, 200);
});
