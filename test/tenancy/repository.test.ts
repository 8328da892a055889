/**
 * The tenants-and-keys repository's contract, on SQLite and PostgreSQL:
 * keys are shown once and stored only as a hash, scopes and limits round-trip,
 * revoke and rotate take effect, expired and revoked keys do not count as active.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../src/store/migrate.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { isActive, TenancyError, TenancyRepository } from '../../src/tenancy/repository.ts';
import { hashKey } from '../../src/tenancy/secrets.ts';
import { backends, freshDb } from '../store/backends.ts';

for (const backend of await backends()) {
  const open = async (t: Parameters<typeof freshDb>[0]) => {
    const db = await freshDb(t, backend);
    await migrate(db, migrations);
    return { db, repo: new TenancyRepository(db) };
  };

  test(`${backend.name}: tenants are created once per name, with limits, and listed`, async (t) => {
    const { repo } = await open(t);
    const acme = await repo.createTenant('acme', { requestsPerMinute: 60, budgetMonthUsd: 12.5 });
    await assert.rejects(repo.createTenant('acme'), (err: unknown) => err instanceof TenancyError && err.reason === 'conflict');
    await assert.rejects(repo.createTenant('bad name!'), (err: unknown) => err instanceof TenancyError && err.reason === 'invalid');
    await repo.createTenant('globex');
    const found = await repo.findTenant('acme');
    assert.deepEqual(found?.limits, { requestsPerMinute: 60, budgetMonthUsd: 12.5 });
    assert.equal((await repo.findTenant(acme.id))?.name, 'acme');
    assert.deepEqual((await repo.listTenants()).map((x) => x.name).sort(), ['acme', 'globex']);
  });

  test(`${backend.name}: a key is stored only as its hash, with its prefix, scopes and limits`, async (t) => {
    const { db, repo } = await open(t);
    const tenant = await repo.createTenant('acme', { concurrency: 4 });
    const issued = await repo.createKey({
      tenantId: tenant.id,
      models: ['gpt-mock'],
      routes: ['default'],
      admin: true,
      expiresAt: Date.now() + 60_000,
      limits: { requestsPerMinute: 2, inputTokensPerMinute: 1000, budgetDayUsd: 1.25 },
    });
    assert.match(issued.secret, /^swy_[\w-]{8}_[\w-]{43}$/);
    assert.equal(issued.secret.slice(0, 12), issued.record.prefix);
    const stored = await db.all('SELECT * FROM api_keys');
    assert.equal(stored.length, 1);
    assert.ok(!JSON.stringify(stored).includes(issued.secret), 'the secret is not stored');
    assert.equal(stored[0]?.hash, hashKey(issued.secret));
    const found = await repo.findByHash(hashKey(issued.secret));
    assert.equal(found?.key.id, issued.record.id);
    assert.deepEqual(found?.key.models, ['gpt-mock']);
    assert.deepEqual(found?.key.routes, ['default']);
    assert.equal(found?.key.admin, true);
    assert.deepEqual(found?.key.limits, { requestsPerMinute: 2, inputTokensPerMinute: 1000, budgetDayUsd: 1.25 });
    assert.deepEqual(found?.tenant.limits, { concurrency: 4 });
    assert.equal(found?.tenant.name, 'acme');
    assert.equal(await repo.findByHash(hashKey('swy_wrong')), undefined);
  });

  test(`${backend.name}: revoked and expired keys are not active; listing filters by tenant`, async (t) => {
    const { repo } = await open(t);
    const a = await repo.createTenant('a');
    const b = await repo.createTenant('b');
    const live = await repo.createKey({ tenantId: a.id });
    const gone = await repo.createKey({ tenantId: a.id });
    const old = await repo.createKey({ tenantId: b.id, expiresAt: Date.now() - 1 });
    assert.equal(await repo.countActiveKeys(), 2);
    const revoked = await repo.revokeKey(gone.record.id);
    assert.ok(revoked.revokedAt !== undefined && !isActive(revoked));
    assert.equal((await repo.revokeKey(gone.record.id)).revokedAt, revoked.revokedAt, 'revoking twice keeps the first time');
    assert.ok(!isActive((await repo.findKey(old.record.id))!));
    assert.equal(await repo.countActiveKeys(), 1);
    assert.deepEqual((await repo.listKeys(a.id)).map((k) => k.id).sort(), [live.record.id, gone.record.id].sort());
    assert.equal((await repo.listKeys()).length, 3);
    await assert.rejects(repo.revokeKey('key_nope'), (err: unknown) => err instanceof TenancyError && err.reason === 'not_found');
    await assert.rejects(repo.createKey({ tenantId: 'tn_nope' }), (err: unknown) => err instanceof TenancyError && err.reason === 'not_found');
  });

  test(`${backend.name}: rotation keeps the id and scopes, and the old secret stops matching`, async (t) => {
    const { repo } = await open(t);
    const tenant = await repo.createTenant('acme');
    const first = await repo.createKey({ tenantId: tenant.id, models: ['m'], limits: { requestsPerMinute: 5 } });
    const second = await repo.rotateKey(first.record.id);
    assert.notEqual(second.secret, first.secret);
    assert.equal(second.record.id, first.record.id);
    assert.equal(await repo.findByHash(hashKey(first.secret)), undefined);
    const found = await repo.findByHash(hashKey(second.secret));
    assert.deepEqual(found?.key.models, ['m']);
    assert.deepEqual(found?.key.limits, { requestsPerMinute: 5 });
    assert.ok(found?.key.rotatedAt !== undefined);
    await repo.revokeKey(first.record.id);
    await assert.rejects(repo.rotateKey(first.record.id), (err: unknown) => err instanceof TenancyError && err.reason === 'conflict');
  });
}

for (const backend of await backends()) {
  test(`${backend.name}: a key's limits and scopes and a tenant's limits and disabled flag can be changed`, async (t) => {
    const db = await freshDb(t, backend);
    await migrate(db, migrations);
    const repo = new TenancyRepository(db);
    const tenant = await repo.createTenant('acme', { requestsPerMinute: 1 });
    const { record, secret } = await repo.createKey({ tenantId: tenant.id, models: ['a'] });
    const key = await repo.updateKey(record.id, { limits: { concurrency: 2, budgetDayUsd: 0.5 }, models: null, routes: ['default'] });
    assert.deepEqual(key.limits, { concurrency: 2, budgetDayUsd: 0.5 });
    assert.equal(key.models, undefined);
    assert.deepEqual(key.routes, ['default']);
    const updated = await repo.updateTenant('acme', { limits: {}, disabled: true });
    assert.deepEqual(updated.limits, {});
    assert.equal(updated.disabled, true);
    assert.equal((await repo.findByHash(hashKey(secret)))?.tenant.disabled, true);
    await assert.rejects(repo.updateKey('key_nope', {}), (err: unknown) => err instanceof TenancyError && err.reason === 'not_found');
  });
}
