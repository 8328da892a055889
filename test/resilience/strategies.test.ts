import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultBreakerOptions, DeploymentHealth } from '../../src/resilience/health.ts';
import { createStrategy, healthFirst, type GroupSpec } from '../../src/resilience/strategies.ts';
import { seeded } from '../seeded-random.ts';

function healths(n: number, now = () => 0): DeploymentHealth[] {
  return Array.from({ length: n }, (_, i) => new DeploymentHealth(`p/m${i}`, { ...defaultBreakerOptions, consecutiveFailures: 1 }, now));
}

function spec(weights: number[], costs: number[] = weights.map(() => 0)): GroupSpec {
  return { weights, costs };
}

function open(h: DeploymentHealth): void {
  const ticket = h.acquire();
  h.fail(ticket);
  h.release(ticket, true);
}

test('priority keeps config order and allocates nothing per request', () => {
  const strategy = createStrategy('priority', spec([1, 1, 1]));
  const h = healths(3);
  const first = strategy(h);
  assert.deepEqual(first, [0, 1, 2]);
  assert.equal(strategy(h), first);
});

test('a group of one is returned as is whatever the strategy', () => {
  for (const name of ['priority', 'weighted', 'round-robin', 'least-in-flight', 'latency', 'cost'] as const) {
    const strategy = createStrategy(name, spec([1]));
    const h = healths(1);
    assert.deepEqual(strategy(h), [0]);
    assert.equal(strategy(h), strategy(h), name);
  }
});

test('weighted picks the first deployment in proportion to the weights', () => {
  const strategy = createStrategy('weighted', spec([3, 1, 0]), seeded(42));
  const h = healths(3);
  const firsts = [0, 0, 0];
  const draws = 20_000;
  for (let i = 0; i < draws; i++) {
    const order = strategy(h);
    assert.equal(order.length, 3);
    assert.deepEqual([...order].sort(), [0, 1, 2]);
    assert.equal(order[2], 2, 'weight 0 goes last');
    firsts[order[0]!]!++;
  }
  assert.ok(Math.abs(firsts[0]! / draws - 0.75) < 0.02, `first share ${firsts[0]! / draws}`);
  assert.equal(firsts[2], 0);
});

test('round-robin rotates the starting deployment on every request', () => {
  const strategy = createStrategy('round-robin', spec([1, 1, 1]));
  const h = healths(3);
  assert.deepEqual(strategy(h), [0, 1, 2]);
  assert.deepEqual(strategy(h), [1, 2, 0]);
  assert.deepEqual(strategy(h), [2, 0, 1]);
  assert.deepEqual(strategy(h), [0, 1, 2]);
});

test('least-in-flight puts the deployment with the fewest requests in flight first, ties in config order', () => {
  const strategy = createStrategy('least-in-flight', spec([1, 1, 1]));
  const h = healths(3);
  h[0]!.acquire();
  h[0]!.acquire();
  h[1]!.acquire();
  assert.deepEqual(strategy(h), [2, 1, 0]);
  h[2]!.acquire();
  assert.deepEqual(strategy(h), [1, 2, 0]);
});

test('latency (power of two choices) prefers the faster deployment', () => {
  const strategy = createStrategy('latency', spec([1, 1]), seeded(7));
  const h = healths(2);
  const record = (x: DeploymentHealth, ms: number): void => {
    const t = x.acquire();
    x.succeed(t, ms);
    x.release(t, true);
  };
  record(h[0]!, 900);
  record(h[1]!, 50);
  for (let i = 0; i < 50; i++) assert.deepEqual(strategy(h), [1, 0]);
});

test('latency spreads load among three when one is busy: the pair drawn decides the first', () => {
  const strategy = createStrategy('latency', spec([1, 1, 1]), seeded(3));
  const h = healths(3);
  // All equally fast, but deployment 0 has many requests in flight.
  for (let i = 0; i < 10; i++) h[0]!.acquire();
  const firsts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) firsts[strategy(h)[0]!]!++;
  assert.equal(firsts[0], 0, 'the busy one never wins a pair');
  assert.ok(firsts[1]! > 1000 && firsts[2]! > 1000, String(firsts));
});

test('cost orders the cheapest deployment first, undeclared prices count as 0 and keep config order', () => {
  const strategy = createStrategy('cost', spec([1, 1, 1, 1], [18, 0, 4, 0]));
  assert.deepEqual(strategy(healths(4)), [1, 3, 2, 0]);
});

test('open breakers are skipped while any deployment is available', () => {
  const h = healths(3);
  open(h[0]!);
  assert.deepEqual(healthFirst([0, 1, 2], h, 0), [1, 2]);
  assert.deepEqual(healthFirst([2, 0, 1], h, 0), [2, 1]);
});

test('when every breaker is open all deployments are tried anyway in strategy order', () => {
  const h = healths(3);
  for (const x of h) open(x);
  assert.deepEqual(healthFirst([2, 0, 1], h, 0), [2, 0, 1]);
});

test('a half-open deployment with a free probe slot counts as available, one without does not', () => {
  let t = 0;
  const h = healths(2, () => t);
  open(h[0]!);
  t = defaultBreakerOptions.cooldownMs;
  assert.deepEqual(healthFirst([0, 1], h, t), [0, 1]);
  h[0]!.acquire();
  assert.deepEqual(healthFirst([0, 1], h, t), [1]);
});
