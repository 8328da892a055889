import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpstreamPools, type PoolSettings } from '../../src/upstream/pools.ts';

const settings = (connections: number): PoolSettings =>
  Object.freeze({ connections, connectTimeoutMs: 1000, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, keepAliveTimeoutMs: 1000 });

test('one pool per origin and settings, shared by every caller; a pool closed by retain is never handed out again', async () => {
  const pools = new UpstreamPools();
  const a = settings(4);
  const first = pools.get('http://127.0.0.1:1', a);
  assert.equal(pools.get('http://127.0.0.1:1', a), first, 'the same settings object');
  assert.equal(pools.get('http://127.0.0.1:1', settings(4)), first, 'equal settings from another config version');
  assert.notEqual(pools.get('http://127.0.0.1:2', a), first, 'another origin, same settings object');
  assert.equal(pools.get('http://127.0.0.1:1', a), first, 'back to the first origin');
  // A reload that changes the settings closes the old pool: the old settings object must not find it.
  await pools.retain([{ origin: 'http://127.0.0.1:1', settings: settings(8) }]);
  const after = pools.get('http://127.0.0.1:1', a);
  assert.notEqual(after, first);
  assert.equal(first.closed, true);
  assert.equal(after.closed, false);
  await pools.close();
});
