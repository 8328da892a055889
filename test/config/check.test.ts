import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runConfigCheck } from '../../src/config/check.ts';
import type { Env } from '../../src/config/index.ts';
import { loadConfigFile } from '../../src/config/index.ts';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

function capture(env: Env) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env }, out, err };
}

test('config check prints a summary and exits 0 for a valid file', async () => {
  const { io, out, err } = capture({ MOCK_KEY: 'k', ANTHROPIC_API_KEY: 'a' });
  assert.equal(await runConfigCheck([join(examples, 'minimal.yaml')], io), 0);
  assert.deepEqual(err, []);
  assert.deepEqual(out, ['ok: 2 providers, 1 model, routes default=mock-model']);
});

test('config check prints every problem and exits 1 for an invalid file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'providers: []\nroutes: { default: x }\nextra: 1\n');
  const { io, out, err } = capture({});
  assert.equal(await runConfigCheck([file], io), 1);
  assert.deepEqual(out, []);
  const text = err.join('\n');
  assert.match(text, /bad\.yaml \(3 problems\)/);
  assert.match(text, /providers: must have at least 1 item/);
  assert.match(text, /routes\.default: unknown model "x"/);
  assert.match(text, /extra: unknown key/);
});

test('config check reports a custom router module that cannot be loaded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'router.ts'), 'export const notDefault = 1;\n');
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    'providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]\nroutes: { default: "p,m", custom: ./router.ts }\n',
  );
  const { io, err } = capture({});
  assert.equal(await runConfigCheck([file], io), 1);
  assert.match(err.join('\n'), /routes\.custom: .*default export that is a function/);
});

test("a custom router module that cannot be loaded is reported with the file's other problems, at once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'broken.mjs'), 'export default (req => ;\n');
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'providers: [ { name: p, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" } ]\nroutes: { default: "p,m", custom: ./broken.mjs, bogus: x }\n');
  const { io, err } = capture({});
  assert.equal(await runConfigCheck([file], io), 1);
  const text = err.join('\n');
  assert.match(text, /\(2 problems\)/);
  assert.match(text, /routes\.bogus/);
  assert.match(text, /routes\.custom: cannot load .*broken\.mjs/);
});

test('config check without a file prints usage and exits 1', async () => {
  const { io, err } = capture({});
  assert.equal(await runConfigCheck([], io), 1);
  assert.match(err.join('\n'), /usage: switchyard config check FILE/);
});

test('the claude-code example is valid and uses every scenario route', async () => {
  const config = await loadConfigFile(join(examples, 'claude-code.yaml'), { ANTHROPIC_API_KEY: 'a', OPENROUTER_API_KEY: 'o', DEEPSEEK_API_KEY: 'd' });
  for (const route of ['default', 'background', 'think', 'longContext', 'webSearch', 'image'] as const) {
    assert.ok(config.routes[route] !== undefined, `routes.${route} is set`);
  }
  assert.ok(config.providers.some((p) => p.protocol === 'anthropic'));
  assert.ok(config.providers.some((p) => p.protocol === 'openai' && p.preset !== undefined));
});
