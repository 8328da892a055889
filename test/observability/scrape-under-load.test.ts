/**
 * Done-when check of issue 5: with the gateway under load, /metrics scraped
 * again and again shows consistent counters — none ever goes down, each
 * scrape agrees with itself (a histogram's +Inf bucket equals its count,
 * requests equal latency observations), and the end totals equal the traffic.
 * (`npm run bench` makes the same check under its own load.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCounters, scrape, total, type Sample } from '../../bench/lib/prom-text.ts';
import { postJson, startStack } from '../e2e/stack.ts';

const REQUESTS = 240;
const WORKERS = 16;

function selfConsistent(samples: readonly Sample[]): void {
  const requests = total(samples, 'switchyard_requests_total');
  assert.equal(total(samples, 'switchyard_request_duration_seconds_count'), requests);
  assert.equal(total(samples, 'switchyard_request_duration_seconds_bucket', { le: '+Inf' }), requests);
  assert.equal(total(samples, 'switchyard_time_to_first_token_seconds_bucket', { le: '+Inf' }), total(samples, 'switchyard_time_to_first_token_seconds_count'));
}

test('counters scraped again and again under load never go down and end equal to the traffic sent', async (t) => {
  const { gateway } = await startStack(t);
  await gateway.warmed;
  const bodies = [
    ['/v1/messages', { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'load' }] }],
    ['/v1/messages', { model: 'claude-mock', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'load' }] }],
    ['/v1/chat/completions', { model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: 'load' }] }],
    ['/v1/chat/completions', { model: 'gpt-mock', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'load' }] }],
  ] as const;
  let sent = 0;
  let failed = 0;
  let loading = true;
  const worker = async (): Promise<void> => {
    while (sent < REQUESTS) {
      const [path, body] = bodies[sent++ % bodies.length]!;
      if ((await postJson(`${gateway.url}${path}`, body)).status !== 200) failed++;
    }
  };
  const load = Promise.all(Array.from({ length: WORKERS }, worker)).finally(() => {
    loading = false;
  });

  let previous = await scrape(`${gateway.url}/metrics`);
  let scrapes = 1;
  let sawTrafficMidway = false;
  for (let i = 0; i < 500 && loading; i++) {
    const next = await scrape(`${gateway.url}/metrics`);
    scrapes++;
    assert.equal(next.status, 200);
    selfConsistent(next.samples);
    const { decreased } = compareCounters(previous, next);
    assert.deepEqual(decreased, [], 'no counter goes down between two scrapes');
    const done = total(next.samples, 'switchyard_requests_total');
    if (done > 0 && done < REQUESTS) sawTrafficMidway = true;
    previous = next;
  }
  await load;
  assert.equal(failed, 0);
  await new Promise((r) => setTimeout(r, 50)); // the last responses' close events
  const last = await scrape(`${gateway.url}/metrics`);
  assert.deepEqual(compareCounters(previous, last).decreased, []);
  selfConsistent(last.samples);
  assert.equal(total(last.samples, 'switchyard_requests_total'), REQUESTS);
  assert.equal(total(last.samples, 'switchyard_requests_total', { status_class: '2xx' }), REQUESTS);
  assert.equal(total(last.samples, 'switchyard_upstream_attempts_total', { outcome: 'ok' }), REQUESTS);
  assert.equal(total(last.samples, 'switchyard_time_to_first_token_seconds_count'), REQUESTS);
  assert.equal(total(last.samples, 'switchyard_requests_in_flight'), 0);
  assert.ok(scrapes > 2 && sawTrafficMidway, `scraped ${scrapes} times while the load ran`);
});
