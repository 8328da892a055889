import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringifyToBytes } from '../../src/protocols/json-pieces.ts';

function same(value: unknown): void {
  assert.equal(stringifyToBytes(value).toString('utf8'), JSON.stringify(value) ?? 'null');
}

test('the bytes are exactly those of JSON.stringify, whatever is at the split levels', () => {
  same({ model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'é → 中 😀 "q" \\ \n' }], tools: [] });
  // What JSON.stringify leaves out of objects, or writes as null in arrays.
  same({ a: undefined, b: () => 1, c: Symbol('s'), d: 1, [Symbol('k')]: 2 });
  same({ first: undefined, second: 2 });
  same({ only: undefined });
  same([undefined, () => 1, Symbol('s'), NaN, Infinity, -0, null]);
  same({ list: [undefined, 1, [undefined, { deep: [undefined] }]] });
  // toJSON is honoured at every level, split or not.
  same({ at: new Date(0), nested: { toJSON: () => 'custom' }, list: [new Date(1)] });
  same({ toJSON: () => ({ replaced: true }) });
  // Key order, integer-like keys, escapes in keys.
  same({ b: 1, a: 2, 2: 'two', 1: 'one', 'quote"key': 3, 'line\nkey': 4, '': 5 });
  same([]);
  same({});
  same('top-level string');
  same(42);
  same(null);
});

test('a large conversation serialises to the same bytes', () => {
  const text = 'Ünïcödé → 中文 😀 "quotes" \\ backslashes\n'.repeat(300);
  const body = {
    model: 'gpt-x',
    messages: Array.from({ length: 40 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: [{ type: 'text', text: `${i} ${text}` }] })),
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
    stream: true,
  };
  same(body);
});
