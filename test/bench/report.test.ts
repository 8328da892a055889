/** The printed report: the issue-6 sections and the goal lines, and an older result that has none of them. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { evaluateGoals } from '../../bench/lib/goals.ts';
import { formatMemory, formatRamp, formatReport } from '../../bench/lib/report.ts';
import { cpuByRound, readResult, type Ramp } from '../../bench/lib/result.ts';

const baseline = readResult(fileURLToPath(new URL('../fixtures/bench-result-2026-11-23.json', import.meta.url)));

test('an older result prints its single goal line as before', () => {
  const text = formatReport(baseline);
  assert.match(text, /^Goal: passthrough throughput ≥ 0\.7× the floor: MET/m);
  assert.doesNotMatch(text, /Constant-rate latency|Ramp \(|Memory \(/);
});

test('with the goal list, every goal gets its own MET / NOT MET / not measured line', () => {
  const text = formatReport({ ...baseline, goals: evaluateGoals(baseline) });
  assert.match(text, /Goals \(they do not change the exit status; only failed requests do\):/);
  assert.match(text, /^ {2}issue 2: passthrough throughput ≥ 0\.7× the floor: MET/m);
  assert.match(text, /^ {2}issue 6: passthrough throughput, full pipeline, ≥ 0\.8× the floor: not measured/m);
  assert.match(text, /^ {2}issue 6: added latency at concurrency 1, p50 < 0\.25 ms above direct: (MET|NOT MET)/m);
});

test('the ramp prints each step, the highest sustained rates and their ratio', () => {
  const steps = (rates: [number, boolean][]) => rates.map(([rate, sustained]) => ({ rate, sustained, achievedRps: rate, p50Us: 900, p99Us: sustained ? 4000 : 25_000, late: 0, unsent: 0, failed: 0, proxyCpuBusy: 0.9, ...(sustained ? {} : { reason: 'p99 25.0 ms' }) }));
  const ramp: Ramp = {
    shape: 'anthropic-stream', p99ThresholdMs: 20, stepS: 1.5, maxSteps: 10, startRate: 2000, growth: 1.25, maxInFlight: 64,
    floor: { steps: steps([[2000, true], [2500, true], [3125, false]]), maxSustainedRate: 2500, lowestFailedRate: 3125 },
    switchyard: { steps: steps([[2000, true], [2500, false]]), maxSustainedRate: 2000, lowestFailedRate: 2500 },
    switchyardOverFloor: 0.8,
  };
  const text = formatRamp(ramp).join('\n');
  assert.match(text, /floor {7}max sustained 2500 req\/s \(p99 4\.00 ms, CPU 90% there\); 3125 failed: p99 25\.0 ms/);
  assert.match(text, /steps \(req\/s\): 2000✓ 2500✓ 3125✗/);
  assert.match(text, /switchyard ÷ floor 0\.80×/);
});

test('memory without heap figures says why', () => {
  const text = formatMemory({ sampleIntervalMs: 200, idleS: 3, heapSource: 'none: the gateway ran with --gateway-metrics off', floor: { startRssMiB: 60, peakRssMiB: 80, idleRssMiB: 79 }, switchyard: { peakRssMiB: 150 } }).join('\n');
  assert.match(text, /floor {7}RSS at start 60\.0 MiB, peak under load 80\.0 MiB, after 3 s idle 79\.0 MiB/);
  assert.match(text, /switchyard {2}RSS at start -, peak under load 150\.0 MiB/);
  assert.match(text, /heap: none: the gateway ran with --gateway-metrics off/);
});

test('CPU per request is also compared round by round, where each pair ran back to back', () => {
  const [shape] = baseline.shapes;
  assert.ok(shape !== undefined);
  const floor = { ...shape.targets.floor, proxyCpuUsPerReq: 100, proxyCpuUsPerReqByRound: [100, 90, 110] };
  const switchyard = { ...shape.targets.switchyard, proxyCpuUsPerReq: 200, proxyCpuUsPerReqByRound: [150, 300, 165] };
  const byRound = cpuByRound(switchyard, floor);
  assert.deepEqual(byRound, { cpuSwitchyardOverFloorByRound: [1.5, 3.333, 1.5] });
  const text = formatReport({ ...baseline, shapes: [{ ...shape, targets: { ...shape.targets, floor, switchyard }, ratios: { ...shape.ratios, cpuSwitchyardOverFloor: 2, ...byRound } }] });
  assert.match(text, /CPU\/req switchyard ÷ floor 2\.00× \(by round 1\.50×, 3\.33×, 1\.50×\)/);
  assert.deepEqual(cpuByRound(switchyard, { ...floor, proxyCpuUsPerReqByRound: [100] }), {}, 'rounds that do not pair up are not compared');
});
