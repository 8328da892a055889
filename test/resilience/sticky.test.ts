import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest } from '../../src/model/types.ts';
import { conversationKey, preferredIndex } from '../../src/resilience/sticky.ts';

const base = (): ChatRequest => ({
  model: 'm',
  stream: false,
  system: [{ type: 'text', text: 'You are helpful.', cacheControl: { type: 'ephemeral' } }],
  tools: [{ kind: 'function', name: 'Bash', inputSchema: { type: 'object' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'first question', cacheControl: { type: 'ephemeral' } }] },
    { role: 'assistant', content: [{ type: 'text', text: 'answer' }] },
    { role: 'user', content: [{ type: 'text', text: 'second question' }] },
  ],
});

test('the conversation key ignores cache markers and later turns', () => {
  const a = base();
  const b = base();
  delete b.system[0]!.cacheControl;
  (b.messages[0]!.content[0] as { cacheControl?: unknown }).cacheControl = undefined;
  b.messages.push({ role: 'assistant', content: [{ type: 'text', text: 'more' }] }, { role: 'user', content: [{ type: 'text', text: 'third' }] });
  delete (b.messages[0]!.content[0] as { cacheControl?: unknown }).cacheControl;
  assert.equal(conversationKey(a), conversationKey(b));
});

test('the conversation key changes with the system prompt, the tools or the first user message', () => {
  const key = conversationKey(base());
  const system = base();
  system.system[0]!.text = 'You are terse.';
  const tools = base();
  tools.tools = [];
  const first = base();
  (first.messages[0]!.content[0] as { text: string }).text = 'another question';
  for (const other of [system, tools, first]) assert.notEqual(conversationKey(other), key);
});

test('rendezvous hashing spreads keys and moves only the keys of a removed deployment', () => {
  const ids = ['a/m', 'b/m', 'c/m'];
  const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
  const counts = [0, 0, 0];
  for (const k of keys) counts[preferredIndex(k, ids)]!++;
  for (const c of counts) assert.ok(c > 60, `spread: ${counts.join(',')}`);
  // Without c, every key that preferred a or b still does.
  for (const k of keys) {
    const before = ids[preferredIndex(k, ids)]!;
    const after = ['a/m', 'b/m'][preferredIndex(k, ['a/m', 'b/m'])]!;
    if (before !== 'c/m') assert.equal(after, before);
  }
});
