/**
 * `switchyard start --workers 2` as an operator runs it (issue 6): a real
 * primary process and its two workers on one port, the mock provider behind
 * them, log lines read from the shared stdout. The tests run in order on one
 * cluster (starting one costs seconds on a loaded machine); the last one
 * drains it with SIGTERM.
 *
 * Each request below goes on a new connection: the primary hands connections
 * to the workers in turn, so consecutive requests alternate between them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { declaredTypes, parseProm } from '../../bench/lib/prom-text.ts';
import { startMockProvider, type MockProvider } from '../../src/mock/server.ts';
import { openDb } from '../../src/store/db.ts';
import { countEvents } from '../usage/helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ADMIN_KEY = 'admin-test-key-workers-0123456789';
type Line = Record<string, unknown>;

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** One request on a connection of its own. */
function send(url: string, path: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      `${url}${path}`,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: false,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        timeout: 15_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = { text };
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const chat = (model = 'claude-mock') => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] });

let mock: MockProvider;
let dir: string;
let storeUrl: string;
let configFile: string;
let primary: ChildProcess;
let exited: Promise<number | null>;
let url: string;
let stderr = '';
const lines: Line[] = [];
const waiters = new Set<() => void>();

function configYaml(aliases: string[] = []): string {
  return `providers:
  - { name: ant, protocol: anthropic, baseUrl: "${mock.url}" }
  # The same mock, answering after a second: requests stay in flight long enough to be drained.
  - { name: slow, protocol: anthropic, baseUrl: "${mock.url}", headers: { x-mock-latency-ms: "1000" } }
models:
  - { name: claude-mock, aliases: [${aliases.join(', ')}], deployments: [ { provider: ant, model: upstream-claude } ] }
  - { name: slow-mock, deployments: [ { provider: slow, model: upstream-claude } ] }
routes: { default: claude-mock }
store: { url: "${storeUrl}" }
admin: { apiKeys: ["${ADMIN_KEY}"] }
# A long cache TTL: only the workers telling each other can explain a revoked key refused at once.
auth: { cacheTtlMs: 300000 }
# Nothing is written before shutdown: the drain must flush every worker's ledger.
usage: { flushIntervalMs: 60000, batchSize: 10000 }
`;
}

/** The first line (from index `from` on) that matches, within the time given. */
function waitFor(predicate: (line: Line) => boolean, timeoutMs = 15_000, from = 0): Promise<Line> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const found = lines.slice(from).find(predicate);
      if (found === undefined) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve(found);
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out waiting for a log line; last lines: ${JSON.stringify(lines.slice(-15))} stderr: ${stderr}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}

const requestLines = (from = 0): Line[] => lines.slice(from).filter((l) => l.msg === 'request');

before(async () => {
  mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'swy-workers-'));
  storeUrl = `sqlite:${join(dir, 'switchyard.db')}`;
  configFile = join(dir, 'switchyard.yaml');
  await writeFile(configFile, configYaml());
  primary = spawn(process.execPath, [cli, 'start', '--config', configFile, '--port', '0', '--workers', '2', '--log-format', 'json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Nothing from the developer's shell may add Redis, a store or keys to what this test starts.
    env: { ...process.env, REDIS_URL: '', DATABASE_URL: '', SWITCHYARD_CONFIG: '', SWITCHYARD_ADMIN_KEY: '', ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' },
  });
  exited = new Promise((resolve) => primary.once('exit', (code) => resolve(code)));
  primary.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: primary.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      lines.push({ msg: text, notJson: true });
    }
    for (const w of waiters) w();
  });
  const listening = await waitFor((l) => typeof l.url === 'string' && String(l.msg).startsWith('Switchyard listening'), 30_000);
  url = String(listening.url);
});

