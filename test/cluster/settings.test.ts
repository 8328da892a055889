/** How many workers: `server.workers`, `--workers`, `auto`; and when a crashed worker is forked again. */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { parseWorkersFlag, resolveWorkerCount } from '../../src/cluster/count.ts';
import { RestartPolicy } from '../../src/cluster/restarts.ts';
import { ConfigError, parseConfig } from '../../src/config/index.ts';

const base = `providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:1/v1" } ]
routes: { default: "p,m" }
`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

test('server.workers defaults to 1 and takes a number, a number from the environment, or auto', () => {
  assert.equal(parseConfig(base, { env: {} }).server.workers, 1);
  assert.equal(parseConfig(`${base}server: { workers: 4 }\n`, { env: {} }).server.workers, 4);
  assert.equal(parseConfig(`${base}server: { workers: "\${W}" }\n`, { env: { W: '3' } }).server.workers, 3);
  assert.equal(parseConfig(`${base}server: { workers: auto }\n`, { env: {} }).server.workers, 'auto');
});

test('server.workers refuses 0, fractions and words other than auto, naming the key', () => {
  for (const bad of ['0', '1.5', 'many', '-2', '100000']) {
    const found = problems(`${base}server: { workers: ${bad} }\n`);
    assert.equal(found.length, 1, `${bad}: ${found.join('; ')}`);
    assert.match(found[0]!, /^server\.workers: /);
  }
});

test('--workers takes auto or an integer from 1, and says what it wants otherwise', () => {
  assert.equal(parseWorkersFlag('auto'), 'auto');
  assert.equal(parseWorkersFlag('2'), 2);
  for (const bad of ['0', '2.5', '', 'two', '-1', '99999']) {
    const parsed = parseWorkersFlag(bad);
    assert.ok(typeof parsed === 'object' && /--workers must be auto or an integer/.test(parsed.error), bad);
  }
  assert.equal(resolveWorkerCount('auto'), availableParallelism());
  assert.equal(resolveWorkerCount(3), 3);
});

test('a crashed worker is restarted after a doubling delay, and a crash loop is given up on', () => {
  const policy = new RestartPolicy({ baseMs: 100, maxMs: 1000, windowMs: 60_000, maxCrashes: 5 });
  const delays = [0, 1, 2, 3, 4].map((i) => policy.crashed(1_000 + i));
  assert.deepEqual(
    delays.map((d) => ('restartInMs' in d ? d.restartInMs : 'gave up')),
    [100, 200, 400, 800, 1000],
  );
  assert.deepEqual(policy.crashed(1_010), { giveUp: true, crashesInWindow: 6 });
});

test('crashes older than the window are forgotten: a worker that crashes now and then always comes back', () => {
  const policy = new RestartPolicy({ baseMs: 100, maxMs: 1000, windowMs: 60_000, maxCrashes: 2 });
  for (let i = 0; i < 10; i++) assert.deepEqual(policy.crashed(i * 61_000), { restartInMs: 100, crashesInWindow: 1 });
});
