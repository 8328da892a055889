import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { gatewayYaml } from '../../bench/lib/stack.ts';

test("the bench gateway's config: full pipeline by default parts, and the ledger or the dashboard turned off when asked", () => {
  const full = parseConfig(gatewayYaml('http://127.0.0.1:9', 3456, 'info', 'sqlite::memory:', true, 'full'), { env: {} });
  assert.equal(full.usage.enabled, true);
  assert.equal(full.ui.enabled, true);
  assert.ok(full.limits.keys !== undefined && full.limits.tenants !== undefined, 'limits and budgets on');
  const bare = parseConfig(gatewayYaml('http://127.0.0.1:9', 3456, 'info', 'sqlite::memory:', false, 'full', { ledger: false, dashboard: false }), { env: {} });
  assert.equal(bare.usage.enabled, false);
  assert.equal(bare.ui.enabled, false);
  assert.equal(bare.metrics.enabled, false);
});
