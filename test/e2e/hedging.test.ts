/**
 * Hedging on real sockets (issue 3, "Hedging"): a slow or hung first
 * deployment gets a twin request on the next one after the hedge delay; the
 * first to produce a first byte answers and the other is aborted upstream.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { AttemptRecord } from '../../src/pipeline/attempt.ts';
import type { RequestSummary } from '../../src/pipeline/chat.ts';
import type { ExtensionFactory } from '../../src/server/gateway.ts';
import { SseParser } from '../../src/protocols/sse.ts';
import { startStack, type Stack } from './stack.ts';

/** `slow` carries `slowHeaders`, `fast` answers at once; both on the same mock. */
function yaml(slowHeaders: string, model: string): (url: string) => string {
  return (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: slow, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: slow, ${slowHeaders} } }
  - { name: fast, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: fast, x-mock-fault: none, x-mock-latency-ms: "0" } }
  - { name: slow-oai, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: slow, ${slowHeaders} } }
  - { name: fast-oai, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: fast, x-mock-fault: none, x-mock-latency-ms: "0" } }
models:
  - ${model}
routes: { default: pair }
`;
}

const NEVER_OPEN = '{ consecutiveFailures: 1000000, errorRate: 1, minRequests: 1000000 }';

interface Finished {
  summaries: RequestSummary[];
  /** Each request's attempts as they read when `finished` ran. */
  copies: AttemptRecord[][];
  extension: ExtensionFactory;
}

/** Collects every request's summary when its response has closed. */
function collectSummaries(): Finished {
  const summaries: RequestSummary[] = [];
  const copies: AttemptRecord[][] = [];
  return {
    summaries,
    copies,
    extension: () => ({
      name: 'test-summaries',
      hooks: {
        finished: (call) => {
          summaries.push(call.summary);
          copies.push(call.summary.attempts.map((a) => ({ ...a })));
        },
      },
    }),
  };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function ask(stack: Stack, path: string, model: string, stream: boolean): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${stack.gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 32, stream, messages: [{ role: 'user', content: 'hello' }] }),
  });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started };
}

function hedges(summaries: readonly RequestSummary[]): AttemptRecord[] {
  return summaries.flatMap((s) => s.attempts.filter((a) => a.hedge === true));
}

async function start(t: TestContext, slowHeaders: string, model: string, mock = {}): Promise<Stack & Finished> {
  const finished = collectSummaries();
  const stack = await startStack(t, { yaml: yaml(slowHeaders, model), extensions: [finished.extension], mock });
  return { ...stack, ...finished };
}

test('a hung deployment is hedged after the delay: the twin answers, the mock sees the hung attempt aborted', async (t) => {
  const stack = await start(
    t,
    'x-mock-fault: hang',
    `{ name: pair, timeouts: { firstByteMs: 20000 }, hedge: { delayMs: 150, maxShare: 1, burst: 100 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }
  - { name: pair-oai, timeouts: { firstByteMs: 20000 }, hedge: { delayMs: 150, maxShare: 1, burst: 100 }, deployments: [ { provider: slow-oai, model: a }, { provider: fast-oai, model: b } ] }`,
  );
  const { mock, gateway, summaries } = stack;
  let n = 0;
  for (const [path, model] of [
    ['/v1/messages', 'pair'],
    ['/v1/chat/completions', 'pair-oai'],
    ['/v1/messages', 'pair-oai'],
  ] as const) {
    for (const stream of [false, true]) {
      const label = `${path} ${model} stream=${stream}`;
      const answer = await ask(stack, path, model, stream);
      n++;
      assert.equal(answer.status, 200, `${label}: ${answer.text}`);
      assert.ok(!answer.text.includes('"error"'), label);
      // Without hedging the client would wait for the 20 s first-byte timeout.
      assert.ok(answer.ms < 10_000, `${label}: ${answer.ms} ms`);
      await until(`${label}: the summary and the mock's abort`, () => summaries.length === n && mock.stats.aborted === n);
      const attempts = summaries[n - 1]!.attempts;
      assert.equal(attempts.length, 2, label);
      const [lost, won] = attempts as [AttemptRecord, AttemptRecord];
      assert.equal(lost.error, 'hedge_lost', label);
      assert.equal(lost.hedge, undefined, label);
      assert.equal(won.hedge, true, label);
      assert.equal(won.error, undefined, label);
      assert.equal(won.status, 200, label);
      assert.equal(summaries[n - 1]!.deployment, won.deployment, label);
      // The twin started after the hedge delay, and the loser ran until the twin answered.
      assert.ok(won.startMs >= lost.startMs + 140, `${label}: ${JSON.stringify(attempts)}`);
      assert.ok(lost.durationMs !== undefined && lost.durationMs >= 140, `${label}: ${JSON.stringify(attempts)}`);
      assert.ok(won.durationMs !== undefined && won.durationMs >= 0, label);
    }
  }
  // The loser is not a failure of its deployment, and nothing is left in flight.
  for (const id of ['slow/a', 'fast/b', 'slow-oai/a', 'fast-oai/b']) {
    const health = gateway.holder.current.resilience.registry.get(id)!.snapshot();
    assert.equal(health.inFlight, 0, id);
    assert.equal(health.windowFailures, 0, id);
    assert.equal(health.state, 'closed', id);
  }
  assert.equal(gateway.holder.current.resilience.registry.get('slow/a')!.snapshot().windowRequests, 0);
});

