import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLimitBackend, slidingCount, WINDOW_MS, IN_FLIGHT_RETRY_MS, type Admission, type ScopePlan } from '../../src/tenancy/limits-backend.ts';
import { estimateInputTokens, RAW_LENGTH_FROM } from '../../src/tenancy/limits-estimate.ts';
import { periodsAt, usd } from '../../src/tenancy/limits.ts';
import { countTokens, IMAGE_TOKENS } from '../../src/routing/tokens.ts';
import { decodeRequest } from '../../src/translate/index.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0); // a window start
let n = 0;
function admission(scopes: ScopePlan[], over: Partial<Admission> = {}): Admission {
  const now = over.now ?? T0 + 1000;
  return { id: `a${n++}`, now, window: Math.floor(now / WINDOW_MS), inputTokens: 10, costNanos: 0, ...periodsAt(now), leaseUntil: now + 600_000, scopes, ...over };
}
const used = (over: Partial<{ inputTokens: number; outputTokens: number; costNanos: number; now: number }> = {}) => ({ inputTokens: 10, outputTokens: 0, costNanos: 0, now: T0 + 2000, ...over });

test('requests per minute: admits up to the limit, refuses after with a retry-after, and refusals are not counted', () => {
  const b = new MemoryLimitBackend();
  const key: ScopePlan = { id: 'key:k', slot: 't', rpm: 3 };
  for (let i = 0; i < 3; i++) assert.equal(b.admitNow(admission([key])).ok, true);
  for (let i = 0; i < 5; i++) {
    const v = b.admitNow(admission([key]));
    assert.equal(v.ok, false);
    if (!v.ok) {
      assert.equal(v.limit, 'requestsPerMinute');
      // The current window holds 3: it has to fade in the next one.
      assert.ok(v.retryAfterMs > WINDOW_MS - 1000 && v.retryAfterMs <= 2 * WINDOW_MS, String(v.retryAfterMs));
    }
  }
  // Half a minute into the next window the previous one counts half: 1.5 + 1 ≤ 3.
  const later = T0 + WINDOW_MS + WINDOW_MS / 2;
  assert.equal(b.admitNow(admission([key], { now: later })).ok, true);
  assert.equal(b.admitNow(admission([key], { now: later })).ok, false);
  // Two windows later everything has faded.
  const much = T0 + 3 * WINDOW_MS;
  for (let i = 0; i < 3; i++) assert.equal(b.admitNow(admission([key], { now: much })).ok, true);
});

test('the sliding count weighs the previous window by its overlap with the last minute', () => {
  assert.equal(slidingCount(10, 2, 0), 12);
  assert.equal(slidingCount(10, 2, WINDOW_MS / 2), 7);
  assert.equal(slidingCount(10, 2, WINDOW_MS), 2);
});

test('a refusal by the tenant charges nothing to the key: every scope is checked before any is counted', () => {
  const b = new MemoryLimitBackend();
  const key: ScopePlan = { id: 'key:k', slot: 't', rpm: 5, concurrency: 5, dayNanos: 1e9 };
  const tenant: ScopePlan = { id: 'tenant:t', slot: 't', rpm: 1 };
  assert.equal(b.admitNow(admission([key, tenant], { costNanos: 100 })).ok, true);
  const v = b.admitNow(admission([key, tenant], { costNanos: 100 }));
  assert.equal(v.ok, false);
  if (!v.ok) assert.equal(v.scope.id, 'tenant:t');
  const day = `d:${periodsAt(T0).day}`;
  assert.deepEqual(b.budget('key:k', day), { spent: 0, reserved: 100 });
  // The key alone still has 4 requests.
  for (let i = 0; i < 4; i++) assert.equal(b.admitNow(admission([key])).ok, true);
  assert.equal(b.admitNow(admission([key])).ok, false);
});

test('concurrency: a slot per request in flight, given back when it settles', () => {
  const b = new MemoryLimitBackend();
  const key: ScopePlan = { id: 'key:c', slot: 't', concurrency: 2 };
  const a1 = admission([key]);
  const a2 = admission([key]);
  assert.equal(b.admitNow(a1).ok, true);
  assert.equal(b.admitNow(a2).ok, true);
  const v = b.admitNow(admission([key]));
  assert.equal(v.ok, false);
  if (!v.ok) assert.equal(v.limit, 'concurrency');
  b.settleNow(a1, used());
  assert.equal(b.admitNow(admission([key])).ok, true);
});

test('budgets reserve the estimate, refuse what it would overspend, and settle at the actual cost', () => {
  const b = new MemoryLimitBackend();
  const key: ScopePlan = { id: 'key:b', slot: 't', dayNanos: 1000, monthNanos: 5000 };
  const day = `d:${periodsAt(T0).day}`;
  const month = `m:${periodsAt(T0).month}`;
  const a1 = admission([key], { costNanos: 600 });
  assert.equal(b.admitNow(a1).ok, true);
  assert.deepEqual(b.budget('key:b', day), { spent: 0, reserved: 600 });
  // 600 reserved + 600 > 1000: refused, but only until the request in flight settles.
  const v = b.admitNow(admission([key], { costNanos: 600 }));
  assert.equal(v.ok, false);
  if (!v.ok) {
    assert.equal(v.limit, 'budgetDayUsd');
    assert.equal(v.retryAfterMs, IN_FLIGHT_RETRY_MS);
  }
  b.settleNow(a1, used({ costNanos: 250 }));
  assert.deepEqual(b.budget('key:b', day), { spent: 250, reserved: 0 });
  assert.deepEqual(b.budget('key:b', month), { spent: 250, reserved: 0 });
  const a2 = admission([key], { costNanos: 700 });
  assert.equal(b.admitNow(a2).ok, true);
  b.settleNow(a2, used({ costNanos: 700 }));
  // 950 spent: a request estimated at 100 no longer fits today; retry when the day ends.
  const refused = b.admitNow(admission([key], { costNanos: 100 }));
  assert.equal(refused.ok, false);
  if (!refused.ok) assert.equal(refused.retryAfterMs, periodsAt(T0).dayEndsAt - (T0 + 1000));
  assert.equal(b.admitNow(admission([key], { costNanos: 50 })).ok, true);
});

