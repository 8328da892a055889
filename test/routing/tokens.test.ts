import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import type { ChatRequest } from '../../src/model/types.ts';
import {
  IMAGE_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  REQUEST_OVERHEAD_TOKENS,
  TOOL_OVERHEAD_TOKENS,
  countTextTokens,
  countTokens,
  estimateUpperBoundBytes,
  exceedsTokens,
  lowerBoundTokens,
} from '../../src/routing/tokens.ts';
import { pngImage, request, userText } from './helpers.ts';

test('texts are counted with the real o200k_base BPE', () => {
  // Reference counts from OpenAI's tiktoken (o200k_base).
  assert.equal(countTextTokens('hello world'), 2);
  assert.equal(countTextTokens('Hello, world!'), 4);
  assert.equal(countTextTokens('The quick brown fox jumps over the lazy dog.'), 10);
  assert.equal(countTextTokens(''), 0);
  // A character count would say 11 and 13; a bytes/4 estimate 3 and 4.
  assert.notEqual(countTextTokens('hello world'), Math.ceil('hello world'.length / 4));
});

test('special-token text is counted as ordinary text instead of throwing', () => {
  assert.ok(countTextTokens('<|endoftext|>') > 1);
});

test('a long text gets the same count from the cache as when first counted', () => {
  const text = `${'The gateway routes requests. '.repeat(100)}${Math.random()}`;
  const first = countTextTokens(text);
  assert.equal(countTextTokens(text), first);
  assert.equal(countTextTokens(`${text}`.slice(0)), first);
});

test('a request counts system, messages and fixed overheads', () => {
  const req = request({ system: [{ type: 'text', text: 'hello world' }], messages: [userText('hello world')] });
  assert.equal(countTokens(req), REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS + 2 + MESSAGE_OVERHEAD_TOKENS + 2);
});

test('an image counts a fixed 1,600 tokens, also inside a tool result', () => {
  const base = countTokens(request({ messages: [userText('hi')] }));
  assert.equal(countTokens(request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, pngImage] }] })), base + IMAGE_TOKENS);
  const inResult = request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'tool_result', toolCallId: 'a', content: [pngImage] }] }] });
  assert.equal(countTokens(inResult), base + IMAGE_TOKENS);
});

test('tool call inputs and tool results are counted', () => {
  const input = { command: 'ls -la', description: 'List files' };
  const req = request({
    messages: [
      userText('hi'),
      { role: 'assistant', content: [{ type: 'tool_call', id: 'a', name: 'Bash', input }] },
      { role: 'user', content: [{ type: 'tool_result', toolCallId: 'a', content: [{ type: 'text', text: 'hello world' }] }] },
    ],
  });
  const expected =
    REQUEST_OVERHEAD_TOKENS + 3 * MESSAGE_OVERHEAD_TOKENS + countTextTokens('hi') + countTextTokens('Bash') + countTextTokens(JSON.stringify(input)) + 2;
  assert.equal(countTokens(req), expected);
});

test('tool definitions are counted', () => {
  const schema = { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] };
  const without = countTokens(request());
  const withTool = countTokens(request({ tools: [{ kind: 'function', name: 'Read', description: 'Reads a file', inputSchema: schema }] }));
  assert.equal(withTool - without, TOOL_OVERHEAD_TOKENS + countTextTokens('Read') + countTextTokens('Reads a file') + countTextTokens(JSON.stringify(schema)));
});

test('thinking from earlier turns is not counted as input', () => {
  const plain = request({ messages: [userText('q'), { role: 'assistant', content: [{ type: 'text', text: 'a' }] }] });
  const withThinking = request({
    messages: [userText('q'), { role: 'assistant', content: [{ type: 'thinking', text: 'long thoughts '.repeat(50), signature: 's' }, { type: 'text', text: 'a' }] }],
  });
  assert.equal(countTokens(withThinking), countTokens(plain));
});

test('the byte estimate is an upper bound of the token count for any text', () => {
  const part = fc.string({ unit: 'binary', maxLength: 200 });
  fc.assert(
    fc.property(fc.array(part, { maxLength: 4 }), part, fc.dictionary(fc.string({ maxLength: 8 }), part, { maxKeys: 3 }), (texts, system, input) => {
      const req: ChatRequest = request({
        system: [{ type: 'text', text: system }],
        messages: [
          { role: 'user', content: texts.map((text) => ({ type: 'text', text })) },
          { role: 'assistant', content: [{ type: 'tool_call', id: 'x', name: 'T', input }] },
        ],
      });
      return estimateUpperBoundBytes(req) >= countTokens(req);
    }),
    { numRuns: 200 },
  );
});

