/**
 * The bench's open-loop sender against the real mock provider: every
 * scheduled request is accounted for (sent or unsent), good responses are
 * checked and timed from their scheduled send time, and the in-flight bound
 * holds requests back instead of piling them on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyHistogram } from '../../bench/lib/load.ts';
import { openLoopPool, runOpenLoop, sumCounts } from '../../bench/lib/open-loop.ts';
import { findShape } from '../../bench/lib/shapes.ts';
import { startMockProvider } from '../../src/mock/server.ts';

const shape = findShape('anthropic-stream');
if (shape === undefined) throw new Error('shape anthropic-stream is gone');

test('at a modest rate every scheduled request is sent, answered, checked and recorded', async (t) => {
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  t.after(() => mock.close());
  const pool = openLoopPool(mock.url, 8);
  t.after(() => pool.destroy());
  const hists = { latency: latencyHistogram(), fromDue: latencyHistogram(), lag: latencyHistogram() };
  const counts = await runOpenLoop(
    pool,
    { path: shape.path, body: Buffer.from(shape.body('direct')), headers: shape.headers, ratePerS: 200, durationS: 0.5, maxInFlight: 8, verify: shape.looksComplete },
    hists,
  );
  assert.equal(counts.scheduled, 100);
  assert.equal(counts.sent + counts.unsent, counts.scheduled);
  assert.equal(counts.non2xx + counts.errors + counts.mismatches, 0);
  assert.equal(counts.ok, counts.sent);
  assert.equal(hists.latency.count, counts.ok);
  assert.equal(hists.fromDue.count, counts.ok);
  assert.equal(hists.lag.count + counts.waitedForSlot, counts.sent);
});

test('a body that fails the check is a mismatch, not a good response', async (t) => {
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  t.after(() => mock.close());
  const pool = openLoopPool(mock.url, 4);
  t.after(() => pool.destroy());
  const hists = { latency: latencyHistogram(), fromDue: latencyHistogram(), lag: latencyHistogram() };
  const counts = await runOpenLoop(
    pool,
    { path: shape.path, body: Buffer.from(shape.body('direct')), headers: shape.headers, ratePerS: 100, durationS: 0.2, maxInFlight: 4, verify: () => false },
    hists,
  );
  assert.equal(counts.ok, 0);
  assert.equal(counts.mismatches, counts.sent);
  assert.equal(hists.latency.count, 0);
});

test('when every in-flight slot is taken, due requests wait (late) or are never sent (unsent), and their wait counts', async (t) => {
  // 100 ms per response and one slot: at most ~4 of the 40 requests due in 0.4 s can go out.
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0, latencyMs: 100 });
  t.after(() => mock.close());
  const pool = openLoopPool(mock.url, 1);
  t.after(() => pool.destroy());
  const hists = { latency: latencyHistogram(), fromDue: latencyHistogram(), lag: latencyHistogram() };
  const counts = await runOpenLoop(
    pool,
    { path: shape.path, body: Buffer.from(shape.body('direct')), headers: shape.headers, ratePerS: 100, durationS: 0.4, maxInFlight: 1, verify: shape.looksComplete },
    hists,
  );
  assert.equal(counts.scheduled, 40);
  assert.ok(counts.sent <= 6, `sent ${counts.sent}`);
  assert.equal(counts.unsent, counts.scheduled - counts.sent);
  assert.ok(counts.late >= counts.sent - 1, `late ${counts.late} of ${counts.sent}`);
  assert.ok(counts.waitedForSlot >= counts.sent - 1, `waited for a slot: ${counts.waitedForSlot} of ${counts.sent}`);
  // Measured from the due time: the last request sent waited for the ones before it.
  assert.ok(hists.latency.max > 200_000, `max ${hists.latency.max} µs`);
  assert.equal(hists.latency.max, hists.fromDue.max);
});

test('counts of several rounds add up', () => {
  const run = { scheduled: 10, sent: 9, ok: 8, non2xx: 1, errors: 0, timeouts: 0, mismatches: 0, late: 2, unsent: 1, waitedForSlot: 1, durationS: 0.514 };
  assert.deepEqual(sumCounts([run, run]), { scheduled: 20, sent: 18, ok: 16, non2xx: 2, errors: 0, timeouts: 0, mismatches: 0, late: 4, unsent: 2, waitedForSlot: 2, durationS: 1.03 });
});
