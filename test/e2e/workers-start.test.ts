/**
 * `switchyard start --workers N` when it cannot serve: a bad flag is refused
 * before anything starts, and a worker that fails at start stops the cluster
 * with an error instead of being restarted forever.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function runToExit(t: TestContext, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--log-format', 'json', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REDIS_URL: '', DATABASE_URL: '', SWITCHYARD_CONFIG: '', ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' },
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null | 'timeout'>((resolve) => {
    const timer = setTimeout(resolve, 20_000, 'timeout');
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.notEqual(code, 'timeout', `still running after 20 s; stdout: ${stdout} stderr: ${stderr}`);
  return { code: code as number | null, stdout, stderr };
}

test('--workers other than auto or a positive integer is refused with a message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-workers-flag-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = await runToExit(t, ['--workers', 'zero'], dir);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--workers must be auto or an integer between 1 and \d+, got 'zero'/);
});

test('a worker that cannot start stops the whole cluster, which exits 1 and says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-workers-fail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'switchyard.yaml');
  // Valid as a file, but no worker can build shared limits without a Redis URL.
  await writeFile(
    config,
    `providers: [ { name: ant, protocol: anthropic, baseUrl: "http://127.0.0.1:9" } ]
routes: { default: "ant,m" }
store: { url: "sqlite:${join(dir, 'switchyard.db')}" }
limits: { backend: redis }
`,
  );
  const run = await runToExit(t, ['--config', config, '--workers', '2'], dir);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /limits\.backend is redis but no redis\.url/);
  const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.worker === 0 && /could not start; stopping the others/.test(String(l.msg))));
  assert.ok(!lines.some((l) => /restarting it/.test(String(l.msg))), 'a start failure is not a crash to restart');
  assert.ok(!lines.some((l) => String(l.msg).startsWith('Switchyard listening')));
});
