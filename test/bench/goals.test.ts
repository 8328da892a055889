/** The performance goals checked on a bench result: met, not met, not measured, voided by failures. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateGoals, formatGoal } from '../../bench/lib/goals.ts';
import type { ShapeResult } from '../../bench/lib/result.ts';

function shape(id: string, passthrough: boolean, throughput: number, cpu?: number): ShapeResult {
  const target = { rps: 1, ok: 1, durationS: 1, p50Ms: 1, p90Ms: 1, p99Ms: 1, meanMs: 1, maxMs: 1, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, statusCodes: {} };
  return {
    id,
    title: id,
    passthrough,
    targets: { direct: target, floor: target, switchyard: target },
    ratios: { switchyardOverFloor: throughput, switchyardOverDirect: throughput, floorOverDirect: 1, ...(cpu === undefined ? {} : { cpuSwitchyardOverFloor: cpu }) },
  };
}

const latency = (p50Ms: number, p99Ms: number) => ({
  shape: 'anthropic-stream',
  connections: 1 as const,
  direct: { p50Ms: 0.1, p99Ms: 0.2 },
  floor: { p50Ms: 0.3, p99Ms: 0.6 },
  switchyard: { p50Ms: 0.1 + p50Ms, p99Ms: 0.2 + p99Ms },
  floorMinusDirect: { p50Ms: 0.2, p99Ms: 0.4 },
  switchyardMinusDirect: { p50Ms, p99Ms },
  failures: 0,
});

const byId = (goals: ReturnType<typeof evaluateGoals>) => Object.fromEntries(goals.map((g) => [g.id, g.met]));

test('every goal met', () => {
  const goals = evaluateGoals({
    shapes: [shape('openai-json', true, 0.85, 1.2), shape('anthropic-stream', true, 0.9, 1.1), shape('anthropic-to-openai-stream-tools', false, 0.55, 1.8)],
    addedLatency: latency(0.2, 0.9),
    failures: 0,
    options: { pipeline: 'full' },
  });
  assert.deepEqual(byId(goals), {
    'issue2-passthrough': true,
    'issue6-passthrough': true,
    'issue6-passthrough-cpu': true,
    'issue6-translated-tools': true,
    'issue6-added-p50': true,
    'issue6-added-p99': true,
  });
});

test('each issue-6 goal misses on its own figure; the worst passthrough shape decides', () => {
  const goals = evaluateGoals({
    shapes: [shape('openai-json', true, 0.75, 1.2), shape('anthropic-stream', true, 0.9, 1.35), shape('anthropic-to-openai-stream-tools', false, 0.49)],
    addedLatency: latency(0.25, 1),
    failures: 0,
    options: { pipeline: 'full' },
  });
  assert.deepEqual(byId(goals), {
    'issue2-passthrough': true,
    'issue6-passthrough': false,
    'issue6-passthrough-cpu': false,
    'issue6-translated-tools': false,
    'issue6-added-p50': false,
    'issue6-added-p99': false,
  });
  const throughput = goals.find((g) => g.id === 'issue6-passthrough');
  assert.match(throughput?.detail ?? '', /lowest 0\.75×/);
  assert.match(formatGoal(throughput!), /^ {2}issue 6: passthrough throughput, full pipeline, ≥ 0\.8× the floor: NOT MET \(lowest 0\.75×/);
});

test('failed requests void a reached goal', () => {
  const goals = evaluateGoals({ shapes: [shape('openai-json', true, 0.9, 1.1)], addedLatency: latency(0.1, 0.5), failures: 3, options: { pipeline: 'full' } });
  for (const g of goals.filter((g) => g.met !== null)) {
    assert.equal(g.met, false, g.id);
    assert.match(g.detail, /requests failed/);
  }
});

test('what a run did not measure is "not measured", not NOT MET', () => {
  const goals = evaluateGoals({ shapes: [shape('anthropic-stream', true, 0.9, 1.1)], addedLatency: undefined, failures: 0, options: { pipeline: 'open' } });
  assert.deepEqual(byId(goals), {
    'issue2-passthrough': true,
    'issue6-passthrough': null,
    'issue6-passthrough-cpu': null,
    'issue6-translated-tools': null,
    'issue6-added-p50': null,
    'issue6-added-p99': null,
  });
  assert.match(formatGoal(goals[1]!), /: not measured \(the gateway ran with --pipeline open/);
  // A part of the pipeline turned off (to measure what it costs) also leaves the full-pipeline goals unjudged.
  const partial = evaluateGoals({ shapes: [shape('anthropic-stream', true, 0.9, 1.1)], addedLatency: undefined, failures: 0, options: { pipeline: 'full', gatewayLedger: false } });
  assert.equal(byId(partial)['issue6-passthrough'], null);
  assert.match(formatGoal(partial[1]!), /the gateway ran with --gateway-ledger off/);
});
