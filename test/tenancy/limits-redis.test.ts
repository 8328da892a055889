/**
 * Limits in Redis: the Lua scripts' semantics, the fallback to local counters
 * while Redis is unreachable and the way back, and two gateways sharing one
 * budget and one rate limit without drift.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisLimitBackend } from '../../src/tenancy/limits-redis.ts';
import { IN_FLIGHT_RETRY_MS, WINDOW_MS, type Admission, type ScopePlan } from '../../src/tenancy/limits-backend.ts';
import { periodsAt } from '../../src/tenancy/limits.ts';
import { PriceTable } from '../../src/usage/pricing.ts';
import { defaultYaml, postJson, startStack } from '../e2e/stack.ts';
import { as, enforcer, keyPrincipal, privateRedis, REDIS_URL, requireRedis, uniquePrefix, until } from './limits-helpers.ts';

let n = 0;
function admission(scopes: ScopePlan[], over: Partial<Admission> = {}): Admission {
  const now = over.now ?? Date.now();
  return { id: `r${n++}`, now, window: Math.floor(now / WINDOW_MS), inputTokens: 10, costNanos: 0, ...periodsAt(now), leaseUntil: now + 600_000, scopes, ...over };
}

async function backend(t: TestContext): Promise<RedisLimitBackend | undefined> {
  if (!(await requireRedis(t))) return undefined;
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  t.after(() => client.disconnect());
  return new RedisLimitBackend(client, uniquePrefix(t));
}

test('redis: requests per minute are checked and counted atomically across scopes; refusals are not counted', async (t) => {
  const b = await backend(t);
  if (b === undefined) return;
  const key: ScopePlan = { id: 'key:k', slot: 't', rpm: 5 };
  const tenant: ScopePlan = { id: 'tenant:t', slot: 't', rpm: 2 };
  assert.equal((await b.admit(admission([key, tenant]))).ok, true);
  assert.equal((await b.admit(admission([key, tenant]))).ok, true);
  const v = await b.admit(admission([key, tenant]));
  assert.equal(v.ok, false);
  if (!v.ok) {
    assert.equal(v.limit, 'requestsPerMinute');
    assert.equal(v.scope.id, 'tenant:t');
    assert.ok(v.retryAfterMs >= 1 && v.retryAfterMs <= 2 * WINDOW_MS);
  }
  // The key was charged twice, not three times.
  for (let i = 0; i < 3; i++) assert.equal((await b.admit(admission([key]))).ok, true);
  assert.equal((await b.admit(admission([key]))).ok, false);
});

test('redis: budgets reserve, settle at the actual cost once, and a dead instance\'s reservations and slots expire', async (t) => {
  const b = await backend(t);
  if (b === undefined) return;
  const now = Date.now();
  const { day } = periodsAt(now);
  const key: ScopePlan = { id: 'key:b', slot: 't', dayNanos: 1000, concurrency: 1 };
  const a1 = admission([key], { costNanos: 600, now });
  assert.equal((await b.admit(a1)).ok, true);
  assert.deepEqual(await b.budget('t', 'key:b', `d:${day}`), { spent: 0, reserved: 600 });
  const v = await b.admit(admission([key], { costNanos: 100, now }));
  assert.equal(v.ok, false);
  if (!v.ok) assert.equal(v.limit, 'concurrency');
  const settlement = { inputTokens: 10, outputTokens: 5, costNanos: 250, now };
  await b.settle(a1, settlement);
  // A replay (after an outage) does not count twice.
  await b.settle(a1, settlement);
  assert.deepEqual(await b.budget('t', 'key:b', `d:${day}`), { spent: 250, reserved: 0 });

  // An instance that dies holding a reservation and a slot: both come back when the lease ends.
  const lost = admission([key], { costNanos: 700, now, leaseUntil: now + 50 });
  assert.equal((await b.admit(lost)).ok, true);
  const held = await b.admit(admission([key], { costNanos: 10, now: now + 10 }));
  assert.equal(held.ok, false);
  const after = admission([key], { costNanos: 700, now: now + 100 });
  assert.equal((await b.admit(after)).ok, true);
  assert.deepEqual(await b.budget('t', 'key:b', `d:${day}`), { spent: 250, reserved: 700 });
  await b.settle(after, { ...settlement, costNanos: 700, now: now + 200 });
  // 950 spent: 100 no longer fits until tomorrow; 50 does.
  const spent = await b.admit(admission([key], { costNanos: 100, now: now + 300 }));
  assert.equal(spent.ok, false);
  if (!spent.ok) assert.ok(spent.retryAfterMs > IN_FLIGHT_RETRY_MS || periodsAt(now).dayEndsAt - now < IN_FLIGHT_RETRY_MS);
  assert.equal((await b.admit(admission([key], { costNanos: 50, now: now + 300 }))).ok, true);
});

test('redis: input tokens are corrected by the real count, output tokens counted at the end', async (t) => {
  const b = await backend(t);
  if (b === undefined) return;
  const key: ScopePlan = { id: 'key:i', slot: 't', itpm: 1000, otpm: 100 };
  const a1 = admission([key], { inputTokens: 900 });
  assert.equal((await b.admit(a1)).ok, true);
  assert.equal((await b.admit(admission([key], { inputTokens: 200 }))).ok, false);
  await b.settle(a1, { inputTokens: 100, outputTokens: 100, costNanos: 0, now: a1.now });
  const v = await b.admit(admission([key], { inputTokens: 200, now: a1.now }));
  assert.equal(v.ok, false, 'the output window is full');
  if (!v.ok) assert.equal(v.limit, 'outputTokensPerMinute');
});

test('when redis goes away the gateway serves on local limits, says so once, and returns to redis when it is back', async (t) => {
  const redis = await privateRedis(t);
  if (redis === undefined) return;
  const yaml = (url: string) => defaultYaml(url, `redis: { url: "${redis.url}" }\nlimits: { backend: redis }\npricing: { models: { "upstream-claude": { input: 1000, output: 1000 } } }`);
  const principal = keyPrincipal('kf', { requestsPerMinute: 3, budgetDayUsd: 100 });
  const stack = await startStack(t, { yaml, mock: { latencyMs: 0 }, extensions: [as(principal)] });
  const limits = enforcer(stack.gateway);
  const url = `${stack.gateway.url}/v1/messages`;
  const body = { model: 'claude-mock', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] };
  const probe = (): Redis => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    c.on('error', () => {});
    return c;
  };
  const rpmKeys = async (): Promise<number> => {
    const c = probe();
    try {
      await c.connect();
      return (await c.keys('*key:kf:r:*')).length;
    } finally {
      c.disconnect();
    }
  };

  assert.equal((await postJson(url, body)).status, 200);
  assert.equal(limits.stats().degraded, false);
  assert.equal(await rpmKeys(), 1, 'counted in redis');

  // A request in flight when redis goes: its settlement waits for redis.
  stack.mock.setOptions({ latencyMs: 400 });
  const slow = postJson(url, body);
  assert.ok(await until(() => stack.mock.stats.inFlight > 0));
  await redis.stop();
  assert.ok(await until(() => limits.stats().degraded), 'noticed the outage');
  const slowRes = await slow;
  assert.equal(slowRes.status, 200);
  stack.mock.setOptions({ latencyMs: 0 });
  assert.ok(await until(() => limits.stats().pendingSettlements === 1), 'the settlement waits for redis');

  // Local counters, fresh: 3 requests pass, the 4th is refused locally.
  for (let i = 0; i < 3; i++) assert.equal((await postJson(url, body)).status, 200);
  const refused = await postJson(url, body);
  assert.equal(refused.status, 429);
  const stats = limits.stats();
  assert.equal(stats.localFallbacks, 4);
  assert.equal(stats.redis?.up, false);
  const warnings = stack.logs.filter((l) => String(l.msg).startsWith('redis unreachable'));
  assert.equal(warnings.length, 1, 'the outage is logged once');

  await redis.start();
  assert.ok(await until(() => !limits.stats().degraded, 10_000), 'back on redis');
  assert.ok(await until(() => limits.stats().pendingSettlements === 0), 'the waiting settlement was replayed');
  assert.ok(stack.logs.some((l) => l.msg === 'redis connected'));
  // The replayed settlement is the slow request's actual cost, in the new (empty) redis.
  const usage = slowRes.json.usage as { input_tokens: number; output_tokens: number };
  const cost = new PriceTable({ models: { 'upstream-claude': { input: 1000, output: 1000 } } }).costOf({ inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }, 'ant/upstream-claude');
  const spent = await limits.shared!.budget('t1', 'key:kf', `d:${periodsAt(Date.now()).day}`);
  assert.equal(spent.spent, Math.round(cost * 1e9));
  assert.equal((await postJson(url, body)).status, 200);
  assert.equal(await rpmKeys(), 1, 'counted in redis again');
  assert.equal(limits.stats().localFallbacks, 4);
});

test('two gateways on one redis: one rate limit and one budget are never exceeded, settle to the actual costs, and raise no false 429', async (t) => {
  if (!(await requireRedis(t))) return;
  const prefix = uniquePrefix(t);
  const price = { input: 1000, output: 1000 };
  const yaml = (url: string) =>
    defaultYaml(url, `redis: { url: "${REDIS_URL}" }\nlimits: { backend: redis, redisPrefix: "${prefix}" }\npricing: { models: { "upstream-claude": { input: 1000, output: 1000 } } }`);
  const rpmKey = keyPrincipal('rpm', { requestsPerMinute: 30 }, undefined, 'tr');
  const roomy = keyPrincipal('roomy', { requestsPerMinute: 10_000, budgetDayUsd: 1000 }, { budgetMonthUsd: 1000 }, 'tb');
  const tight = keyPrincipal('tight', { budgetDayUsd: 0.6 }, undefined, 'tb');
  const auth = as(rpmKey, { roomy, tight });
  const one = await startStack(t, { yaml, extensions: [auth] });
  const two = await startStack(t, { yaml, extensions: [auth] });
  const urls = [`${one.gateway.url}/v1/messages`, `${two.gateway.url}/v1/messages`];
  const body = { model: 'claude-mock', max_tokens: 40, messages: [{ role: 'user', content: 'How are you?' }] };
  const prices = new PriceTable({ models: { 'upstream-claude': price } });
  const costOf = (res: Awaited<ReturnType<typeof postJson>>): number => {
    const usage = res.json.usage as { input_tokens: number; output_tokens: number };
    return prices.costOf({ inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }, 'ant/upstream-claude');
  };
  /** `total` requests, `parallel` at a time per gateway, alternating gateways. */
  const burst = async (header: string, total: number, parallel: number, retryInFlight = false) => {
    const results: Array<Awaited<ReturnType<typeof postJson>>> = [];
    let next = 0;
    const worker = async (g: number): Promise<void> => {
      while (next < total) {
        next++;
        let res = await postJson(urls[g]!, body, { 'x-test-key': header });
        // A budget held by reservations in flight frees up: retry those quickly (bounded).
        for (let i = 0; i < 200 && retryInFlight && res.status === 429 && /in flight/.test(res.text); i++) {
          await new Promise((r) => setTimeout(r, 10));
          res = await postJson(urls[g]!, body, { 'x-test-key': header });
        }
        results.push(res);
      }
    };
    await Promise.all(Array.from({ length: parallel * 2 }, (_, i) => worker(i % 2)));
    return results;
  };

  // Rate: 80 concurrent requests against 30 per minute.
  const startWindow = Math.floor(Date.now() / WINDOW_MS);
  const rpm = await burst('rpm', 80, 8);
  const sameWindow = Math.floor(Date.now() / WINDOW_MS) === startWindow;
  const admitted = rpm.filter((r) => r.status === 200).length;
  assert.ok(rpm.every((r) => r.status === 200 || r.status === 429));
  if (sameWindow) assert.equal(admitted, 30);
  else assert.ok(admitted >= 30 && admitted <= 31, String(admitted));

  // No false 429: under a roomy limit and budget, every one of 60 concurrent requests passes.
  const roomyResults = await burst('roomy', 60, 6);
  assert.deepEqual(roomyResults.map((r) => r.status).filter((s) => s !== 200), []);
  const { day, month } = periodsAt(Date.now());
  // Settlements run when each response has closed on the gateway's side, just after the client has it.
  const settledAll = (keyId: string) => until(async () => (await enforcer(one.gateway).shared!.budget('tb', keyId, `d:${day}`)).reserved === 0);
  assert.ok(await settledAll('key:roomy'));
  const roomySpent = await enforcer(one.gateway).shared!.budget('tb', 'key:roomy', `d:${day}`);
  const roomyCost = roomyResults.reduce((sum, r) => sum + Math.round(costOf(r) * 1e9), 0);
  assert.deepEqual(roomySpent, { spent: roomyCost, reserved: 0 });
  const tenantMonth = await enforcer(two.gateway).shared!.budget('tb', 'tenant:tb', `m:${month}`);
  assert.deepEqual(tenantMonth, { spent: roomyCost, reserved: 0 });

  // Budget: concurrent requests from both gateways against $0.60.
  const tightResults = await burst('tight', 120, 6, true);
  const ok = tightResults.filter((r) => r.status === 200);
  const spentOut = tightResults.filter((r) => r.status === 429);
  assert.ok(ok.length > 0 && spentOut.length > 0, `${ok.length} admitted, ${spentOut.length} refused`);
  assert.ok(spentOut.every((r) => /daily budget/.test(r.text) && !/in flight/.test(r.text)));
  const actual = ok.reduce((sum, r) => sum + Math.round(costOf(r) * 1e9), 0);
  assert.ok(await settledAll('key:tight'));
  const settled = await enforcer(two.gateway).shared!.budget('tb', 'key:tight', `d:${day}`);
  assert.equal(settled.reserved, 0, 'nothing stays reserved');
  assert.equal(settled.spent, actual, 'settled spend is the sum of actual costs');
  assert.ok(actual <= 0.6e9, `spent ${actual / 1e9} of 0.60`);
  // Refusals were true: what is left cannot cover one more request's estimate.
  const estimate = Math.max(...ok.map((r) => costOf(r))) * 1e9;
  assert.ok(0.6e9 - actual < estimate + 40 * 1000 * 1000, 'the budget was used up before requests were refused');
  assert.ok(ok.some((r) => r.headers.get('x-request-id')) && one.mock.stats.requests > 0 && two.mock.stats.requests > 0);
});
