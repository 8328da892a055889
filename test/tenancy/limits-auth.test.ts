/**
 * Limits through real authentication: keys and tenants from the store carry
 * their limits, the config's defaults fill what they leave out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson } from '../e2e/stack.ts';
import { anthropicBody, openaiBody, startAuthStack } from './helpers.ts';
import { enforcer } from './limits-helpers.ts';
import { periodsAt } from '../../src/tenancy/limits.ts';

test('a real key hits its own requests per minute, then its tenant\'s, each a 429 in the client\'s protocol', async (t) => {
  const issued: Record<string, { secret: string; id: string }> = {};
  const { gateway, logs } = await startAuthStack(t, {
    extra: 'limits: { backend: memory }',
    before: async (repo) => {
      const tenant = await repo.createTenant('acme', { requestsPerMinute: 3 });
      for (const [name, limits] of [
        ['a', { requestsPerMinute: 2 }],
        ['b', undefined],
      ] as const) {
        const key = await repo.createKey({ tenantId: tenant.id, ...(limits === undefined ? {} : { limits }) });
        issued[name] = { secret: key.secret, id: key.record.id };
      }
    },
  });
  const a = { 'x-api-key': issued.a!.secret };
  const b = { authorization: `Bearer ${issued.b!.secret}` };
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, a)).status, 200);
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, a)).status, 200);
  const keyRefused = await postJson(`${gateway.url}/v1/messages`, anthropicBody, a);
  assert.equal(keyRefused.status, 429);
  assert.equal((keyRefused.json.error as Record<string, unknown>).type, 'rate_limit_error');
  assert.match(keyRefused.text, /this API key allows 2 requests per minute/);
  assert.ok(!keyRefused.text.includes(issued.a!.secret));

  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, b)).status, 200);
  const tenantRefused = await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, b);
  assert.equal(tenantRefused.status, 429);
  assert.match(tenantRefused.text, /tenant allows 3 requests per minute/);
  assert.ok(Number(tenantRefused.headers.get('retry-after')) >= 1);

  const refusedLines = logs.filter((l) => l.msg === 'request' && l.status === 429);
  assert.deepEqual(
    refusedLines.map((l) => [l.keyId, l.error]),
    [
      [issued.a!.id, 'SWY_ERR_RATE_LIMITED'],
      [issued.b!.id, 'SWY_ERR_RATE_LIMITED'],
    ],
  );
});

test('a real key without a budget takes the configured default per key, and its spend settles', async (t) => {
  let secret = '';
  let keyId = '';
  const { gateway } = await startAuthStack(t, {
    extra: 'limits: { backend: memory, keys: { budgetDayUsd: 0.2 } }\npricing: { models: { "upstream-claude": { input: 1000, output: 1000 } } }',
    before: async (repo) => {
      const key = await repo.createKey({ tenantId: (await repo.createTenant('acme')).id });
      secret = key.secret;
      keyId = key.record.id;
    },
  });
  let refused;
  let admitted = 0;
  for (let i = 0; i < 50 && refused === undefined; i++) {
    const res = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': secret });
    if (res.status === 429) refused = res;
    else {
      assert.equal(res.status, 200, res.text);
      admitted++;
    }
  }
  assert.ok(refused !== undefined && admitted > 0, `${admitted} admitted before the budget ran out`);
  assert.match(refused.text, /daily budget of \$0\.20 for this API key/);
  const spent = enforcer(gateway).local.budget(`key:${keyId}`, `d:${periodsAt(Date.now()).day}`).spent;
  assert.ok(spent > 0 && spent <= 0.2e9, String(spent));
});

test('after a restart, budgets kept in this process resume from the usage ledger instead of starting again', async (t) => {
  let secret = '';
  let keyId = '';
  const extra = 'limits: { backend: memory, keys: { budgetDayUsd: 5 } }\npricing: { models: { "upstream-claude": { input: 1000, output: 1000 } } }';
  const first = await startAuthStack(t, {
    extra,
    before: async (repo) => {
      const key = await repo.createKey({ tenantId: (await repo.createTenant('acme')).id });
      secret = key.secret;
      keyId = key.record.id;
    },
  });
  const headers = { 'x-api-key': secret };
  for (let i = 0; i < 3; i++) assert.equal((await postJson(`${first.gateway.url}/v1/messages`, anthropicBody, headers)).status, 200);
  const day = `d:${periodsAt(Date.now()).day}`;
  const firstLimits = enforcer(first.gateway);
  for (let i = 0; i < 100 && firstLimits.local.budget(`key:${keyId}`, day).reserved > 0; i++) await new Promise((r) => setTimeout(r, 10));
  const spentBefore = firstLimits.local.budget(`key:${keyId}`, day).spent;
  assert.ok(spentBefore > 0);
  const ledger = first.gateway.extensions.find((e) => e.name === 'usage-ledger') as unknown as { flush(): Promise<void> };
  await ledger.flush();

  // A second gateway on the same store: a fresh process as far as its counters go.
  const second = await startAuthStack(t, { extra, storeUrl: first.storeUrl });
  const res = await postJson(`${second.gateway.url}/v1/messages`, anthropicBody, headers);
  assert.equal(res.status, 200, res.text);
  const secondLimits = enforcer(second.gateway);
  for (let i = 0; i < 100 && secondLimits.local.budget(`key:${keyId}`, day).reserved > 0; i++) await new Promise((r) => setTimeout(r, 10));
  const spentAfter = secondLimits.local.budget(`key:${keyId}`, day).spent;
  // What the first spent (the ledger rounds to a millionth of a dollar) plus this request.
  const thisOne = spentBefore / 3;
  assert.ok(Math.abs(spentAfter - (spentBefore + thisOne)) < 10_000, `${spentAfter} vs ${spentBefore + thisOne}`);
});
