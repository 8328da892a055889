/**
 * `switchyard usage` and `switchyard usage prune` as a user runs them: the
 * real command on a store named by `--config`, a table for people, JSON with
 * --json, progress while pruning, clear errors for bad flags.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { runUsage } from '../../src/cli/usage.ts';
import { insertEvents } from '../../src/usage/insert.ts';
import { freshSqliteUrl } from '../store/backends.ts';
import { countEvents, makeEvent } from './helpers.ts';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DAY = 86_400_000;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 30_000, env: { ...process.env, DATABASE_URL: '' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

/** The command in this process (faster than a child): same code, output captured. */
async function runHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runUsage(args, { out: (x) => (stdout += x), err: (x) => (stderr += x), env: {}, tty: false });
  return { code, stdout, stderr };
}

async function setup(t: TestContext): Promise<{ config: string; url: string }> {
  const url = freshSqliteUrl(t);
  const db = await openDb(url);
  await migrate(db, migrations);
  const now = Date.now();
  await insertEvents(db, [
    makeEvent({ at: now - 1000, tenantId: 't_a', tenantName: 'alpha', keyId: 'k_a', model: 'sonnet', inputTokens: 1200, outputTokens: 30, costUsd: 0.5 }),
    makeEvent({ at: now - 2000, tenantId: 't_a', tenantName: 'alpha', keyId: 'k_a', model: 'gpt', inputTokens: 10, outputTokens: 5, costUsd: 0.25 }),
    makeEvent({ at: now - 3000, tenantId: 't_b', tenantName: 'beta', keyId: 'k_b', model: 'gpt', inputTokens: 7, outputTokens: 3, costUsd: 1, status: 500, error: 'SWY_ERR_INTERNAL' }),
    ...Array.from({ length: 12 }, (_, i) => makeEvent({ at: now - 100 * DAY - i, tenantId: 't_a' })),
  ]);
  await db.close();
  const config = join(dirname(url.slice('sqlite:'.length)), 'switchyard.yaml');
  writeFileSync(
    config,
    `providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]
models: [ { name: m, deployments: [ { provider: p, model: m } ] } ]
routes: { default: m }
store: { url: "${url}" }
usage: { retentionDays: 90 }
`,
  );
  return { config, url };
}

test('switchyard usage prints totals and a breakdown as a table, and JSON with --json', async (t) => {
  const { config } = await setup(t);
  const table = await run(['usage', '--config', config, '--by', 'model']);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.split('\n');
  assert.match(lines[0]!, /^Usage from \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} up to \d{4}-.* UTC$/);
  assert.match(table.stdout, /model\s+requests\s+errors\s+input\s+output\s+cache read\s+cache write\s+cost/);
  assert.match(table.stdout, /gpt\s+2\s+1\s+17\s+8\s+0\s+0\s+\$1\.2500/);
  assert.match(table.stdout, /sonnet\s+1\s+0\s+1,200\s+30\s+0\s+0\s+\$0\.5000/);
  assert.match(table.stdout, /total\s+3\s+1\s+1,217\s+38\s+0\s+0\s+\$1\.7500/, 'the last 30 days only');

  const json = await runHere(['--config', config, '--tenant', 't_a', '--by', 'key', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { tenantId: string; totals: { requests: number; costUsd: number }; rows: Array<{ group: string }> };
  assert.equal(report.tenantId, 't_a');
  assert.equal(report.totals.requests, 2);
  assert.equal(report.totals.costUsd, 0.75);
  assert.deepEqual(report.rows.map((r) => r.group), ['k_a']);

  assert.equal(json.stderr, '', 'an id that has usage needs no note');
  const typo = await runHere(['--config', config, '--tenant', 'alhpa']);
  assert.equal(typo.code, 0);
  assert.match(typo.stderr, /no tenant is named 'alhpa'/);

  const old = await runHere(['--config', config, '--from', '2000-01-01', '--json']);
  assert.equal((JSON.parse(old.stdout) as { totals: { requests: number } }).totals.requests, 15);
});

test('switchyard usage refuses bad flags with a clear message', async (t) => {
  const { config } = await setup(t);
  const badBy = await runHere(['--config', config, '--by', 'week']);
  assert.equal(badBy.code, 2);
  assert.match(badBy.stderr, /--by must be one of day, hour, model, key, deployment, tenant/);
  const badTime = await runHere(['--config', config, '--from', 'last tuesday']);
  assert.equal(badTime.code, 2);
  assert.match(badTime.stderr, /not a time/);
  const unknown = await runHere(['--config', config, '--bogus']);
  assert.equal(unknown.code, 2);
});

test('switchyard usage prune deletes what is past retention, with progress', async (t) => {
  const { config, url } = await setup(t);
  const pruned = await run(['usage', 'prune', '--config', config]);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stderr, /older than 90 days/);
  assert.match(pruned.stderr, /12 \/ 12 deleted \(100%\)/);
  assert.match(pruned.stdout, /Deleted 12 usage events\./);
  const db = await openDb(url);
  t.after(() => db.close());
  assert.equal(await countEvents(db), 3);
  const nothing = await runHere(['prune', '--config', config, '--days', '0']);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /--days must be a whole number of days, at least 1/);
});
