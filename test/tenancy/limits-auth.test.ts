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
