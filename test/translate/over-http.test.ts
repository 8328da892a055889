/**
 * Streams read from a real socket (the mock provider on port 0, replaying the
 * recorded fixtures or generating its own) and translated chunk by chunk as
 * they arrive: chunk boundaries are whatever TCP delivers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockProvider } from '../../src/mock/server.ts';
import type { ProtocolName } from '../../src/model/types.ts';
import { createStreamTranslator } from '../../src/translate/index.ts';
import { assertWellFormedAnthropic, sdkFinalMessage } from '../protocols/anthropic/helpers.ts';
import { sdkChatCompletion } from './helpers.ts';

async function translateFromUpstream(
  url: string,
  from: ProtocolName,
  fault: string | undefined,
): Promise<{ out: string; chunks: number; translator: ReturnType<typeof createStreamTranslator> }> {
  const path = from === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (fault !== undefined) headers['x-mock-fault'] = fault;
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'mock', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  const translator = createStreamTranslator(from, from === 'anthropic' ? 'openai' : 'anthropic', { includeUsage: true, model: 'alias' });
  let out = '';
  let chunks = 0;
  for await (const chunk of res.body!) {
    chunks++;
    out += translator.pushBytes(chunk);
  }
  return { out: out + translator.end(), chunks, translator };
}

test('Anthropic fixtures served over HTTP translate into OpenAI streams the SDK accepts', async (t) => {
  const mock = await startMockProvider({ tokensPerSecond: 2000 });
  t.after(() => mock.close());
  const { out, translator } = await translateFromUpstream(mock.url, 'anthropic', 'fixture:parallel-tools');
  const completion = await sdkChatCompletion(out);
  assert.equal(completion.model, 'alias');
  const args = completion.choices[0]!.message.tool_calls!.map((c) => (c.type === 'function' ? JSON.parse(c.function.arguments) : null));
  assert.deepEqual(args, [{ city: 'Paris' }, { city: 'Tōkyō' }]);
  assert.equal(translator.stopReason, 'tool_use');
  assert.equal(translator.usage.cacheReadTokens, 1500);
});

test('OpenAI fixtures served over HTTP translate into Anthropic streams the SDK accepts', async (t) => {
  const mock = await startMockProvider({ tokensPerSecond: 2000 });
  t.after(() => mock.close());
  const { out } = await translateFromUpstream(mock.url, 'openai', 'fixture:interleaved-tools');
  assertWellFormedAnthropic(out);
  const message = await sdkFinalMessage(out);
  assert.deepEqual(
    message.content.map((b) => (b.type === 'tool_use' ? b.input : b.type)),
    [{ x: 1 }, { y: 2 }],
  );
});

test('streams the mock generates itself translate both ways, arriving in several socket chunks', async (t) => {
  const mock = await startMockProvider({ outputTokens: 40, tokensPerSecond: 4000 });
  t.after(() => mock.close());
  const fromAnthropic = await translateFromUpstream(mock.url, 'anthropic', undefined);
  const completion = await sdkChatCompletion(fromAnthropic.out);
  assert.ok((completion.choices[0]!.message.content ?? '').length > 0);
  assert.ok(fromAnthropic.translator.usage.outputTokens > 0);
  assert.ok(fromAnthropic.chunks > 1, 'the stream arrived in more than one chunk');

  const fromOpenAI = await translateFromUpstream(mock.url, 'openai', undefined);
  assertWellFormedAnthropic(fromOpenAI.out);
  const message = await sdkFinalMessage(fromOpenAI.out);
  assert.ok(message.content.some((b) => b.type === 'text' && b.text.length > 0));
  assert.equal(message.stop_reason, 'end_turn');
});