test('exceedsTokens agrees with countTokens around the threshold', () => {
  const req = request({ system: [{ type: 'text', text: 'word '.repeat(500) }], messages: [userText('word '.repeat(500))] });
  const count = countTokens(req);
  assert.equal(exceedsTokens(req, count - 1), true);
  assert.equal(exceedsTokens(req, count), false);
  assert.equal(exceedsTokens(req, count + 1), false);
});

// Characters that sit on the edges of o200k's pre-tokenizer: contractions, prefixes, line breaks,
// digit groups, non-ASCII letters, marks, digits, spaces and punctuation, astral characters.
const edgy = fc.constantFrom(..."aZs'tdlmrv09 \n\r\t.,;:!?-_/()[]{}\"`#@$%^&*+=<>|~\\".split(''), 'é', 'ß', '中', '\u0301', '٣', '\u00a0', '\u2028', '’', '—', '😀', '\ud800');
const edgyText = fc.array(fc.oneof(edgy, fc.constantFrom("'s", "'LL", "'re", 'Hello', 'camelCase', 'XMLHttp', '1234567', '  ', '\r\n', '.\n/')), { maxLength: 60 }).map((parts) => parts.join(''));

test('the lower bound never exceeds the token count', () => {
  fc.assert(
    fc.property(fc.oneof(edgyText, fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme-ascii', maxLength: 120 })), (text) => {
      return lowerBoundTokens(text) <= countTextTokens(text);
    }),
    { numRuns: 3000 },
  );
  for (const text of ["it's", "don't!", "x''s", "5's", "'s", 'abc123def', 'a٣b', 'e\u0301e', '😀a😀b', ' \n \n x', '.\n/x', 'word\n\nword', "He'S", '', ' ', '\n']) {
    assert.ok(lowerBoundTokens(text) <= countTextTokens(text), JSON.stringify(text));
  }
});

test('exceedsTokens gives the full count\'s answer for any texts and threshold, around the count, the lengths and the bytes', () => {
  const texts = fc.array(fc.oneof(edgyText, fc.string({ unit: 'binary', maxLength: 80 })), { minLength: 1, maxLength: 5 });
  fc.assert(
    fc.property(texts, fc.integer({ min: -3, max: 3 }), fc.constantFrom('count', 'chars', 'bytes'), (parts, offset, around) => {
      const req = request({ messages: parts.map((text) => userText(text)) });
      const count = countTokens(req);
      const chars = parts.reduce((sum, text) => sum + text.length, 0);
      const bytes = parts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
      const threshold = Math.max(0, (around === 'count' ? count : around === 'chars' ? chars : bytes) + offset);
      return exceedsTokens(req, threshold) === count > threshold;
    }),
    { numRuns: 1500 },
  );
});

test('the lower bound is most of the count on code and prose, and stops early when asked', () => {
  for (const file of ['README.md', 'src/routing/index.ts', 'src/config/schema.ts']) {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    const [bound, count] = [lowerBoundTokens(text), countTextTokens(text)];
    assert.ok(bound <= count && bound >= 0.65 * count, `${file}: bound ${bound}, count ${count}`);
    const early = lowerBoundTokens(text, 100);
    assert.ok(early > 100 && early < bound, `stopped at ${early}`);
  }
  // Exact where the pieces are single tokens: words, digit groups, line breaks between them.
  assert.equal(lowerBoundTokens('hello world'), countTextTokens('hello world'));
  assert.equal(lowerBoundTokens('1234567'), 3);
  assert.equal(lowerBoundTokens('a\nb'), 3);
  // No ASCII letter, digit or punctuation between them: nothing is proven, so such text gets counted.
  assert.equal(lowerBoundTokens('中文文本'), 0);
});

test('exceedsTokens gives the answer of the full count at every threshold near it', () => {
  fc.assert(
    fc.property(fc.array(edgyText, { minLength: 1, maxLength: 4 }), edgyText, fc.integer({ min: -3, max: 3 }), (texts, system, offset) => {
      const req = request({ system: [{ type: 'text', text: system }], messages: texts.map((text) => userText(text)) });
      const count = countTokens(req);
      const threshold = Math.max(1, count + offset);
      return exceedsTokens(req, threshold) === count > threshold;
    }),
    { numRuns: 500 },
  );
});

