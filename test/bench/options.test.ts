/** `npm run bench` flags for the issue-6 parts, and the planned time the watchdog allows for. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchArgs, plannedSeconds, type BenchOptions } from '../../bench/lib/options.ts';

function parse(args: string[]): BenchOptions {
  const o = parseBenchArgs(args);
  assert.notEqual(o, 'help');
  return o as BenchOptions;
}

test('by default every measured shape runs at a constant rate, the ramp runs on anthropic-stream, memory is sampled', () => {
  const o = parse([]);
  assert.deepEqual(
    o.rateShapes.map((s) => s.id),
    o.shapes.map((s) => s.id),
  );
  assert.equal(o.ratePerS, undefined);
  assert.equal(o.rateFraction, 0.45);
  assert.equal(o.ramp?.shape.id, 'anthropic-stream');
  assert.equal(o.ramp?.p99ThresholdMs, 20);
  assert.equal(o.memory, true);
});

test('each new part can be skipped or narrowed', () => {
  const o = parse(['--rate-latency', 'none', '--no-ramp', '--no-memory']);
  assert.deepEqual(o.rateShapes, []);
  assert.equal(o.ramp, undefined);
  assert.equal(o.memory, false);
  const some = parse(['--shapes', 'openai-json,anthropic-stream', '--rate-latency', 'anthropic-stream', '--rate', '1500', '--ramp-shape', 'openai-stream', '--ramp-p99-ms', '5']);
  assert.deepEqual(
    some.rateShapes.map((s) => s.id),
    ['anthropic-stream'],
  );
  assert.equal(some.ratePerS, 1500);
  assert.equal(some.ramp?.shape.id, 'openai-stream');
  assert.equal(some.ramp?.p99ThresholdMs, 5);
});

test('bad values are refused with the flag named', () => {
  assert.throws(() => parseBenchArgs(['--rate-latency', 'openai-json', '--shapes', 'anthropic-stream']), /--rate-latency: 'openai-json' is not among the measured shapes/);
  assert.throws(() => parseBenchArgs(['--rate', '0']), /--rate must be a positive number/);
  assert.throws(() => parseBenchArgs(['--rate-fraction', '1.5']), /--rate-fraction must be at most 1/);
  assert.throws(() => parseBenchArgs(['--ramp-shape', 'nope']), /unknown --ramp-shape 'nope'/);
  assert.throws(() => parseBenchArgs(['--ramp-steps', '2.5']), /--ramp-steps must be a positive integer/);
  assert.throws(() => parseBenchArgs(['--ramp-steps', '100']), /--ramp-steps to 30/);
  assert.throws(() => parseBenchArgs(['--gateway-ledger', 'no']), /--gateway-ledger must be on or off, got 'no'/);
});

test('the ledger and the dashboard are on unless turned off, to measure what each costs', () => {
  const o = parse([]);
  assert.equal(o.gatewayLedger, true);
  assert.equal(o.gatewayDashboard, true);
  const off = parse(['--gateway-ledger', 'off', '--gateway-dashboard', 'off']);
  assert.equal(off.gatewayLedger, false);
  assert.equal(off.gatewayDashboard, false);
});

test('the planned time: about 1½ minutes quick, under 6 full, and less when parts are skipped', () => {
  const quick = plannedSeconds(parse(['--quick']));
  const full = plannedSeconds(parse([]));
  assert.ok(quick >= 60 && quick <= 100, `quick ${quick} s`);
  assert.ok(full >= 240 && full <= 360, `full ${full} s`);
  const lean = plannedSeconds(parse(['--rate-latency', 'none', '--no-ramp', '--no-memory']));
  assert.ok(lean < full - 60, `lean ${lean} s vs full ${full} s`);
  // A ramp shape that is not measured closed loop needs a calibration run.
  const calibrated = plannedSeconds(parse(['--shapes', 'openai-json', '--ramp-shape', 'anthropic-stream']));
  const measured = plannedSeconds(parse(['--shapes', 'anthropic-stream', '--ramp-shape', 'anthropic-stream']));
  assert.ok(calibrated > measured);
});
