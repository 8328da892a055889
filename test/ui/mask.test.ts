/**
 * Secrets in the running config are masked by field name, inside URLs and by
 * their shape; counts that merely contain "token" in their name are kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSecretName, MASK, maskSecrets } from '../../src/ui/mask.ts';

test('fields and headers with secret-like names are masked, numbers under them kept', () => {
  const masked = maskSecrets({
    name: 'oai',
    apiKey: 'abc123',
    apiKeys: ['k1', { key: 'k2', weight: 3 }],
    headers: { 'x-api-key': 'h1', Authorization: 'whatever', 'x-custom-auth-token': 'h2', 'x-mock-fault': 'status:503', cookie: 'c=1' },
    maxTokens: 4096,
    defaultMaxTokens: 100,
    timeouts: { firstByteMs: { baseMs: 1, perOutputTokenMs: 2, maxMs: 3 } },
    password: 'pw',
    client_secret: 's',
    accessToken: 't',
  });
  assert.deepEqual(masked, {
    name: 'oai',
    apiKey: MASK,
    apiKeys: [MASK, { key: MASK, weight: 3 }],
    headers: { 'x-api-key': MASK, Authorization: MASK, 'x-custom-auth-token': MASK, 'x-mock-fault': 'status:503', cookie: MASK },
    maxTokens: 4096,
    defaultMaxTokens: 100,
    timeouts: { firstByteMs: { baseMs: 1, perOutputTokenMs: 2, maxMs: 3 } },
    password: MASK,
    client_secret: MASK,
    accessToken: MASK,
  });
});

test('credentials in URLs are masked and the rest of the URL kept', () => {
  const masked = maskSecrets({
    store: 'postgres://app:hunter2@db.internal:5432/switchyard',
    redis: 'redis://:redispass@127.0.0.1:6379/0',
    baseUrl: 'https://proxy.example/v1?api_key=qwerty&region=eu',
    plain: 'https://api.anthropic.com',
  }) as Record<string, string>;
  assert.equal(masked.plain, 'https://api.anthropic.com');
  assert.ok(!masked.store!.includes('hunter2') && masked.store!.includes('db.internal:5432/switchyard'), masked.store);
  assert.ok(!masked.redis!.includes('redispass') && masked.redis!.includes('127.0.0.1:6379'), masked.redis);
  assert.ok(!masked.baseUrl!.includes('qwerty') && masked.baseUrl!.includes('region=eu'), masked.baseUrl);
});

test('strings shaped like keys, bearer tokens or JWTs are masked wherever they are', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
  const masked = maskSecrets({ note: 'sk-ant-api03-abcdefghijkl', other: ['Bearer abc.def', jwt], fine: 'mock-model' });
  assert.deepEqual(masked, { note: MASK, other: [MASK, MASK], fine: 'mock-model' });
});

test('names are split into words: "tokens" counts are not secrets, "token" credentials are', () => {
  for (const name of ['apiKey', 'api_key', 'x-api-key', 'APIKEY', 'authorization', 'sessionToken', 'privateKey', 'jwt']) {
    assert.equal(isSecretName(name), true, name);
  }
  for (const name of ['maxTokens', 'inputTokensPerMinute', 'name', 'baseUrl', 'longContextThreshold', 'monkey']) {
    assert.equal(isSecretName(name), false, name);
  }
});
