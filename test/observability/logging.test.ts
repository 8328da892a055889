/**
 * Logs (issue 5): one summary line per request carrying its id, trace id,
 * attempts with why each failed, tokens and cost; a level per module; bodies
 * only when asked and then cut; and no key, JWT or authorization header in
 * any line, whatever the request carried.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { startMockProvider } from '../../src/mock/server.ts';
import { createLogger, moduleLogger, truncatedBody } from '../../src/observability/logger.ts';
import { startGateway, type Gateway } from '../../src/server/gateway.ts';
import { postJson } from '../e2e/stack.ts';
import { scrape, total } from '../../bench/lib/prom-text.ts';

const PROVIDER_KEY = 'sk-prov-9f8e7d6c5b4a39281706';
const POOL_KEY = 'sk-pool-1a2b3c4d5e6f70819203';
const ADMIN_KEY = 'adm-5e6f7a8b9c0d1e2f3a4b';
const CLIENT_KEY = 'sk-client-0a1b2c3d4e5f60718293';
// A syntactically valid JWT (header.payload.signature); its parts must not show either.
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZW5hbnQtNDIiLCJuYW1lIjoiQWRhIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const SECRETS = [PROVIDER_KEY, POOL_KEY, ADMIN_KEY, CLIENT_KEY, JWT, ...JWT.split('.')];

interface Captured {
  gateway: Gateway;
  lines: string[];
  logs: Array<Record<string, unknown>>;
}

function yaml(mockUrl: string, logging: string): string {
  return `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: ant, protocol: anthropic, baseUrl: "${mockUrl}", apiKey: "${PROVIDER_KEY}" }
  - { name: down, protocol: anthropic, baseUrl: "${mockUrl}", apiKeys: [ "${POOL_KEY}" ], headers: { x-mock-fault: "status:503" } }
models:
  - { name: claude-mock, deployments: [ { provider: down, model: upstream-claude }, { provider: ant, model: upstream-claude, inputCostPerMTok: 3, outputCostPerMTok: 15 } ] }
routes: { default: claude-mock }
admin: { apiKeys: [ "${ADMIN_KEY}" ] }
metrics: { requireAdmin: true }
store: { url: "sqlite::memory:" }
logging: ${logging}
`;
}

/** A gateway whose logger is built from its config's `logging` section, as `switchyard start` does, writing into `lines`. */
async function start(t: TestContext, logging = '{}'): Promise<Captured> {
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  t.after(() => mock.close());
  const config = parseConfig(yaml(mock.url, logging), { env: {} });
  const lines: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        lines.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger({ level: config.logging.level, levels: config.logging.levels, destination });
  const gateway = await startGateway({ config, port: 0, logger });
  t.after(() => gateway.close());
  return { gateway, lines, logs };
}

const ask = (content = 'Tell me about switchyards') => ({ model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content }] });

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'the expected log line arrived');
}

