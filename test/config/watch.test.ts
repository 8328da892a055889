import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, watchConfigFile } from '../../src/config/index.ts';
import type { WatchResult } from '../../src/config/index.ts';

const env = { MOCK_KEY: 'k' };

function yaml(defaultModel: string): string {
  return `
providers:
  - { name: mock, protocol: openai, baseUrl: "http://127.0.0.1:9100/v1", apiKey: "\${MOCK_KEY}" }
models:
  - { name: a, deployments: [ { provider: mock, model: a } ] }
  - { name: b, deployments: [ { provider: mock, model: b } ] }
routes: { default: ${defaultModel} }
`;
}

/** Collects watch results; `next()` waits (bounded) for the next one. */
function collector() {
  const results: WatchResult[] = [];
  let wake: (() => void) | undefined;
  return {
    onChange(result: WatchResult): void {
      results.push(result);
      wake?.();
    },
    async next(timeoutMs = 5000): Promise<WatchResult> {
      const deadline = Date.now() + timeoutMs;
      while (results.length === 0) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error('no watch callback within the time limit');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, 100));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return results.shift() as WatchResult;
    },
    get pending(): number {
      return results.length;
    },
  };
}

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'swy-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, yaml('a'));
  const results = collector();
  const watcher = watchConfigFile(file, (r) => results.onChange(r), { env, debounceMs: 30 });
  t.after(() => watcher.close());
  return { dir, file, results };
}

function configOf(result: WatchResult) {
  assert.ok('config' in result, `expected a config, got ${'error' in result ? result.error.message : ''}`);
  return result.config;
}

test('an edit to the watched file delivers the new configuration', async (t) => {
  const { file, results } = setup(t);
  writeFileSync(file, yaml('b'));
  assert.equal(configOf(await results.next()).routes.default, 'b');
});

test('an invalid edit is reported as a ConfigError with its problems', async (t) => {
  const { file, results } = setup(t);
  writeFileSync(file, yaml('nope'));
  const result = await results.next();
  assert.ok('error' in result);
  assert.ok(result.error instanceof ConfigError);
  assert.deepEqual(result.error.problems.map((p) => p.path), ['routes.default']);
  // Fixing the file afterwards delivers a config again.
  writeFileSync(file, yaml('a'));
  assert.equal(configOf(await results.next()).routes.default, 'a');
});

test('a file replaced by rename (as editors save) keeps being watched', async (t) => {
  const { dir, file, results } = setup(t);
  for (const model of ['b', 'a', 'b']) {
    const temp = join(dir, `.switchyard.yaml.${model}.tmp`);
    writeFileSync(temp, yaml(model));
    renameSync(temp, file);
    assert.equal(configOf(await results.next()).routes.default, model);
  }
});

test('a symlinked file reloads on an edit to its target and on a swap of the link (a Kubernetes ConfigMap)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-watch-link-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The ConfigMap layout: switchyard.yaml -> ..data/switchyard.yaml, ..data -> a versioned folder.
  for (const version of ['v1', 'v2']) mkdirSync(join(dir, version));
  writeFileSync(join(dir, 'v1', 'switchyard.yaml'), yaml('a'));
  writeFileSync(join(dir, 'v2', 'switchyard.yaml'), yaml('b'));
  symlinkSync('v1', join(dir, '..data'));
  symlinkSync(join('..data', 'switchyard.yaml'), join(dir, 'switchyard.yaml'));
  const results = collector();
  const watcher = watchConfigFile(join(dir, 'switchyard.yaml'), (r) => results.onChange(r), { env, debounceMs: 30 });
  t.after(() => watcher.close());
  // The target edited in place: the folder watch on `dir` sees nothing of it.
  writeFileSync(join(dir, 'v1', 'switchyard.yaml'), yaml('b'));
  assert.equal(configOf(await results.next()).routes.default, 'b');
  writeFileSync(join(dir, 'v2', 'switchyard.yaml'), yaml('a'));
  symlinkSync('v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  assert.equal(configOf(await results.next()).routes.default, 'a');
});

test('a burst of writes is debounced into one reload', async (t) => {
  const { file, results } = setup(t);
  for (let i = 0; i < 5; i++) writeFileSync(file, yaml(i % 2 === 0 ? 'b' : 'a'));
  assert.equal(configOf(await results.next()).routes.default, 'b');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(results.pending, 0);
});

test('rewriting the same content does not call back', async (t) => {
  const { file, results } = setup(t);
  writeFileSync(file, yaml('a'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(results.pending, 0);
});

test('changes to other files in the folder are ignored', async (t) => {
  const { dir, results } = setup(t);
  writeFileSync(join(dir, 'other.yaml'), 'x: 1');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(results.pending, 0);
});

test('no callback arrives after close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, yaml('a'));
  const results = collector();
  const watcher = watchConfigFile(file, (r) => results.onChange(r), { env, debounceMs: 30 });
  writeFileSync(file, yaml('b'));
  watcher.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(results.pending, 0);
});
