/** Percentiles of the bench's latency histograms, their differences, and the default constant rate. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyHistogram } from '../../bench/lib/load.ts';
import { comfortableRate, minusUs, percentilesUs, roundDown2 } from '../../bench/lib/percentiles.ts';

test('p50, p90, p99 and p99.9 of 1..10000 µs, within the histogram’s 3 significant digits', () => {
  const hist = latencyHistogram();
  for (let us = 1; us <= 10_000; us++) hist.record(us);
  const p = percentilesUs(hist);
  const near = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 1, `${actual} vs ${expected}`);
  near(p.p50Us, 5000);
  near(p.p90Us, 9000);
  near(p.p99Us, 9900);
  near(p.p999Us, 9990);
  near(p.maxUs, 10_000);
});

test('p99.9 sees a tail that p99 does not', () => {
  const hist = latencyHistogram();
  for (let i = 0; i < 9_990; i++) hist.record(500);
  for (let i = 0; i < 10; i++) hist.record(80_000);
  const p = percentilesUs(hist);
  assert.ok(p.p99Us < 600, `p99 ${p.p99Us}`);
  assert.ok(p.p999Us < 600, `p99.9 ${p.p999Us}: exactly 0.1% above it`);
  hist.record(80_000);
  assert.ok(percentilesUs(hist).p999Us > 79_000);
});

test('an empty histogram gives zeros, not NaN', () => {
  assert.deepEqual(percentilesUs(latencyHistogram()), { p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 });
});

test('differences are taken percentile by percentile and may be negative', () => {
  assert.deepEqual(minusUs({ p50Us: 700, p90Us: 900, p99Us: 2000, p999Us: 5000 }, { p50Us: 400, p90Us: 950, p99Us: 1500, p999Us: 5000 }), {
    p50Us: 300,
    p90Us: -50,
    p99Us: 500,
    p999Us: 0,
  });
});

test('the default rate is a fraction of the slowest target, rounded down to two significant digits', () => {
  assert.equal(comfortableRate([9211, 8311, 4703], 0.45), 2100);
  assert.equal(comfortableRate([120, 130], 0.5), 60);
  assert.equal(comfortableRate([9211, 0, 4703], 0.45), 0);
  assert.equal(comfortableRate([], 0.45), 0);
  assert.equal(roundDown2(12_345), 12_000);
  assert.equal(roundDown2(99.9), 99);
  assert.equal(roundDown2(7.8), 7);
  assert.equal(roundDown2(0.2), 1);
});
