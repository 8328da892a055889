import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, defaultBackoff, retryAfterMs, retryWaitMs, sleep } from '../../src/resilience/retry.ts';

test('full jitter stays within zero and min(cap, base × 2^retry)', () => {
  const almostOne = () => 0.999_999;
  for (let retry = 0; retry < 12; retry++) {
    const ceiling = Math.min(defaultBackoff.capMs, defaultBackoff.baseMs * 2 ** retry);
    assert.equal(backoffMs(retry, () => 0), 0);
    const high = backoffMs(retry, almostOne);
    assert.ok(high < ceiling && high >= ceiling - 1, `retry ${retry}: ${high} vs ${ceiling}`);
  }
  assert.equal(backoffMs(0, () => 0.5), 125);
  assert.equal(backoffMs(2, () => 0.5), 500);
  assert.equal(backoffMs(10, () => 0.5), 4000, 'capped at 8 s');
  assert.equal(backoffMs(1e9, () => 0.5), 4000, 'a huge retry count stays finite');
});

test('the wait is at least what the upstream asked for, and undefined when it does not fit before the deadline', () => {
  assert.equal(retryWaitMs(0, undefined, 10_000, () => 0.5), 125);
  assert.equal(retryWaitMs(0, 1000, 10_000, () => 0.5), 1000);
  assert.equal(retryWaitMs(5, 10, 10_000, () => 0.5), 4000, 'backoff longer than the hint wins');
  assert.equal(retryWaitMs(0, 1000, 900, () => 0), undefined);
  assert.equal(retryWaitMs(3, undefined, 100, () => 0.9), undefined);
});

test('retry-after-ms wins over retry-after, which may be seconds or an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, now), 1500);
  assert.equal(retryAfterMs({ 'retry-after': '2' }, now), 2000);
  assert.equal(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now), 3000);
  assert.equal(retryAfterMs({ 'retry-after': 'soon' }, now), undefined);
  assert.equal(retryAfterMs({}, now), undefined);
});

test("Anthropic's rate-limit reset headers count when there is no retry-after", () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(now + s * 1000).toISOString();
  assert.equal(retryAfterMs({ 'anthropic-ratelimit-requests-reset': at(4), 'anthropic-ratelimit-tokens-reset': at(2) }, now), 2000, 'earliest without a remaining marker');
  assert.equal(
    retryAfterMs(
      {
        'anthropic-ratelimit-requests-reset': at(4),
        'anthropic-ratelimit-requests-remaining': '10',
        'anthropic-ratelimit-input-tokens-reset': at(6),
        'anthropic-ratelimit-input-tokens-remaining': '0',
      },
      now,
    ),
    6000,
    'the exhausted limit decides',
  );
  assert.equal(retryAfterMs({ 'anthropic-ratelimit-requests-reset': at(-5) }, now), 0);
  assert.equal(retryAfterMs({ 'retry-after': '1', 'anthropic-ratelimit-requests-reset': at(9) }, now), 1000);
});

test('sleep ends at once, reporting false, when its signal aborts', async () => {
  const controller = new AbortController();
  const started = performance.now();
  const pending = sleep(10_000, controller.signal);
  setTimeout(() => controller.abort(), 20);
  assert.equal(await pending, false);
  assert.ok(performance.now() - started < 1000);
  assert.equal(await sleep(5, new AbortController().signal), true);
  assert.equal(await sleep(5, AbortSignal.abort()), false);
});
