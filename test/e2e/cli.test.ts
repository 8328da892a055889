/**
 * The `switchyard` command as a user runs it: a real child process, its log
 * lines read from stdout.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startMockProvider } from '../../src/mock/server.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Running {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  url: string;
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

async function startCli(t: TestContext, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--log-format', 'json', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Provider keys in the developer's shell must not change what these tests start.
    env: { ...process.env, ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', SWITCHYARD_CONFIG: '', ...env },
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ msg: line });
    }
    for (const w of waiters) w();
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(predicate);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out; stdout: ${JSON.stringify(lines)} stderr: ${stderr}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const listening = await waitFor((l) => typeof l.url === 'string' && String(l.msg).startsWith('Switchyard listening'));
  return { child, lines, url: String(listening.url), waitFor, exited };
}

test('with no config it serves the built-in example on an in-process mock and says so', async (t) => {
  const cwd = await mkdtemp(join(tmpdir(), 'swy-'));
  const run = await startCli(t, [], cwd);
  assert.ok(run.lines.some((l) => String(l.msg).includes('in-process mock provider')));
  const res = await fetch(`${run.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0);
});

test('with provider keys in the environment and no config it routes to them, keeping the requested model name', async (t) => {
  const mock = await startMockProvider({ port: 0, requireApiKey: 'sk-from-env' });
  t.after(() => mock.close());
  const cwd = await mkdtemp(join(tmpdir(), 'swy-'));
  const run = await startCli(t, [], cwd, { ANTHROPIC_API_KEY: 'sk-from-env', ANTHROPIC_BASE_URL: mock.url });
  assert.ok(!run.lines.some((l) => String(l.msg).includes('in-process mock provider')));
  const res = await fetch(`${run.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-opus-5-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((mock.stats.last.at(-1)!.body as { model: string }).model, 'claude-opus-5-5');
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0);
});

test('an edited config is swapped in; an invalid edit is rejected and the old one keeps serving', async (t) => {
  const mock = await startMockProvider({ port: 0 });
  t.after(() => mock.close());
  const dir = await mkdtemp(join(tmpdir(), 'swy-'));
  const file = join(dir, 'switchyard.yaml');
  const yaml = (model: string) => `
providers:
  - { name: mock, protocol: openai, baseUrl: "${mock.url}/v1", apiKey: "\${MOCK_KEY:-none}" }
models:
  - { name: ${model}, deployments: [ { provider: mock, model: upstream } ] }
routes: { default: ${model} }
`;
  await writeFile(file, yaml('first-model'));
  const run = await startCli(t, ['--config', file], dir);
  const models = async () => ((await (await fetch(`${run.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
  assert.deepEqual(await models(), ['first-model']);

  // Editors often write a new file and rename it over the old one.
  await writeFile(`${file}.tmp`, yaml('second-model'));
  await rename(`${file}.tmp`, file);
  await run.waitFor((l) => l.msg === 'configuration reloaded');
  assert.deepEqual(await models(), ['second-model']);

  await writeFile(file, 'providers: [ { name: 1 } ]\nrouts: {}\n');
  await run.waitFor((l) => String(l.msg).includes('the edited configuration is invalid'));
  assert.deepEqual(await models(), ['second-model']);

  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0);
});

test('SIGHUP reloads the config file', async (t) => {
  const mock = await startMockProvider({ port: 0 });
  t.after(() => mock.close());
  const dir = await mkdtemp(join(tmpdir(), 'swy-'));
  const file = join(dir, 'conf.yaml');
  const yaml = (model: string) =>
    `providers: [ { name: mock, protocol: openai, baseUrl: "${mock.url}/v1" } ]\nmodels: [ { name: ${model}, deployments: [ { provider: mock, model: m } ] } ]\nroutes: { default: ${model} }\n`;
  await writeFile(file, yaml('a'));
  const run = await startCli(t, ['--config', file], dir);
  // Same content as before, so only the signal (not the file watcher) can cause a reload.
  run.child.kill('SIGHUP');
  await run.waitFor((l) => l.msg === 'configuration reloaded');
  const models = ((await (await fetch(`${run.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
  assert.deepEqual(models, ['a']);
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 0);
});

test('a config with problems stops the start with every problem listed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-'));
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'providers:\n  - { name: a, protocol: gopher, baseUrl: "not a url", apiKey: "${NOPE_KEY}" }\nroutes: { default: missing }\n');
  const child = spawn(process.execPath, [cli, 'start', '--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /providers\.0\.protocol/);
  assert.match(stderr, /providers\.0\.baseUrl/);
  assert.match(stderr, /NOPE_KEY/);
  assert.match(stderr, /routes\.default/);
});

test('SIGTERM lets a request in flight finish, then exits 0', async (t) => {
  const mock = await startMockProvider({ port: 0, tokensPerSecond: 40, outputTokens: 20 });
  t.after(() => mock.close());
  const dir = await mkdtemp(join(tmpdir(), 'swy-'));
  const file = join(dir, 'conf.yaml');
  await writeFile(
    file,
    `providers: [ { name: mock, protocol: anthropic, baseUrl: "${mock.url}" } ]\nmodels: [ { name: m, deployments: [ { provider: mock, model: m } ] } ]\nroutes: { default: m }\n`,
  );
  const run = await startCli(t, ['--config', file], dir);
  const response = fetch(`${run.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const res = await response;
  assert.equal(res.status, 200);
  run.child.kill('SIGTERM');
  const text = await res.text();
  assert.match(text, /event: message_stop/, 'the stream finished after the signal');
  assert.equal(await run.exited, 0);
  await assert.rejects(fetch(`${run.url}/health`), 'no longer accepting connections');
});

test('switchyard code runs claude against the gateway, and says clearly when no gateway answers', async (t) => {
  const mock = await startMockProvider({ port: 0 });
  t.after(() => mock.close());
  const dir = await mkdtemp(join(tmpdir(), 'swy-'));
  // A stand-in `claude` that reports what it was given.
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'claude'), '#!/bin/sh\necho "base=$ANTHROPIC_BASE_URL args=$* quiet=$CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC token=$ANTHROPIC_AUTH_TOKEN key=$ANTHROPIC_API_KEY"\n');
  await chmod(join(bin, 'claude'), 0o755);
  const run = await startCli(t, [], dir);
  const code = (env: Record<string, string>) =>
    new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'code', '-p', 'hello'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, ...env } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (status) => resolve({ status, out, err }));
    });
  // A provider key in the shell stays out of Claude Code's way; a trailing slash is fine.
  const ok = await code({ SWITCHYARD_URL: `${run.url}/`, ANTHROPIC_API_KEY: 'sk-ant-provider', SWITCHYARD_API_KEY: 'swy_key' });
  assert.equal(ok.status, 0, ok.err);
  assert.equal(ok.out.trim(), `base=${run.url} args=-p hello quiet=1 token=swy_key key=`);
  const down = await code({ SWITCHYARD_URL: 'http://127.0.0.1:9' });
  assert.equal(down.status, 1);
  assert.match(down.err, /no gateway answers at http:\/\/127\.0\.0\.1:9/);
  run.child.kill('SIGTERM');
  await run.exited;
});

test('a port already in use stops the start with a clear message and exit code 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'swy-'));
  const child = spawn(process.execPath, [cli, 'start', '--port', String(port), '--log-format', 'json'], {
    cwd: dir,
    env: { ...process.env, ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', SWITCHYARD_CONFIG: '' },
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
});

test('run through npm (`npm run switchyard -- …`), it acts in the directory the user typed it in', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-npm-'));
  await writeFile(join(dir, 'mine.yaml'), 'providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]\nmodels: [ { name: m, deployments: [ { provider: p, model: m } ] } ]\nroutes: { default: m }\n');
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      // npm runs the script in the package's directory and names the user's in INIT_CWD.
      const child = spawn(process.execPath, [cli, 'config', 'check', 'mine.yaml'], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      t.after(() => child.kill('SIGKILL'));
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => resolve({ code, out }));
    });
  const viaNpm = await run({ INIT_CWD: dir, npm_lifecycle_event: 'switchyard' });
  assert.equal(viaNpm.code, 0, viaNpm.out);
  // Another npm script (the test runner itself) leaves the directory alone.
  const other = await run({ INIT_CWD: dir, npm_lifecycle_event: 'test' });
  assert.notEqual(other.code, 0);
  assert.match(other.out, /mine\.yaml/);
});

test('--help answers for start and keys; a bad option or log level is a usage error (exit 2) that says which', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-help-'));
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, DATABASE_URL: 'sqlite::memory:' }, stdio: ['ignore', 'pipe', 'pipe'] });
      t.after(() => child.kill('SIGKILL'));
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => resolve({ code, out, err }));
    });
  const help = await run(['start', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: switchyard start/);
  const bogus = await run(['start', '--bogus']);
  assert.equal(bogus.code, 2);
  assert.match(bogus.err, /--bogus/);
  const level = await run(['start', '--log-level', 'loud']);
  assert.equal(level.code, 2);
  assert.match(level.err, /--log-level must be one of .*'loud'/);
  const keys = await run(['keys', 'create', '--help']);
  assert.equal(keys.code, 0, keys.err);
  assert.match(keys.out, /switchyard keys create --tenant NAME/);
});
