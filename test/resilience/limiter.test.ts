import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { DeploymentHealth, DENIED, NORMAL } from '../../src/resilience/index.ts';
import { ConcurrencyLimiter, type WaitOutcome } from '../../src/resilience/limiter.ts';

function limiter(maxConcurrent: number, maxQueue = 10, maxQueueWaitMs = 10_000): ConcurrencyLimiter {
  return new ConcurrencyLimiter({ maxConcurrent, maxQueue, maxQueueWaitMs });
}

test('tryAcquire takes a free slot synchronously and refuses once every slot is taken', () => {
  const l = limiter(2);
  assert.equal(l.tryAcquire(), true);
  assert.equal(l.tryAcquire(), true);
  assert.equal(l.tryAcquire(), false);
  assert.equal(l.inFlight, 2);
  l.release();
  assert.equal(l.tryAcquire(), true);
});

test('a limit of 0 never refuses', () => {
  const l = limiter(0);
  for (let i = 0; i < 100; i++) assert.equal(l.tryAcquire(), true);
  assert.equal(l.stats().queued, 0);
});

test('waiters get released slots in FIFO order', async () => {
  const l = limiter(1);
  assert.equal(l.tryAcquire(), true);
  const order: number[] = [];
  const waits = [0, 1, 2].map((i) => l.wait().then((outcome) => order.push(outcome === 'acquired' ? i : -1)));
  assert.equal(l.queued, 3);
  for (let i = 0; i < 3; i++) {
    l.release();
    await sleep(0);
  }
  await Promise.all(waits);
  assert.deepEqual(order, [0, 1, 2]);
  // Each release handed its slot over: still one holder.
  assert.equal(l.inFlight, 1);
  l.release();
  assert.equal(l.inFlight, 0);
});

test('a newcomer does not overtake queued waiters', async () => {
  const l = limiter(1);
  l.tryAcquire();
  const waiting = l.wait();
  l.release();
  assert.equal(l.tryAcquire(), false);
  assert.equal(await waiting, 'acquired');
});

test('a full queue sheds at once', async () => {
  const l = limiter(1, 1);
  l.tryAcquire();
  const queued = l.wait();
  assert.equal(await l.wait(), 'full');
  assert.equal(l.stats().shedFull, 1);
  l.release();
  assert.equal(await queued, 'acquired');
});

test('a queue of 0 sheds as soon as every slot is taken', async () => {
  const l = limiter(1, 0);
  l.tryAcquire();
  assert.equal(await l.wait(), 'full');
});

test('a waiter that waits longer than maxQueueWaitMs is shed and leaves the queue', async () => {
  // The second waiter queues well after the first, so a loaded machine cannot fire both timeouts in one tick.
  const l = limiter(1, 10, 200);
  l.tryAcquire();
  const started = performance.now();
  const first = l.wait();
  await sleep(150);
  const second = l.wait();
  assert.equal(await first, 'timeout');
  assert.ok(performance.now() - started >= 190);
  assert.equal(l.queued, 1);
  assert.equal(await second, 'timeout');
  assert.equal(l.queued, 0);
  assert.equal(l.stats().shedTimeout, 2);
  // The holder keeps its slot; the next release frees it.
  assert.equal(l.inFlight, 1);
  l.release();
  assert.equal(l.inFlight, 0);
});

test('an aborted waiter leaves the queue at once and the next waiter takes its place', async () => {
  const l = limiter(1, 2);
  l.tryAcquire();
  const ac = new AbortController();
  const gone = l.wait(ac.signal);
  const next = l.wait();
  assert.equal(l.queued, 2);
  ac.abort();
  assert.equal(l.queued, 1);
  assert.equal(await gone, 'aborted');
  // The freed place in the queue can be taken again.
  const third = l.wait();
  assert.equal(l.queued, 2);
  l.release();
  assert.equal(await next, 'acquired');
  l.release();
  assert.equal(await third, 'acquired');
});

test('a signal that has already aborted does not queue', async () => {
  const l = limiter(1);
  l.tryAcquire();
  const ac = new AbortController();
  ac.abort();
  assert.equal(await l.wait(ac.signal), 'aborted');
  assert.equal(l.queued, 0);
});

test('no timer keeps the process alive once the queue is empty', async () => {
  const l = limiter(1, 10, 60_000);
  l.tryAcquire();
  const outcomes: Array<Promise<WaitOutcome>> = [l.wait(), l.wait()];
  l.release();
  l.release();
  assert.deepEqual(await Promise.all(outcomes), ['acquired', 'acquired']);
  // A live 60 s timer would show up as an active handle.
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout');
  assert.equal(timers.length, 0);
});

test('stats report in flight and queue depth', () => {
  const l = limiter(1, 5);
  l.tryAcquire();
  void l.wait();
  assert.deepEqual(l.stats(), { inFlight: 1, queued: 1, maxConcurrent: 1, maxQueue: 5, shedFull: 0, shedTimeout: 0 });
  l.release();
});

test('a deployment at its concurrency cap is denied, even when forced, and unavailable until an attempt ends', () => {
  const health = new DeploymentHealth('p/m');
  health.maxConcurrent = 1;
  const ticket = health.acquire();
  assert.equal(ticket, NORMAL);
  assert.equal(health.atCapacity, true);
  assert.equal(health.available(), false);
  assert.equal(health.acquire(), DENIED);
  assert.equal(health.acquire(true), DENIED);
  assert.equal(health.inFlight, 1);
  health.release(ticket, false);
  assert.equal(health.available(), true);
  assert.equal(health.acquire(), NORMAL);
});

test('a deployment without a cap keeps admitting', () => {
  const health = new DeploymentHealth('p/m');
  for (let i = 0; i < 50; i++) assert.equal(health.acquire(), NORMAL);
  assert.equal(health.atCapacity, false);
});
