/**
 * The dashboard's rolling window: counts per bucket, percentiles from the
 * log-scale histograms, and buckets that slide out of the window are cleared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RollingWindow } from '../../src/ui/window.ts';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

/** Within the histogram's resolution (bins grow by 12 %). */
function near(actual: number | null, expected: number): void {
  assert.ok(actual !== null && Math.abs(actual - expected) / expected < 0.07, `${actual} is not near ${expected}`);
}

test('counts requests and errors per bucket, oldest first, ending now', () => {
  const { clock, advance } = fakeClock();
  const window = new RollingWindow({ bucketMs: 1000, buckets: 5, clock });
  window.record(10, false);
  window.record(20, true);
  advance(1000);
  window.record(30, false);
  const buckets = window.buckets();
  assert.equal(buckets.length, 5);
  assert.deepEqual(
    buckets.map((b) => [b.requests, b.errors]),
    [[0, 0], [0, 0], [0, 0], [2, 1], [1, 0]],
  );
  assert.equal(buckets[4]!.t, 1_001_000);
  assert.equal(buckets[0]!.p50, null);
});

test('percentiles over a span come from the summed histograms', () => {
  const { clock } = fakeClock();
  const window = new RollingWindow({ bucketMs: 1000, buckets: 10, clock });
  for (let ms = 1; ms <= 100; ms++) window.record(ms, ms > 95);
  const span = window.span();
  assert.equal(span.requests, 100);
  assert.equal(span.errors, 5);
  near(span.p50, 50);
  near(span.p90, 90);
  near(span.p99, 99);
});

test('buckets that slid out of the window are cleared, even after a long quiet spell', () => {
  const { clock, advance } = fakeClock();
  const window = new RollingWindow({ bucketMs: 1000, buckets: 3, clock });
  window.record(5, true);
  advance(2000);
  window.record(7, false);
  assert.equal(window.span().requests, 2);
  advance(1000);
  assert.equal(window.span().requests, 1, 'the first bucket fell out');
  assert.equal(window.span(1000).requests, 0, 'the newest bucket is empty');
  advance(10 * 60_000);
  assert.deepEqual(window.span(), { requests: 0, errors: 0, p50: null, p90: null, p99: null });
  window.record(3000, false);
  near(window.span().p99, 3000);
});

test('latencies under a millisecond and over the top bin are still counted', () => {
  const window = new RollingWindow({ bucketMs: 1000, buckets: 2, clock: () => 0 });
  window.record(0.2, false);
  window.record(Number.NaN, false);
  window.record(3_600_000, false);
  const span = window.span();
  assert.equal(span.requests, 3);
  assert.ok(span.p50! < 1);
  assert.ok(span.p99! > 1_000_000);
});
