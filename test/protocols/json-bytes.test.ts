import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonBody } from '../../src/server/body.ts';
import { parseJsonBytes } from '../../src/protocols/json-bytes.ts';
import { seeded } from '../seeded-random.ts';

const pieces = ['a', 'Z', ' ', 'é', '→', '中', '😀', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u007f', '\u2028', 'key', '__proto__', '0', '\ud800', '\udfff'];
const numbers = ['0', '-0', '1', '-1', '12345678901234567890', '0.5', '-0.25', '1e3', '1E-7', '2.5e+10', '1e400', '-1e400', '123.456e-2', '9007199254740993'];
const spaces = ['', ' ', '\n', '\r\n', '\t', '  '];

/** A random JSON text, written with random whitespace and random escapes, as different clients would write it. */
function randomJson(rand: () => number, depth: number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const ws = (): string => pick(spaces);
  const str = (): string => {
    let text = '';
    const length = rand() < 0.2 ? Math.floor(rand() * 300) : Math.floor(rand() * 8);
    for (let i = 0; i < length; i++) text += pick(pieces);
    const json = JSON.stringify(text);
    // Sometimes escape what needs no escaping (\u0041, \/), as some encoders do.
    return rand() < 0.3 ? json.replace(/[a/]/g, (c) => (c === '/' ? '\\/' : '\\u0061')) : json;
  };
  const roll = rand();
  if (depth <= 0 || roll < 0.35) {
    const kind = Math.floor(rand() * 6);
    if (kind === 0) return str();
    if (kind === 1) return pick(numbers);
    return pick(['true', 'false', 'null', str()]);
  }
  const count = Math.floor(rand() * 5);
  const items: string[] = [];
  if (roll < 0.7) {
    for (let i = 0; i < count; i++) {
      const key = rand() < 0.15 ? pick(['"a"', '"__proto__"', '"1"', '"0"', '"toString"']) : str();
      items.push(`${ws()}${key}${ws()}:${ws()}${randomJson(rand, depth - 1)}${ws()}`);
    }
    return `{${items.join(',')}${count === 0 ? ws() : ''}}`;
  }
  for (let i = 0; i < count; i++) items.push(`${ws()}${randomJson(rand, depth - 1)}${ws()}`);
  return `[${items.join(',')}${count === 0 ? ws() : ''}]`;
}

/** Same value, same own keys in the same order, same prototypes, all the way down. */
function assertSameValue(actual: unknown, expected: unknown, where = '$'): void {
  if (expected === null || typeof expected !== 'object') {
    assert.ok(Object.is(actual, expected), `${where}: ${String(actual)} vs ${String(expected)}`);
    return;
  }
  assert.equal(typeof actual, 'object', where);
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected), `${where}: prototype`);
  assert.deepEqual(Reflect.ownKeys(actual as object), Reflect.ownKeys(expected), `${where}: keys`);
  for (const key of Reflect.ownKeys(expected)) {
    assertSameValue((actual as Record<string | symbol, unknown>)[key], (expected as Record<string | symbol, unknown>)[key], `${where}.${String(key)}`);
  }
}

/** parseJsonBytes either gives JSON.parse's value, or throws (and JSON.parse is used); it never accepts what JSON.parse refuses. */
function check(text: string | Buffer): void {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  let expected: unknown;
  let valid = true;
  try {
    expected = JSON.parse(bytes.toString('utf8'));
  } catch {
    valid = false;
  }
  let actual: unknown;
  let accepted = true;
  try {
    actual = parseJsonBytes(bytes);
  } catch {
    accepted = false;
  }
  if (!valid) {
    assert.equal(accepted, false, `accepted invalid JSON: ${JSON.stringify(bytes.toString('utf8').slice(0, 200))}`);
    return;
  }
  assert.ok(accepted, `refused valid JSON: ${JSON.stringify(bytes.toString('utf8').slice(0, 200))}`);
  assertSameValue(actual, expected);
}

