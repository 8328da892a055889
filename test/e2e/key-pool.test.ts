import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { postJson, startStack } from './stack.ts';

test('a key that gets a 429 rests alone: the request goes out at once with another key', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: pooled, protocol: anthropic, baseUrl: "${url}", apiKeys: [ { key: sk-one, weight: 1 }, { key: sk-two, weight: 1 } ] }
models:
  - { name: m, deployments: [ { provider: pooled, model: m } ] }
routes: { default: m }
`,
  });
  // The provider's first answer is a 429 (retry-after 60 s) to whichever key was picked.
  mock.setOptions({ fault: 'fail-first:1:429:60' });
  const first = await postJson(`${gateway.url}/v1/messages`, { model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(first.status, 200, first.text);
  const keysUsed = mock.stats.last.map((r) => String(r.headers['x-api-key']));
  assert.equal(keysUsed.length, 2, 'one 429, then the same request with the other key');
  assert.notEqual(keysUsed[0], keysUsed[1]);
  // The rested key stays out: the next requests all use the other one.
  for (let i = 0; i < 5; i++) {
    const res = await postJson(`${gateway.url}/v1/messages`, { model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 200);
    assert.equal(String(mock.stats.last.at(-1)?.headers['x-api-key']), keysUsed[1]);
  }
});

test('count_tokens asks a pooled provider with one of its keys', async (t) => {
  const { gateway, mock } = await startStack(t, {
    mock: { requireApiKey: 'sk-pool' },
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: pooled, protocol: anthropic, baseUrl: "${url}", apiKeys: [ sk-pool ] }
models:
  - { name: m, deployments: [ { provider: pooled, model: m } ] }
routes: { default: m }
`,
  });
  const res = await postJson(`${gateway.url}/v1/messages/count_tokens`, { model: 'm', messages: [{ role: 'user', content: 'hello there' }] });
  assert.equal(res.status, 200);
  const asked = mock.stats.last.at(-1)!;
  assert.equal(asked.path, '/v1/messages/count_tokens');
  assert.equal(asked.headers['x-api-key'], 'sk-pool');
});

test('a key the provider refuses (401) rests alone: the request goes out at once with another key', async (t) => {
  const { gateway, mock } = await startStack(t, {
    mock: { requireApiKey: 'sk-good' },
    yaml: (url) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: pooled, protocol: anthropic, baseUrl: "${url}", apiKeys: [ { key: sk-revoked, weight: 1000 }, { key: sk-good, weight: 1 } ] }
models:
  - { name: m, deployments: [ { provider: pooled, model: m } ] }
routes: { default: m }
`,
  });
  for (let i = 0; i < 4; i++) {
    const res = await postJson(`${gateway.url}/v1/messages`, { model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 200, res.text);
  }
  const keysUsed = mock.stats.last.filter((r) => r.path === '/v1/messages').map((r) => String(r.headers['x-api-key']));
  // The heavily weighted key is picked first, refused once, then left alone.
  assert.deepEqual(keysUsed, ['sk-revoked', 'sk-good', 'sk-good', 'sk-good', 'sk-good']);
  // The deployment never saw the refusal.
  assert.equal(gateway.holder.current.resilience.registry.get('pooled/m')!.snapshot().windowFailures, 0);
});

test('a reload keeps a refused key resting', async (t) => {
  const yaml = (url: string): string => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: pooled, protocol: anthropic, baseUrl: "${url}", apiKeys: [ { key: sk-revoked, weight: 1000 }, { key: sk-good, weight: 1 } ] }
models:
  - { name: m, deployments: [ { provider: pooled, model: m } ] }
routes: { default: m }
`;
  const { gateway, mock } = await startStack(t, { mock: { requireApiKey: 'sk-good' }, yaml });
  const ask = () => postJson(`${gateway.url}/v1/messages`, { model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal((await ask()).status, 200);
  await gateway.reload(parseConfig(yaml(mock.url).replace('model: m }', 'model: m2 }'), { env: {} }));
  for (let i = 0; i < 3; i++) assert.equal((await ask()).status, 200);
  const keysUsed = mock.stats.last.filter((r) => r.path === '/v1/messages').map((r) => String(r.headers['x-api-key']));
  assert.deepEqual(keysUsed, ['sk-revoked', 'sk-good', 'sk-good', 'sk-good', 'sk-good']);
});
