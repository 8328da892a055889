import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postJson, startStack } from './stack.ts';

const yaml = (url: string) => `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: one, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: one } }
  - { name: two, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: two } }
  - { name: three, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: three } }
models:
  - name: sticky
    strategy: round-robin
    sticky: true
    deployments: [ { provider: one, model: m }, { provider: two, model: m }, { provider: three, model: m } ]
routes: { default: sticky }
`;

const ask = (system: string, turns: number) => ({
  model: 'sticky',
  max_tokens: 16,
  system: [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }],
  messages: Array.from({ length: turns * 2 - 1 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `turn ${i}` })),
});

test('a conversation stays on one deployment while round-robin spreads different conversations', async (t) => {
  const { gateway, mock } = await startStack(t, { yaml });
  const tagOf = () => String(mock.stats.last.at(-1)?.headers['x-tag']);
  const seen = new Set<string>();
  for (let turns = 1; turns <= 5; turns++) {
    const res = await postJson(`${gateway.url}/v1/messages`, ask('You are a switchyard expert.', turns));
    assert.equal(res.status, 200, res.text);
    seen.add(tagOf());
  }
  assert.equal(seen.size, 1, `one conversation, one deployment: ${[...seen].join(',')}`);
  const spread = new Set<string>();
  for (let i = 0; i < 12; i++) {
    await postJson(`${gateway.url}/v1/messages`, ask(`System prompt number ${i}`, 1));
    spread.add(tagOf());
  }
  assert.ok(spread.size >= 2, `different conversations spread: ${[...spread].join(',')}`);
});

test('when the preferred deployment fails, the conversation moves on and still gets an answer', async (t) => {
  const { gateway, mock } = await startStack(t, {
    yaml: (url) => yaml(url).replace(/headers: \{ x-tag: (one|two|three) \}/g, 'headers: { x-tag: $1, x-mock-fault: "status:503" }').replace(
      'x-tag: three, x-mock-fault: "status:503"',
      'x-tag: three',
    ),
  });
  // Only `three` answers; whichever deployment a conversation prefers, it ends there.
  for (let i = 0; i < 4; i++) {
    const res = await postJson(`${gateway.url}/v1/messages`, ask(`conversation ${i}`, 1));
    assert.equal(res.status, 200, res.text);
    assert.equal(String(mock.stats.last.at(-1)?.headers['x-tag']), 'three');
  }
});