test('an attempt that produces its first byte before the delay is not hedged', async (t) => {
  const stack = await start(
    t,
    'x-mock-latency-ms: "0"',
    `{ name: pair, hedge: { delayMs: 2000, maxShare: 1, burst: 100 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }`,
  );
  for (const stream of [false, true]) {
    const answer = await ask(stack, '/v1/messages', 'pair', stream);
    assert.equal(answer.status, 200, answer.text);
  }
  await until('both summaries', () => stack.summaries.length === 2);
  assert.deepEqual(
    stack.summaries.map((s) => s.attempts.map((a) => [a.deployment, a.hedge, a.error])),
    [[['slow/a', undefined, undefined]], [['slow/a', undefined, undefined]]],
  );
  assert.deepEqual(
    stack.mock.stats.last.filter((r) => r.path === '/v1/messages').map((r) => r.headers['x-tag']),
    ['slow', 'slow'],
  );
});

test('a stream that sends its headers but no content is hedged too: first byte means first content', async (t) => {
  const stack = await start(
    t,
    'x-mock-fault: hang-after-headers',
    `{ name: pair, timeouts: { idleMs: 20000 }, hedge: { delayMs: 150, maxShare: 1, burst: 100 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }`,
  );
  const answer = await ask(stack, '/v1/messages', 'pair', true);
  assert.equal(answer.status, 200, answer.text);
  const parser = new SseParser();
  const events = [...parser.push(answer.text), ...parser.end()].map((e) => e.event);
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  assert.ok(!events.includes('error'));
  await until('the summary and the abort', () => stack.summaries.length === 1 && stack.mock.stats.aborted === 1);
  assert.deepEqual(
    stack.summaries[0]!.attempts.map((a) => [a.deployment, a.hedge, a.error]),
    [
      ['slow/a', undefined, 'hedge_lost'],
      ['fast/b', true, undefined],
    ],
  );
});

test('hedges are capped at maxShare of the group traffic: over the budget a request waits for its slow attempt', async (t) => {
  const stack = await start(
    t,
    'x-mock-latency-ms: "400"',
    `{ name: pair, breaker: ${NEVER_OPEN}, hedge: { delayMs: 100, maxShare: 0.25, burst: 1 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }`,
  );
  for (let i = 0; i < 8; i++) {
    const answer = await ask(stack, '/v1/messages', 'pair', false);
    assert.equal(answer.status, 200, answer.text);
  }
  await until('eight summaries', () => stack.summaries.length === 8);
  // The bucket starts with one hedge and earns a quarter per request: requests 1 and 5 hedge.
  const hedged = stack.summaries.map((s) => s.attempts.some((a) => a.hedge === true));
  assert.deepEqual(hedged, [true, false, false, false, true, false, false, false]);
  assert.equal(hedges(stack.summaries).length, 2);
  assert.deepEqual(
    stack.summaries.map((s) => s.deployment),
    ['fast/b', 'slow/a', 'slow/a', 'slow/a', 'fast/b', 'slow/a', 'slow/a', 'slow/a'],
  );
  // Eight requests reached the slow deployment, and only the two hedges the fast one.
  const tags = stack.mock.stats.last.map((r) => String(r.headers['x-tag']));
  assert.equal(tags.filter((tag) => tag === 'slow').length, 8);
  assert.equal(tags.filter((tag) => tag === 'fast').length, 2);
});

test('without a fixed delay, the hedge waits for the learned p95 of the deployment first byte', async (t) => {
  // The slow provider takes its latency and fault from the mock defaults, changed mid-test.
  const stack = await start(
    t,
    'x-other: "1"',
    `{ name: pair, timeouts: { firstByteMs: 20000 }, hedge: { percentile: 0.95, minSamples: 5, maxShare: 1, burst: 100 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }`,
    { latencyMs: 120 },
  );
  // Nothing learned yet and no fixed delay: no hedge, even for a slowish answer.
  for (let i = 0; i < 5; i++) {
    const answer = await ask(stack, '/v1/messages', 'pair', false);
    assert.equal(answer.status, 200, answer.text);
  }
  await until('five summaries', () => stack.summaries.length === 5);
  assert.equal(hedges(stack.summaries).length, 0);
  const learned = stack.gateway.holder.current.resilience.registry.get('slow/a')!.firstByte.percentile(0.95)!;
  assert.ok(learned >= 110 && learned < 5000, `learned p95 ${learned}`);
  // The learned latency is part of the health snapshot (admin API, dashboard, metrics).
  const snapshot = stack.gateway.holder.current.resilience.registry.get('slow/a')!.snapshot();
  assert.equal(snapshot.firstByteSamples, 5);
  assert.equal(snapshot.firstByteP95Ms, learned);
  assert.equal(stack.gateway.holder.current.resilience.registry.get('fast/b')!.snapshot().firstByteP95Ms, null);

  stack.mock.setOptions({ fault: 'hang' });
  const answer = await ask(stack, '/v1/messages', 'pair', true);
  assert.equal(answer.status, 200, answer.text);
  await until('the sixth summary', () => stack.summaries.length === 6);
  const [lost, won] = stack.summaries[5]!.attempts as [AttemptRecord, AttemptRecord];
  assert.equal(lost.error, 'hedge_lost');
  assert.equal(won.hedge, true);
  // The twin went out at the learned p95, not before.
  assert.ok(won.startMs - lost.startMs >= learned - 10, `hedged after ${won.startMs - lost.startMs} ms, learned ${learned}`);
});

