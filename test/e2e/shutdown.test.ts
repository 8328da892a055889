/**
 * Graceful shutdown of the `switchyard start` process (issue 3, "Protecting
 * the gateway"): a second signal forces the exit, and the shutdown deadline
 * bounds how long a request in flight can hold the process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startMockProvider } from '../../src/mock/server.ts';
import { openDb } from '../../src/store/db.ts';
import { countEvents } from '../usage/helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  lines: string[];
  exited: Promise<number | null>;
  /** The gateway's own SQLite ledger. */
  storeUrl: string;
}

/** Starts the gateway on a mock whose answers hang, with `shutdownTimeoutMs`; resolves once it listens. */
async function startHangingGateway(t: TestContext, shutdownTimeoutMs: number, mockOptions: Parameters<typeof startMockProvider>[0] = { port: 0, fault: 'hang' }): Promise<Started> {
  const mock = await startMockProvider(mockOptions);
  t.after(() => mock.close());
  const dir = await mkdtemp(join(tmpdir(), 'swy-shutdown-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'conf.yaml');
  const storeUrl = `sqlite:${join(dir, 'ledger.db')}`;
  await writeFile(
    file,
    `server: { shutdownTimeoutMs: ${shutdownTimeoutMs} }
store: { url: "${storeUrl}" }
providers: [ { name: mock, protocol: anthropic, baseUrl: "${mock.url}" } ]
models: [ { name: m, timeouts: { firstByteMs: 600000 }, deployments: [ { provider: mock, model: m } ] } ]
routes: { default: m }
`,
  );
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--log-format', 'json', '--config', file], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', SWITCHYARD_CONFIG: '' },
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${lines.join('\n')}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const match = /Switchyard listening on (http:\/\/[^"\s]+)/.exec(line);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  return { child, url, lines, exited, storeUrl };
}

/** Sends a request that will hang upstream, and waits until the mock holds it. */
async function hangingRequest(url: string): Promise<void> {
  const pending = fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  pending.catch(() => undefined);
  // Give the request time to reach the gateway and the mock.
  await new Promise((r) => setTimeout(r, 300));
}

test('a second signal during a graceful shutdown exits at once with code 1', async (t) => {
  const run = await startHangingGateway(t, 60_000);
  await hangingRequest(run.url);
  run.child.kill('SIGTERM');
  // The request in flight holds the graceful shutdown open…
  const early = await Promise.race([run.exited, new Promise((r) => setTimeout(r, 500, 'still running'))]);
  assert.equal(early, 'still running');
  // …until a second signal forces the exit.
  const started = performance.now();
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 1);
  assert.ok(performance.now() - started < 10_000);
  assert.ok(run.lines.some((l) => l.includes('second signal')));
});

test('a request in flight past shutdownTimeoutMs does not hold the process: it exits after the deadline', async (t) => {
  const run = await startHangingGateway(t, 500);
  await hangingRequest(run.url);
  const started = performance.now();
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 1);
  const took = performance.now() - started;
  assert.ok(took >= 450 && took < 10_000, `${took} ms`);
  assert.ok(run.lines.some((l) => l.includes('shutdown deadline passed')));
});

test('past shutdownTimeoutMs, an open stream ends with an error event, and it is still logged and in the ledger', async (t) => {
  // A slow stream: a token every 100 ms.
  const run = await startHangingGateway(t, 800, { port: 0, tokensPerSecond: 10, outputTokens: 500 });
  const streaming = await fetch(`${run.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'cut-stream' },
    body: JSON.stringify({ model: 'm', max_tokens: 600, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(streaming.status, 200);
  const reader = streaming.body!.getReader();
  await reader.read();
  run.child.kill('SIGTERM');
  let text = '';
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.equal(await run.exited, 1);
  // The last event is a whole error event, not a cut in the middle of one.
  assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error","message":"The gateway is shutting down\."\}[^\n]*\n\n$/);
  assert.ok(run.lines.some((l) => l.includes('shutdown deadline passed')));
  // Nothing lost: the interrupted request has its log line and its usage event.
  assert.ok(run.lines.some((l) => l.includes('"requestId":"cut-stream"') && l.includes('"msg":"request"')), run.lines.join('\n'));
  const db = await openDb(run.storeUrl);
  t.after(() => db.close());
  assert.equal(await countEvents(db, "request_id = 'cut-stream'"), 1);
});
