import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FinishingQueue } from '../../src/server/finishing.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('queued work runs after the current turn, in order, all of it in one batch', async () => {
  const ran: number[] = [];
  const queue = new FinishingQueue(() => assert.fail('nothing throws'));
  queue.add(() => ran.push(1));
  queue.add(() => ran.push(2));
  await Promise.resolve();
  assert.equal(ran.length, 0, 'not within the turn that queued it');
  await nextTurn();
  assert.deepEqual(ran, [1, 2]);
  queue.add(() => ran.push(3));
  await nextTurn();
  assert.deepEqual(ran, [1, 2, 3], 'a later turn gets its own batch');
});

test('drain runs what is queued at once, and the scheduled turn then finds nothing to do', async () => {
  const ran: string[] = [];
  const queue = new FinishingQueue(() => assert.fail('nothing throws'));
  queue.add(() => ran.push('a'));
  queue.drain();
  assert.deepEqual(ran, ['a']);
  await nextTurn();
  assert.deepEqual(ran, ['a'], 'nothing runs twice');
  queue.add(() => ran.push('b'));
  await nextTurn();
  assert.deepEqual(ran, ['a', 'b'], 'work queued after a drain is still scheduled');
});

test('work that throws is reported and does not keep the rest of the batch from running', async () => {
  const errors: unknown[] = [];
  const ran: number[] = [];
  const queue = new FinishingQueue((err) => errors.push(err));
  queue.add(() => ran.push(1));
  queue.add(() => {
    throw new Error('boom');
  });
  queue.add(() => ran.push(3));
  await nextTurn();
  assert.deepEqual(ran, [1, 3]);
  assert.equal(errors.length, 1);
  assert.match((errors[0] as Error).message, /boom/);
});