test('the byte parser gives what JSON.parse gives, on thousands of random documents', () => {
  const rand = seeded(20261205);
  for (let i = 0; i < 3000; i++) check(randomJson(rand, 5));
});

test('the byte parser refuses every corruption JSON.parse refuses', () => {
  const rand = seeded(7);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const valid = Buffer.from(randomJson(rand, 4));
    const bytes = Buffer.from(valid);
    const at = Math.floor(rand() * bytes.length);
    const mutation = Math.floor(rand() * 3);
    let broken: Buffer;
    if (mutation === 0) broken = bytes.subarray(0, at);
    else if (mutation === 1) broken = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    else broken = Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(rand() * 128)]), bytes.subarray(at)]);
    try {
      JSON.parse(broken.toString('utf8'));
    } catch {
      refused++;
    }
    check(broken);
  }
  assert.ok(refused > 1000, `only ${refused} corruptions were invalid: the test would prove little`);
});

test('the byte parser handles the edge cases of the grammar as JSON.parse does', () => {
  const cases = [
    '0', '-0', '01', '-', '1.', '.5', '+1', '1e', '1e+', '-01', '0x10', 'Infinity', 'NaN', '1_000', '2E5', '1.5e-3',
    'true', 'tru', 'truex', 'null', 'nul', 'false ', ' false', '\ufefftrue', '\u00a0true', '\u000btrue', '\u000ctrue',
    '[]', '[1,]', '[,1]', '[1 2]', '{}', '{,}', '{"a" 1}', '{"a":1,}', '{"a":1 "b":2}', "{'a':1}", '{a:1}', '{"a":1}}', '[[[]]]',
    '"\\u0041"', '"\\ud800"', '"\\udc00\\ud800"', '"\\uD83D\\uDE00"', '"\\x41"', '"\\a"', '"\\u12"', '"\\"', '"\\\\"', '"a\\\\"', '"a\\\\\\""',
    `"${'x'.repeat(100)}\u0001"`, `"${'x'.repeat(100)}\u007f"`, `"${'é'.repeat(100)}"`, `"${'x'.repeat(100)}\\n"`, '"\t"', '"\u2028"',
    '{"__proto__":{"polluted":true}}', '{"__proto__":1,"__proto__":2}', '{"a":1,"a":2,"b":3}', '{"2":1,"1":2,"b":0,"a":0}',
    '', ' ', '   [1]   ', '\r\n{"a":\t[ 1 , 2 ]\n}\r\n',
  ];
  for (const text of cases) check(text);
  check(Buffer.from([0x22, 0xc3, 0xa9, 0x22])); // "é" as raw UTF-8
});

test('deep nesting is left to JSON.parse, which handles any depth', () => {
  const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
  assert.throws(() => parseJsonBytes(Buffer.from(deep)));
  // Large and not ASCII, so parseJsonBody tries the byte parser first.
  const body = parseJsonBody(Buffer.from(`{"pad":"${'é'.repeat(40_000)}","messages":${deep}}`), 10_000) as { messages: unknown };
  assert.ok(Array.isArray(body.messages));
});

test('a large non-ASCII body is parsed from its bytes to the same value, and a broken one gets JSON.parse’s error', () => {
  const text = 'Ünïcödé → 中文 😀 and "quotes" and \\ backslashes\n'.repeat(2000);
  const body = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: text }, { role: 'assistant', content: [{ type: 'text', text: text.slice(0, 5000) }] }] };
  const raw = Buffer.from(JSON.stringify(body));
  assert.ok(raw.length > 128 * 1024);
  assertSameValue(parseJsonBytes(raw), body);
  assertSameValue(parseJsonBody(raw, 128), body);
  const broken = raw.subarray(0, raw.length - 1);
  let expected = '';
  try {
    JSON.parse(broken.toString('utf8'));
  } catch (err) {
    expected = (err as Error).message;
  }
  assert.throws(() => parseJsonBody(broken, 128), (err: Error & { code?: string }) => err.code === 'SWY_ERR_BAD_JSON' && err.message.includes(expected));
});
