import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { topLevelModelSpan, withTopLevelModel } from '../../src/protocols/json-model.ts';

const rewrite = (text: string, model: string): unknown => {
  const out = withTopLevelModel(Buffer.from(text), model);
  return out === undefined ? undefined : JSON.parse(out.toString('utf8'));
};

test('random bodies: the rewritten bytes parse to the same body with only the model changed', () => {
  const member = fc.tuple(
    fc.string().filter((k) => k !== 'model'),
    fc.jsonValue(),
  );
  fc.assert(
    fc.property(fc.array(member, { maxLength: 6 }), fc.nat(6), fc.string(), fc.string(), fc.boolean(), (members, at, model, next, spaced) => {
      const entries: Array<[string, unknown]> = members.map(([k, v]) => [k, v]);
      entries.splice(Math.min(at, entries.length), 0, ['model', model]);
      const body = Object.fromEntries(entries) as Record<string, unknown>;
      // Keys repeated by the generator collapse in fromEntries, as JSON.parse would.
      const text = JSON.stringify(body, null, spaced ? 2 : undefined);
      const out = rewrite(text, next);
      // A key that needs escapes is not compared byte for byte: the scanner declines, and the caller re-serialises.
      if (Object.keys(body).some((k) => JSON.stringify(k).includes('\\'))) assert.equal(out, undefined);
      // Compared as JSON would carry it (-0 is written as 0).
      else assert.deepEqual(out, JSON.parse(JSON.stringify({ ...body, model: next })));
    }),
    { numRuns: 500 },
  );
});

test('what the scanner cannot vouch for is left to re-serialisation', () => {
  assert.equal(withTopLevelModel(Buffer.from('{"model":"a","x":1,"model":"b"}'), 'z'), undefined, 'model twice');
  assert.equal(withTopLevelModel(Buffer.from('{"mod\\u0065l":"a","messages":[]}'), 'z'), undefined, 'escaped key');
  assert.equal(withTopLevelModel(Buffer.from('{"model":7}'), 'z'), undefined, 'not a string');
  assert.equal(withTopLevelModel(Buffer.from('{"messages":[]}'), 'z'), undefined, 'no model');
  assert.equal(withTopLevelModel(Buffer.from('[1]'), 'z'), undefined, 'not an object');
});

test('a nested "model" is not the top-level one', () => {
  const text = '{"metadata":{"model":"inner"},"messages":[{"role":"user","content":"say \\"model\\": \\"x\\""}],"model":"outer","tools":[{"name":"model"}]}';
  const span = topLevelModelSpan(Buffer.from(text));
  assert.ok(span);
  assert.equal(text.slice(span.start, span.end), '"outer"');
  assert.deepEqual(rewrite(text, 'up'), { ...(JSON.parse(text) as object), model: 'up' });
});

test('strings ending in escaped backslashes and quotes are skipped correctly', () => {
  const body = { a: 'ends with \\', b: 'quote \\" and \\\\"', model: 'm', c: ['\\', '"', '\\"'] };
  assert.deepEqual(rewrite(JSON.stringify(body), 'n'), { ...body, model: 'n' });
});
