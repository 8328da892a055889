import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonBytes, rawStringsOf } from '../../src/protocols/json-bytes.ts';
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

test('with the client’s bytes at hand, its long strings are copied as it wrote them; the value is the same', () => {
  // The client escaped letters (\u0061) and slashes (\/) that JSON.stringify would write plainly.
  const long = `${'a/b é 😀 "q" \\ '.repeat(40)}end`;
  const clientText = `{"model":"m","messages":[{"role":"user","content":${JSON.stringify(long).replace(/a/g, '\\u0061').replace(/\//g, '\\/')}}],"pad":"${'x'.repeat(70_000)}"}`;
  const raw = Buffer.from(clientText);
  const body = parseJsonBytes(raw) as { messages: Array<{ content: string }> };
  const known = rawStringsOf(raw);
  assert.ok(known !== undefined);
  // A translated body carries the same string (the same JS value) in another shape.
  const translated = { model: 'upstream', messages: [{ role: 'user', content: [{ type: 'text', text: body.messages[0]!.content }] }], n: 1, skip: undefined };
  const out = stringifyToBytes(translated, known).toString('utf8');
  assert.ok(out.includes('\\u0061'), 'the client’s token was copied, escapes and all');
  assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(translated)));
});

test('with known tokens but none matching, the bytes are exactly JSON.stringify’s, at every depth', () => {
  const known = { token: () => undefined };
  const value = { a: [{ b: { c: ['deep', 1, null, undefined, () => 1] } }], d: undefined, e: new Date(0), f: 'y'.repeat(40_000) };
  assert.equal(stringifyToBytes(value, known).toString('utf8'), JSON.stringify(value));
});