after(async () => {
  // The primary's death ends its workers too (they exit when their IPC channel closes).
  if (primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});

test('the primary migrates the store once, warns that limits are per process without Redis, and both workers listen', () => {
  const primaryLines = lines.filter((l) => l.worker === 0);
  assert.ok(primaryLines.some((l) => l.msg === 'applying a store migration'));
  assert.ok(!lines.some((l) => l.worker !== 0 && l.msg === 'applying a store migration'), 'the workers find the store migrated');
  assert.ok(primaryLines.some((l) => l.level === 40 && /counted per process.*2× looser.*redis/is.test(String(l.msg))));
  assert.match(String(lines.find((l) => String(l.msg).startsWith('Switchyard listening'))?.msg), /\(2 workers\)/);
});

test('requests are served by both workers, and every log line says which process wrote it', async () => {
  const from = lines.length;
  for (let i = 0; i < 8; i++) assert.equal((await send(url, '/v1/messages', { body: chat() })).status, 200);
  await waitFor(() => requestLines(from).length >= 8);
  assert.deepEqual(new Set(requestLines(from).map((l) => l.worker)), new Set([1, 2]));
  const unlabelled = lines.filter((l) => typeof l.worker !== 'number');
  assert.deepEqual(unlabelled, [], 'every line is whole JSON with a worker id');
});

test('/metrics on either worker answers for both, each series labelled with its worker', async () => {
  for (let scrape = 0; scrape < 2; scrape++) {
    const res = await send(url, '/metrics');
    assert.equal(res.status, 200);
    const text = String(res.json.text);
    declaredTypes(text);
    assert.equal(text.match(/^# TYPE switchyard_requests_total /gm)?.length, 1, 'one block per family');
    const requests = parseProm(text).filter((s) => s.name === 'switchyard_requests_total');
    assert.deepEqual(new Set(requests.map((s) => s.labels.worker)), new Set(['1', '2']));
    assert.ok(requests.reduce((sum, s) => sum + s.value, 0) >= 8);
    assert.deepEqual(new Set(parseProm(text).filter((s) => s.name === 'process_resident_memory_bytes').map((s) => s.labels.worker)), new Set(['1', '2']));
  }
});

test('SIGHUP to the primary reloads every worker; so do an edit of the file (announced once) and the admin API', async () => {
  let from = lines.length;
  primary.kill('SIGHUP');
  const reloaded = (worker: number, version: number) => (l: Line) => l.worker === worker && l.msg === 'configuration reloaded' && l.configVersion === version;
  await waitFor(reloaded(1, 2), 15_000, from);
  await waitFor(reloaded(2, 2), 15_000, from);

  from = lines.length;
  await writeFile(configFile, configYaml(['claude-renamed']));
  await waitFor(reloaded(1, 3), 15_000, from);
  await waitFor(reloaded(2, 3), 15_000, from);
  const announced = (l: Line): boolean => l.worker === 0 && /file changed/.test(String(l.msg));
  await waitFor(announced, 15_000, from);
  // Lines of three processes arrive in any order: give a second announcement time to show.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(lines.slice(from).filter(announced).length, 1);
  assert.equal(lines.slice(from).filter((l) => l.msg === 'configuration reloaded').length, 2, 'one reload per worker');
  for (let i = 0; i < 2; i++) assert.equal((await send(url, '/v1/messages', { body: chat('claude-renamed') })).status, 200, 'the new alias serves on both workers');

  // The admin API's reload lands on one worker, which passes it on.
  from = lines.length;
  assert.equal((await send(url, '/admin/v1/config/reload', { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } })).status, 200);
  await waitFor(reloaded(1, 4), 15_000, from);
  await waitFor(reloaded(2, 4), 15_000, from);
});

test('a worker killed with SIGKILL is forked again, and the other serves meanwhile', async () => {
  const serving = await waitFor((l) => l.worker === 1 && String(l.msg).startsWith('worker 1 serving'));
  const from = lines.length;
  process.kill(Number(serving.pid), 'SIGKILL');
  const crash = await waitFor((l) => l.worker === 0 && /worker 1 exited unexpectedly; restarting/.test(String(l.msg)), 15_000, from);
  assert.equal(crash.signal, 'SIGKILL');
  for (let i = 0; i < 4; i++) assert.equal((await send(url, '/v1/messages', { body: chat() })).status, 200, 'no request lost while worker 1 is down');
  const back = await waitFor((l) => l.worker === 0 && l.msg === 'worker 1 restarted and serving', 15_000, from);
  assert.notEqual(back.pid, serving.pid);
  const after = lines.length;
  for (let i = 0; i < 4; i++) assert.equal((await send(url, '/v1/messages', { body: chat() })).status, 200);
  await waitFor(() => requestLines(after).length >= 4);
  assert.deepEqual(new Set(requestLines(after).map((l) => l.worker)), new Set([1, 2]), 'the new worker 1 takes its share again');
});

let secret = '';

test('a key revoked through one worker is refused by the other at once, without Redis', async () => {
  const admin = (method: string, path: string, body?: unknown) => send(url, path, { method, body, headers: { 'x-api-key': ADMIN_KEY } });
  assert.equal((await admin('POST', '/admin/v1/tenants', { name: 'acme' })).status, 201);
  const created = await admin('POST', '/admin/v1/keys', { tenant: 'acme' });
  assert.equal(created.status, 201);
  const revoked = String(created.json.key);
  const id = String((created.json.record as Record<string, unknown>).id);
  secret = String((await admin('POST', '/admin/v1/keys', { tenant: 'acme' })).json.key);
  const call = (key: string) => send(url, '/v1/messages', { body: chat(), headers: { 'x-api-key': key } });

  // Both workers now require a key (the creation was announced to both) and cache this one.
  for (let i = 0; i < 4; i++) assert.equal((await call('swy_not_a_key')).status, 401);
  for (let i = 0; i < 4; i++) assert.equal((await call(revoked)).status, 200);
  assert.equal((await admin('POST', `/admin/v1/keys/${id}/revoke`)).status, 200);
  for (let i = 0; i < 4; i++) assert.equal((await call(revoked)).status, 401, `request ${i} after the revocation`);
  assert.equal((await call(secret)).status, 200);
});

test('SIGTERM drains every worker: requests in flight finish, every one is in the ledger, and the primary exits 0', async () => {
  assert.ok(secret.startsWith('swy_'), 'a key from the test before');
  const before = mock.stats.inFlight;
  const n = 8;
  const answers = Array.from({ length: n }, (_, i) =>
    send(url, '/v1/messages', { body: chat('slow-mock'), headers: { 'x-api-key': secret, 'x-request-id': `drain-${i}` } }),
  );
  // Bounded wait until every request has reached the (slow) mock through one worker or the other.
  for (let i = 0; i < 100 && mock.stats.inFlight - before < n; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(mock.stats.inFlight - before, n, 'all requests in flight before the signal');
  const from = lines.length;
  primary.kill('SIGTERM');
  const statuses = (await Promise.all(answers)).map((a) => a.status);
  assert.deepEqual(statuses, Array(n).fill(200));
  const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(resolve, 15_000, 'timeout'))]);
  assert.equal(code, 0, `a clean exit; stderr: ${stderr}`);
  for (const worker of [1, 2]) assert.ok(lines.slice(from).some((l) => l.worker === worker && l.msg === 'stopped'), `worker ${worker} stopped cleanly`);
  assert.ok(lines.slice(from).some((l) => l.worker === 0 && l.msg === 'stopped'));
  assert.deepEqual(new Set(requestLines(from).filter((l) => String(l.requestId).startsWith('drain-')).map((l) => l.worker)), new Set([1, 2]));

  const db = await openDb(storeUrl);
  try {
    assert.equal(await countEvents(db, "request_id LIKE 'drain-%' AND status = 200"), n);
  } finally {
    await db.close();
  }
});
