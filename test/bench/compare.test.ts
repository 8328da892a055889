/**
 * bench/compare.ts: direction-aware verdicts, differences compared by
 * absolute tolerance, and result files from before issue 6 (no open-loop,
 * ramp, memory or goal list) still read and compared.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { compareRows, formatComparison, metrics, verdict } from '../../bench/compare.ts';
import { benchResultSchema, readResult, type BenchResult, type OpenLoopTarget } from '../../bench/lib/result.ts';

// A result written before issue 6's metrics existed (the bench's reference until 2026-12-05), kept as a fixture.
const baselineFile = fileURLToPath(new URL('../fixtures/bench-result-2026-11-23.json', import.meta.url));

test('ratio metrics: within ±5% is same, otherwise better or WORSE by the metric’s direction', () => {
  assert.equal(verdict({ metric: 'req/s', a: 1000, b: 1040, better: 'higher' }), 'same');
  assert.equal(verdict({ metric: 'req/s', a: 1000, b: 1100, better: 'higher' }), 'better');
  assert.equal(verdict({ metric: 'req/s', a: 1000, b: 900, better: 'higher' }), 'WORSE');
  assert.equal(verdict({ metric: 'p99', a: 1000, b: 900, better: 'lower' }), 'better');
  assert.equal(verdict({ metric: 'p99', a: 1000, b: 1100, better: 'lower' }), 'WORSE');
});

test('a count that was 0 is same at 0 and judged by direction above it', () => {
  assert.equal(verdict({ metric: 'late', a: 0, b: 0, better: 'lower' }), 'same');
  assert.equal(verdict({ metric: 'late', a: 0, b: 12, better: 'lower' }), 'WORSE');
});

test('difference metrics compare B − A against an absolute tolerance, so negative and near-zero values work', () => {
  assert.equal(verdict({ metric: 'added p50', a: -0.01, b: 0.005, better: 'lower', tolerance: 0.02 }), 'same');
  assert.equal(verdict({ metric: 'added p50', a: -0.05, b: 0.05, better: 'lower', tolerance: 0.02 }), 'WORSE');
  assert.equal(verdict({ metric: 'added p50', a: 0.4, b: 0.2, better: 'lower', tolerance: 0.02 }), 'better');
});

test('a metric present in one file only says so', () => {
  assert.equal(verdict({ metric: 'x', a: undefined, b: 3, better: 'lower' }), 'only in B');
  assert.equal(verdict({ metric: 'x', a: 3, b: undefined, better: 'lower' }), 'only in A');
});

function openLoop(p99Us: number, late = 0): OpenLoopTarget {
  return {
    scheduled: 3000, sent: 3000, ok: 3000, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, late, unsent: 0, waitedForSlot: 0, durationS: 3,
    achievedRps: 1000, p50Us: 400, p90Us: 600, p99Us, p999Us: p99Us * 2, maxUs: p99Us * 3, sendLagP50Us: 20, sendLagP99Us: 300,
    fromScheduleP50Us: 800, fromScheduleP99Us: p99Us + 900, fromScheduleP999Us: p99Us * 2 + 900,
  };
}

/** The baseline (a file from before issue 6) with the parts issue 6 added. */
function withIssue6(base: BenchResult, switchyardP99Us: number, switchyardMax: number): BenchResult {
  const direct = openLoop(1000);
  const switchyard = openLoop(switchyardP99Us, 2);
  const r: BenchResult = {
    ...base,
    rateLatency: [
      {
        shape: 'anthropic-stream', ratePerS: 1000, rateFrom: 'auto', durationS: 3, maxInFlight: 64,
        targets: { direct, floor: openLoop(1100), switchyard },
        floorMinusDirect: { p50Us: 0, p90Us: 0, p99Us: 100, p999Us: 200 },
        switchyardMinusDirect: { p50Us: 0, p90Us: 0, p99Us: switchyardP99Us - 1000, p999Us: (switchyardP99Us - 1000) * 2 },
      },
    ],
    ramp: {
      shape: 'anthropic-stream', p99ThresholdMs: 20, stepS: 1.5, maxSteps: 10, startRate: 2000, growth: 1.25, maxInFlight: 64,
      floor: { steps: [], maxSustainedRate: 6000, lowestFailedRate: 6300 },
      switchyard: { steps: [], maxSustainedRate: switchyardMax, lowestFailedRate: switchyardMax + 200 },
      switchyardOverFloor: switchyardMax / 6000,
    },
    memory: { sampleIntervalMs: 200, idleS: 3, heapSource: 'metrics', floor: { peakRssMiB: 80 }, switchyard: { peakRssMiB: 200, idleRssMiB: 190, heapUsedIdleMiB: 60 } },
  };
  return benchResultSchema.parse(r);
}

test('a result file from before issue 6 still reads, and has none of the new metrics', () => {
  const old = readResult(baselineFile);
  assert.equal(old.rateLatency, undefined);
  assert.equal(old.goals, undefined);
  const names = [...metrics(old).keys()];
  assert.ok(names.length > 20);
  assert.ok(!names.some((n) => n.startsWith('rate ') || n.startsWith('ramp ') || n.startsWith('memory ')));
});

test('the new metrics are compared with their directions, and an old file against a new one shows "only in B"', () => {
  const old = readResult(baselineFile);
  const a = withIssue6(old, 2000, 3000);
  const b = withIssue6(old, 3000, 3600);
  const rows = new Map(compareRows(a, b).map((r) => [r.metric, verdict(r)]));
  assert.equal(rows.get('rate anthropic-stream switchyard p99 µs'), 'WORSE');
  assert.equal(rows.get('rate anthropic-stream switchyard−direct p99 µs'), 'WORSE');
  assert.equal(rows.get('rate anthropic-stream direct p99 µs'), 'same');
  assert.equal(rows.get('rate anthropic-stream switchyard late+unsent'), 'same');
  assert.equal(rows.get('ramp (anthropic-stream) switchyard max req/s'), 'better');
  assert.equal(rows.get('ramp (anthropic-stream) switchyard÷floor'), 'better');
  assert.equal(rows.get('memory switchyard peak RSS MiB'), 'same');

  const mixed = new Map(compareRows(old, b).map((r) => [r.metric, verdict(r)]));
  assert.equal(mixed.get('rate anthropic-stream switchyard p99 µs'), 'only in B');
  assert.equal(mixed.get('anthropic-stream switchyard req/s'), 'same');
  const text = formatComparison('old.json', old, 'new.json', b);
  assert.match(text, /goals \(A → B\):/);
  assert.match(text, /issue 2: passthrough throughput ≥ 0\.7× the floor: MET → MET/);
});

test('constant-rate runs at different rates are flagged', () => {
  const old = readResult(baselineFile);
  const a = withIssue6(old, 2000, 3000);
  const b = withIssue6(old, 2000, 3000);
  b.rateLatency![0]!.ratePerS = 1500;
  assert.match(formatComparison('a', a, 'b', b), /constant-rate runs at different rates \(anthropic-stream 1000 vs 1500 req\/s\)/);
});
