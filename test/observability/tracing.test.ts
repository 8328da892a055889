/**
 * Traces end to end (issue 5): a client's `traceparent` is the parent of the
 * gateway's request span, the upstream request carries the gateway's span,
 * and the spans reach an OTLP/HTTP collector stand-in on loopback.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { formatTraceparent, parseTraceparent, passThroughTrace } from '../../src/observability/trace-context.ts';
import { tracesEndpoint } from '../../src/observability/tracing.ts';
import { defaultYaml, postJson, startStack } from '../e2e/stack.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number; message?: string };
}

/** A stand-in for an OTLP/HTTP collector: keeps every span it is sent. */
async function startCollector(t: TestContext): Promise<{ url: string; spans: OtlpSpan[]; posts: Array<{ path: string; contentType: string }> }> {
  const spans: OtlpSpan[] = [];
  const posts: Array<{ path: string; contentType: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', contentType: String(req.headers['content-type']) });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, posts };
}

function attr(span: OtlpSpan, key: string): unknown {
  const found = span.attributes.find((a) => a.key === key);
  return found === undefined ? undefined : Object.values(found.value)[0];
}

const ask = (model: string) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'trace me' }] });
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

test('the client traceparent parents the request span, the upstream sees the gateway span, and the spans reach the collector', async (t) => {
  const collector = await startCollector(t);
  const { gateway, mock } = await startStack(t, { yaml: (url) => defaultYaml(url, `tracing: { otlpEndpoint: "${collector.url}" }`) });
  const res = await postJson(`${gateway.url}/v1/messages`, ask('claude-mock'), {
    traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`,
    tracestate: 'vendor=opaque',
    'x-request-id': 'trace-req-1',
  });
  assert.equal(res.status, 200, res.text);
  const upstream = mock.stats.last.at(-1)?.headers ?? {};
  const sent = parseTraceparent(upstream.traceparent);
  assert.ok(sent, `the upstream request carries a traceparent (got ${String(upstream.traceparent)})`);
  assert.equal(sent.traceId, TRACE_ID);
  assert.notEqual(sent.spanId, CLIENT_SPAN, 'the upstream parent is the gateway span, not the client span');
  assert.equal(sent.flags, 1);
  assert.equal(upstream.tracestate, 'vendor=opaque');

  await gateway.close(); // flushes the batch
  assert.ok(collector.posts.every((p) => p.path === '/v1/traces'));
  const request = collector.spans.find((s) => s.name === 'POST /v1/messages');
  assert.ok(request, `a request span arrived (got ${collector.spans.map((s) => s.name).join(', ')})`);
  assert.equal(request.traceId, TRACE_ID);
  assert.equal(request.parentSpanId, CLIENT_SPAN);
  assert.equal(request.spanId, sent.spanId);
  assert.equal(request.kind, 2, 'SERVER');
  assert.equal(attr(request, 'switchyard.request_id'), 'trace-req-1');
  assert.equal(attr(request, 'switchyard.model'), 'claude-mock');
  assert.equal(attr(request, 'switchyard.deployment'), 'ant/upstream-claude');
  assert.equal(Number(attr(request, 'http.response.status_code')), 200);
  assert.ok(Number(attr(request, 'gen_ai.usage.output_tokens')) > 0);

  const route = collector.spans.find((s) => s.name === 'switchyard.route');
  assert.equal(route?.parentSpanId, request.spanId);
  assert.equal(attr(route, 'switchyard.rule'), 'model');
  const attempt = collector.spans.find((s) => s.name === 'upstream ant/upstream-claude');
  assert.equal(attempt?.parentSpanId, request.spanId);
  assert.equal(attempt?.kind, 3, 'CLIENT');
  assert.equal(attempt?.traceId, TRACE_ID);
  for (const span of [route, attempt]) {
    assert.ok(BigInt(span?.startTimeUnixNano ?? 0) >= BigInt(request.startTimeUnixNano));
    assert.ok(BigInt(span?.endTimeUnixNano ?? 0) <= BigInt(request.endTimeUnixNano));
  }
});

test('each failed attempt gets its own span with the error, and a request without traceparent starts a new trace', async (t) => {
  const collector = await startCollector(t);
  const { gateway, mock } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: openai, baseUrl: "${url}/v1", headers: { x-mock-fault: "status:503" } }
  - { name: two, protocol: openai, baseUrl: "${url}/v1" }
models:
  - { name: pair, deployments: [ { provider: one, model: a }, { provider: two, model: b } ] }
routes: { default: pair }
tracing: { otlpEndpoint: "${collector.url}/v1/traces" }
`,
  });
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, ask('pair'))).status, 200);
  const [first, second] = mock.stats.last.slice(-2).map((r) => parseTraceparent(r.headers.traceparent));
  assert.ok(first && second);
  assert.equal(first.traceId, second.traceId, 'both attempts belong to one trace');
  await gateway.close();
  const request = collector.spans.find((s) => s.name === 'POST /v1/chat/completions');
  assert.ok(request);
  assert.equal(request.traceId, first.traceId);
  assert.equal(request.parentSpanId ?? '', '', 'a root span');
  const failed = collector.spans.find((s) => s.name === 'upstream one/a');
  assert.equal(failed?.status?.code, 2, 'ERROR');
  assert.equal(attr(failed as OtlpSpan, 'error.type'), 'SWY_ERR_UPSTREAM_STATUS');
  assert.equal(Number(attr(failed as OtlpSpan, 'http.response.status_code')), 503);
  const ok = collector.spans.find((s) => s.name === 'upstream two/b');
  assert.equal(ok?.status?.code ?? 0, 0);
  assert.equal(Number(attr(ok as OtlpSpan, 'switchyard.attempt')), 2);
});

