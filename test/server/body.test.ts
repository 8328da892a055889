import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exceedsDepth, parseJsonBody } from '../../src/server/body.ts';

/** A value nested `depth` levels deep, alternating objects and arrays. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value, b: 1 } : [1, value];
  return value;
}

test('nesting depth is counted the same by the recursive walk and the iterative one', () => {
  // 128 is the default limit (recursive walk); 600 is past the recursive bound (explicit stack).
  for (const max of [1, 3, 128, 600]) {
    assert.equal(exceedsDepth(nested(max), max), false, `depth ${max} at limit ${max}`);
    assert.equal(exceedsDepth(nested(max + 1), max), true, `depth ${max + 1} at limit ${max}`);
  }
  assert.equal(exceedsDepth('text', 1), false);
  assert.equal(exceedsDepth(null, 1), false);
});

test('a body nested past the limit is refused with its own code', () => {
  const raw = Buffer.from(JSON.stringify({ model: 'm', messages: [nested(20)] }));
  assert.throws(() => parseJsonBody(raw, 10), { code: 'SWY_ERR_TOO_DEEP' });
  assert.deepEqual(parseJsonBody(Buffer.from('{"model":"m","messages":[]}'), 10), { model: 'm', messages: [] });
});
