import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenRequests } from '../../src/server/open-requests.ts';

test('open requests: entries leave from the head, the middle and the tail, newest listed first', () => {
  const open = new OpenRequests<string>();
  const a = open.add('a');
  const b = open.add('b');
  const c = open.add('c');
  const d = open.add('d');
  assert.deepEqual(open.values(), ['d', 'c', 'b', 'a']);
  open.remove(b);
  assert.deepEqual(open.values(), ['d', 'c', 'a']);
  open.remove(d);
  assert.deepEqual(open.values(), ['c', 'a']);
  open.remove(a);
  assert.deepEqual(open.values(), ['c']);
  assert.equal(open.size, 1);
  open.remove(c);
  assert.deepEqual(open.values(), []);
  assert.equal(open.size, 0);
  open.add('e');
  assert.deepEqual(open.values(), ['e']);
});

test('open requests: a removed entry lets go of its value and neighbours, and a second removal changes nothing', () => {
  const open = new OpenRequests<object>();
  const first = open.add({ n: 1 });
  const second = open.add({ n: 2 });
  const third = open.add({ n: 3 });
  open.remove(second);
  // Nothing that is still referenced (the entry, its neighbours) points at the finished request.
  assert.equal(second.value, undefined);
  assert.equal(second.prev, undefined);
  assert.equal(second.next, undefined);
  assert.equal(third.next, first);
  assert.equal(first.prev, third);
  open.remove(second);
  assert.equal(open.size, 2);
  assert.deepEqual(open.values(), [{ n: 3 }, { n: 1 }]);
});
