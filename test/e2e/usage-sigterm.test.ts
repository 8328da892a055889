/**
 * The ledger's shutdown promise as an operator sees it: `switchyard start` in
 * its own process, N requests, SIGTERM, and N usage events in the SQLite file
 * once the process has exited, though no flush had happened before the signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startMockProvider } from '../../src/mock/server.ts';
import { openDb } from '../../src/store/db.ts';
import { countEvents } from '../usage/helpers.ts';
import { postJson } from './stack.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

test('SIGTERM: every request answered before the signal is in the ledger after the process exits', async (t) => {
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  t.after(() => mock.close());
  const dir = await mkdtemp(join(tmpdir(), 'swy-ledger-sigterm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const storeUrl = `sqlite:${join(dir, 'switchyard.db')}`;
  const config = join(dir, 'switchyard.yaml');
  await writeFile(
    config,
    `providers: [ { name: ant, protocol: anthropic, baseUrl: "${mock.url}" } ]
models: [ { name: claude-mock, deployments: [ { provider: ant, model: upstream-claude } ] } ]
routes: { default: claude-mock }
store: { url: "${storeUrl}" }
# Nothing is written before the signal: a one-minute interval and batches larger than the run.
usage: { flushIntervalMs: 60000, batchSize: 10000 }
`,
  );
  const child = spawn(process.execPath, [cli, 'start', '--config', config, '--port', '0', '--log-format', 'json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: '', SWITCHYARD_CONFIG: '', SWITCHYARD_ADMIN_KEY: '' },
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start; stderr: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.url !== undefined && parsed.msg?.startsWith('Switchyard listening')) {
        clearTimeout(timer);
        resolve(parsed.url);
      }
    });
  });

  const n = 40;
  const body = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'count me' }] };
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => postJson(`${url}/v1/messages`, body, { 'x-request-id': `sigterm-${i}` })));
  assert.ok(answers.every((a) => a.status === 200));

  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000))]);
  assert.equal(code, 0, `a clean exit; stderr: ${stderr}`);

  const db = await openDb(storeUrl);
  t.after(() => db.close());
  assert.equal(await countEvents(db, "request_id LIKE 'sigterm-%' AND status = 200"), n);
});
