/**
 * The newcomer's path through the real `switchyard` command (child processes)
 * and a real gateway on the same config file and store: migrate with progress,
 * create a tenant and a key with `--rpm 2` (the key alone on the last line),
 * call the gateway with it until the third call in the minute gets 429, list,
 * see the usage and its cost with `switchyard usage`, list, rotate and revoke
 * from the CLI, and the gateway follows (over Redis).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { loadConfigFile } from '../../src/config/index.ts';
import { startMockProvider } from '../../src/mock/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startGateway } from '../../src/server/gateway.ts';
import { postJson } from './stack.ts';
import { anthropicBody, openaiBody } from '../tenancy/helpers.ts';
import { REDIS_URL, requireRedis, uniquePrefix, until } from '../tenancy/limits-helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHYARD_CONFIG: '', DATABASE_URL: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

test('CLI: migrate, tenant, key with --rpm 2; the gateway serves it, limits it, and follows rotate and revoke', async (t) => {
  if (!(await requireRedis(t))) return;
  const dir = await mkdtemp(join(tmpdir(), 'swy-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0 });
  t.after(() => mock.close());
  const configFile = join(dir, 'switchyard.yaml');
  await writeFile(
    configFile,
    `server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: oai, protocol: openai, baseUrl: "${mock.url}/v1", apiKey: "sk-oai-secret" }
  - { name: ant, protocol: anthropic, baseUrl: "${mock.url}", apiKey: "sk-ant-secret" }
models:
  - { name: gpt-mock, deployments: [ { provider: oai, model: upstream-gpt } ] }
  - { name: claude-mock, deployments: [ { provider: ant, model: upstream-claude } ] }
routes: { default: claude-mock }
store: { url: "sqlite:${join(dir, 'data', 'switchyard.db')}" }
redis: { url: "${REDIS_URL}" }
limits: { redisPrefix: "${uniquePrefix(t)}" }
auth: { cacheTtlMs: 300000 }
usage: { flushIntervalMs: 50 }
pricing: { models: { upstream-gpt: { input: 3, output: 15 } } }
`,
  );
  const migrated = await run(['migrate', '--config', configFile], dir);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stderr, /\[1\/\d+\] applying 0001-tenants-and-keys/);
  assert.match((await run(['migrate', '--config', configFile], dir)).stderr, /already up to date/);

  assert.equal((await run(['tenants', 'create', 'acme', '--config', configFile], dir)).code, 0);
  const duplicate = await run(['tenants', 'create', 'acme', '--config', configFile], dir);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /already exists/);

  const created = await run(['keys', 'create', '--tenant', 'acme', '--rpm', '2', '--models', 'gpt-mock', '--expires', '2099-01-01', '--config', configFile], dir);
  assert.equal(created.code, 0, created.stderr);
  const key = lastLine(created.stdout);
  assert.match(key, /^swy_[\w-]{8}_[\w-]{43}$/, 'the key alone on the last line');
  const keyId = /key_[\w-]+/.exec(created.stdout)?.[0];
  assert.ok(keyId);

  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const gateway = await startGateway({ config: await loadConfigFile(configFile), port: 0, logger: createLogger({ level: 'info', destination }) });
  t.after(() => gateway.close());

  const call = (k: string, body: Record<string, unknown> = openaiBody) => postJson(`${gateway.url}/v1/chat/completions`, body, { authorization: `Bearer ${k}` });
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, openaiBody)).status, 401, 'no key, no service');
  assert.equal((await call(key)).status, 200);
  assert.equal((await call(key)).status, 200);
  const third = await call(key);
  assert.equal(third.status, 429, third.text);
  assert.ok(third.headers.get('retry-after'));

  // The newcomer sees those three requests, and what the two answered ones cost, from the CLI.
  const usage = async () => {
    const out = await run(['usage', '--tenant', 'acme', '--key', keyId, '--json', '--config', configFile], dir);
    return JSON.parse(out.stdout) as { totals: { requests: number; errors: number; costUsd: number; inputTokens: number; outputTokens: number } };
  };
  let report = await usage();
  for (let i = 0; i < 5 && report.totals.requests < 3; i++) report = await usage();
  assert.equal(report.totals.requests, 3);
  assert.equal(report.totals.errors, 1, "the 429 counts as an error");
  assert.ok(report.totals.outputTokens > 0);
  assert.ok(report.totals.costUsd > 0);

  const listed = await run(['keys', 'list', '--tenant', 'acme', '--json', '--config', configFile], dir);
  const keys = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
  assert.equal(keys.length, 1);
  assert.equal(keys[0]?.status, 'active');
  assert.deepEqual(keys[0]?.limits, { requestsPerMinute: 2 });
  assert.ok(!listed.stdout.includes(key), 'a listing never shows the key');

  // A second key, without the rpm limit but scoped to gpt-mock.
  const otherCreated = await run(['keys', 'create', '--tenant', 'acme', '--models', 'gpt-mock', '--config', configFile], dir);
  const other = lastLine(otherCreated.stdout);
  const otherId = /key_[\w-]+/.exec(otherCreated.stdout)?.[0];
  assert.ok(otherId);
  assert.equal((await call(other)).status, 200);
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': other })).status, 403);

  const rotated = await run(['keys', 'rotate', otherId, '--config', configFile], dir);
  assert.equal(rotated.code, 0, rotated.stderr);
  const next = lastLine(rotated.stdout);
  assert.match(next, /^swy_/);
  assert.ok(await until(async () => (await call(other)).status === 401, 2000), 'the rotated-away key is refused');
  assert.equal((await call(next)).status, 200);

  assert.equal((await run(['keys', 'revoke', otherId, '--config', configFile], dir)).code, 0);
  assert.ok(await until(async () => (await call(next)).status === 401, 2000), 'the revoked key is refused');

  const all = logs.join('');
  for (const secret of [key, other, next]) assert.ok(!all.includes(secret.slice(13)), 'no key in the gateway logs');
  assert.equal((await run(['keys', 'frobnicate', '--config', configFile], dir)).code, 2);
});

test('CLI: a key scoped to a route rule that does not exist is refused, naming the rules there are', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'switchyard.yaml');
  await writeFile(configFile, `providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]\nroutes: { default: "p,m" }\nstore: { url: "sqlite:${join(dir, 's.db')}" }\n`);
  assert.equal((await run(['tenants', 'create', 'acme', '--config', configFile], dir)).code, 0);
  const typo = await run(['keys', 'create', '--tenant', 'acme', '--routes', 'defualt,longContext', '--config', configFile], dir);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown rule defualt; the rules are .*default/);
  const fine = await run(['keys', 'create', '--tenant', 'acme', '--routes', 'default,longContext', '--config', configFile], dir);
  assert.equal(fine.code, 0, fine.stderr);
});
