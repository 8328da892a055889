/**
 * The extension seam (src/pipeline/hooks.ts): admit can refuse in the client's
 * shape before any upstream call, routed sees the decision, finished hears
 * every outcome once, routes are mounted, and close runs on shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import type { ChatCall } from '../../src/pipeline/chat.ts';
import type { GatewayExtension, RequestEnd } from '../../src/pipeline/hooks.ts';
import type { RouteDecision } from '../../src/routing/index.ts';
import { postJson, startStack } from './stack.ts';

function recorder() {
  const seen = { routed: [] as string[], finished: [] as Array<{ id: string; end: RequestEnd; error?: string }>, closed: 0 };
  const extension: GatewayExtension = {
    name: 'recorder',
    hooks: {
      admit(call: ChatCall) {
        if (call.headers['x-refuse'] === 'yes') throw new GatewayError('SWY_ERR_UNAUTHORIZED', 'refused by the test extension');
      },
      routed(call: ChatCall, decision: RouteDecision) {
        seen.routed.push(`${call.requestId}:${decision.rule}:${decision.modelName}`);
      },
      finished(call: ChatCall, end: RequestEnd) {
        seen.finished.push({ id: call.requestId, end, error: call.summary.error });
      },
    },
    routes(app) {
      app.get('/test-extension', async () => ({ mounted: true }));
    },
    async close() {
      seen.closed++;
    },
  };
  return { seen, extension };
}

test('hooks see every chat request; admit refuses in the client protocol before any upstream call', async (t) => {
  const { seen, extension } = recorder();
  const { mock, gateway } = await startStack(t, { extensions: [() => extension] });
  await gateway.warmed;
  const before = mock.stats.requests;
  const body = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

  const ok = await postJson(`${gateway.url}/v1/messages`, body, { 'x-request-id': 'ok-1' });
  assert.equal(ok.status, 200);

  const refusedAnthropic = await postJson(`${gateway.url}/v1/messages`, body, { 'x-request-id': 'no-1', 'x-refuse': 'yes' });
  assert.equal(refusedAnthropic.status, 401);
  assert.deepEqual(refusedAnthropic.json.error, { type: 'authentication_error', message: 'refused by the test extension' });
  assert.equal(refusedAnthropic.headers.get('request-id'), 'no-1');

  const refusedOpenai = await postJson(`${gateway.url}/v1/chat/completions`, { ...body, model: 'gpt-mock' }, { 'x-request-id': 'no-2', 'x-refuse': 'yes' });
  assert.equal(refusedOpenai.status, 401);
  assert.equal((refusedOpenai.json.error as { message: string }).message, 'refused by the test extension');

  assert.equal(mock.stats.requests - before, 1, 'refused requests never reach the provider');
  assert.deepEqual(seen.routed, ['ok-1:model:claude-mock']);
  await waitFor(() => seen.finished.length === 3);
  const byId = new Map(seen.finished.map((f) => [f.id, f]));
  assert.equal(byId.get('ok-1')?.end.status, 200);
  assert.equal(byId.get('no-1')?.end.status, 401);
  assert.equal(byId.get('no-1')?.error, 'SWY_ERR_UNAUTHORIZED');
  assert.equal(byId.get('no-2')?.end.status, 401);

  const mounted = await fetch(`${gateway.url}/test-extension`);
  assert.deepEqual(await mounted.json(), { mounted: true });

  await gateway.close();
  assert.equal(seen.closed, 1);
});

test('a routed hook that throws refuses the request before any upstream call', async (t) => {
  const extension: GatewayExtension = {
    name: 'scope',
    hooks: {
      routed(_call, decision) {
        if (decision.modelName === 'gpt-mock') throw new GatewayError('SWY_ERR_UNAUTHORIZED', `not allowed: ${decision.modelName}`, { status: 403, kind: 'permission' });
      },
    },
  };
  const { mock, gateway } = await startStack(t, { extensions: [() => extension] });
  await gateway.warmed;
  const before = mock.stats.requests;
  const res = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'gpt-mock', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.status, 403);
  assert.equal((res.json.error as { message: string }).message, 'not allowed: gpt-mock');
  assert.equal(mock.stats.requests - before, 0);
});

async function waitFor(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(predicate(), 'condition not reached in time');
}