test('input tokens are admitted on the estimate and corrected by the real count in the same window', () => {
  const b = new MemoryLimitBackend();
  const key: ScopePlan = { id: 'key:i', slot: 't', itpm: 1000 };
  const a1 = admission([key], { inputTokens: 900 });
  assert.equal(b.admitNow(a1).ok, true);
  assert.equal(b.admitNow(admission([key], { inputTokens: 200 })).ok, false);
  // It really used 100: 900 more fit.
  b.settleNow(a1, used({ inputTokens: 100 }));
  assert.equal(b.admitNow(admission([key], { inputTokens: 900 })).ok, true);
  assert.equal(b.admitNow(admission([key], { inputTokens: 1 })).ok, false);
});

test('output tokens per minute: counted when requests end; a full window refuses new ones', () => {
  const b = new MemoryLimitBackend();
  const key: ScopePlan = { id: 'key:o', slot: 't', otpm: 100 };
  const a1 = admission([key]);
  assert.equal(b.admitNow(a1).ok, true);
  assert.equal(b.admitNow(admission([key])).ok, true);
  b.settleNow(a1, used({ outputTokens: 100 }));
  const v = b.admitNow(admission([key]));
  assert.equal(v.ok, false);
  if (!v.ok) assert.equal(v.limit, 'outputTokensPerMinute');
});

test('the input estimate is close to the real tokenizer for text and counts images at a fixed size', () => {
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
  const body = { model: 'm', max_tokens: 10, system: 'You are terse.', messages: [{ role: 'user', content: text }] };
  const estimate = estimateInputTokens(body);
  const real = countTokens(decodeRequest('anthropic', body));
  assert.ok(estimate >= real && estimate < real * 1.6, `estimate ${estimate}, real ${real}`);
  const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } };
  const withImage = estimateInputTokens({ model: 'm', messages: [{ role: 'user', content: [image, { type: 'text', text: 'what is it' }] }] });
  assert.ok(withImage < 2000, String(withImage));
  // CJK text: about a token per character, not a third of one.
  const cjk = estimateInputTokens({ model: 'm', messages: [{ role: 'user', content: '漢字'.repeat(500) }] });
  assert.ok(cjk >= 1000, String(cjk));
});

test('a large body is estimated from its length, a little above the measured estimate, with images still at a fixed size', () => {
  const turn = (i: number): string => `Turn ${i}: "quoted" code\n\tif (x) { return 'ünïcödé 中文 😀'; }\n${'plain words of a long conversation. '.repeat(40)}`;
  const messages = Array.from({ length: 120 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: turn(i) }));
  const body = { model: 'm', max_tokens: 10, system: turn(-1), messages };
  const raw = Buffer.byteLength(JSON.stringify(body));
  assert.ok(raw >= RAW_LENGTH_FROM);
  const measured = estimateInputTokens(body);
  const fromLength = estimateInputTokens(body, raw);
  assert.ok(fromLength >= measured && fromLength < measured * 1.1, `from length ${fromLength}, measured ${measured}`);
  // Below the threshold the strings are measured as before.
  assert.equal(estimateInputTokens(body, RAW_LENGTH_FROM - 1), measured);

  const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } };
  const withImage = { ...body, messages: [...messages, { role: 'user', content: [image, { type: 'text', text: 'and this?' }] }] };
  const withImageRaw = Buffer.byteLength(JSON.stringify(withImage));
  const estimate = estimateInputTokens(withImage, withImageRaw);
  assert.ok(estimate < fromLength + IMAGE_TOKENS + 100, `an image is ~${IMAGE_TOKENS} tokens, not its base64 length: ${estimate} vs ${fromLength}`);
  assert.ok(estimate > fromLength, String(estimate));
});

test('periods are UTC days and months with their ends', () => {
  const p = periodsAt(Date.UTC(2026, 11, 31, 23, 59, 59));
  assert.equal(p.day, '2026-12-31');
  assert.equal(p.month, '2026-12');
  assert.equal(p.dayEndsAt, Date.UTC(2027, 0, 1));
  assert.equal(p.monthEndsAt, Date.UTC(2027, 0, 1));
});

test('budget amounts read as people write them: cents, and the digits that matter below a cent', () => {
  assert.equal(usd(0.5), '$0.50');
  assert.equal(usd(12), '$12.00');
  assert.equal(usd(0), '$0.00');
  assert.equal(usd(0.001), '$0.001');
  assert.equal(usd(0.00123456), '$0.00123');
});
