import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultBreakerOptions, DENIED, DeploymentHealth, FORCED, NORMAL, PROBE, type BreakerOptions, type Ticket } from '../../src/resilience/health.ts';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function setup(overrides: Partial<BreakerOptions> = {}) {
  const clock = fakeClock();
  const health = new DeploymentHealth('p/m', { ...defaultBreakerOptions, ...overrides }, clock.now);
  const fail = (retryAfterMs?: number): Ticket => {
    const ticket = health.acquire();
    assert.notEqual(ticket, DENIED);
    health.fail(ticket, retryAfterMs);
    health.release(ticket, true);
    return ticket;
  };
  const succeed = (latencyMs?: number): Ticket => {
    const ticket = health.acquire();
    assert.notEqual(ticket, DENIED);
    health.succeed(ticket, latencyMs);
    health.release(ticket, true);
    return ticket;
  };
  return { clock, health, fail, succeed };
}

test('the breaker opens after the configured number of consecutive failures', () => {
  const { health, fail } = setup({ consecutiveFailures: 3 });
  fail();
  fail();
  assert.equal(health.state, 'closed');
  fail();
  assert.equal(health.state, 'open');
  assert.equal(health.available(), false);
  assert.equal(health.acquire(), DENIED);
});

test('a success in between resets the consecutive failure count', () => {
  const { health, fail, succeed } = setup({ consecutiveFailures: 3, minRequests: 1000 });
  for (let i = 0; i < 10; i++) {
    fail();
    fail();
    succeed();
  }
  assert.equal(health.state, 'closed');
});

test('the breaker opens on the error rate in the window only once the window holds the minimum number of requests', () => {
  const { health, fail, succeed } = setup({ consecutiveFailures: 1000, errorRate: 0.5, minRequests: 10 });
  for (let i = 0; i < 4; i++) {
    fail();
    succeed();
  }
  fail();
  // 5 failures out of 9: over the rate, but under the minimum count.
  assert.equal(health.state, 'closed');
  succeed();
  assert.equal(health.state, 'closed');
  fail();
  // 6 out of 11.
  assert.equal(health.state, 'open');
});

test('failures that slid out of the window no longer count toward the error rate', () => {
  const { clock, health, fail, succeed } = setup({ consecutiveFailures: 1000, errorRate: 0.5, minRequests: 4, windowMs: 10_000 });
  fail();
  fail();
  fail();
  clock.advance(11_000);
  succeed();
  succeed();
  succeed();
  fail();
  // Only the last four are in the window: 1 of 4.
  assert.equal(health.snapshot().windowRequests, 4);
  assert.equal(health.snapshot().windowFailures, 1);
  assert.equal(health.state, 'closed');
});

test('a 429 with retry-after opens the breaker at once for that long', () => {
  const { clock, health, fail } = setup({ cooldownMs: 30_000 });
  fail(2_000);
  assert.equal(health.state, 'open');
  clock.advance(1_999);
  assert.equal(health.available(), false);
  clock.advance(1);
  assert.equal(health.state, 'half-open');
  assert.equal(health.available(), true);
});

test('after the cooldown the breaker half-opens and lets only the configured number of probes through', () => {
  const { clock, health, fail } = setup({ consecutiveFailures: 1, cooldownMs: 5_000, halfOpenProbes: 2 });
  fail();
  assert.equal(health.acquire(), DENIED);
  clock.advance(5_000);
  const a = health.acquire();
  const b = health.acquire();
  assert.equal(a, PROBE);
  assert.equal(b, PROBE);
  assert.equal(health.available(), false);
  assert.equal(health.acquire(), DENIED);
  assert.equal(health.inFlight, 2);
  // A probe abandoned by its client frees its slot without deciding anything.
  health.release(a, false);
  assert.equal(health.state, 'half-open');
  assert.equal(health.available(), true);
});

test('a probe success closes the breaker and clears the old failures', () => {
  const { clock, health, fail, succeed } = setup({ consecutiveFailures: 2, cooldownMs: 1_000 });
  fail();
  fail();
  clock.advance(1_000);
  assert.equal(succeed(), PROBE);
  assert.equal(health.state, 'closed');
  assert.equal(health.snapshot().consecutiveFailures, 0);
  assert.equal(health.snapshot().windowFailures, 0);
  fail();
  assert.equal(health.state, 'closed');
});

test('a probe failure re-opens the breaker for another cooldown', () => {
  const { clock, health, fail } = setup({ consecutiveFailures: 1, cooldownMs: 1_000 });
  fail();
  clock.advance(1_000);
  assert.equal(fail(), PROBE);
  assert.equal(health.state, 'open');
  clock.advance(999);
  assert.equal(health.available(), false);
  clock.advance(1);
  assert.equal(health.available(), true);
});

test('a forced attempt goes through an open breaker, and its success closes it', () => {
  const { health, fail } = setup({ consecutiveFailures: 1, cooldownMs: 60_000 });
  fail();
  assert.equal(health.acquire(), DENIED);
  const ticket = health.acquire(true);
  assert.equal(ticket, FORCED);
  health.succeed(ticket, 10);
  health.release(ticket, true);
  assert.equal(health.state, 'closed');
});

test('in flight counts every acquired attempt until it is released', () => {
  const { health } = setup();
  const a = health.acquire();
  const b = health.acquire();
  assert.equal(a, NORMAL);
  assert.equal(health.inFlight, 2);
  health.succeed(a, 5);
  assert.equal(health.inFlight, 2, 'an answered attempt stays in flight while its body is relayed');
  health.release(a, true);
  health.release(b, false);
  assert.equal(health.inFlight, 0);
  health.release(DENIED, false);
  assert.equal(health.inFlight, 0);
});

test('latency is a peak EWMA: a slow sample counts at once, fast ones pull it down over time', () => {
  const { clock, health, succeed } = setup();
  succeed(100);
  assert.equal(health.latencyMs, 100);
  succeed(500);
  assert.equal(health.latencyMs, 500);
  clock.advance(10_000);
  succeed(100);
  assert.ok(health.latencyMs < 500 && health.latencyMs > 100, String(health.latencyMs));
});

test('new settings on reload keep the breaker state', () => {
  const { health, fail } = setup({ consecutiveFailures: 1 });
  fail();
  health.configure({ ...defaultBreakerOptions, consecutiveFailures: 10 });
  assert.equal(health.state, 'open');
});
