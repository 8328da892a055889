/**
 * The dashboard's HTTP surface without a browser: the page shell is public,
 * its data is behind the admin key (read from the running config, so a reload
 * changes it), `ui.enabled: false` removes it, and the snapshot counts real
 * traffic through the mock provider.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import { defaultYaml, postJson, startStack } from '../e2e/stack.ts';

const KEY = 'adm-api-test-key';

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('the page and its assets load without a key, with a strict content security policy', async (t) => {
  const { gateway } = await startStack(t, { yaml: (url) => defaultYaml(url, `admin: { apiKeys: ["${KEY}"] }`) });
  for (const [path, type] of [
    ['/ui', 'text/html'],
    ['/ui/', 'text/html'],
    ['/ui/app.js', 'text/javascript'],
    ['/ui/app.css', 'text/css'],
  ] as const) {
    const res = await fetch(`${gateway.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.ok(res.headers.get('content-type')?.startsWith(type), path);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const body = await res.text();
    assert.doesNotMatch(body, /https?:\/\/(?!127\.0\.0\.1)/, `${path} refers to something outside the gateway`);
  }
});

test('the data needs the admin key, as x-api-key or a bearer token, and a wrong key is told why', async (t) => {
  const { gateway } = await startStack(t, { yaml: (url) => defaultYaml(url, `admin: { apiKeys: ["${KEY}"] }`) });
  for (const path of ['/ui/api/snapshot', '/ui/api/config']) {
    const none = await getJson(`${gateway.url}${path}`);
    assert.equal(none.status, 401);
    assert.match((none.json.error as { message: string }).message, /valid admin key is required/);
    assert.equal((await getJson(`${gateway.url}${path}`, { 'x-api-key': `${KEY}x` })).status, 401);
    assert.equal((await getJson(`${gateway.url}${path}`, { 'x-api-key': KEY })).status, 200);
    assert.equal((await getJson(`${gateway.url}${path}`, { authorization: `Bearer ${KEY}` })).status, 200);
  }
});

test('with no admin key configured the data is closed, and the message says how to open it', async (t) => {
  const { gateway } = await startStack(t);
  const res = await getJson(`${gateway.url}/ui/api/snapshot`, { 'x-api-key': 'anything' });
  assert.equal(res.status, 401);
  assert.match((res.json.error as { message: string }).message, /no admin key is configured/);
});

test('a browser at the gateway\'s own address is sent to the dashboard; an API client gets a 404', async (t) => {
  const { gateway } = await startStack(t);
  const browser = await fetch(`${gateway.url}/`, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' }, redirect: 'manual' });
  assert.equal(browser.status, 302);
  assert.equal(browser.headers.get('location'), '/ui');
  const api = await getJson(`${gateway.url}/`);
  assert.equal(api.status, 404);
  assert.equal((api.json.error as { type: string }).type, 'not_found_error');
});

test('ui.enabled: false serves no dashboard', async (t) => {
  const { gateway } = await startStack(t, { yaml: (url) => defaultYaml(url, `admin: { apiKeys: ["${KEY}"] }\nui: { enabled: false }`) });
  assert.equal((await fetch(`${gateway.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' })).status, 404);
  assert.equal((await fetch(`${gateway.url}/ui`)).status, 404);
  assert.equal((await fetch(`${gateway.url}/ui/api/snapshot`, { headers: { 'x-api-key': KEY } })).status, 404);
});

test('the snapshot counts the traffic sent, and a reload changes the config version and the admin keys', async (t) => {
  let mockUrl = '';
  const yaml = (url: string, key = KEY) =>
    defaultYaml(url, `admin: { apiKeys: ["${key}"] }`).replace('model: upstream-claude }', 'model: upstream-claude, inputCostPerMTok: 3, outputCostPerMTok: 15 }');
  const { gateway } = await startStack(t, {
    yaml: (url) => {
      mockUrl = url;
      return yaml(url);
    },
  });
  const body = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
  assert.equal((await postJson(`${gateway.url}/v1/messages`, body, { 'x-request-id': 'api-1' })).status, 200);
  assert.equal((await postJson(`${gateway.url}/v1/messages`, { ...body, model: 'nope,nothing' }, { 'x-request-id': 'api-2' })).status, 404);

  const snap = (await getJson(`${gateway.url}/ui/api/snapshot`, { 'x-api-key': KEY })).json as {
    configVersion: number;
    totals: { requests: number; errors: number };
    window: { total: { requests: number; errors: number }; buckets: unknown[] };
    recent: Array<{ id: string; status: number; error?: string; tokensIn?: number; tokensOut?: number; costUsd?: number }>;
    deployments: Array<{ id: string; state: string; attempts: number }>;
    routes: Array<{ rule: string; model: string }>;
  };
  assert.equal(snap.configVersion, 1);
  assert.deepEqual(snap.totals, { ...snap.totals, requests: 2, errors: 1 });
  assert.equal(snap.window.total.requests, 2);
  assert.equal(snap.window.buckets.length, 180);
  assert.deepEqual(snap.recent.map((r) => [r.id, r.status]), [['api-2', 404], ['api-1', 200]]);
  const priced = snap.recent[1]!;
  assert.ok(priced.tokensIn! > 0 && priced.tokensOut! > 0);
  const expected = (priced.tokensIn! * 3 + priced.tokensOut! * 15) / 1e6;
  assert.ok(Math.abs(priced.costUsd! - expected) < 1e-12, `priced at the deployment prices: ${priced.costUsd} vs ${expected}`);
  assert.equal(snap.recent[0]!.costUsd, undefined, 'a request that reached no deployment has no cost');
  assert.equal(snap.deployments.find((d) => d.id === 'ant/upstream-claude')?.attempts, 1);
  assert.deepEqual(snap.routes.map((r) => [r.rule, r.model]), [['default', 'claude-mock'], ['background', 'gpt-mock']]);

  await gateway.reload(parseConfig(yaml(mockUrl, 'adm-rotated'), { env: {} }));
  assert.equal((await getJson(`${gateway.url}/ui/api/snapshot`, { 'x-api-key': KEY })).status, 401, 'the old key stops working');
  const after = await getJson(`${gateway.url}/ui/api/config`, { 'x-api-key': 'adm-rotated' });
  assert.equal(after.status, 200);
  assert.equal(after.json.version, 2);
  // The port it really listens on (the test's config says 0).
  assert.equal((after.json.config as { server: { port: number } }).server.port, Number(new URL(gateway.url).port));
  const text = JSON.stringify(after.json);
  for (const secret of ['sk-oai-secret', 'sk-ant-secret', 'adm-rotated']) assert.equal(text.includes(secret), false, secret);
});
