/**
 * The traffic recorder behind the dashboard: what one finished request adds,
 * and the bounds (recent ring, names per tally) that keep its memory fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { ChatCall, RequestSummary } from '../../src/pipeline/chat.ts';
import type { Principal } from '../../src/tenancy/principal.ts';
import { TrafficRecorder } from '../../src/ui/recorder.ts';

function call(id: string, summary: Partial<RequestSummary>, principal?: Principal): ChatCall {
  return {
    surface: 'openai',
    body: { model: summary.model ?? 'm' },
    query: '',
    headers: {},
    requestId: id,
    res: undefined as unknown as ServerResponse,
    startedAt: 0,
    summary: { surface: 'openai', attempts: [], ...summary },
    principal,
  };
}

const tenant: Principal = { kind: 'key', tenantId: 't1', tenantName: 'acme', keyId: 'key_1' };

test('a finished request counts in the window, its flow, usage by tenant, key and model, and the recent ring', () => {
  const recorder = new TrafficRecorder({ clock: () => 50_000, cost: () => 0.25 });
  recorder.record(
    call('r1', {
      rule: 'default',
      model: 'claude',
      deployment: 'ant/c',
      attempts: [{ deployment: 'oai/g', error: 'SWY_ERR_UPSTREAM_STATUS', status: 503, startMs: 0, durationMs: 5 }, { deployment: 'ant/c', status: 200, startMs: 6 }],
      usage: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 2 },
      ttftMs: 12.34,
    }, tenant),
    { status: 200, latencyMs: 40, clientAborted: false },
  );
  recorder.record(call('r2', { rule: 'default', model: 'claude', error: 'SWY_ERR_UPSTREAM_TIMEOUT', attempts: [{ deployment: 'ant/c', error: 'SWY_ERR_UPSTREAM_TIMEOUT', status: 504, startMs: 0 }, { deployment: 'oai/g', error: 'hedge_lost', startMs: 300, hedge: true }] }), {
    status: 504,
    latencyMs: 1000,
    clientAborted: false,
  });

  assert.equal(recorder.window.span().requests, 2);
  assert.equal(recorder.window.span().errors, 1);
  assert.deepEqual(recorder.totals, { requests: 2, errors: 1, tokensIn: 12, tokensOut: 5, costUsd: 0.5, clientAborted: 0 });
  assert.deepEqual(
    recorder.flows().map((f) => [f.rule, f.model, f.deployment, f.requests, f.errors]),
    [['default', 'claude', 'ant/c', 2, 1]],
    'a failed request counts against the deployment it last tried',
  );
  const usage = recorder.usage();
  assert.deepEqual(usage.byTenant.map((u) => [u.name, u.requests, u.costUsd]), [['acme', 1, 0.25], ['(none)', 1, 0.25]]);
  assert.deepEqual(usage.byKey.map((u) => u.name), ['key_1', '(none)']);
  assert.equal(recorder.attempts('oai/g')?.failures, 1, 'a lost hedge is not a failure of the deployment');
  assert.equal(recorder.attempts('oai/g')?.attempts, 2);
  assert.equal(recorder.attempts('ant/c')?.attempts, 2);
  assert.equal(recorder.attempts('ant/c')?.lastError?.status, 504);

  const [newest, older] = recorder.recent();
  assert.equal(newest?.id, 'r2');
  assert.equal(newest?.status, 504);
  assert.equal(older?.id, 'r1');
  assert.equal(older?.tokensIn, 12);
  assert.equal(older?.ttftMs, 12.3);
  assert.equal(older?.tenant, 'acme');
  assert.deepEqual(older?.attempts, [
    { deployment: 'oai/g', status: 503, error: 'SWY_ERR_UPSTREAM_STATUS', startMs: 0, durationMs: 5, hedge: undefined },
    { deployment: 'ant/c', status: 200, error: undefined, startMs: 6, durationMs: undefined, hedge: undefined },
  ]);
});

test('the recent ring keeps only the newest requests, newest first', () => {
  const recorder = new TrafficRecorder({ recentSize: 3 });
  for (let i = 1; i <= 7; i++) recorder.record(call(`r${i}`, {}), { status: 200, latencyMs: 1, clientAborted: false });
  assert.deepEqual(recorder.recent().map((r) => r.id), ['r7', 'r6', 'r5']);
});

test('names past the bound are folded into "(other)", so invented model names cannot grow memory', () => {
  const recorder = new TrafficRecorder({ maxKeys: 3 });
  for (let i = 1; i <= 10; i++) recorder.record(call(`r${i}`, { rule: 'explicit', model: `p,m${i}` }), { status: 200, latencyMs: 1, clientAborted: false });
  const models = recorder.usage().byModel;
  assert.equal(models.length, 4);
  assert.deepEqual(models.at(-1), { name: '(other)', requests: 7, errors: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 });
  assert.equal(recorder.flows().length, 4);
  assert.equal(recorder.flows().reduce((n, f) => n + f.requests, 0), 10);
});

test('a cost function that throws leaves the request unpriced, never breaks the hook', () => {
  const recorder = new TrafficRecorder({
    cost: () => {
      throw new Error('no price');
    },
  });
  recorder.record(call('r1', {}), { status: 200, latencyMs: 1, clientAborted: true });
  assert.equal(recorder.totals.requests, 1);
  assert.equal(recorder.totals.clientAborted, 1);
  assert.equal(recorder.recent()[0]?.costUsd, undefined);
});