test('hedge settings are validated: a delay or a percentile is required, shares are 0..1', async () => {
  const { parseConfig } = await import('../../src/config/index.ts');
  const base = (hedge: string): string => `
providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]
models: [ { name: m, hedge: ${hedge}, deployments: [ { provider: p, model: a }, { provider: p, model: b } ] } ]
routes: { default: m }
`;
  assert.throws(() => parseConfig(base('{ maxShare: 0.1 }'), { env: {} }), /delayMs|percentile/);
  assert.throws(() => parseConfig(base('{ delayMs: 100, maxShare: 2 }'), { env: {} }), /maxShare/);
  assert.throws(() => parseConfig(base('{ delayMs: 100, percentil: 0.9 }'), { env: {} }), /percentil/);
  const config = parseConfig(base('{ percentile: 0.9 }'), { env: {} });
  assert.deepEqual(config.models[0]!.hedge, { percentile: 0.9, minSamples: 20, maxShare: 0.1, burst: 1 });
});

test('a twin that fails before its first byte leaves the first attempt running, and it still answers', async (t) => {
  const finished = collectSummaries();
  const { gateway, mock } = await startStack(t, {
    extensions: [finished.extension],
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: slow, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-latency-ms: "400" } }
  - { name: broken, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: "status:503" } }
models:
  - { name: pair, retries: 0, hedge: { delayMs: 100, maxShare: 1, burst: 10 }, deployments: [ { provider: slow, model: a }, { provider: broken, model: b } ] }
routes: { default: pair }
`,
  });
  const res = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'pair', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(text, /event: message_stop/);
  await until('the summary', () => finished.summaries.length === 1);
  assert.deepEqual(
    finished.summaries[0]!.attempts.map((a) => [a.deployment, a.hedge, a.error, a.status]),
    [
      ['slow/a', undefined, undefined, 200],
      ['broken/b', true, 'SWY_ERR_UPSTREAM_STATUS', 503],
    ],
  );
  assert.equal(finished.summaries[0]!.deployment, 'slow/a');
  assert.equal(mock.stats.aborted, 0);
  // The twin's 503 is a real failure of its deployment; the answer is a success of the other.
  const registry = gateway.holder.current.resilience.registry;
  assert.equal(registry.get('broken/b')!.snapshot().windowFailures, 1);
  assert.equal(registry.get('slow/a')!.snapshot().windowFailures, 0);
  assert.equal(registry.get('slow/a')!.snapshot().windowRequests, 1);
});

test('a client that goes away during a hedge race aborts both attempts and leaves nothing in flight', async (t) => {
  const finished = collectSummaries();
  const { gateway, mock } = await startStack(t, {
    extensions: [finished.extension],
    mock: { fault: 'hang' },
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: anthropic, baseUrl: "${url}" }
  - { name: two, protocol: anthropic, baseUrl: "${url}" }
models:
  - { name: pair, hedge: { delayMs: 100, maxShare: 1, burst: 10 }, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }
routes: { default: pair }
`,
  });
  const controller = new AbortController();
  const pending = fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'pair', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    signal: controller.signal,
  });
  pending.catch(() => undefined);
  await until('both attempts at the mock', () => mock.stats.inFlight === 2);
  controller.abort();
  await until('the summary', () => finished.summaries.length === 1);
  // Complete when `finished` runs: copied there, not read later.
  assert.deepEqual(
    finished.copies[0]!.map((a) => [a.deployment, a.hedge, a.error, typeof a.durationMs]),
    [
      ['one/a', undefined, 'client_closed', 'number'],
      ['two/b', true, 'client_closed', 'number'],
    ],
  );
  await until('both aborts', () => mock.stats.aborted === 2);
  assert.deepEqual(
    finished.summaries[0]!.attempts.map((a) => [a.deployment, a.hedge, a.error]),
    [
      ['one/a', undefined, 'client_closed'],
      ['two/b', true, 'client_closed'],
    ],
  );
  const registry = gateway.holder.current.resilience.registry;
  await until('nothing in flight', () => registry.get('one/a')!.inFlight === 0 && registry.get('two/b')!.inFlight === 0);
  assert.equal(registry.get('one/a')!.snapshot().windowRequests, 0);
  assert.equal(registry.get('two/b')!.snapshot().windowRequests, 0);
});