test('the summary line carries the request id, trace id, failed attempts with their reasons, tokens and cost', async (t) => {
  const { gateway, logs } = await start(t);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await postJson(`${gateway.url}/v1/messages`, ask(), { 'x-request-id': 'sum-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
  assert.equal(res.status, 200, res.text);
  await until(() => logs.some((l) => l.msg === 'request'));
  const line = logs.find((l) => l.msg === 'request');
  assert.ok(line);
  assert.equal(line.requestId, 'sum-1');
  assert.equal(line.module, 'request');
  assert.equal(line.traceId, traceId);
  assert.equal(line.deployment, 'ant/upstream-claude');
  const attempts = (line.attempts as Array<Record<string, unknown>>).map(({ deployment, error, status }) => ({ deployment, error, status }));
  assert.deepEqual(attempts, [
    { deployment: 'down/upstream-claude', error: 'SWY_ERR_UPSTREAM_STATUS', status: 503 },
    { deployment: 'ant/upstream-claude', error: undefined, status: 200 },
  ]);
  const tokensIn = line.tokensIn as number;
  const tokensOut = line.tokensOut as number;
  assert.ok(tokensIn > 0 && tokensOut > 0);
  assert.equal(line.costUsd, Math.round(((tokensIn * 3 + tokensOut * 15) / 1e6) * 1e6) / 1e6);
  // The same cost reaches the cost counter.
  const { samples } = await scrape(`${gateway.url}/metrics`, { 'x-api-key': ADMIN_KEY });
  assert.ok(Math.abs(total(samples, 'switchyard_cost_usd_total', { deployment: 'ant/upstream-claude' }) - (tokensIn * 3 + tokensOut * 15) / 1e6) < 1e-12);
});

test('no key, JWT or authorization header reaches a log line, bodies included', async (t) => {
  const { gateway, lines, logs } = await start(t, '{ bodies: true, level: debug }');
  const headerSets: Array<Record<string, string>> = [
    { authorization: `Bearer ${JWT}` },
    { 'x-api-key': CLIENT_KEY },
    { authorization: `Bearer ${CLIENT_KEY}`, cookie: `session=${JWT}`, 'proxy-authorization': `Basic ${CLIENT_KEY}` },
  ];
  for (const headers of headerSets) assert.equal((await postJson(`${gateway.url}/v1/messages`, ask(), headers)).status, 200);
  // Refusals and errors log too.
  assert.equal((await postJson(`${gateway.url}/v1/messages`, '{ not json', { authorization: `Bearer ${JWT}` })).status, 400);
  assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': CLIENT_KEY } })).status, 401);
  // A reload logs the configuration version.
  await gateway.reload(gateway.holder.current.config);
  await until(() => logs.filter((l) => l.msg === 'request').length >= 3 && logs.some((l) => l.msg === 'configuration reloaded'));
  assert.ok(logs.some((l) => l.msg === 'request body'), 'bodies were logged, so they were searched too');
  for (const line of lines) for (const secret of SECRETS) assert.ok(!line.includes(secret), `a log line leaks a secret: ${line}`);

  // Objects that do carry secrets are censored at the known paths.
  const captured: string[] = [];
  const logger = createLogger({ destination: new Writable({ write: (c: Buffer, _e, done) => void (captured.push(c.toString()), done()) }) });
  logger.info(
    {
      apiKey: PROVIDER_KEY,
      headers: { authorization: `Bearer ${JWT}`, 'x-api-key': CLIENT_KEY, cookie: JWT },
      provider: { apiKey: PROVIDER_KEY, apiKeys: [POOL_KEY] },
      config: { providers: [{ apiKey: PROVIDER_KEY, apiKeys: [POOL_KEY] }], admin: { apiKeys: [ADMIN_KEY] } },
      token: JWT,
    },
    'secrets everywhere',
  );
  logger.flush();
  assert.equal(captured.length, 1);
  for (const secret of SECRETS) assert.ok(!(captured[0] as string).includes(secret), `censored: ${captured[0]}`);
  assert.match(captured[0] as string, /\[redacted\]/);
});

test('request bodies are never logged unless logging.bodies is on, and then cut at bodyMaxChars', async (t) => {
  const marker = `body-marker-${'x'.repeat(500)}`;
  const off = await start(t);
  assert.equal((await postJson(`${off.gateway.url}/v1/messages`, ask(marker))).status, 200);
  await until(() => off.logs.some((l) => l.msg === 'request'));
  assert.ok(off.lines.every((l) => !l.includes('body-marker')));

  const on = await start(t, '{ bodies: true, bodyMaxChars: 100 }');
  assert.equal((await postJson(`${on.gateway.url}/v1/messages`, ask(marker), { 'x-request-id': 'body-1' })).status, 200);
  await until(() => on.logs.some((l) => l.msg === 'request body'));
  const line = on.logs.find((l) => l.msg === 'request body');
  assert.equal(line?.requestId, 'body-1');
  const body = line?.body as string;
  assert.ok(body.startsWith('{"model":"claude-mock"'));
  assert.match(body, /… \[\d+ more characters\]$/);
  assert.ok(body.length < 140);
  assert.equal(truncatedBody({ a: 1 }, 100), '{"a":1}');
});

test('logging.levels sets a level per module: request lines off, the rest unchanged', async (t) => {
  const { gateway, logs } = await start(t, '{ levels: { request: warn, routing: debug } }');
  assert.equal((await postJson(`${gateway.url}/v1/messages`, ask())).status, 200);
  await gateway.reload(gateway.holder.current.config);
  await until(() => logs.some((l) => l.msg === 'configuration reloaded'));
  assert.equal(logs.filter((l) => l.msg === 'request').length, 0);

  const captured: Array<Record<string, unknown>> = [];
  const root = createLogger({
    level: 'info',
    levels: { pipeline: 'debug', request: 'error' },
    destination: new Writable({ write: (c: Buffer, _e, done) => void (captured.push(JSON.parse(c.toString()) as Record<string, unknown>), done()) }),
  });
  moduleLogger(root, 'pipeline').debug('finer than the root');
  moduleLogger(root, 'request').warn('coarser than the root');
  moduleLogger(root, 'server').debug('root level');
  moduleLogger(root, 'server').info('root level info');
  assert.deepEqual(
    captured.map((l) => [l.module, l.msg]),
    [
      ['pipeline', 'finer than the root'],
      ['server', 'root level info'],
    ],
  );
});

test('logging.levels rejects an unknown level with a clear message', () => {
  assert.throws(() => parseConfig(yaml('http://127.0.0.1:1', '{ levels: { request: loud } }'), { env: {} }), /logging\.levels\.request/);
});
