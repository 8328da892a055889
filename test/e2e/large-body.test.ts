/**
 * Large bodies take their own paths: parsed from the bytes (json-bytes.ts),
 * and, translated, serialised piece by piece (json-pieces.ts). The provider
 * must get exactly what a small body would have given it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startStack } from './stack.ts';

/** About 300 KB of text with what makes JSON hard: non-ASCII, astral characters, quotes, backslashes, control escapes. */
function bigText(seed: string): string {
  return `${seed} ${'Ünïcödé → 中文 😀 "quoted" \\path\\ tab\there\nline\u0001 and plain ASCII words. '.repeat(3000)}`;
}

test('a large Anthropic body passes through whole, with only the model rewritten, streaming or not', async (t) => {
  const { gateway, mock } = await startStack(t);
  for (const stream of [false, true]) {
    const body = {
      model: 'claude-mock',
      max_tokens: 32,
      stream,
      system: bigText('system'),
      messages: [
        { role: 'user', content: bigText('first') },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
        { role: 'user', content: [{ type: 'text', text: bigText('second') }] },
      ],
    };
    const raw = JSON.stringify(body);
    assert.ok(Buffer.byteLength(raw) > 256 * 1024);
    const res = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
    const seen = mock.stats.last.at(-1);
    assert.equal(seen?.path, '/v1/messages');
    assert.deepEqual(seen?.body, { ...body, model: 'upstream-claude' });
    assert.equal(seen?.headers['content-length'], String(Buffer.byteLength(raw) - Buffer.byteLength('claude-mock') + Buffer.byteLength('upstream-claude')));
    assert.equal(seen?.headers['transfer-encoding'], undefined);
  }
});

test('a large OpenAI body translated to Anthropic arrives with every text intact', async (t) => {
  const { gateway, mock } = await startStack(t);
  const texts = [bigText('one'), bigText('two')];
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'claude-mock',
      max_tokens: 32,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: texts[0] },
        { role: 'assistant', content: 'noted' },
        { role: 'user', content: texts[1] },
      ],
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.arrayBuffer();
  const seen = mock.stats.last.at(-1);
  const sent = seen?.body as { model: string; system: unknown; messages: Array<{ role: string; content: unknown }> };
  assert.equal(sent.model, 'upstream-claude');
  const textOf = (content: unknown): string =>
    typeof content === 'string' ? content : (content as Array<{ text: string }>).map((part) => part.text).join('');
  assert.deepEqual(
    sent.messages.map((m) => [m.role, textOf(m.content)]),
    [
      ['user', texts[0]],
      ['assistant', 'noted'],
      ['user', texts[1]],
    ],
  );
  assert.equal(seen?.headers['transfer-encoding'], undefined);
});

/** Two Anthropic deployments and an OpenAI one on the same mock; the first answers 503, so every request fails over. */
function failoverYaml(second: string): (url: string) => string {
  return (url) => `
server: { host: 127.0.0.1, port: 0, bodyLimit: 1048576 }
providers:
  - { name: one, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: one, x-mock-fault: "status:503" } }
  - { name: two, protocol: anthropic, baseUrl: "${url}", headers: { x-tag: two } }
  - { name: oai, protocol: openai, baseUrl: "${url}/v1", headers: { x-tag: oai } }
models:
  - { name: pair, deployments: [ { provider: one, model: m1 }, ${second} ] }
routes: { default: pair }
`;
}

test('failing over with a large body: the first attempt rewrote the body in place, the next one still gets it whole', async (t) => {
  for (const second of ['{ provider: two, model: a-much-longer-upstream-model-name-for-the-second-deployment }', '{ provider: oai, model: upstream-gpt }']) {
    const { gateway, mock } = await startStack(t, { yaml: failoverYaml(second) });
    const texts = [bigText('first'), bigText('second')];
    // `model` last, as the OpenAI SDK writes it: the rewrite then moves the end of the body.
    const body = { max_tokens: 32, messages: [{ role: 'user', content: texts[0] }, { role: 'assistant', content: 'ok' }, { role: 'user', content: texts[1] }], model: 'pair' };
    const res = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
    const [first, next] = mock.stats.last.slice(-2);
    assert.equal(first?.headers['x-tag'], 'one');
    assert.deepEqual(first?.body, { ...body, model: 'm1' });
    if (second.includes('two')) {
      assert.equal(next?.headers['x-tag'], 'two');
      assert.deepEqual(next?.body, { ...body, model: 'a-much-longer-upstream-model-name-for-the-second-deployment' });
    } else {
      assert.equal(next?.headers['x-tag'], 'oai');
      const sent = next?.body as { model: string; messages: Array<{ role: string; content: unknown }> };
      assert.equal(sent.model, 'upstream-gpt');
      assert.deepEqual(
        sent.messages.map((m) => [m.role, m.content]),
        [
          ['user', texts[0]],
          ['assistant', 'ok'],
          ['user', texts[1]],
        ],
      );
    }
  }
});