test('a refused request still gets a span, and an unsampled client trace is propagated but not exported', async (t) => {
  const collector = await startCollector(t);
  const { gateway, mock } = await startStack(t, { yaml: (url) => defaultYaml(url, `tracing: { otlpEndpoint: "${collector.url}" }`) });
  const unsampled = `00-${TRACE_ID}-${CLIENT_SPAN}-00`;
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask('claude-mock'), { traceparent: unsampled })).status, 200);
  const sent = parseTraceparent(mock.stats.last.at(-1)?.headers.traceparent);
  assert.equal(sent?.traceId, TRACE_ID);
  assert.equal(sent?.flags, 0);
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask('nope,x'), { 'x-request-id': 'refused-1' })).status, 404);
  await gateway.close();
  assert.equal(collector.spans.filter((s) => s.traceId === TRACE_ID).length, 0, 'nothing of the unsampled trace is exported');
  const refused = collector.spans.find((s) => attr(s, 'switchyard.request_id') === 'refused-1');
  assert.ok(refused);
  assert.equal(refused.status?.code, 2);
  assert.equal(attr(refused, 'error.type'), 'SWY_ERR_UNKNOWN_PROVIDER');
});

test('without tracing a valid client traceparent passes through to the upstream unchanged', async (t) => {
  const { gateway, mock } = await startStack(t);
  assert.ok(!gateway.extensions.some((e) => e.name === 'tracing'), 'tracing is off unless an exporter is configured');
  const traceparent = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
  await postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'), { traceparent });
  assert.equal(mock.stats.last.at(-1)?.headers.traceparent, traceparent);
  await postJson(`${gateway.url}/v1/chat/completions`, ask('gpt-mock'), { traceparent: 'garbage' });
  assert.equal(mock.stats.last.at(-1)?.headers.traceparent, undefined, 'an invalid traceparent is dropped');
});

test('attempt spans have the attempts\' own times: a hedge starts after the delay and its lost twin is not an error', async (t) => {
  const collector = await startCollector(t);
  const { gateway } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: slow, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-fault: hang } }
  - { name: fast, protocol: anthropic, baseUrl: "${url}", headers: { x-mock-latency-ms: "0" } }
models:
  - { name: pair, timeouts: { firstByteMs: 20000 }, hedge: { delayMs: 100, maxShare: 1, burst: 100 }, deployments: [ { provider: slow, model: a }, { provider: fast, model: b } ] }
routes: { default: pair }
tracing: { otlpEndpoint: "${collector.url}" }
`,
  });
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask('pair'))).status, 200);
  await gateway.close();
  const lost = collector.spans.find((s) => s.name === 'upstream slow/a');
  const hedge = collector.spans.find((s) => s.name === 'upstream fast/b');
  assert.ok(lost && hedge);
  assert.equal(attr(hedge, 'switchyard.hedge'), true);
  assert.equal(attr(lost, 'error.type'), 'hedge_lost');
  assert.equal(lost.status?.code ?? 0, 0, 'losing a hedge race is not an error');
  const ms = (ns: string): number => Number(BigInt(ns) / 1_000_000n);
  assert.ok(ms(hedge.startTimeUnixNano) - ms(lost.startTimeUnixNano) >= 90, 'the hedge starts after the delay');
  assert.ok(ms(lost.endTimeUnixNano) - ms(lost.startTimeUnixNano) >= 90, 'the lost twin ran until the hedge answered');
});

test('traceparent parsing follows the W3C rules', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE_ID}-${CLIENT_SPAN}-01`), { traceId: TRACE_ID, spanId: CLIENT_SPAN, flags: 1 });
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${CLIENT_SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE_ID}-${'0'.repeat(16)}-01`), undefined);
  assert.equal(parseTraceparent(`ff-${TRACE_ID}-${CLIENT_SPAN}-01`), undefined);
  assert.equal(parseTraceparent(`00-${TRACE_ID}-${CLIENT_SPAN}-01-extra`), undefined);
  assert.equal(parseTraceparent(`01-${TRACE_ID}-${CLIENT_SPAN}-01-extra`)?.traceId, TRACE_ID, 'a later version may add fields');
  assert.equal(parseTraceparent(`00-${TRACE_ID.toUpperCase()}-${CLIENT_SPAN}-01`), undefined);
  assert.equal(formatTraceparent({ traceId: TRACE_ID, spanId: CLIENT_SPAN, flags: 3 }), `00-${TRACE_ID}-${CLIENT_SPAN}-03`);
  assert.equal(passThroughTrace({ traceparent: 'nope' }), undefined);
});

test('the exporter endpoint comes from the config, else the standard OTEL variables; tracing is off otherwise', () => {
  const settings = (extra = '') => parseConfig(defaultYaml('http://127.0.0.1:1', extra), { env: {} }).tracing;
  assert.equal(tracesEndpoint(settings(), {}), undefined);
  assert.equal(tracesEndpoint(settings('tracing: { otlpEndpoint: "http://127.0.0.1:4318" }'), {}), 'http://127.0.0.1:4318/v1/traces');
  assert.equal(tracesEndpoint(settings('tracing: { otlpEndpoint: "http://127.0.0.1:4318/v1/traces" }'), {}), 'http://127.0.0.1:4318/v1/traces');
  assert.equal(tracesEndpoint(settings(), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }), 'http://127.0.0.1:4318/v1/traces');
  assert.equal(tracesEndpoint(settings(), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/x' }), 'http://127.0.0.1:9/x');
  assert.equal(tracesEndpoint(settings(), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }), undefined);
  assert.equal(tracesEndpoint(settings(), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined);
  assert.equal(tracesEndpoint(settings('tracing: { otlpEndpoint: "http://127.0.0.1:4318", enabled: false }'), {}), undefined);
});
