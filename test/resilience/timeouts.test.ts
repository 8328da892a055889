import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { AttemptTimer, defaultRequestPolicy, firstByteMs, requestedMaxTokens, requestPolicy, type TimeoutKind } from '../../src/resilience/timeouts.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('firstByteMs is a number as given, or base plus a per-token allowance capped', () => {
  const adaptive = { firstByteMs: { baseMs: 1000, perOutputTokenMs: 10, maxMs: 5000 }, idleMs: 1, totalMs: 1 };
  assert.equal(firstByteMs({ firstByteMs: 700, idleMs: 1, totalMs: 1 }, 100_000), 700);
  assert.equal(firstByteMs(adaptive, 100), 2000);
  assert.equal(firstByteMs(adaptive, 100_000), 5000);
  assert.equal(firstByteMs(adaptive, undefined), 1000);
});

test('the requested max tokens come from max_tokens or max_completion_tokens, clamped to the deployment limit', () => {
  assert.equal(requestedMaxTokens({ max_tokens: 300 }, undefined), 300);
  assert.equal(requestedMaxTokens({ max_completion_tokens: 300 }, 200), 200);
  assert.equal(requestedMaxTokens({}, 200), 200);
  assert.equal(requestedMaxTokens({ max_tokens: 'x' }, undefined), undefined);
});

test('a model group policy comes from the config with defaults, for its aliases too', () => {
  const config = parseConfig(
    `
providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:1/v1" } ]
models:
  - { name: m, aliases: [ mm ], retries: 3, timeouts: { idleMs: 123, firstByteMs: { baseMs: 10, perOutputTokenMs: 1, maxMs: 99 } }, deployments: [ { provider: p, model: x } ] }
  - { name: plain, deployments: [ { provider: p, model: y } ] }
routes: { default: m }
`,
    { env: {} },
  );
  const policy = requestPolicy(config, 'm');
  assert.equal(policy.retries, 3);
  assert.equal(policy.timeouts.idleMs, 123);
  assert.equal(policy.timeouts.totalMs, 600_000);
  assert.deepEqual(policy.timeouts.firstByteMs, { baseMs: 10, perOutputTokenMs: 1, maxMs: 99 });
  assert.equal(requestPolicy(config, 'mm'), policy);
  assert.equal(requestPolicy(config, 'plain').timeouts.firstByteMs, 60_000);
  assert.equal(requestPolicy(config, 'plain').retries, 1);
  assert.equal(requestPolicy(config, 'p,anything'), defaultRequestPolicy);
});

function timer(deadlineIn: number, first: number, idle: number): { t: AttemptTimer; fired: TimeoutKind[] } {
  const fired: TimeoutKind[] = [];
  const t = new AttemptTimer(performance.now() + deadlineIn, first, idle, (kind) => fired.push(kind));
  return { t, fired };
}

test('the attempt timer reports a missing first byte, then idle time, and never after clear', async () => {
  const a = timer(10_000, 30, 1000);
  a.t.start();
  await wait(60);
  assert.deepEqual(a.fired, ['first-byte']);

  // Idle far longer than the gap between chunks, so a loaded machine cannot fire it between them.
  const b = timer(10_000, 1000, 200);
  b.t.start();
  b.t.headers();
  for (let i = 0; i < 4; i++) {
    await wait(20);
    b.t.chunk();
  }
  assert.deepEqual(b.fired, [], 'chunks keep refreshing it');
  await wait(400);
  assert.deepEqual(b.fired, ['idle']);

  const c = timer(10_000, 30, 30);
  c.t.start();
  c.t.headers();
  c.t.clear();
  await wait(60);
  assert.deepEqual(c.fired, []);
});

test('the attempt timer reports the total deadline when it comes first, even while chunks flow', async () => {
  const a = timer(40, 1000, 1000);
  a.t.start();
  await wait(70);
  assert.deepEqual(a.fired, ['total']);

  // Idle is far longer than the gap between chunks, so a loaded machine cannot make it fire first.
  const b = timer(150, 1000, 100);
  b.t.start();
  b.t.headers();
  for (let i = 0; i < 40 && b.fired.length === 0; i++) {
    await wait(10);
    b.t.chunk();
  }
  assert.deepEqual(b.fired, ['total']);
});

test('idle time while paused for a slow client does not count', async () => {
  const a = timer(10_000, 1000, 30);
  a.t.start();
  a.t.headers();
  a.t.pause();
  await wait(80);
  assert.deepEqual(a.fired, []);
  a.t.resume();
  await wait(10);
  assert.deepEqual(a.fired, []);
  await wait(60);
  assert.deepEqual(a.fired, ['idle']);
});
