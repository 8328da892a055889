/**
 * Client authentication end to end: secure by default, keys in both header
 * styles, wrong / expired / revoked / rotated / out-of-scope keys, each refused
 * in the client's own protocol with a request id and without echoing the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startGateway } from '../../src/server/gateway.ts';
import { isLoopback } from '../../src/tenancy/auth-extension.ts';
import { postJson, startStack } from './stack.ts';
import { anthropicBody, openaiBody, startAuthStack } from '../tenancy/helpers.ts';

test('on loopback with no key and no JWT the gateway runs open, and says so at start', async (t) => {
  const { gateway, logs } = await startStack(t);
  assert.ok(logs.some((l) => l.level === 40 && String(l.msg).startsWith('Authentication is OFF')));
  const res = await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: 'Bearer anything' });
  assert.equal(res.status, 200);
});

test('bound to a non-loopback address with no way to authenticate, the gateway refuses to start', async () => {
  const config = parseConfig(
    `providers: [{ name: oai, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" }]\nroutes: { default: "oai,m" }\nstore: { url: "sqlite::memory:" }\n`,
    { env: {} },
  );
  await assert.rejects(startGateway({ config, host: '0.0.0.0', port: 0, logger: createLogger({ level: 'silent' }) }), /not loopback.*create a key/s);
  const open = parseConfig(
    `providers: [{ name: oai, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" }]\nroutes: { default: "oai,m" }\nstore: { url: "sqlite::memory:" }\nauth: { mode: open }\n`,
    { env: {} },
  );
  await assert.rejects(startGateway({ config: open, host: '0.0.0.0', port: 0, logger: createLogger({ level: 'silent' }) }), /allowOpen/);
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost') && !isLoopback('0.0.0.0') && !isLoopback('::') && !isLoopback('10.0.0.1'));
});

test('once a key exists, requests without one get 401 in their own protocol, and the key works in both header styles', async (t) => {
  let issued: { secret: string; record: { id: string } } | undefined;
  const { gateway, logs } = await startAuthStack(t, {
    before: async (repo) => {
      issued = await repo.createKey({ tenantId: (await repo.createTenant('acme')).id });
    },
  });
  const { secret, record } = issued!;

  const anthropic = await postJson(`${gateway.url}/v1/messages`, anthropicBody);
  assert.equal(anthropic.status, 401);
  assert.equal(anthropic.json.type, 'error');
  assert.equal((anthropic.json.error as Record<string, unknown>).type, 'authentication_error');
  assert.ok(anthropic.headers.get('request-id'));
  assert.equal(anthropic.headers.get('www-authenticate'), 'Bearer');

  const openai = await postJson(`${gateway.url}/v1/chat/completions`, openaiBody);
  assert.equal(openai.status, 401);
  assert.equal((openai.json.error as Record<string, unknown>).type, 'authentication_error');
  assert.ok(openai.headers.get('x-request-id'));

  const viaApiKey = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': secret });
  assert.equal(viaApiKey.status, 200, viaApiKey.text);
  const viaBearer = await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: `Bearer ${secret}` });
  assert.equal(viaBearer.status, 200, viaBearer.text);
  // Claude Code with ANTHROPIC_API_KEY (a provider key) and ANTHROPIC_AUTH_TOKEN (the gateway key) both set sends both.
  const both = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': 'sk-ant-api03-provider', authorization: `Bearer ${secret}` });
  assert.equal(both.status, 200, both.text);

  const models = await fetch(`${gateway.url}/v1/models`);
  assert.equal(models.status, 401);
  assert.equal((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
  assert.equal((await fetch(`${gateway.url}/v1/models/claude-mock`)).status, 401);
  assert.equal((await fetch(`${gateway.url}/v1/models/claude-mock`, { headers: { 'x-api-key': secret } })).status, 200);
  // The Anthropic SDK's models.list() and models.retrieve(): refused in its own shape, with its request-id header.
  for (const path of ['/v1/models', '/v1/models/claude-mock']) {
    const refused = await fetch(`${gateway.url}${path}`, { headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'wrong' } });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { type?: string }).type, 'error', path);
    assert.ok(refused.headers.get('request-id'), path);
  }
  const listed = await fetch(`${gateway.url}/v1/models`, { headers: { 'anthropic-version': '2023-06-01', 'x-api-key': secret } });
  assert.ok(listed.headers.get('request-id'));

  const line = logs.find((l) => l.msg === 'request' && l.status === 200);
  assert.equal(line?.tenant, 'acme');
  assert.equal(line?.keyId, record.id);
});

test('wrong, expired and revoked keys get 401 that never echoes the key', async (t) => {
  const { gateway, repo, logs } = await startAuthStack(t, { before: async (repo) => void (await repo.createKey({ tenantId: (await repo.createTenant('acme')).id })) });
  const tenant = (await repo.findTenant('acme'))!;
  const live = await repo.createKey({ tenantId: tenant.id });
  const expired = await repo.createKey({ tenantId: tenant.id, expiresAt: Date.now() - 1000 });
  const revoked = await repo.createKey({ tenantId: tenant.id });
  await repo.revokeKey(revoked.record.id);
  const wrong = `${live.secret.slice(0, -4)}AAAA`;
  for (const key of [wrong, expired.secret, revoked.secret, 'not-a-key', 'x'.repeat(500)]) {
    for (const [path, body] of [
      ['/v1/messages', anthropicBody],
      ['/v1/chat/completions', openaiBody],
    ] as const) {
      const res = await postJson(`${gateway.url}${path}`, body, { 'x-api-key': key });
      assert.equal(res.status, 401, `${path} ${key.slice(0, 12)}`);
      assert.ok(!res.text.includes(key), 'the key is not echoed');
      if (key.length > 20) assert.ok(!res.text.includes(key.slice(12)), 'no part of the secret is echoed');
    }
  }
  const expiredRes = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': expired.secret });
  assert.match(String((expiredRes.json.error as Record<string, unknown>).message), /expired/);
  const all = JSON.stringify(logs);
  for (const secret of [live.secret, expired.secret, revoked.secret, wrong]) assert.ok(!all.includes(secret.slice(12)), 'no secret in the logs');
  assert.ok(logs.some((l) => l.msg === 'auth: request refused' && l.reason === 'revoked key'));
});

test('a key revoked or rotated through the admin API stops working at once; the rotated key works', async (t) => {
  const { gateway, admin } = await startAuthStack(t, { extra: 'auth: { cacheTtlMs: 60000 }' });
  assert.equal((await admin('POST', '/admin/v1/tenants', { name: 'acme' })).status, 201);
  const created = await admin('POST', '/admin/v1/keys', { tenant: 'acme' });
  assert.equal(created.status, 201, created.text);
  const secret = String(created.json.key);
  const id = String((created.json.record as Record<string, unknown>).id);
  const call = (key: string) => postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: `Bearer ${key}` });
  assert.equal((await call(secret)).status, 200);

  const rotated = await admin('POST', `/admin/v1/keys/${id}/rotate`);
  assert.equal(rotated.status, 200, rotated.text);
  const next = String(rotated.json.key);
  assert.equal((await call(secret)).status, 401, 'the old secret stops at once, though it was cached');
  assert.equal((await call(next)).status, 200);

  const revoked = await admin('POST', `/admin/v1/keys/${id}/revoke`);
  assert.equal(revoked.status, 200);
  assert.equal((revoked.json.key as Record<string, unknown>).status, 'revoked');
  assert.equal((await call(next)).status, 401);
  const listed = await admin('GET', '/admin/v1/keys?tenant=acme');
  assert.ok(!listed.text.includes(next) && !listed.text.includes(secret), 'listings never hold a secret');
});

test('a key scoped to models and routes gets 403 in its protocol outside them', async (t) => {
  const { gateway, repo } = await startAuthStack(t, { before: async (repo) => void (await repo.createTenant('acme')) });
  const tenant = (await repo.findTenant('acme'))!;
  const onlyGpt = await repo.createKey({ tenantId: tenant.id, models: ['gpt-mock'] });
  const ok = await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: `Bearer ${onlyGpt.secret}` });
  assert.equal(ok.status, 200);
  const denied = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': onlyGpt.secret });
  assert.equal(denied.status, 403);
  assert.equal((denied.json.error as Record<string, unknown>).type, 'permission_error');
  assert.ok(denied.headers.get('request-id'));
  assert.ok(!denied.text.includes(onlyGpt.secret));

  const onlyDefault = await repo.createKey({ tenantId: tenant.id, routes: ['default'] });
  // A model asked for by a name the router does not know goes through the scenario rules: `default` here.
  const viaDefault = await postJson(`${gateway.url}/v1/messages`, { ...anthropicBody, model: 'some-unknown-model' }, { 'x-api-key': onlyDefault.secret });
  assert.equal(viaDefault.status, 200, viaDefault.text);
  const background = await postJson(
    `${gateway.url}/v1/messages`,
    { ...anthropicBody, model: 'claude-3-5-haiku-20241022' },
    { 'x-api-key': onlyDefault.secret },
  );
  assert.equal(background.status, 403, background.text);
  assert.match(String((background.json.error as Record<string, unknown>).message), /background/);

  // count_tokens routes like chat, and keeps to the same scopes.
  const countBody = { model: 'claude-mock', messages: [{ role: 'user', content: 'hello' }] };
  const counted = await postJson(`${gateway.url}/v1/messages/count_tokens`, { ...countBody, model: 'gpt-mock' }, { 'x-api-key': onlyGpt.secret });
  assert.equal(counted.status, 200, counted.text);
  const countDenied = await postJson(`${gateway.url}/v1/messages/count_tokens`, countBody, { 'x-api-key': onlyGpt.secret });
  assert.equal(countDenied.status, 403, countDenied.text);
  assert.equal((countDenied.json.error as Record<string, unknown>).type, 'permission_error');
});

test('a gateway that ran open logs the moment the first key turns authentication on', async (t) => {
  const { gateway, logs, repo } = await startAuthStack(t);
  assert.ok(logs.some((l) => String(l.msg).startsWith('Authentication is OFF')));
  // The CLI's way: straight into the store, no announcement.
  await repo.createKey({ tenantId: (await repo.createTenant('acme')).id });
  const deadline = Date.now() + 5000;
  while (!logs.some((l) => String(l.msg).startsWith('Authentication is ON')) && Date.now() < deadline) {
    await postJson(`${gateway.url}/v1/chat/completions`, openaiBody);
    await new Promise((r) => setTimeout(r, 200));
  }
  const on = logs.find((l) => String(l.msg).startsWith('Authentication is ON'));
  assert.ok(on, 'the line that says authentication is on');
  assert.equal(on.level, 40);
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, openaiBody)).status, 401);
});
