import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyPool } from '../../src/upstream/key-pool.ts';

test('keys are picked by weight', () => {
  let r = 0;
  const pool = new KeyPool([{ key: 'a', weight: 3 }, { key: 'b', weight: 1 }], () => (r = (r + 0.1237) % 1));
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 4000; i++) counts[pool.key(pool.pick(0)) as 'a' | 'b']++;
  assert.ok(Math.abs(counts.a / 4000 - 0.75) < 0.05, JSON.stringify(counts));
});

test('a resting key is skipped until its rest ends; with all resting, the first back is used', () => {
  const pool = new KeyPool([{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }], () => 0);
  assert.equal(pool.key(pool.pick(0)), 'a');
  assert.equal(pool.rest(0, 1000, 0), true, 'b can still serve');
  assert.equal(pool.key(pool.pick(10)), 'b');
  assert.equal(pool.rest(1, 500, 10), false, 'nothing else can serve');
  assert.equal(pool.key(pool.pick(20)), 'b', 'b is back first (510 < 1000)');
  assert.equal(pool.key(pool.pick(1001)), 'a');
});
