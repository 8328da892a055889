/** SWITCHYARD_ADMIN_KEY: an admin key from the environment, added where the config is loaded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromEnvironment, parseConfig } from '../../src/config/index.ts';

const yaml = 'providers: [{ name: oai, protocol: openai, baseUrl: "http://127.0.0.1:9/v1" }]\nroutes: { default: "oai,m" }\n';

test('SWITCHYARD_ADMIN_KEY is added to admin.apiKeys, beside the configured ones', () => {
  assert.deepEqual(parseConfig(yaml, { env: {} }).admin.apiKeys, []);
  assert.deepEqual(parseConfig(yaml, { env: { SWITCHYARD_ADMIN_KEY: 'from-env-123' } }).admin.apiKeys, ['from-env-123']);
  const both = parseConfig(`${yaml}admin: { apiKeys: [configured-1] }\n`, { env: { SWITCHYARD_ADMIN_KEY: 'from-env-123' } });
  assert.deepEqual(both.admin.apiKeys, ['configured-1', 'from-env-123']);
  const fromProviders = configFromEnvironment({ OPENAI_API_KEY: 'sk-x', SWITCHYARD_ADMIN_KEY: 'from-env-123' });
  assert.deepEqual(fromProviders?.admin.apiKeys, ['from-env-123']);
});