test('exceedsTokens at the boundary when the bounds cannot decide (text without ASCII letters)', () => {
  // Bytes ≫ tokens and a lower bound of ~0: only counting decides.
  const req = request({ messages: [userText('数据 路由 网关 '.repeat(300)), userText('hello world '.repeat(50))] });
  const count = countTokens(req);
  assert.ok(estimateUpperBoundBytes(req) > count + 1000);
  assert.equal(exceedsTokens(req, count - 1), true);
  assert.equal(exceedsTokens(req, count), false);
  assert.equal(exceedsTokens(req, count + 1), false);
});

test('a ~100k-token context is decided long without loading the tokenizer', async () => {
  const script = `
    import { readFileSync } from 'node:fs';
    import { buildRouter, isTokenizerLoaded } from ${JSON.stringify(fileURLToPath(new URL('../../src/routing/index.ts', import.meta.url)))};
    import { routingConfig, request, userText } from ${JSON.stringify(fileURLToPath(new URL('./helpers.ts', import.meta.url)))};
    const router = await buildRouter(routingConfig({ longContextThreshold: 60000 }));
    const source = readFileSync(${JSON.stringify(fileURLToPath(new URL('../../README.md', import.meta.url)))}, 'utf8');
    const messages = [];
    for (let i = 0; messages.length < 40; i++) messages.push(userText(\`turn \${i}\\n\${source.slice((i * 997) % 20000, (i * 997) % 20000 + 10000)}\`));
    const rule = router.decide(request({ messages })).rule;
    console.log(JSON.stringify({ rule, loaded: isTokenizerLoaded() }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout), { rule: 'longContext', loaded: false });
});

test('short requests never load the tokenizer', async () => {
  // A fresh process, so no earlier test has loaded it already.
  const script = `
    import { buildRouter, isTokenizerLoaded, estimateUpperBoundBytes } from ${JSON.stringify(fileURLToPath(new URL('../../src/routing/index.ts', import.meta.url)))};
    import { routingConfig, request, userText } from ${JSON.stringify(fileURLToPath(new URL('./helpers.ts', import.meta.url)))};
    const router = await buildRouter(routingConfig({ longContextThreshold: 60000 }));
    const req = request({ system: [{ type: 'text', text: 'You are a helpful assistant. '.repeat(500) }], messages: [userText('x'.repeat(20000))] });
    const before = { loaded: isTokenizerLoaded(), bound: estimateUpperBoundBytes(req) };
    const rules = new Set();
    for (let i = 0; i < 1000; i++) rules.add(router.decide(req).rule);
    const afterShort = isTokenizerLoaded();
    const long = request({ messages: [userText('word '.repeat(20000))] });
    const longRule = router.decide(long).rule;
    console.log(JSON.stringify({ ...before, rules: [...rules], afterShort, longRule, afterLong: isTokenizerLoaded() }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  const result = JSON.parse(stdout) as { loaded: boolean; bound: number; rules: string[]; afterShort: boolean; longRule: string; afterLong: boolean };
  assert.equal(result.loaded, false);
  assert.ok(result.bound < 60_000 && result.bound > 30_000, `bound ${result.bound}`);
  assert.deepEqual(result.rules, ['default']);
  assert.equal(result.afterShort, false, 'the tokenizer stayed unloaded for short requests');
  // A request that could be long does load it, and is found to be under the threshold (20,000 tokens).
  assert.equal(result.longRule, 'default');
  assert.equal(result.afterLong, true);
});

test('buildRouter loads the tokenizer up front when asked and a longContext route exists', async () => {
  const script = `
    import { buildRouter, isTokenizerLoaded } from ${JSON.stringify(fileURLToPath(new URL('../../src/routing/index.ts', import.meta.url)))};
    import { routingConfig } from ${JSON.stringify(fileURLToPath(new URL('./helpers.ts', import.meta.url)))};
    await buildRouter(routingConfig({ longContext: undefined }), { preloadTokenizer: true });
    const withoutRoute = isTokenizerLoaded();
    await buildRouter(routingConfig(), { preloadTokenizer: true });
    console.log(JSON.stringify({ withoutRoute, withRoute: isTokenizerLoaded() }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout), { withoutRoute: false, withRoute: true });
});
