/**
 * The pure parts of the scale benches (bench:streams, bench:large,
 * bench:soak): per-stream memory, the least-squares line and the soak's
 * verdict, the generated gateway config and the large conversation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { ensureOpenFiles, openFileLimit } from '../../bench/lib/fd-limit.ts';
import { anthropicLargeBody, buildConversation, openaiLargeBody } from '../../bench/lib/large-context.ts';
import { scaleGatewayConfig } from '../../bench/lib/scale-stack.ts';
import { leastSquares, memoryTrend, percentile, perStreamBytes, type MemorySample } from '../../bench/lib/trend.ts';

const MiB = 1024 * 1024;

test('memory per stream is the growth over the baseline divided by the open streams', () => {
  assert.equal(perStreamBytes(120 * MiB, 100 * MiB, 1024), 20 * 1024);
  assert.equal(perStreamBytes(100 * MiB + 5000 * 16_000, 100 * MiB, 5000), 16_000);
  // A collection between the samples can leave the "open" sample lower: no negative memory.
  assert.equal(perStreamBytes(99 * MiB, 100 * MiB, 10), 0);
  assert.throws(() => perStreamBytes(1, 0, 0), /positive/);
});

test('least squares recovers an exact line, with no error', () => {
  const fit = leastSquares([0, 1, 2, 3, 4].map((x) => ({ x, y: 3 + 2 * x })));
  assert.equal(fit.slope, 2);
  assert.equal(fit.intercept, 3);
  assert.equal(fit.r2, 1);
  assert.ok(fit.slopeStdError < 1e-9);
  assert.equal(fit.n, 5);
});

test('least squares on noisy points: the known slope within its error, r² below 1', () => {
  // Deterministic "noise": alternating ±1 around y = 10 + 0.5x.
  const points = Array.from({ length: 40 }, (_, x) => ({ x, y: 10 + 0.5 * x + (x % 2 === 0 ? 1 : -1) }));
  const fit = leastSquares(points);
  assert.ok(Math.abs(fit.slope - 0.5) < 2 * fit.slopeStdError + 1e-3, `slope ${fit.slope} ± ${fit.slopeStdError}`);
  assert.ok(fit.r2 > 0.9 && fit.r2 < 1);
  const flat = leastSquares([{ x: 0, y: 5 }, { x: 1, y: 5 }, { x: 2, y: 5 }]);
  assert.equal(flat.slope, 0);
  assert.equal(flat.r2, 0);
  assert.throws(() => leastSquares([{ x: 1, y: 1 }]), /at least 2/);
  assert.throws(() => leastSquares([{ x: 1, y: 1 }, { x: 1, y: 2 }]), /distinct/);
});

const limits = { warmupS: 60, maxSlopeMiBPerMin: 1, maxThirdsRise: 0.05 };
/** Samples every 5 s for 5 minutes: `mib(t)` MiB at t seconds. */
const series = (mib: (tS: number) => number): MemorySample[] => Array.from({ length: 61 }, (_, i) => ({ tS: i * 5, bytes: mib(i * 5) * MiB }));

test('a sawtooth around a steady level is flat', () => {
  const verdict = memoryTrend(series((t) => 150 + ((t / 5) % 4) * 3), limits);
  assert.equal(verdict.flat, true, verdict.reason);
  assert.ok(Math.abs(verdict.slopeMiBPerMin) < 1);
  assert.equal(verdict.samples, 49);
});

test('a steady leak is caught by the slope and by the thirds', () => {
  const verdict = memoryTrend(series((t) => 150 + (5 * t) / 60), limits);
  assert.equal(verdict.flat, false);
  assert.ok(Math.abs(verdict.slopeMiBPerMin - 5) < 1e-6);
  assert.match(verdict.reason, /slope 5 ± 0 MiB\/min above 1/);
  assert.match(verdict.reason, /last third .* above the first/);
});

test('a slow leak under the slope limit is still caught when the last third rises too much', () => {
  // 0.9 MiB/min on a small heap: +3.6 MiB over the measured 4 minutes of a 20 MiB heap.
  const verdict = memoryTrend(series((t) => 20 + (0.9 * t) / 60), limits);
  assert.equal(verdict.flat, false);
  assert.doesNotMatch(verdict.reason, /slope/);
  assert.ok(verdict.thirdsRise > 0.05);
});

