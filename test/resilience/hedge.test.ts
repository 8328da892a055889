import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { HedgeBudget, HedgePolicy } from '../../src/resilience/hedge.ts';
import { LatencyDigest } from '../../src/resilience/latency.ts';
import { attemptFirstByteMs, firstByteMs, requestPolicy } from '../../src/resilience/timeouts.ts';

test('the latency digest gives nearest-rank percentiles of its last 128 samples, once it has enough', () => {
  const d = new LatencyDigest();
  assert.equal(d.percentile(0.5), undefined);
  for (let i = 1; i <= 100; i++) d.record(i);
  assert.equal(d.percentile(0.95, 101), undefined);
  assert.equal(d.percentile(0.95, 100), 95);
  assert.equal(d.percentile(0.5), 50);
  assert.equal(d.percentile(0.99), 99);
  // Old samples slide out: after 128 samples of 1000 ms every percentile is 1000.
  for (let i = 0; i < 128; i++) d.record(1000);
  assert.equal(d.percentile(0.01), 1000);
  d.record(Number.NaN);
  d.record(-1);
  assert.equal(d.count, 228);
});

test('the hedge budget allows maxShare of requests plus a burst, never more', () => {
  const budget = new HedgeBudget(0.1, 2);
  let hedges = 0;
  for (let i = 0; i < 100; i++) {
    budget.earn();
    if (budget.take()) hedges++;
  }
  // Two from the burst, then one per ten requests: at most 0.1 × 100 + 2.
  assert.ok(hedges <= 12 && hedges >= 10, `${hedges}`);
  const shares = new HedgeBudget(0.1, 1);
  const pattern: boolean[] = [];
  for (let i = 0; i < 21; i++) {
    shares.earn();
    pattern.push(shares.take());
  }
  assert.deepEqual(
    pattern.map((p, i) => (p ? i : -1)).filter((i) => i >= 0),
    [0, 10, 20],
  );
});

test('the hedge delay is the learned percentile once there are minSamples, else the fixed delay', () => {
  const digest = new LatencyDigest();
  const both = new HedgePolicy({ delayMs: 500, percentile: 0.9, minSamples: 10, maxShare: 0.1, burst: 1 });
  const fixed = new HedgePolicy({ delayMs: 500, minSamples: 10, maxShare: 0.1, burst: 1 });
  const learnedOnly = new HedgePolicy({ percentile: 0.9, minSamples: 10, maxShare: 0.1, burst: 1 });
  assert.equal(both.delayMs(digest), 500);
  assert.equal(learnedOnly.delayMs(digest), undefined);
  for (let i = 1; i <= 10; i++) digest.record(i * 10);
  assert.equal(both.delayMs(digest), 90);
  assert.equal(learnedOnly.delayMs(digest), 90);
  assert.equal(fixed.delayMs(digest), 500);
});

test('the first-byte timeout scales the per-token allowance and tightens to the learned latency', () => {
  const config = parseConfig(
    `
providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]
models:
  - name: m
    timeouts: { firstByteMs: { baseMs: 1000, perOutputTokenMs: 10, maxMs: 60000 }, learned: { factor: 3, floorMs: 500, minSamples: 3 } }
    deployments: [ { provider: p, model: a }, { provider: p, model: b, perOutputTokenMultiplier: 2.5 } ]
routes: { default: m }
`,
    { env: {} },
  );
  const policy = requestPolicy(config, 'm');
  assert.equal(firstByteMs(policy.timeouts, 100), 2000);
  assert.equal(firstByteMs(policy.timeouts, 100, 2.5), 3500);
  const empty = new LatencyDigest();
  const body = { max_tokens: 100 };
  assert.equal(attemptFirstByteMs(policy, 0, body, undefined, empty), 2000);
  assert.equal(attemptFirstByteMs(policy, 1, body, undefined, empty), 3500);
  const fast = new LatencyDigest();
  for (const ms of [100, 200, 300]) fast.record(ms);
  // min(2000, max(500, 3 × 300)) = 900
  assert.equal(attemptFirstByteMs(policy, 0, body, undefined, fast), 900);
  const quick = new LatencyDigest();
  for (const ms of [10, 10, 10]) quick.record(ms);
  assert.equal(attemptFirstByteMs(policy, 0, body, undefined, quick), 500);
  const slow = new LatencyDigest();
  for (const ms of [5000, 5000, 5000]) slow.record(ms);
  assert.equal(attemptFirstByteMs(policy, 0, body, undefined, slow), 2000);
});