test('growth during the warm-up does not count; too few samples give no verdict', () => {
  const warming = memoryTrend(series((t) => (t < 60 ? 100 + t : 160)), limits);
  assert.equal(warming.flat, true, warming.reason);
  const short = memoryTrend(series(() => 100).slice(0, 14), limits);
  assert.equal(short.flat, false);
  assert.match(short.reason, /too few samples/);
});

test('a noisy short run does not raise a false alarm on its slope alone', () => {
  // ±3 MiB of noise over 40 s: the fitted slope is large but so is its error.
  const noisy = Array.from({ length: 21 }, (_, i) => ({ tS: 20 + i * 2, bytes: (137 + [3, -3, 2, -2, 0][i % 5]! + (i === 19 ? 3 : 0)) * MiB }));
  const verdict = memoryTrend(noisy, { ...limits, warmupS: 20 });
  assert.ok(verdict.slopeMarginMiBPerMin > 1, `margin ${verdict.slopeMarginMiBPerMin}`);
  assert.equal(verdict.flat, true, verdict.reason);
});

test('percentile by nearest rank', () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile([5, 1, 4, 2, 3], 100), 5);
  assert.equal(percentile([5, 1, 4, 2, 3], 0), 1);
  assert.equal(percentile([], 50), 0);
});

test('the scale benches write a gateway config that validates, with their pools and routes', () => {
  const text = scaleGatewayConfig('http://127.0.0.1:9', 4000, 'sqlite::memory:', {
    upstreamConnections: 5064,
    configure: (c) => {
      c.models.push({ name: 'claude-long', deployments: [{ provider: 'ant', model: 'upstream-claude-long' }] });
      c.routes.longContext = 'claude-long';
    },
  });
  const config = parseConfig(text);
  assert.deepEqual(
    config.providers.map((p) => p.pool.connections),
    [5064, 5064],
  );
  assert.equal(config.routes.longContext, 'claude-long');
  assert.equal(config.routes.longContextThreshold, 60_000);
  // The full pipeline: limits on, as bench/run.ts runs it.
  assert.ok(text.includes('requestsPerMinute'));
  // The default body limit takes a 100k-token request many times over.
  assert.equal(config.server.bodyLimit, 32 * MiB);
});

test('the large conversation: about the size asked, alternating turns, a fresh number in every text', () => {
  const c = buildConversation(400 * 1024);
  assert.ok(c.bytes >= 400 * 1024 && c.bytes < 420 * 1024, `${c.bytes} bytes`);
  assert.equal(c.turns[0]?.role, 'user');
  assert.equal(c.turns.at(-1)?.role, 'user');
  for (let i = 1; i < c.turns.length; i++) assert.notEqual(c.turns[i]?.role, c.turns[i - 1]?.role);
  const anthropic = anthropicLargeBody(c, 'claude-mock');
  const [a, b] = [JSON.parse(anthropic(1)) as { model: string; messages: Array<{ content: string }> }, JSON.parse(anthropic(2)) as { messages: Array<{ content: string }> }];
  assert.equal(a.model, 'claude-mock');
  assert.equal(a.messages.length, c.turns.length);
  assert.ok(a.messages.every((m) => m.content.startsWith('[request 1] ')));
  assert.ok(b.messages.every((m) => m.content.startsWith('[request 2] ')));
  const openai = JSON.parse(openaiLargeBody(c, 'gpt-mock')(7)) as { messages: Array<{ role: string; content: string }>; stream_options: unknown };
  assert.equal(openai.messages[0]?.role, 'system');
  assert.ok(openai.messages[1]?.content.startsWith('[request 7] '));
  assert.deepEqual(openai.stream_options, { include_usage: true });
});

test('open-file limits are read from /proc, and a limit already high enough is left alone', (t) => {
  const limit = openFileLimit();
  if (limit === undefined) {
    t.skip('no /proc on this system');
    return;
  }
  assert.ok(limit.soft > 0 && limit.hard >= limit.soft);
  const check = ensureOpenFiles(Math.min(64, limit.soft));
  assert.equal(check.ok, true);
  assert.deepEqual(check.after, limit);
});
